import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code jbang deploy.java local}: a child JVM per service, Hello World, and all gone after SIGTERM. */
class DeployLocalTest {
    @Test
    void local_serves_Hello_World_and_stops_all_children_on_SIGTERM() throws Exception {
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        // --port 0: a free port, so that this test never clashes with anything on 3002.
        // Steps go to stderr, kept in a file: Process.destroy() closes this end of the pipes, so what
        // local writes while it stops would be lost from a pipe. stdout only carries the URL.
        Path steps = Files.createTempFile("deploy-local", ".err");
        Process p = new ProcessBuilder("jbang", "deploy.java", "local", "--port", "0")
                .directory(Support.ROOT.toFile()).redirectError(steps.toFile()).start();
        var url = new CompletableFuture<URI>();
        var output = new StringBuffer();
        Thread.ofVirtual().start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    output.append(line).append('\n');
                    if (line.matches("http://localhost:\\d+/")) url.complete(URI.create(line));
                }
            } catch (Exception ignored) {
                // the process ended
            }
            url.completeExceptionally(new AssertionError("local ended before printing its URL:\n" + output + read(steps)));
        });
        try {
            URI joiner = url.get(120, TimeUnit.SECONDS);
            var answer = Support.get(joiner);
            assertEquals(200, answer.statusCode());
            assertEquals("Hello World", answer.body().strip());

            List<ProcessHandle> children = p.children().toList();
            assertEquals(Support.SERVICES.size(), children.size(), "a child JVM per service: " + children);

            p.destroy(); // SIGTERM, as a service manager or `kill` sends it
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "local exits once its children have stopped:\n" + read(steps));
            for (ProcessHandle c : children) assertFalse(c.isAlive(), "child " + c.pid() + " stopped");
            assertTrue(read(steps).contains("Stopped " + String.join(", ", Support.SERVICES)), read(steps));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Files.deleteIfExists(steps);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }
}
