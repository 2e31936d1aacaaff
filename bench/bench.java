///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Benchmarks hello and joiner on loopback with wrk: req/s, latency, CPU per request, start-up, memory, image sizes.
//JAVA 25+
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.23.0
//DEPS org.apache.commons:commons-compress:1.28.0
//SOURCES Procs.java Build.java Results.java Redeploy.java

import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.function.Function;
import javax.tools.ToolProvider;
import picocli.CommandLine;
import picocli.CommandLine.*;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench.java", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Runs hello, world and joiner as in their pods (each its own JVM with the image's JVM flags and the pod's"
                + " memory limit), loads hello and joiner with wrk on loopback, and prints one table: req/s, latency, CPU per request,"
                + " start-up, memory, image sizes. The same numbers go to bench/results/TIMESTAMP.json and latest.json."},
        footer = {"%nExamples:", "  jbang bench/bench.java --repeat 3 --peers", "  jbang bench/bench.java --redeploy --repeat 3", "  jbang bench/bench.java --compare bench/results/OLD.json bench/results/latest.json"})
class bench implements Callable<Integer> {
    static final List<String> SERVICES = List.of("hello", "world", "joiner");
    static final Path ROOT = findRoot();
    static final String JAVA = ProcessHandle.current().info().command().orElse("java");
    static volatile Path scratch;
    int startupRuns = 5; // start-up measurements, of which the median is reported
    /**
     * A JVM compiles its hot code in the background, and on 2 cores beside wrk and two other JVMs that takes half a minute
     * or more: measured after 5 s of warm-up, the C2 compiler took ~20% of the joiner's CPU and the joiner answered half
     * the requests it does once warm. So warm-up rounds go on until the JIT threads take under WARM_JIT_PERCENT of the
     * services' CPU in a round (WARMUP_ROUNDS at most), and each run reports the JIT's share.
     */
    static final int WARMUP_ROUNDS = 18;
    static final double WARM_JIT_PERCENT = 1;

    @Spec CommandSpec spec;
    @Option(names = "--duration", paramLabel = "S", description = "Seconds of load per run (default: ${DEFAULT-VALUE}).") int duration = 10;
    @Option(names = "--warmup", paramLabel = "S", description = "Seconds of each warm-up round at 50 connections; rounds go on until the JIT"
            + " is done, " + WARMUP_ROUNDS + " at most (default: ${DEFAULT-VALUE}).") int warmup = 5;
    @Option(names = "--connections", paramLabel = "N", split = ",", description = "Concurrency levels (default: 1,50,256).") List<Integer> connections = List.of(1, 50, 256);
    @Option(names = "--threads", paramLabel = "N", description = "wrk threads (default: ${DEFAULT-VALUE}).") int threads = 2;
    @Option(names = "--repeat", paramLabel = "N", description = "Runs per level, services taking turns; the median by req/s stands for the level (default: ${DEFAULT-VALUE}).") int repeat = 1;
    @Option(names = "--peers", description = "Also load actix-web 4 services that do the same (bench/peers, built with cargo), taking turns with ours run by run; prints ours/actix ratios.") boolean peers;
    @Option(names = "--images", description = "Build the images first (jbang deploy.java images, into a scratch folder); also link a minimal runtime with jlink.") boolean images;
    @Option(names = "--base-image", paramLabel = "REF", description = "With --images or --redeploy: the base image, as deploy.java takes it (docker://NAME, tar://PATH).") String baseImage;
    @Option(names = "--redeploy", description = "Instead: time `jbang deploy.java up` after a one-line change to hello.java, shipped by kind load, then by --registry local (--repeat changes each) on a kind cluster of its own (bench-redeploy, port 8097, deleted at the end, with the local registry unless it ran before).") boolean redeploy;
    @Option(names = "--node-image", paramLabel = "IMAGE", description = "With --redeploy: kind's node image, as deploy.java takes it.") String nodeImage;
    @Option(names = "--jvm-option", paramLabel = "OPT", description = "One more JVM option for the services, to try one (repeatable).") List<String> jvmOptions = new ArrayList<>();
    @Option(names = "--quick", description = "A smoke run: 1 s of load at 50 connections, one start-up run, no jbang start-up.") boolean quick;
    @Option(names = "--out", paramLabel = "DIR", description = "Where the JSON goes (default: bench/results).") Path out;
    @Option(names = "--compare", arity = "2", paramLabel = "FILE", description = "Compare two results files, A then B, and exit.") List<Path> compare;

    public static void main(String[] args) {
        System.setOut(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, java.nio.charset.StandardCharsets.UTF_8));
        var cl = new CommandLine(new bench());
        cl.setParameterExceptionHandler((e, a) -> fail(2, e.getMessage() + " (see --help)"));
        cl.setExecutionExceptionHandler((e, c, p) -> fail(1, e instanceof Failure ? e.getMessage() : e.toString()));
        Runtime.getRuntime().addShutdownHook(new Thread(bench::cleanUp));
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (compare != null) {
            for (Path p : compare) if (!Files.isRegularFile(p)) throw usage("no such results file: " + p);
            Result.compare(compare.get(0), compare.get(1));
            return 0;
        }
        var counts = Map.of("--duration", duration, "--warmup", warmup, "--threads", threads, "--repeat", repeat,
                "--connections", Collections.min(connections));
        for (var n : counts.entrySet()) if (n.getValue() < 1) throw usage(n.getKey() + " takes a positive whole number, not " + n.getValue());
        if (baseImage != null && !images && !redeploy) throw usage("--base-image goes with --images or --redeploy (it is the base of the images built)");
        if (nodeImage != null && !redeploy) throw usage("--node-image goes with --redeploy (it is kind's node image)");
        out = out != null ? out.toAbsolutePath() : ROOT.resolve("bench/results");
        Files.createDirectories(out);
        scratch = Files.createTempDirectory("bench");
        if (redeploy) {
            Redeploy.run(repeat, nodeImage, baseImage, out);
            return 0;
        }
        if (quick) {
            duration = warmup = startupRuns = 1;
            connections = List.of(50);
        }
        // Everything that can be checked is checked before anything starts.
        for (String s : SERVICES) if (!Files.exists(ROOT.resolve(s + ".java"))) throw new Failure("no " + s + ".java in " + ROOT);
        if (ToolProvider.getSystemJavaCompiler() == null) throw new Failure("this JVM has no compiler: run with a JDK 25, not a JRE");
        Wrk wrk = Wrk.find(scratch, threads);
        Pod pod = Pod.read(ROOT);
        Machine machine = Machine.now();
        System.out.printf("Machine:   %d cores, %s, load average %.2f, CPU %.0f%% busy before the run%n", machine.cores(), machine.cpu(), machine.load1AtStart(), machine.cpuBusyPercentAtStart());
        System.out.printf("JDK:       %s%nJVM:       %s (from %s)%n", machine.jdk(), String.join(" ", flags(pod, "hello")), String.join(", ", pod.sources()));
        System.out.printf("Load:      %s -t%d, connections %s, %d s per run after warm-up rounds of %d s until the JIT is done, loopback only%n", wrk.version(), threads, connections, duration, warmup);
        if (machine.load1AtStart() > 0.5 || machine.cpuBusyPercentAtStart() > 10) System.out.println("WARNING:   other work is running: numbers may be noise; each run says how much CPU others took (other CPU).");
        System.out.println();
        // Builds first, measurements after: nothing of ours is compiling while wrk runs.
        Path classes = Build.compile(scratch);
        Images sizes = Build.images(ROOT, images, baseImage, scratch);
        if (images) sizes = new Images(sizes.baseImage(), sizes.images(), Build.jlink(classes, scratch), sizes.note());
        Path peerBin = peers ? Build.peers() : null;
        var load = new ArrayList<Run>();
        var memory = new LinkedHashMap<String, Memory>();
        measureLoad(classes, pod, wrk, peerBin, load, memory);
        // Start-up of hello: compiled, with the image's flags; and through JBang (its cache warmed first), as a user first meets it.
        var startup = new LinkedHashMap<String, Startup>(Map.of("java", startup(java(pod, "hello", classes))));
        Path jbang = Procs.which("jbang");
        if (!quick && jbang != null) {
            Procs.check(List.of(jbang.toString(), "build", "hello.java"), ROOT, Duration.ofMinutes(5));
            startup.put("jbang", startup(List.of(jbang.toString(), "hello.java")));
        }
        var settings = new Settings("wrk", wrk.version(), String.valueOf(threads), connections, duration, warmup, startupRuns, repeat,
                flags(pod, "hello"), pod.sources(), "127.0.0.1", servicesCommit());
        String now = now();
        var result = new Result(now, machine, settings, load, startup, memory, sizes, Result.targets(load, startup, memory, pod.limits(), sizes));
        result.print();
        System.out.println("\nWrote " + write(result, out.resolve(now.replace(":", "-") + ".json"), out.resolve("latest.json"))
                + " and latest.json beside it. Compare two runs: jbang bench/bench.java --compare A.json B.json");
        return 0;
    }

    /** Our three services as in production (with --peers actix-web's three too), loaded level by level, taking turns run by run. */
    void measureLoad(Path classes, Pod pod, Wrk wrk, Path peerBin, List<Run> load, Map<String, Memory> memory) throws Exception {
        var all = new ArrayList<Svc>();
        try {
            var ours = trio(all, "", s -> java(pod, s, classes), Map.of());
            var trios = new ArrayList<>(List.of(ours));
            if (peerBin != null) { // actix-hello serves world too, answering "World"
                trios.add(trio(all, "actix-", s -> List.of(peerBin.resolve(s.equals("joiner") ? "actix-joiner" : "actix-hello").toString()),
                        Map.of("ANSWER", "World")));
            }
            // What each load reaches, the service loaded last: a joiner calls hello and world, so their CPU counts too.
            var subjects = new LinkedHashMap<String, List<Svc>>();
            trios.forEach(t -> subjects.put(t.getFirst().name(), t.subList(0, 1)));
            trios.forEach(t -> subjects.put(t.getLast().name(), t));
            Thread.sleep(1000); // start-up threads settle before the RSS is called idle
            var idle = new HashMap<String, Double>();
            ours.forEach(s -> idle.put(s.name(), s.mib("VmRSS")));
            var peak = new ConcurrentHashMap<String, Double>();
            var sampler = Executors.newSingleThreadScheduledExecutor();
            sampler.scheduleAtFixedRate(() -> ours.forEach(s -> peak.merge(s.name(), s.mib("VmRSS"), Math::max)), 0, 200, TimeUnit.MILLISECONDS);
            for (var s : subjects.entrySet()) { // class loading, JIT and upstream connections before the clock runs
                step("Warming up " + s.getKey() + ": 100 requests one by one, then rounds of " + warmup + " s at 50 connections until the JIT is done");
                for (int i = 0; i < 100; i++) {
                    String status = Procs.get(s.getValue().getLast().url().getPort());
                    if (!"HTTP/1.1 200".equals(status)) throw new Failure(s.getKey() + " answered " + status + " to GET /: it must work before it is measured");
                }
                Run round;
                int rounds = 0;
                do {
                    round = wrk.run(s.getKey(), s.getValue(), all, 50, warmup, 0);
                    rounds++;
                } while (round.jitCpuPercent() > WARM_JIT_PERCENT && rounds < (quick ? 1 : WARMUP_ROUNDS));
                done("%d s, the JIT at %.0f%% of the CPU in the last round%s".formatted(rounds * warmup, round.jitCpuPercent(),
                        round.jitCpuPercent() > WARM_JIT_PERCENT ? " (still warming up: the runs will say so)" : ""));
            }
            for (int run = 1; run <= repeat; run++) {
                for (int c : connections) {
                    for (var s : subjects.entrySet()) {
                        step("Load on %s: %d connection%s, %d s%s".formatted(s.getKey(), c, c == 1 ? "" : "s", duration, repeat > 1 ? " (run " + run + " of " + repeat + ")" : ""));
                        Run r = wrk.run(s.getKey(), s.getValue(), all, c, duration, run);
                        load.add(r);
                        done("%,.0f req/s, p99 %.2f ms, %.0f CPU µs/req%s".formatted(r.rps(), r.p99Ms(), r.serverCpuUsPerRequest(), r.errors() > 0 ? ", " + r.errors() + " errors" : ""));
                    }
                }
            }
            sampler.shutdownNow();
            ours.forEach(s -> memory.put(s.name(), new Memory(idle.get(s.name()), peak.getOrDefault(s.name(), Double.NaN), s.mib("VmHWM"))));
        } finally {
            all.forEach(Svc::close);
        }
    }

    /** hello, world (with worldEnv) and a joiner told where they listen, started one by one into all, their names prefixed. */
    static List<Svc> trio(List<Svc> all, String prefix, Function<String, List<String>> command, Map<String, String> worldEnv) throws Exception {
        var upstreams = new HashMap<String, String>(); // HELLO_SERVICE and WORLD_SERVICE, for the joiner
        for (String s : SERVICES) {
            step("Starting " + prefix + s);
            all.add(Svc.start(prefix + s, command.apply(s), s.equals("world") ? worldEnv : upstreams));
            upstreams.put(s.toUpperCase() + "_SERVICE", all.getLast().url().toString());
            done(all.getLast().url().toString());
        }
        return List.copyOf(all.subList(all.size() - 3, all.size()));
    }

    /** Wall time from just before the fork to the first 200 on GET / (polled every 2 ms once it says it listens). */
    Startup startup(List<String> cmd) throws Exception {
        String shown = Path.of(cmd.getFirst()).getFileName() + " " + String.join(" ", cmd.subList(1, cmd.size())).replaceAll("-cp \\S+", "-cp \\$CLASSES");
        step("Start-up: " + shown + ", process start to first 200 (" + startupRuns + " runs)");
        var times = new ArrayList<Long>();
        for (int i = 0; i < startupRuns; i++) {
            long t0 = System.nanoTime();
            try (var s = Svc.start("hello", cmd, Map.of())) { times.add(Math.round((System.nanoTime() - t0) / 1e6)); }
        }
        var startup = new Startup(shown, median(times), times);
        done(startup.medianMs() + " ms median");
        return startup;
    }

    List<String> flags(Pod pod, String service) { return concat(pod.flags(service), jvmOptions); }
    List<String> java(Pod pod, String service, Path classes) {
        return concat(List.of(JAVA), flags(pod, service), List.of("-cp", classes.toString(), service));
    }

    /** The last commit that changed the services, "-dirty" when they differ from it; null outside a git checkout. */
    static String servicesCommit() {
        var files = concat(List.of("--"), SERVICES.stream().map(s -> s + ".java").toList());
        try {
            String commit = Procs.check(concat(List.of("git", "log", "-1", "--format=%h"), files), ROOT, Duration.ofSeconds(10)).strip();
            boolean clean = Procs.check(concat(List.of("git", "status", "--porcelain"), files), ROOT, Duration.ofSeconds(10)).isBlank();
            return clean ? commit : commit + "-dirty";
        } catch (Exception notGit) { return null; }
    }

    static <T extends Comparable<? super T>> T median(List<T> xs) { return xs.stream().sorted().toList().get(xs.size() / 2); }

    static String now() { return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString(); }

    /** Writes the record to each file; the first as the user would type it. */
    static Path write(Object record, Path... files) throws java.io.IOException {
        for (Path f : files) Result.JSON.writeValue(f.toFile(), record);
        return files[0].startsWith(ROOT) ? ROOT.relativize(files[0]) : files[0];
    }

    @SafeVarargs
    static List<String> concat(List<String>... parts) { return Arrays.stream(parts).flatMap(List::stream).toList(); }

    static volatile boolean stepOpen; // a step's line waits for its end: ✓, a note, or ✗ before an ERROR
    static void step(String what) { System.out.print(" • " + what + " ... "); stepOpen = true; }
    static void done(String note) { System.out.println(note); stepOpen = false; }

    ParameterException usage(String message) { return new ParameterException(spec.commandLine(), message); }

    static void cleanUp() {
        Procs.STARTED.forEach(Procs::stop);
        if (scratch == null) return;
        try (var files = Files.walk(scratch)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (java.io.IOException ignored) { /* a temporary folder left behind is not worth an error at exit */ }
    }

    static Path findRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) if (Files.exists(p.resolve("bench/bench.java"))) return p;
        System.exit(fail(2, "run the benchmark from inside the repository (no bench/bench.java above " + Path.of("").toAbsolutePath() + ")"));
        return null;
    }

    static int fail(int exit, String message) {
        if (stepOpen) done("✗");
        System.err.println("ERROR: " + message);
        return exit;
    }

    /** Something the benchmark cannot go on without: one ERROR line, exit 1. */
    static final class Failure extends RuntimeException { Failure(String message) { super(message); } }
}
