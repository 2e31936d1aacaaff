///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Benchmarks hello and joiner on loopback: throughput, latency, start-up, memory, image size.
//JAVA 25+
//SOURCES Svc.java Container.java Load.java Images.java Report.java Json.java

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.ToolProvider;

/**
 * {@code jbang bench/bench.java [options]}: runs hello, world and joiner as in production
 * (each its own JVM, the image's JVM flags), loads them over loopback, and prints one table.
 * The same numbers go to bench/results/TIMESTAMP.json and latest.json; --compare diffs two.
 */
class bench {
    static final String USAGE = """
            Usage: jbang bench/bench.java [options]
              --duration S       seconds of load per level (default 10)
              --warmup S         seconds of warm-up per service (default 5)
              --connections L    concurrency levels, comma-separated (default 1,50,256)
              --targets L        services to load: hello, joiner or both (default hello,joiner)
              --threads N        wrk threads (default 2)
              --repeat N         runs per level (default 1); targets use the median, every run is kept
              --startup-runs N   start-up measurements, median reported (default 5)
              --load TOOL        wrk, jdk or auto: wrk when on PATH (default auto)
              --images           build the images first (jbang deploy.java images, into a scratch folder)
              --base-image REF   with --images: the base image, as deploy.java takes it (docker://NAME, tar://PATH)
              --out DIR          where the JSON goes (default bench/results)
              --quick            a smoke run: 1 s of load at 50 connections, 1 start-up run
              --jvm-option OPT   one more JVM option for the services, to try one (repeatable)
              --jfr              record each service with JDK Flight Recorder into --out (NAME.jfr)
              --compare A B      compare two result files and exit
            """;

    static final Path ROOT = findRoot();
    static final String JAVA = ProcessHandle.current().info().command().orElse("java");
    /** Everything started, so that an exit of any kind (Ctrl+C too) stops it. */
    static final List<Process> STARTED = new CopyOnWriteArrayList<>();
    /** Temporary folders (compiled classes, images), removed at exit. */
    static final List<Path> SCRATCH = new CopyOnWriteArrayList<>();

    // Settings, the same for every run and printed with the results.
    int duration = 10, warmup = 5, threads = 2, startupRuns = 5, repeat = 1;
    List<Integer> connections = List.of(1, 50, 256);
    List<String> targets = List.of("hello", "joiner");
    String load = "auto", baseImage;
    List<String> extraOptions = new ArrayList<>();
    boolean buildImages, jfr, jbangStartup = true;
    Path out = ROOT.resolve("bench/results");

    public static void main(String[] args) throws Exception {
        // The table's marks (• ✓ ✗ µ) are UTF-8 whatever the locale says.
        System.setOut(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8));
        var b = new bench();
        try {
            if (args.length > 0 && args[0].equals("--compare")) {
                if (args.length != 3) throw new Usage("--compare takes two result files: --compare A.json B.json");
                Compare.print(Path.of(args[1]), Path.of(args[2]));
                return;
            }
            b.parse(args);
        } catch (Usage e) {
            System.err.println("ERROR: " + e.getMessage());
            System.exit(2);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(bench::stopAll));
        try {
            b.run();
        } catch (Failure e) {
            System.err.println("ERROR: " + e.getMessage());
            System.exit(1);
        }
    }

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> { System.out.print(USAGE); System.exit(0); }
                case "--images" -> buildImages = true;
                case "--jfr" -> jfr = true;
                case "--targets" -> {
                    targets = List.of(value(args, ++i).split(","));
                    if (targets.isEmpty() || !List.of("hello", "joiner").containsAll(targets)) throw new Usage("--targets takes hello, joiner or hello,joiner");
                }
                case "--jvm-option" -> extraOptions.add(value(args, ++i));
                case "--base-image" -> baseImage = value(args, ++i);
                case "--quick" -> { duration = 1; warmup = 1; connections = List.of(50); startupRuns = 1; jbangStartup = false; }
                case "--duration" -> duration = number(a, value(args, ++i));
                case "--warmup" -> warmup = number(a, value(args, ++i));
                case "--threads" -> threads = number(a, value(args, ++i));
                case "--startup-runs" -> startupRuns = number(a, value(args, ++i));
                case "--repeat" -> repeat = number(a, value(args, ++i));
                case "--connections" -> connections = Arrays.stream(value(args, ++i).split(",")).map(c -> number(a, c.trim())).toList();
                case "--out" -> out = Path.of(value(args, ++i)).toAbsolutePath();
                case "--load" -> {
                    load = value(args, ++i);
                    if (!List.of("auto", "wrk", "jdk").contains(load)) throw new Usage("--load takes wrk, jdk or auto, not " + load);
                }
                default -> throw new Usage("unknown option " + a + " (see --help)");
            }
        }
        if (baseImage != null && !buildImages) throw new Usage("--base-image goes with --images (it is the base of the images built)");
    }

    void run() throws Exception {
        // Everything that can be checked is checked before anything starts.
        for (String s : List.of("hello", "world", "joiner")) {
            if (!Files.exists(ROOT.resolve(s + ".java"))) throw new Failure("no " + s + ".java in " + ROOT);
        }
        if (ToolProvider.getSystemJavaCompiler() == null) throw new Failure("this JVM has no compiler; run with a JDK 25, not a JRE");
        Path wrk = which("wrk");
        if (load.equals("wrk") && wrk == null) throw new Failure("--load wrk but wrk is not on PATH (Debian: apt-get install wrk)");
        boolean useWrk = !load.equals("jdk") && wrk != null;
        Files.createDirectories(out);
        Path scratch = Files.createTempDirectory("bench");
        SCRATCH.add(scratch);

        var machine = Machine.now();
        var container = Container.read(ROOT);
        Load.Generator gen = useWrk ? Load.wrk(wrk, threads, scratch, STARTED) : Load.jdk();
        printSettings(machine, container, gen);

        step("Compiling hello, world, joiner with javac");
        Path classes = compile(scratch.resolve("classes"));
        done();

        var results = new Results(machine, flags(container, "hello"), container, gen.name(),
                useWrk ? Machine.wrkVersion(wrk) : "jdk " + Runtime.version(), gen.threads(),
                duration, warmup, connections, startupRuns);
        results.settings.put("repeat", repeat);
        results.settings.put("services_commit", servicesCommit());
        measureLoad(classes, container, gen, results);
        measureStartup(classes, container, results);
        results.images = Images.measure(ROOT, buildImages, baseImage, scratch);
        if (buildImages) results.images.put("jlink_runtime", Images.jlinkRuntime(classes, scratch));
        results.loadAfter = Machine.currentLoad();

        Report.print(results);
        String json = Json.write(results.toJson());
        String stamp = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString().replace(":", "-");
        Path file = Files.writeString(out.resolve(stamp + ".json"), json);
        Files.writeString(out.resolve("latest.json"), json);
        System.out.println("\nWrote " + (file.startsWith(ROOT) ? ROOT.relativize(file) : file) + " and latest.json beside it."
                + " Compare two runs: jbang bench/bench.java --compare A.json B.json");
    }

    /** The pod's JVM flags for a service, then any --jvm-option. */
    List<String> flags(Container container, String service) {
        var f = new ArrayList<>(container.flags(service));
        f.addAll(extraOptions);
        return f;
    }

    /** The flags of a service under load: with a flight recording when asked. */
    List<String> recorded(List<String> flags) {
        if (!jfr) return flags;
        var f = new ArrayList<>(flags);
        f.add("-XX:StartFlightRecording:name=bench,settings=profile");
        return f;
    }

    static Map<String, String> with(Map<String, String> a, Map<String, String> b) {
        var m = new LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    /** The three services as in production, loaded one target and one concurrency level at a time. */
    void measureLoad(Path classes, Container container, Load.Generator gen, Results results) throws Exception {
        try (var hello = Svc.start("hello", classes, recorded(flags(container, "hello")), container.env());
             var world = Svc.start("world", classes, recorded(flags(container, "world")), container.env());
             var joiner = Svc.start("joiner", classes, recorded(flags(container, "joiner")), with(container.env(),
                     Map.of("HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", world.hostPort())))) {
            var services = List.of(hello, world, joiner);
            Thread.sleep(1000); // let start-up threads settle before calling it idle
            for (var s : services) results.memory.put(s.name, new LinkedHashMap<>(Map.of("idle_mib", s.rss())));

            var sampler = Thread.ofVirtual().start(() -> sampleRss(services, results));
            for (var target : services.stream().filter(s -> targets.contains(s.name)).toList()) {
                step("Warming up " + target.name + ": 100 requests one by one, then " + warmup + " s at 50 connections");
                for (int i = 0; i < 100; i++) {
                    // One by one first: class loading and the upstream connections happen before the clock runs.
                    String status = get(target.url.getPort(), "/");
                    if (!"HTTP/1.1 200".equals(status)) {
                        throw new Failure(target.name + " answered " + (status == null ? "nothing" : status) + " to GET /: it must work before it is measured");
                    }
                }
                gen.run(target.name, target.url, 50, warmup);
                done();
                // The services this load reaches: joiner calls hello and world, so their CPU counts too.
                var reached = target == joiner ? services : List.of(target);
                for (int c : connections) {
                    for (int run = 1; run <= repeat; run++) {
                        step(String.format("Load on %s: %d connection%s, %d s%s", target.name, c, c == 1 ? "" : "s", duration,
                                repeat > 1 ? " (run " + run + " of " + repeat + ")" : ""));
                        var r = loadOnce(gen, target, c, reached, services, run);
                        results.load.add(r);
                        done(String.format("%,.0f req/s, p99 %.2f ms%s", r.rps(), r.p99(), r.errors() > 0 ? ", " + r.errors() + " errors" : ""));
                    }
                }
            }
            sampler.interrupt();
            sampler.join();
            for (var s : services) results.memory.get(s.name).put("hwm_mib", s.status("VmHWM"));
            if (jfr) {
                // Dumped while running: the services' shutdown hooks halt the JVM before JFR's own could write.
                Path jcmd = Path.of(JAVA).resolveSibling("jcmd");
                for (var s : services) {
                    step("Writing " + out.resolve(s.name + ".jfr"));
                    check(List.of(jcmd.toString(), String.valueOf(s.process.pid()), "JFR.dump", "name=bench",
                            "filename=" + out.resolve(s.name + ".jfr")), 60);
                    done();
                }
                System.out.println("   Read them with: jfr print --events jdk.ExecutionSample " + out.resolve("joiner.jfr")
                        + " (or jdk.ObjectAllocationSample), or open them in JDK Mission Control");
            }
        }

    }

    /** Start-up of hello: compiled, with the image's flags; and through JBang, as a user first meets it. */
    void measureStartup(Path classes, Container container, Results results) throws Exception {
        step("Start-up: java -cp classes hello, process start to first 200 (" + startupRuns + " runs)");
        var javaCmd = new ArrayList<>(List.of(JAVA));
        javaCmd.addAll(flags(container, "hello"));
        javaCmd.addAll(List.of("-cp", classes.toString(), "hello"));
        results.startup.put("java", startup(javaCmd, container.env(), startupRuns));
        done(results.startup.get("java").get("median_ms") + " ms median");
        Path jbang = which("jbang");
        if (jbangStartup && jbang != null) {
            step("Start-up: jbang hello.java, cache warmed first (" + startupRuns + " runs)");
            check(List.of(jbang.toString(), "build", "hello.java"), 300);
            results.startup.put("jbang", startup(List.of(jbang.toString(), "hello.java"), Map.of(), startupRuns));
            done(results.startup.get("jbang").get("median_ms") + " ms median");
        }

    }

    void printSettings(Machine m, Container container, Load.Generator gen) {
        System.out.printf("Machine:   %d cores, %s, load average %.2f, CPU %.0f%% busy before the run%n", m.cores(), m.cpu(), m.load1(), m.busy());
        System.out.printf("JDK:       %s%n", m.jdk());
        System.out.printf("JVM:       %s%n", container.describe());
        System.out.printf("Load:      %s, %s, connections %s, %d s per level after %d s warm-up, loopback only%n",
                gen.name().equals("wrk") ? "wrk" : load.equals("jdk") ? "JDK load generator (--load jdk)" : "JDK load generator (wrk not on PATH)",
                gen.threads(), connections, duration, warmup);
        if (m.noisy()) {
            System.out.printf("WARNING:   load average %.2f (above 0.5), %.0f%% busy in the last second: other work may share the CPU"
                    + " and make these numbers noise. Each load row says how much it did (other CPU).%n", m.load1(), m.busy());
        }
        System.out.println();
    }

    Path compile(Path dir) throws IOException {
        var args = new ArrayList<>(List.of("-d", dir.toString(), "--release", "25", "-nowarn"));
        for (String s : List.of("hello", "world", "joiner")) args.add(ROOT.resolve(s + ".java").toString());
        var err = new java.io.ByteArrayOutputStream();
        int rc = ToolProvider.getSystemJavaCompiler().run(null, err, err, args.toArray(String[]::new));
        if (rc != 0) throw new Failure("javac failed on the services:\n" + err);
        return dir;
    }

    /** One load run, with the CPU that each service reached spent on it and what other work took meanwhile. */
    Load.Result loadOnce(Load.Generator gen, Svc target, int connections, List<Svc> reached, List<Svc> all, int run) throws Exception {
        var before = CpuClock.now(all);
        var cpu0 = reached.stream().map(s -> cpuNanos(List.of(s))).toList();
        var r = gen.run(target.name, target.url, connections, duration);
        var cpu = new LinkedHashMap<String, Double>();
        for (int i = 0; i < reached.size() && r.requests() > 0; i++) {
            cpu.put(reached.get(i).name, (cpuNanos(List.of(reached.get(i))) - cpu0.get(i)) / 1e3 / r.requests());
        }
        return r.with(cpu, CpuClock.now(all).otherPercentSince(before), run);
    }

    /** CPU time (user + system) the services used so far, in ns; the kernel counts in ticks of 10 ms. */
    static long cpuNanos(List<Svc> services) {
        return services.stream().mapToLong(s -> s.process.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L)).sum();
    }

    /**
     * Where the machine's CPU time went, in clock ticks (USER_HZ, 100 a second on Linux): all of it, the busy part,
     * this JVM with its reaped children (wrk), and the services. The rest of "busy" is someone else's.
     */
    record CpuClock(long total, long busy, long self, long services) {
        static CpuClock now(List<Svc> services) {
            try {
                String[] cpu = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
                long total = 0;
                for (int i = 1; i <= 8 && i < cpu.length; i++) total += Long.parseLong(cpu[i]);
                // Busy: user, nice, system and steal (a hypervisor's other guests). Interrupt time is left out:
                // loopback traffic is handled there, and the kernel charges it to no process.
                long busy = Long.parseLong(cpu[1]) + Long.parseLong(cpu[2]) + Long.parseLong(cpu[3]) + Long.parseLong(cpu[8]);
                // /proc/self/stat: the command may hold spaces, so count fields after its closing parenthesis.
                String stat = Files.readString(Path.of("/proc/self/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                long self = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
                return new CpuClock(total, busy, self, cpuNanos(services) / 10_000_000);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        double otherPercentSince(CpuClock before) {
            if (before == null || total == before.total) return Double.NaN;
            long other = (busy - before.busy) - (self - before.self) - (services - before.services);
            return Math.max(0, 100.0 * other / (total - before.total));
        }
    }

    /** Samples VmRSS of every service while load runs; the highest seen is "under load". */
    static void sampleRss(List<Svc> services, Results results) {
        while (!Thread.currentThread().isInterrupted()) {
            for (var s : services) results.memory.get(s.name).merge("load_mib", s.rss(), (a, b) -> Math.max((double) a, (double) b));
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Start-up runs of one command: wall time from just before the fork to the first 200 on GET /. */
    Map<String, Object> startup(List<String> cmd, Map<String, String> env, int runs) throws Exception {
        var times = new ArrayList<Double>();
        for (int i = 0; i < runs; i++) {
            int port = freePort();
            var pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().putAll(env);
            pb.environment().putAll(Map.of("PORT", String.valueOf(port), "HOST", "127.0.0.1"));
            long t0 = System.nanoTime();
            Process p = pb.start();
            STARTED.add(p);
            try {
                while (!"HTTP/1.1 200".equals(get(port, "/"))) {
                    if (!p.isAlive()) throw new Failure(String.join(" ", cmd) + " exited with " + p.exitValue() + " before answering");
                    if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) throw new Failure(String.join(" ", cmd) + " gave no 200 in 60 s");
                    Thread.sleep(2); // polling step: the resolution of the measurement
                }
                times.add((System.nanoTime() - t0) / 1e6);
            } finally {
                stop(p);
            }
        }
        var sorted = times.stream().sorted().toList();
        var m = new LinkedHashMap<String, Object>();
        // As a user would type it: "java", not the JDK's path; the classes' temporary folder as $CLASSES.
        var shown = new ArrayList<>(cmd);
        shown.set(0, Path.of(cmd.getFirst()).getFileName().toString());
        m.put("command", String.join(" ", shown).replaceAll("-cp \\S+", "-cp \\$CLASSES"));
        m.put("median_ms", Math.round(sorted.get(sorted.size() / 2)));
        m.put("runs_ms", times.stream().map(Math::round).toList());
        return m;
    }

    /** One GET on a fresh loopback connection: the start of the status line ("HTTP/1.1 200"), or null while nothing answers. */
    static String get(int port, String path) {
        try (var s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * A free loopback port below the ephemeral range. Polling a port inside that range before anything
     * listens can connect the socket to itself (TCP simultaneous open), and then the service cannot bind.
     */
    static int freePort() throws IOException {
        int low = 32768;
        try {
            // readAllLines, not readString: a sysctl file answers a first small read and then says end of file.
            low = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).getFirst().trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            // not Linux: Linux's default bound will do
        }
        var random = java.util.concurrent.ThreadLocalRandom.current();
        for (int i = 0; i < 100 && low > 10_000; i++) {
            int port = random.nextInt(10_000, low);
            try (var s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void stop(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        STARTED.remove(p);
    }

    static void stopAll() {
        STARTED.forEach(bench::stop);
        for (Path dir : SCRATCH) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // a temporary folder left behind is not worth an error at exit
            }
        }
    }

    static void step(String what) {
        System.out.print(" • " + what + " ... ");
        System.out.flush();
    }

    static void done() { done("✓"); }

    static void done(String note) {
        System.out.println(note);
    }

    /** The last commit that changed the services, "-dirty" when they differ from it; null outside a git checkout. */
    static String servicesCommit() {
        try {
            String commit = check(List.of("git", "log", "-1", "--format=%h", "--", "hello.java", "world.java", "joiner.java"), 10).strip();
            String changed = check(List.of("git", "status", "--porcelain", "--", "hello.java", "world.java", "joiner.java"), 10).strip();
            return commit + (changed.isEmpty() ? "" : "-dirty");
        } catch (Exception e) {
            return null;
        }
    }

    /** Runs a short command to completion, bounded; fails with its output when it fails. */
    static String check(List<String> cmd, int seconds) throws Exception {
        Path log = Files.createTempFile("bench", ".log");
        Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        STARTED.add(p);
        try {
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) throw new Failure(String.join(" ", cmd) + " ran past " + seconds + " s");
            String text = Files.readString(log);
            if (p.exitValue() != 0) throw new Failure(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + text);
            return text;
        } finally {
            stop(p);
            Files.deleteIfExists(log);
        }
    }

    /** The full path of an executable on PATH, or null. */
    static Path which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
        }
        return null;
    }

    static Path findRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("bench/bench.java"))) return p;
        }
        System.err.println("ERROR: run the benchmark from inside the repository (no bench/bench.java above " + Path.of("").toAbsolutePath() + ")");
        System.exit(2);
        return null;
    }

    static String value(String[] args, int i) {
        if (i >= args.length) throw new Usage(args[i - 1] + " needs a value (see --help)");
        return args[i];
    }

    static int number(String option, String v) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below, with the value
        }
        throw new Usage(option + " takes a positive whole number, not '" + v + "'");
    }

    /** A mistake in the command line: one line, exit 2. */
    static final class Usage extends RuntimeException {
        Usage(String message) { super(message); }
    }

    /** Something the benchmark cannot go on without: one line, exit 1. */
    static final class Failure extends RuntimeException {
        Failure(String message) { super(message); }
    }
}
