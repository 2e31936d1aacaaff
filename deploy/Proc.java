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
import java.util.concurrent.TimeUnit;

/**
 * Commands on this machine: argument lists (never a shell line), bounded in time, output captured and shown only
 * when they fail. JDK only, and nothing of deploy.java's but the Failure it throws.
 */
final class Proc {
    /** Shows each command and its output as it runs (--verbose). */
    static boolean verbose;

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
