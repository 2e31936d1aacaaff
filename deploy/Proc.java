import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Commands on this machine: argument lists (never a shell line), bounded in time, output captured and shown only
 * when they fail. JDK only, and nothing of deploy.java's but the Failure it throws.
 */
final class Proc {
    /** Shows each command and its output as it runs (--verbose). */
    static boolean verbose;

    /**
     * Commands that run until they are no longer needed (kubectl logs -f, get --watch), their output read line by line,
     * all ended by close(): a log view's, or a wait's.
     */
    static final class Streams implements AutoCloseable {
        final List<Process> processes = new CopyOnWriteArrayList<>();
        volatile boolean closed;

        /**
         * Runs a command and hands each line of its output to {@code each} until that answers false, the command ends
         * (or cannot start), or close(); its standard error is dropped.
         */
        void stream(List<String> command, Predicate<String> each) {
            if (closed) return;
            if (verbose) System.err.println("   $ " + String.join(" ", command));
            try {
                Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                processes.add(p);
                if (closed) p.destroy(); // started as close() ran
                p.getOutputStream().close();
                try (var reader = p.inputReader(UTF_8)) {
                    for (String line; !closed && (line = reader.readLine()) != null; ) if (!each.test(line)) break;
                } finally {
                    p.destroy();
                    processes.remove(p);
                }
            } catch (IOException e) {
                // it ended (close() closes its output too), or could not start: the caller knows what that means
            }
        }

        @Override
        public void close() {
            closed = true;
            processes.forEach(Process::destroy);
        }
    }

    record Ran(List<String> command, int exit, String out, String err) {
        String both() {
            return (out + (out.isEmpty() || out.endsWith("\n") ? "" : "\n") + err).strip();
        }

        Ran orFail(String what) {
            if (exit != 0) throw new Failure(what + " failed (exit " + exit + "): " + String.join(" ", command), both());
            return this;
        }
    }

    /** Where a tool is on PATH, or null. */
    static Path which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
        }
        return null;
    }

    static Ran run(Duration timeout, List<String> command) {
        return run(timeout, command, Map.of());
    }

    static Ran run(Duration timeout, List<String> command, Map<String, String> env) {
        return run(timeout, command, env, null);
    }

    /** @param input a file for the command's standard input; null: none (it reads end of file) */
    static Ran run(Duration timeout, List<String> command, Map<String, String> env, Path input) {
        if (verbose) System.err.println("   $ " + String.join(" ", command) + (input == null ? "" : " < " + input));
        var pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        if (input != null) pb.redirectInput(input.toFile());
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            // A thread each, never a shared pool's: a drain left waiting for a worker (commands run side by side) would
            // let the other pipe fill, and the command block on it until its timeout.
            var out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()), task -> Thread.ofPlatform().daemon().start(task));
            var err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()), task -> Thread.ofPlatform().daemon().start(task));
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroy);
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
                throw new Failure("`" + String.join(" ", command) + "` did not finish within " + Failure.format(timeout), out.join() + err.join());
            }
            var ran = new Ran(command, p.exitValue(), out.join(), err.join());
            if (verbose) ran.both().lines().forEach(line -> System.err.println("   " + line));
            return ran;
        } catch (IOException e) {
            throw new Failure("cannot run " + command.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while running " + command.getFirst());
        }
    }

    /** All a stream gives; what came before an error too (Process.destroy closes this end of the pipe). */
    private static String drain(InputStream in) {
        var bytes = new ByteArrayOutputStream();
        try (in) {
            in.transferTo(bytes);
        } catch (IOException e) {
            // keep what was read
        }
        return bytes.toString(UTF_8);
    }
}
