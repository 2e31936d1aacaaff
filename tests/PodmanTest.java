import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * "Docker (or Podman)", for real: with Podman and no Docker on PATH, {@code images --base-image docker://NAME} builds
 * from Podman's own image (Jib cannot read Podman's `inspect`, so deploy.java saves the image to an archive first),
 * and the three images run under Podman and answer Hello World. Podman is set up by ../shared/tools/start-podman
 * (.ci/run does it); without it the test is skipped, saying so. A full `up` on kind with Podman is not run here: the
 * node image would have to be copied into Podman (1.7 GB) and a second cluster made, more than CI's budget allows.
 */
class PodmanTest {
    static final String BASE = "hello-world-lab/java-base:25";
    static final Pattern LINE = Pattern.compile("(?m)^(\\w+) +(\\1:[0-9a-f]{16}) +(\\S+\\.tar)$");
    static Path bin, out;
    static final List<String> containers = new ArrayList<>(), images = new ArrayList<>();

    @BeforeAll
    static void podmanOnly() throws IOException {
        assumeTrue(Support.which("podman") != null, "podman is not on PATH (set it up with ../shared/tools/start-podman)");
        var info = podman("info", "--format", "{{.Version.Version}}");
        assumeTrue(info.exit() == 0, "podman does not run: " + info.both());
        if (podman("image", "exists", BASE).exit() != 0) {
            // The base comes from the Docker side of this machine (tests/java-base-image), as a user would bring one over.
            assumeTrue(Support.which("docker") != null && Lab.docker("info").exit() == 0, "Podman lacks " + BASE + " and Docker is not there to give it");
            var made = Support.run(List.of(Support.ROOT.resolve("tests/java-base-image").toString()), Map.of(), Duration.ofMinutes(5));
            assertEquals(0, made.exit(), made.both());
            Path tar = Files.createTempFile("podman-base", ".tar");
            try {
                var saved = Lab.docker("save", "-o", tar.toString(), BASE);
                assertEquals(0, saved.exit(), saved.both());
                var loaded = podman("load", "-i", tar.toString());
                assertEquals(0, loaded.exit(), loaded.both());
            } finally {
                Files.deleteIfExists(tar);
            }
        }
        bin = Files.createTempDirectory("podman-only-path");
        for (String tool : List.of("bash", "podman")) Files.createSymbolicLink(bin.resolve(tool), Support.which(tool));
        out = Files.createTempDirectory("podman-images");
    }

    @AfterAll
    static void clean() {
        if (!containers.isEmpty()) podman(Support.command(List.of("rm", "-f"), containers.toArray(String[]::new)).toArray(String[]::new));
        if (!images.isEmpty()) podman(Support.command(List.of("rmi", "-f"), images.toArray(String[]::new)).toArray(String[]::new));
    }

    @Test
    void images_from_a_podman_base_with_no_docker_on_path_run_under_podman_and_answer_Hello_World() throws Exception {
        var r = Support.run(List.of(Support.which("jbang").toString(), "deploy.java", "images", "--base-image", "docker://" + BASE, "--out", out.toString()),
                Map.of("PATH", bin.toString()), Duration.ofMinutes(10));
        assertEquals(0, r.exit(), r.both());
        assertFalse(r.both().contains("CliDockerClient"), r.both());
        var refs = new LinkedHashMap<String, String>();
        Matcher m = LINE.matcher(r.out());
        while (m.find()) refs.put(m.group(1), m.group(2));
        assertEquals(Support.SERVICES, List.copyOf(refs.keySet()), r.out());

        var ports = new LinkedHashMap<String, Integer>();
        for (String s : Support.SERVICES) {
            var loaded = podman("load", "-i", out.resolve(s + ".tar").toString());
            assertEquals(0, loaded.exit(), loaded.both());
            images.add(refs.get(s));
            ports.put(s, freePort());
        }
        // Host networking: Podman's own bridge (netavark) is not needed to prove the images, and leaves Docker's alone.
        String front = Support.SERVICES.getLast();
        for (String s : Support.SERVICES) {
            var env = new ArrayList<>(List.of("-e", "HOST=127.0.0.1", "-e", "PORT=" + ports.get(s)));
            if (s.equals(front)) {
                for (String upstream : Support.SERVICES.subList(0, Support.SERVICES.size() - 1)) {
                    env.addAll(List.of("-e", upstream.toUpperCase() + "_SERVICE=127.0.0.1:" + ports.get(upstream)));
                }
            }
            var command = new ArrayList<>(List.of("run", "-d", "--network", "host", "--name", "podman-test-" + s + "-" + ProcessHandle.current().pid()));
            command.addAll(env);
            command.add(refs.get(s));
            var run = podman(command.toArray(String[]::new));
            assertEquals(0, run.exit(), run.both());
            containers.add(run.out().strip());
        }
        URI url = URI.create("http://127.0.0.1:" + ports.get(front) + "/");
        String answer = "";
        for (int i = 0; i < 60 && !answer.equals("Hello World"); i++) {
            try {
                answer = Support.get(url).body().strip();
            } catch (Exception e) {
                Thread.sleep(500);
            }
        }
        assertEquals("Hello World", answer, "joiner under Podman; its log:\n" + podman("logs", containers.getLast()).both());
        assertEquals("65532:65532", podman("image", "inspect", "--format", "{{.Config.User}}", refs.get(front)).out().strip());
    }

    static Support.Result podman(String... args) {
        return Support.run(Support.command(List.of("podman"), args), Map.of(), Duration.ofMinutes(3));
    }

    static int freePort() throws IOException {
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
