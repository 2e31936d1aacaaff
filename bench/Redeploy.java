import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.regex.*;

/** bench --redeploy: how long `up` takes to serve a one-line change to hello.java, shipped by `kind load` (the default), then by
 *  --registry local, in a scratch copy of the checkout on a kind cluster of its own (bench-redeploy, deleted at the end, and
 *  so is the local registry unless it ran before); each up's own step times break it down. */
final class Redeploy {
    static final String CLUSTER = "bench-redeploy", REGISTRY = "kind-registry"; // what --registry local starts (LocalRegistry)
    /** " ✓ Loading images into x: … (6.8s)": what the step was, and its seconds. */
    static final Pattern STEP = Pattern.compile("^ ✓ (.+) \\((\\d+(?:\\.\\d+)?)s\\)$");
    static final List<String> PHASES = List.of("build", "ship", "apply", "roll out", "old pods", "asked", "other");

    record Up(String way, double seconds, Map<String, Double> phases) {}
    record Report(String timestamp, String machine, String nodeImage, int changes, List<Up> ups, Map<String, Double> medianSeconds) {}

    /** Times the ups, prints their medians as a table and writes them to out as redeploy-TIMESTAMP.json. */
    static void run(int changes, String nodeImage, String baseImage, Path out) throws Exception {
        if (Procs.which("kind") == null) throw new bench.Failure("--redeploy needs kind on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)");
        Path copy = bench.scratch.resolve("checkout");
        bench.step("Copying the checkout to " + copy);
        var files = Procs.check(List.of("git", "ls-files", "--cached", "--others", "--exclude-standard"), bench.ROOT, Duration.ofMinutes(1));
        for (String f : files.lines().toList()) {
            Path from = bench.ROOT.resolve(f), to = copy.resolve(f);
            if (!Files.isRegularFile(from)) continue; // deleted in the work tree
            Files.createDirectories(to.getParent());
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
        bench.done("✓");
        var deployUp = new ArrayList<>(List.of("jbang", "deploy.java", "up", "--cluster", CLUSTER, "--port", "8097"));
        if (nodeImage != null) deployUp.addAll(List.of("--node-image", nodeImage));
        if (baseImage != null) deployUp.addAll(List.of("--base-image", baseImage));
        var ups = new ArrayList<Up>();
        String engine = Procs.which("docker") != null ? "docker" : "podman"; // as deploy.java picks
        boolean registryBefore = !Procs.check(List.of(engine, "ps", "--quiet", "--filter", "name=^" + REGISTRY + "$"), bench.ROOT, Duration.ofMinutes(1)).isBlank();
        try {
            // Way by way, so that each measured up changes hello alone: a first up that is not measured makes what the
            // later ones reuse (the cluster; the registry and its base layers) and moves every pod to that way's images.
            for (var args : List.of(List.<String>of(), List.of("--registry", "local"))) {
                String way = args.isEmpty() ? "kind load" : String.join(" ", args);
                var command = bench.concat(deployUp, args);
                up(copy, command, "The first up, " + way + " (not measured)", null);
                for (int i = 1; i <= changes; i++) {
                    Path hello = copy.resolve("hello.java"); // its answer, "Hello", becomes "Hello1", then "Hello2", ...
                    String before = Files.readString(hello);
                    String after = before.replaceFirst("bytes\\(\"Hello\\d*\"\\)", "bytes(\"Hello" + (ups.size() + 1) + "\")");
                    if (after.equals(before)) throw new bench.Failure("hello.java has no bytes(\"Hello\") to change: --redeploy edits hello's answer");
                    Files.writeString(hello, after);
                    ups.add(up(copy, command, "up after a change to hello.java, " + way + " (" + i + " of " + changes + ")", way));
                }
                ups.add(up(copy, command, "up with no change, " + way, way + ", no change"));
            }
        } finally {
            bench.step("Deleting the cluster " + CLUSTER);
            Procs.check(List.of("kind", "delete", "cluster", "--name", CLUSTER), bench.ROOT, Duration.ofMinutes(2));
            if (!registryBefore) {
                try {
                    Procs.check(List.of(engine, "rm", "--force", REGISTRY), bench.ROOT, Duration.ofMinutes(1));
                } catch (bench.Failure e) {
                    // never started (a way failed before it): nothing to remove
                }
            }
            bench.done("✓");
        }
        System.out.printf("%nA one-line change to hello.java, then up (wall time, and its steps' own times; median of %d), and an up with no change:%n%n", changes);
        System.out.printf("| way | up | %s |%n| --- | ---: |%s%n", String.join(" | ", PHASES), " ---: |".repeat(PHASES.size()));
        var medians = new LinkedHashMap<String, Double>();
        for (String way : ups.stream().map(Up::way).distinct().toList()) {
            var mine = ups.stream().filter(u -> u.way().equals(way)).toList();
            medians.put(way, bench.median(mine.stream().map(Up::seconds).toList()));
            var cells = PHASES.stream().map(p -> "%.1fs".formatted(bench.median(mine.stream().map(u -> u.phases().get(p)).toList()))).toList();
            System.out.printf("| %s | %.1fs | %s |%n", way, medians.get(way), String.join(" | ", cells));
        }
        String now = bench.now();
        var report = new Report(now, Runtime.getRuntime().availableProcessors() + " cores", nodeImage, changes, ups, medians);
        System.out.println("\nWrote " + bench.write(report, out.resolve("redeploy-" + now.replace(":", "-") + ".json")) + ".");
    }

    /** One up in the copy: its wall time, and its steps' own times by phase, as the table's row (null: not measured). */
    static Up up(Path copy, List<String> command, String what, String row) throws Exception {
        bench.step(what);
        long start = System.nanoTime();
        String out = Procs.check(command, copy, Duration.ofMinutes(15));
        double seconds = (System.nanoTime() - start) / 1e9;
        var phases = new LinkedHashMap<String, Double>();
        PHASES.forEach(p -> phases.put(p, 0.0));
        out.lines().map(STEP::matcher).filter(Matcher::matches)
                .forEach(m -> phases.merge(phase(m.group(1)), Double.parseDouble(m.group(2)), Double::sum));
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
}
