import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.ToolProvider;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** What every test class shares: where the repository is, its services and their ports, how to run things, one HTTP client. */
final class Support {
    private Support() {}

    /** The repository root: the nearest folder, from the working directory up, holding tests/run.java. */
    static final Path ROOT = findRoot();

    /** The java launcher running these tests (JDK 25, linked by JBang). */
    static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private static Path findRoot() {
        return findRoot(Path.of("").toAbsolutePath());
    }

    /** The nearest folder, from {@code start} up, holding tests/run.java. */
    static Path findRoot(Path start) {
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("tests/run.java"))) return p;
        }
        throw new IllegalStateException("run the tests from inside the repository (no tests/run.java above " + start + ")");
    }

    /**
     * The services, in the order manifests/base/kustomization.yaml lists them: each resource
     * {@code X.yaml} with an {@code X.java} at the repository root. deploy.java follows the same rule.
     */
    static final List<String> SERVICES = services(ROOT);

    static List<String> services(Path root) {
        var services = new ArrayList<String>();
        if (yaml(root.resolve("manifests/base/kustomization.yaml")).getFirst() instanceof Map<?, ?> k
                && k.get("resources") instanceof List<?> resources) {
            for (Object r : resources) {
                String name = r.toString().replaceFirst("\\.yaml$", "");
                if (r.toString().endsWith(".yaml") && Files.isRegularFile(root.resolve(name + ".java"))) services.add(name);
            }
        }
        if (services.isEmpty()) throw new IllegalStateException("manifests/base/kustomization.yaml lists no X.yaml with an X.java beside");
        return List.copyOf(services);
    }

    /** A service's port: the port named http of its Service in manifests/base/NAME.yaml. */
    static int port(String service) {
        Path file = ROOT.resolve("manifests/base/" + service + ".yaml");
        for (Object doc : yaml(file)) {
            if (doc instanceof Map<?, ?> o && "Service".equals(o.get("kind"))
                    && o.get("spec") instanceof Map<?, ?> spec && spec.get("ports") instanceof List<?> ports) {
                for (Object p : ports) {
                    if (p instanceof Map<?, ?> port && "http".equals(port.get("name")) && port.get("port") instanceof Integer n) return n;
                }
            }
        }
        throw new IllegalStateException(file + " has no Service with a port named http");
    }

    /** The YAML documents of a file, empty ones left out. */
    static List<Object> yaml(Path file) {
        try {
            return yaml(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The YAML documents of a text, empty ones left out. */
    static List<Object> yaml(String text) {
        var docs = new ArrayList<Object>();
        for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(text)) if (doc != null) docs.add(doc);
        return docs;
    }

    /** The full path of an executable on PATH, or null. */
    static Path which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
        }
        return null;
    }

    /** The finished run of a command: exit code and both streams, whole. */
    record Result(int exit, String out, String err) {
        String both() { return out + err; }
    }

    /** A tool with its fixed arguments, then this call's: {@code command(List.of("kubectl", "--context", c), "get", "pods")}. */
    static List<String> command(List<String> tool, String... args) {
        var command = new ArrayList<>(tool);
        command.addAll(List.of(args));
        return command;
    }

    /** A copy of a folder tree, for a test to change. */
    static void copyTree(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else Files.copy(f, target);
            }
        }
    }

    /** Deletes a folder tree; a missing one is no error. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** Runs a command from an argument list, in the repository root, bounded by a timeout. */
    static Result run(List<String> command, Map<String, String> env, Duration timeout) {
        return run(command, env, timeout, ROOT);
    }

    /** The same, in another folder. */
    static Result run(List<String> command, Map<String, String> env, Duration timeout, Path directory) {
        var pb = new ProcessBuilder(command).directory(directory.toFile());
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            // A thread each, never a shared pool's: a reader left waiting for a worker would let the other pipe fill and
            // the command block on it (seen: a --verbose deploy.java stuck writing its stderr, the test at its timeout).
            var out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), Support::thread);
            var err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), Support::thread);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("timed out after " + timeout + ": " + String.join(" ", command)
                        + "\n--- output so far is lost; rerun by hand to see it");
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static void thread(Runnable task) {
        Thread.ofPlatform().daemon().start(task);
    }

    private static String readAll(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(output lost: " + e + ")";
        }
    }

    /** Classes of the services, compiled once per test run (the way the container images get them). */
    static synchronized Path serviceClasses() {
        if (classes == null) {
            try {
                Path dir = Files.createTempDirectory("services-classes");
                var javac = ToolProvider.getSystemJavaCompiler();
                var args = new ArrayList<>(List.of("-d", dir.toString(), "--release", "25"));
                for (String s : SERVICES) args.add(ROOT.resolve(s + ".java").toString());
                int rc = javac.run(null, null, null, args.toArray(String[]::new));
                if (rc != 0) throw new AssertionError("javac failed on the services (exit " + rc + ")");
                classes = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return classes;
    }
    private static Path classes;

    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

    /**
     * A service started as its own JVM on the compiled classes, configured by environment.
     * {@code start} returns once it printed its "listening on URL" line.
     */
    static final class Service implements AutoCloseable {
        final Process process;
        final URI url;
        /** Everything the process printed (stdout and stderr), kept up to date while it runs. */
        final List<String> lines;

        private Service(Process process, URI url, List<String> lines) {
            this.process = process;
            this.url = url;
            this.lines = lines;
        }

        static Service start(String name, Map<String, String> env) {
            return start(List.of(JAVA, "-cp", serviceClasses().toString(), name), env);
        }

        /** Starts any command that prints "... listening on URL" and waits (≤ 60 s) for that line. */
        static Service start(List<String> command, Map<String, String> env) {
            return start(command, env, Duration.ofSeconds(60));
        }

        /** The same, waiting up to {@code wait}: `jbang X.java` starts two JVMs, and took 30 s each at load 60. */
        static Service start(List<String> command, Map<String, String> env, Duration wait) {
            var pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
            pb.environment().putAll(env);
            try {
                Process p = pb.start();
                var found = new CompletableFuture<URI>();
                var lines = new java.util.concurrent.CopyOnWriteArrayList<String>();
                Thread.ofVirtual().start(() -> {
                    try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = r.readLine()) != null; ) {
                            lines.add(line);
                            Matcher m = LISTENING.matcher(line);
                            if (m.find()) found.complete(URI.create(m.group(1)));
                        }
                    } catch (IOException ignored) {
                        // the process ended
                    }
                    found.completeExceptionally(new AssertionError("exited before listening: " + lines));
                });
                URI url;
                try {
                    url = found.get(wait.toMillis(), TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    p.destroyForcibly();
                    throw new AssertionError(String.join(" ", command) + " did not print 'listening on' in " + wait + ": " + lines, e);
                }
                return new Service(p, url, lines);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The first printed line containing {@code fragment}, waiting for it up to {@code timeout}. */
        String awaitLine(String fragment, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (String line : lines) if (line.contains(fragment)) return line;
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no line with '" + fragment + "' in " + timeout + ": " + lines);
                }
                try {
                    Thread.sleep(20); // output arrives on another thread; this bounded poll is the simplest wait
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted", e);
                }
            }
        }

        /** host:port of the bound address, the form HELLO_SERVICE takes. */
        String hostPort() {
            return url.getHost() + ":" + url.getPort();
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static HttpResponse<String> get(URI url) {
        return send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).build());
    }

    static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
