import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.regex.*;

/**
 * bench --redeploy: how long `up` takes to serve a one-line change to hello.java, shipped by `kind load` (the default)
 * and by --registry local, one way after the other on one kind cluster. The change is made in a scratch copy of the checkout; the
 * cluster (bench-redeploy) is deleted at the end. Each up's own step timings give the breakdown.
 */
final class Redeploy {
    static final String CLUSTER = "bench-redeploy";
    static final int PORT = 8097;
    static final List<Way> WAYS = List.of(new Way("kind load", List.of()), new Way("--registry local", List.of("--registry", "local")));
    /** " ✓ Loading images into x: … (6.8s)": what the step was, and its seconds. */
    static final Pattern STEP = Pattern.compile("^ ✓ (.+) \\((\\d+(?:\\.\\d+)?)s\\)$");
    static final List<String> PHASES = List.of("build", "ship", "apply", "roll out", "old pods", "asked", "other");

    record Way(String name, List<String> args) {}
    record Up(String way, double seconds, Map<String, Double> phases) {}
    record Report(String timestamp, String machine, String nodeImage, int changes, List<Up> ups, Map<String, Double> medianSeconds) {}

    static Report run(int changes, String nodeImage, String baseImage) throws Exception {
        if (Procs.which("kind") == null) throw new bench.Failure("--redeploy needs kind on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)");
        Path copy = bench.scratch.resolve("checkout");
        bench.step("Copying the checkout to " + copy);
        for (String f : Procs.check(List.of("git", "-C", bench.ROOT.toString(), "ls-files", "--cached", "--others", "--exclude-standard"), Duration.ofMinutes(1)).lines().toList()) {
            Path from = bench.ROOT.resolve(f), to = copy.resolve(f);
            if (!Files.isRegularFile(from)) continue; // deleted in the work tree
            Files.createDirectories(to.getParent());
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
        bench.done("✓");
        var args = new ArrayList<>(List.of("--cluster", CLUSTER, "--port", String.valueOf(PORT)));
        if (nodeImage != null) args.addAll(List.of("--node-image", nodeImage));
        if (baseImage != null) args.addAll(List.of("--base-image", baseImage));
        try {
            // Way by way, so that each measured up changes hello alone: a first up that is not measured makes what the
            // later ones reuse (the cluster; the registry and its base layers) and moves every pod to that way's images.
            var ups = new ArrayList<Up>();
            String word = "Hello";
            for (Way way : WAYS) {
                up(copy, "The first up, " + way.name() + " (not measured)", args, way, null);
                for (int i = 1; i <= changes; i++) {
                    String next = "Hello" + (ups.size() + 1);
                    Path hello = copy.resolve("hello.java");
                    String before = Files.readString(hello), after = before.replace("bytes(\"" + word + "\")", "bytes(\"" + next + "\")");
                    if (after.equals(before)) throw new bench.Failure("hello.java has no bytes(\"" + word + "\") to change: --redeploy edits hello's answer");
                    Files.writeString(hello, after);
                    word = next;
                    ups.add(up(copy, "up after a change to hello.java, " + way.name() + " (" + i + " of " + changes + ")", args, way, way.name()));
                }
                ups.add(up(copy, "up with no change, " + way.name(), args, way, way.name() + ", no change"));
            }
            var medians = new LinkedHashMap<String, Double>();
            for (Up u : ups) medians.computeIfAbsent(u.way(), w -> median(ups.stream().filter(o -> o.way().equals(w)).map(Up::seconds).toList()));
            return new Report(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString(),
                    Runtime.getRuntime().availableProcessors() + " cores", nodeImage, changes, ups, medians);
        } finally {
            bench.step("Deleting the cluster " + CLUSTER);
            Procs.check(List.of("kind", "delete", "cluster", "--name", CLUSTER), Duration.ofMinutes(2));
            bench.done("✓");
        }
    }

    /** One `jbang deploy.java up` in the copy, the given way: its wall time, and its steps' own times by phase, as row. */
    static Up up(Path copy, String what, List<String> args, Way way, String row) throws Exception {
        var command = new ArrayList<>(List.of("jbang", "deploy.java", "up"));
        command.addAll(args);
        command.addAll(way.args());
        bench.step(what);
        long start = System.nanoTime();
        String out = Procs.check(command, copy, Duration.ofMinutes(15));
        double seconds = (System.nanoTime() - start) / 1e9;
        var phases = new LinkedHashMap<String, Double>();
        PHASES.forEach(p -> phases.put(p, 0.0));
        for (String line : out.lines().toList()) {
            Matcher m = STEP.matcher(line);
            if (m.matches()) phases.merge(phase(m.group(1)), Double.parseDouble(m.group(2)), Double::sum);
        }
        bench.done("%.1fs".formatted(seconds));
        return new Up(row, seconds, phases);
    }

    static String phase(String step) {
        if (step.startsWith("Building")) return "build";
        if (step.startsWith("Loading") || step.startsWith("Pushing")) return "ship";
        if (step.startsWith("Applying")) return "apply";
        if (step.contains("to roll out")) return "roll out";
        if (step.contains("old pods")) return "old pods";
        if (step.startsWith("Asking")) return "asked";
        return "other";
    }

    static double median(List<Double> xs) {
        var sorted = xs.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    static void print(Report r) {
        System.out.printf("%nA one-line change to hello.java, then up (wall time, and its steps' own times; median of %d), and an up with no change:%n%n", r.changes());
        System.out.printf("| way | up | %s |%n| --- | ---: |%s%n", String.join(" | ", PHASES), " ---: |".repeat(PHASES.size()));
        for (String way : r.medianSeconds().keySet()) {
            var mine = r.ups().stream().filter(u -> u.way().equals(way)).toList();
            var cells = PHASES.stream().map(p -> "%.1fs".formatted(median(mine.stream().map(u -> u.phases().get(p)).toList()))).toList();
            System.out.printf("| %s | %.1fs | %s |%n", way, r.medianSeconds().get(way), String.join(" | ", cells));
        }
    }
}
