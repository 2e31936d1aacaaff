import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.concurrent.TimeUnit;

/**
 * `local` following saves: a service whose source changed is compiled, then restarted on the port it had (so the
 * others, wired to it by environment, need no restart). A compile error is printed and the running one keeps
 * serving; the restart itself costs the new JVM's start, about a second, during which that service does not answer.
 */
final class LocalRestart {
    static void follow(LocalRun run, Watch watch) {
        try (watch) {
            while (!run.stopping.get()) {
                for (Path source : watch.next()) {
                    String file = source.getFileName().toString();
                    try {
                        restart(run, file.substring(0, file.length() - ".java".length()));
                    } catch (IOException e) {
                        System.err.println(" ✗ cannot restart " + file + ": " + e.getMessage());
                    }
                }
            }
        } catch (InterruptedException | IOException e) {
            // stopping
        }
    }

    static void restart(LocalRun run, String name) throws InterruptedException, IOException {
        long start = System.nanoTime();
        Path classes;
        try {
            classes = Classes.compile(run.checkout.root(), name);
        } catch (Failure f) {
            System.err.println(Step.indent(f.output));
            System.err.println(" ✗ " + f.getMessage() + "; the running " + name + " keeps serving (save again to retry)");
            return;
        }
        LocalRun.Child fresh;
        synchronized (run) { // stop() takes the same lock: no child is started that it would not stop
            LocalRun.Child old = run.children.stream().filter(c -> c.name.equals(name)).findFirst().orElseThrow();
            if (run.stopping.get()) {
                Classes.delete(classes);
                return;
            }
            var env = new LinkedHashMap<>(old.env);
            URI was = old.listening.getNow(null);
            if (was != null) env.put("PORT", Integer.toString(was.getPort()));
            old.retired = true;
            old.process.destroy(); // SIGTERM: it finishes the requests in flight, then frees the port
            if (!old.process.waitFor(20, TimeUnit.SECONDS)) old.process.destroyForcibly().waitFor();
            try {
                fresh = LocalRun.Child.start(name, classes, env, "did another process take its port?");
            } catch (IOException e) {
                System.err.println(" ✗ cannot start " + name + ": " + e.getMessage());
                return;
            }
            run.children.set(run.children.indexOf(old), fresh);
            Path before = run.classes.put(name, classes);
            if (before != null) Classes.delete(before);
        }
        try {
            URI url = fresh.url(LocalRun.READY);
            long deadline = System.nanoTime() + LocalRun.READY.toNanos();
            while (!Http.ready(url)) {
                if (System.nanoTime() > deadline) throw new Failure(name + " was not ready within " + Failure.format(LocalRun.READY));
                Thread.sleep(50);
            }
            run.watchExit(fresh);
            System.err.printf(" ✓ %s restarted in %.1fs (%s)%n", name, (System.nanoTime() - start) / 1e9, url);
        } catch (Failure f) {
            fresh.retired = true;
            System.err.println(Step.indent(f.output));
            System.err.println(" ✗ " + f.getMessage() + "; " + name + " is down until its next save");
        }
    }

    private LocalRestart() {}
}
