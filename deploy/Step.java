import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Steps printed as kind prints them (" • title ...", then " ✓ title: note (1.2s)" or " ✗ title" and the failing
 * command's output), and the two ways a run ends badly: a usage error (exit 2) or a failed step (exit 1), each one
 * ERROR line, a stack trace only with --verbose.
 */
final class Step {
    /**
     * Runs the tasks at once, each on a virtual thread, and answers their results in order. A task's Failure is
     * thrown as it is; anything else as one Failure naming {@code what} (e.g. "building images").
     */
    static <T> List<T> together(List<Callable<T>> tasks, String what) throws InterruptedException {
        var futures = new ArrayList<Future<T>>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Callable<T> task : tasks) futures.add(pool.submit(task));
        }
        var results = new ArrayList<T>();
        for (Future<T> f : futures) {
            try {
                results.add(f.get());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Failure failure) throw failure;
                throw new Failure(what + " failed: " + e.getCause(), "");
            }
        }
        return results;
    }

    /**
     * Starts a step's work now, on a thread of its own, for a later {@link #run} to wait for: what it throws is thrown
     * there, as the step's. For work that needs nothing of the steps before it (up's build, while the tools and the
     * cluster are asked).
     */
    static <T> Callable<Done<T>> ahead(Callable<Done<T>> work) {
        var task = new FutureTask<>(work);
        Thread.ofVirtual().start(task);
        return () -> {
            try {
                return task.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception cause) throw cause;
                throw e;
            }
        };
    }

    /** Stack traces of failures, and no live step line (the commands are printed in between). */
    static boolean verbose;
    static final boolean TERMINAL = System.console() != null && System.console().isTerminal();

    /** What a step gives back: a value for the caller and a note for the ✓ line (either may be null). */
    record Done<T>(T value, String note) {}

    /** A step that gives nothing back but its note. */
    static Done<Void> note(String note) {
        return new Done<>(null, note);
    }

    /** A step that has nothing to say but ✓. */
    interface Action {
        void run() throws Exception;
    }

    static void run(String title, Action action) throws Exception {
        run(title, () -> {
            action.run();
            return note(null);
        });
    }

    /** Runs one named step and returns its value. */
    static <T> T run(String title, Callable<Done<T>> action) throws Exception {
        long start = System.nanoTime();
        boolean live = TERMINAL && !verbose; // on a terminal the ✓ line replaces the • line
        var err = System.err;
        if (live) err.print(" • " + title + " ...");
        else err.println(" • " + title + " ...");
        String clear = live ? "\r\033[K" : "";
        try {
            Done<T> done = action.call();
            String took = String.format("%.1fs", (System.nanoTime() - start) / 1e9);
            err.println(clear + " ✓ " + title + (done.note() == null ? "" : ": " + done.note()) + " (" + took + ")");
            return done.value();
        } catch (Exception e) {
            err.println(clear + " ✗ " + title);
            if (e instanceof Failure f && !f.output.isBlank()) {
                err.println(indent(f.output));
                f.shown = true;
            }
            throw e;
        }
    }

    /** A path as the user would type it here: relative when it is under the working directory. */
    static Path shown(Path path) {
        Path here = Path.of("").toAbsolutePath();
        return path.startsWith(here) ? here.relativize(path) : path;
    }

    static String indent(String text) {
        return text.strip().lines().map(l -> "   " + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }

    // ---- how a run ends badly (picocli's handlers)

    static int usageError(ParameterException e, String[] args) {
        var err = System.err;
        var spec = e.getCommandLine().getCommandSpec();
        var unmatched = e instanceof CommandLine.UnmatchedArgumentException u ? u : null;
        // dev takes up's options except those for another cluster or a registry: say where they belong.
        String upOnly = unmatched == null || !spec.name().equals("dev") ? null
                : unmatched.getUnmatched().stream().map(a -> a.split("=")[0]).filter(deploy.UP_ONLY::contains).findFirst().orElse(null);
        err.println("ERROR: " + (upOnly == null ? e.getMessage()
                : "dev works on the local kind cluster, with kind load: " + upOnly + " is for up (jbang deploy.java up " + upOnly + " …)"));
        if (upOnly == null && unmatched != null && !unmatched.getSuggestions().isEmpty()) {
            err.println("Did you mean: " + String.join(", ", unmatched.getSuggestions()) + "?");
        }
        err.println("See '" + spec.qualifiedName() + " --help'.");
        if (verbose) e.printStackTrace();
        return deploy.USAGE;
    }

    static int failed(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        var err = System.err;
        if (e instanceof Failure f) {
            if (!f.shown && !f.output.isBlank()) err.println(indent(f.output));
            err.println("ERROR: " + f.getMessage());
        } else {
            err.println("ERROR: " + e + (verbose ? "" : " (unexpected: rerun with --verbose for the stack trace)"));
        }
        if (verbose) e.printStackTrace();
        return deploy.FAILED;
    }

    /** Durations as kind and kubectl take them: 90s, 5m, 1m30s. */
    static class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        static final Pattern GO = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

        @Override
        public Duration convert(String value) {
            Matcher m = GO.matcher(value);
            if (value.isEmpty() || !m.matches()) throw new CommandLine.TypeConversionException("'" + value + "' is not a duration (e.g. 90s, 5m, 1m30s)");
            long s = 0;
            for (int g = 1; g <= 3; g++) if (m.group(g) != null) s += Long.parseLong(m.group(g)) * new long[] {3600, 60, 1}[g - 1];
            if (s == 0) throw new CommandLine.TypeConversionException("the timeout must be above 0s");
            return Duration.ofSeconds(s);
        }
    }
}
