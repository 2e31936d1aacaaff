import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** A service under test: its own JVM on the compiled classes, bound to a free loopback port. */
final class Svc implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");
    final String name;
    final Process process;
    final URI url;

    private Svc(String name, Process process, URI url) {
        this.name = name;
        this.process = process;
        this.url = url;
    }

    static Svc start(String name, Path classes, List<String> flags, Map<String, String> env) throws Exception {
        bench.step("Starting " + name);
        var cmd = new ArrayList<>(List.of(bench.JAVA));
        cmd.addAll(flags);
        cmd.addAll(List.of("-cp", classes.toString(), name));
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        pb.environment().putAll(Map.of("HOST", "127.0.0.1", "PORT", String.valueOf(bench.freePort())));
        Process p = pb.start();
        bench.STARTED.add(p);
        var url = new CompletableFuture<URI>();
        var tail = new ConcurrentLinkedDeque<String>();
        // Drains the service's output for as long as it runs, keeping the last lines for an error message.
        Thread.ofVirtual().start(() -> {
            try (var r = p.inputReader(StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; ) {
                    tail.add(line);
                    if (tail.size() > 20) tail.poll();
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) url.complete(URI.create(m.group(1)));
                }
            } catch (IOException ignored) {
                // the service ended
            }
            url.complete(null);
        });
        URI u = url.get(30, TimeUnit.SECONDS);
        if (u == null) throw new bench.Failure(name + " exited before it was listening:\n  " + String.join("\n  ", tail));
        var svc = new Svc(name, p, u);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!svc.ready()) {
            if (System.nanoTime() > deadline) throw new bench.Failure(name + " did not answer 200 on /readyz within 10 s");
            Thread.sleep(20);
        }
        bench.done(u.toString());
        return svc;
    }

    boolean ready() {
        return "HTTP/1.1 200".equals(bench.get(url.getPort(), "/readyz"));
    }

    String hostPort() {
        return url.getHost() + ":" + url.getPort();
    }

    double rss() {
        return status("VmRSS");
    }

    /** A memory line of /proc/PID/status in MiB (the kernel reports kB), or NaN where there is no /proc. */
    double status(String field) {
        try (Stream<String> lines = Files.lines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
            return lines.filter(l -> l.startsWith(field + ":")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024.0).orElse(Double.NaN);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    @Override
    public void close() {
        bench.stop(process);
    }
}
