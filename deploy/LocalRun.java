import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The services as child JVMs of this one, on classes compiled here; SIGTERM or Ctrl+C stops them. Each takes a
 * free port but the last listed (joiner, in front), which takes --port and the others' addresses as NAME_SERVICE.
 */
final class LocalRun {
    static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");
    static final Duration READY = Duration.ofSeconds(30);

    final Checkout checkout;
    final int port;
    final Map<String, Path> classes = new ConcurrentHashMap<>();
    final List<Child> children = new CopyOnWriteArrayList<>();
    final AtomicBoolean stopping = new AtomicBoolean();
    final CompletableFuture<Child> died = new CompletableFuture<>();

    LocalRun(Checkout checkout, int port) {
        this.checkout = checkout;
        this.port = port;
    }

    /** Runs until stopped (the JVM then ends in the shutdown hook) or until a service fails (a Failure). */
    void run() throws Exception {
        // The JVM runs this on SIGTERM and Ctrl+C (SIGINT), and on its way out after an ERROR.
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
        List<String> services = checkout.services();
        String names = String.join(", ", services);
        try {
            Step.run("Compiling " + names, () -> {
                try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                    var compiles = services.stream().map(n -> pool.submit(() -> classes.put(n, Classes.compile(checkout.root(), n)))).toList();
                    for (var c : compiles) {
                        try {
                            c.get();
                        } catch (ExecutionException e) {
                            throw e.getCause() instanceof Failure f ? f : new Failure("compiling failed: " + e.getCause());
                        }
                    }
                }
            });
            var urls = new LinkedHashMap<String, URI>();
            String front = services.getLast();
            Step.run("Starting " + names + " (waiting ≤ " + Failure.format(READY) + " until each is ready)", () -> {
                // Only the front's port is the product's; the others take free ports, so they clash with nothing.
                var env = new LinkedHashMap<String, String>();
                env.put("PORT", Integer.toString(port));
                for (String name : services.subList(0, services.size() - 1)) {
                    urls.put(name, start(name, Map.of("PORT", "0"), "its output is above"));
                    env.put(name.toUpperCase(Locale.ROOT) + "_SERVICE", urls.get(name).getAuthority());
                }
                urls.put(front, start(front, env, "choose another with --port"));
                long deadline = System.nanoTime() + READY.toNanos();
                for (var e : urls.entrySet()) {
                    while (!Http.ready(e.getValue())) {
                        if (System.nanoTime() > deadline) throw new Failure(e.getKey() + " was not ready within " + Failure.format(READY));
                        Thread.sleep(100);
                    }
                }
                var where = services.subList(0, services.size() - 1).stream().map(n -> n + " on " + urls.get(n).getAuthority()).toList();
                return Step.note(String.join(", ", where));
            });
            System.out.println("http://localhost:" + urls.get(front).getPort() + "/");
            var watch = new Watch(checkout.root(), services.stream().map(n -> Path.of(n + ".java")).toList(), List.of());
            Thread.ofVirtual().start(() -> LocalRestart.follow(this, watch));
            System.err.println("Watching " + String.join(", ", services.stream().map(n -> n + ".java").toList())
                    + ": a saved change restarts its service. Press Ctrl+C to stop " + names + ".");
            Child dead = died.get();
            if (stopping.get()) Thread.currentThread().join(); // the shutdown hook is stopping them, then the JVM ends
            throw new Failure(dead.name + " stopped by itself (exit " + dead.process.exitValue() + ")", dead.lastLines());
        } catch (Failure f) {
            stop(); // before the ERROR line, so that it is the last one
            throw f;
        }
    }

    /** @param ifEnded what to suggest when it ends before it listens */
    URI start(String name, Map<String, String> env, String ifEnded) throws Exception {
        Child child = Child.start(name, classes.get(name), env, ifEnded);
        children.add(child);
        watchExit(child);
        return child.url(READY);
    }

    /** A child that ends, unless stopped on purpose (by stop or a restart), ends the run. */
    void watchExit(Child child) {
        child.process.onExit().thenRun(() -> {
            if (!child.retired) died.complete(child);
        });
    }

    /** Once: SIGTERM to each child (each finishes its requests in flight), then their exit, bounded. */
    synchronized void stop() {
        if (!stopping.compareAndSet(false, true)) return;
        children.forEach(c -> c.retired = true);
        children.forEach(c -> c.process.destroy());
        for (Child c : children) {
            try {
                if (!c.process.waitFor(20, TimeUnit.SECONDS)) c.process.destroyForcibly();
            } catch (InterruptedException e) {
                c.process.destroyForcibly();
            }
        }
        classes.values().forEach(Classes::delete);
        if (!children.isEmpty()) System.err.println(" ✓ Stopped " + String.join(", ", children.stream().map(c -> c.name).toList()));
    }

    /** One service's JVM: its last lines kept for an ERROR, its "listening on URL" line awaited. */
    static final class Child {
        final String name;
        final Process process;
        final Map<String, String> env;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final CompletableFuture<URI> listening = new CompletableFuture<>();
        /** Stopped on purpose: its end is no failure. */
        volatile boolean retired;

        private Child(String name, Process process, Map<String, String> env) {
            this.name = name;
            this.process = process;
            this.env = Map.copyOf(env);
        }

        static Child start(String name, Path classes, Map<String, String> env, String ifEnded) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            var pb = new ProcessBuilder(java, "-cp", classes.toString(), name).redirectErrorStream(true);
            pb.environment().remove("HOST"); // loopback only: this is for the person at this machine
            pb.environment().putAll(env);
            var child = new Child(name, pb.start(), env);
            Thread.ofVirtual().start(() -> {
                try (var reader = child.process.inputReader(UTF_8)) {
                    for (String line; (line = reader.readLine()) != null; ) {
                        child.lines.add(line);
                        if (child.lines.size() > 40) child.lines.removeFirst();
                        Matcher m = LISTENING.matcher(line);
                        if (m.find()) child.listening.complete(URI.create(m.group(1)));
                    }
                } catch (IOException ignored) {
                    // the child is gone; its exit code tells
                }
                child.listening.completeExceptionally(new Failure(name + " ended before it listened (a port taken? " + ifEnded + ")",
                        child.lastLines()));
            });
            return child;
        }

        URI url(Duration bound) throws InterruptedException {
            try {
                return listening.get(bound.toSeconds(), TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw (Failure) e.getCause();
            } catch (TimeoutException e) {
                throw new Failure(name + " did not say where it listens within " + Failure.format(bound), lastLines());
            }
        }

        String lastLines() {
            return String.join("\n", lines);
        }
    }
}
