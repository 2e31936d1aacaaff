import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.*;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.*;
import java.util.*;

/** One run as bench/results/*.json holds it (snake_case names; fields of older files since dropped skipped), its table, and --compare. */
record Result(String timestamp, Machine machine, Settings settings, List<Run> load, Map<String, Startup> startup,
              Map<String, Memory> memory, Images images, List<Target> targets) {
    static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    static Result read(Path file) {
        try {
            return JSON.readValue(file.toFile(), Result.class);
        } catch (IOException e) { throw new bench.Failure(file + " is not a results file: " + e.getMessage().lines().findFirst().orElse("")); }
    }

    /** The run that stands for a level: of its repeats, the median by req/s; null when not measured. */
    Run median(String target, int connections) {
        var runs = load.stream().filter(r -> r.target().equals(target) && r.connections() == connections)
                .sorted(Comparator.comparingDouble(Run::rps)).toList();
        return runs.isEmpty() ? null : runs.get(runs.size() / 2);
    }

    /** Issue 6's and issue 12's targets, as measured here; what was not measured is left out. */
    static List<Target> targets(List<Run> load, Map<String, Startup> startup, Map<String, Memory> memory, Map<String, Long> limits, Images images) {
        var t = new ArrayList<Target>();
        var r = new Result(null, null, null, load, startup, memory, images, null);
        if (r.median("hello", 50) instanceof Run h) t.add(new Target("hello throughput, 50 connections", "≥ 60,000 req/s", "%,.0f req/s".formatted(h.rps()), h.rps() >= 60_000));
        if (r.median("joiner", 50) instanceof Run j) {
            t.add(new Target("joiner throughput, 50 connections", "≥ 15,000 req/s", "%,.0f req/s".formatted(j.rps()), j.rps() >= 15_000));
            t.add(new Target("joiner p99, 50 connections", "≤ 10 ms", "%.2f ms".formatted(j.p99Ms()), j.p99Ms() <= 10));
            if (r.median("actix-joiner", 50) instanceof Run a) t.add(new Target("joiner req/s / actix-web joiner's", "≥ 0.8×", "%.2f×".formatted(j.rps() / a.rps()), j.rps() / a.rps() >= 0.8));
        }
        long errors = load.stream().mapToLong(Run::errors).sum();
        if (!load.isEmpty()) t.add(new Target("errors, all runs", "0", String.valueOf(errors), errors == 0));
        if (startup.get("java") instanceof Startup s) t.add(new Target("start-up to first 200 (java, median)", "≤ 500 ms", s.medianMs() + " ms", s.medianMs() <= 500));
        memory.forEach((name, m) -> t.add(new Target(name + " RSS idle", "≤ 64 MiB", "%.1f MiB".formatted(m.idleMib()), m.idleMib() <= 64)));
        // Not a target of the issues, but what ends a pod: the kernel kills a container above its limit.
        memory.forEach((name, m) -> {
            if (limits.get(name) instanceof Long limit) t.add(new Target(name + " peak RSS vs pod memory limit", "< %d MiB".formatted(limit >> 20), "%.1f MiB".formatted(m.hwmMib()), m.hwmMib() < limit >> 20));
        });
        for (var i : images.images() == null ? List.<Image>of() : images.images()) {
            if (i.warning() == null) t.add(new Target(i.name() + " image, compressed", "≤ 100 MiB", "%.1f MiB".formatted(i.compressedMib()), i.compressedMib() <= 100));
        }
        return t;
    }

    /** The table on stdout. */
    void print() {
        var s = settings;
        System.out.printf("%nThroughput and latency (%s -t%s, %s s per run, loopback; services at commit %s)%n",
                s.toolVersion(), s.threads(), s.durationS(), s.servicesCommit());
        boolean repeated = s.repeat() > 1;
        System.out.printf("  %-13s %5s%s %11s %8s %8s %8s %6s %11s %5s %9s%n", "service", "conns", repeated ? "  run" : "", "req/s",
                "p50 ms", "p99 ms", "max ms", "errors", "CPU µs/req", "JIT", "other CPU");
        for (var l : load) {
            System.out.printf("  %-13s %5d%s %,11.0f %8.2f %8.2f %8.2f %6d %11.1f %4.0f%% %8.0f%%%n", l.target(), l.connections(),
                    repeated ? " %3d%s".formatted(l.run(), l == median(l.target(), l.connections()) ? "*" : " ") : "",
                    l.rps(), l.p50Ms(), l.p99Ms(), l.maxMs(), l.errors(), l.serverCpuUsPerRequest(), l.jitCpuPercent(), l.otherCpuPercent());
        }
        if (repeated) System.out.println("  * the median run of its level by req/s: the one the targets and ratios use.");
        System.out.println("  CPU µs/req: CPU time of the services the load reached (a joiner: all three) per request; other work hardly moves it.");
        System.out.println("  JIT: the share of that CPU their JIT compilers took; above a few % they were still warming up, and the row says so.");
        System.out.println("  other CPU: the machine's CPU used by neither those services nor wrk meanwhile; above a few % the row is noise.");
        load.stream().filter(l -> l.cpuUsPerRequestByService().size() > 1 && l == median(l.target(), l.connections()))
                .forEach(l -> System.out.printf("  %s at %d: CPU µs/req by service %s%n", l.target(), l.connections(), l.cpuUsPerRequestByService()));
        load.stream().filter(l -> l.errors() > 0).forEach(l -> System.out.printf("  errors of %s at %d, run %d: %s%n", l.target(), l.connections(), l.run(), l.errorDetail()));
        // With --peers: ours against actix-web at each level, medians of the alternated runs.
        if (load.stream().anyMatch(l -> l.target().startsWith("actix-"))) System.out.printf("%n  Against actix-web (ours / actix, medians):%n");
        for (String target : List.of("hello", "joiner")) {
            for (int c : s.connections()) {
                Run ours = median(target, c), actix = median("actix-" + target, c);
                if (ours == null || actix == null) continue;
                System.out.printf("  %-6s %4d conns: req/s %,.0f / %,.0f = %.2f×   p99 %.2f / %.2f ms = %.2f×   CPU µs/req %.0f / %.0f%n", target, c,
                        ours.rps(), actix.rps(), ours.rps() / actix.rps(), ours.p99Ms(), actix.p99Ms(), ours.p99Ms() / actix.p99Ms(),
                        ours.serverCpuUsPerRequest(), actix.serverCpuUsPerRequest());
            }
        }
        System.out.println("\nStart-up: process start to first 200 on GET / (median of " + s.startupRuns() + ")");
        startup.forEach((k, v) -> System.out.printf("  %-6s %6d ms   %s   runs %s%n", k, v.medianMs(), v.command(), v.runsMs()));
        System.out.println("\nMemory (MiB, from /proc/PID/status)");
        System.out.printf("  %-7s %10s %16s %8s%n", "service", "idle RSS", "RSS under load", "VmHWM");
        memory.forEach((k, v) -> System.out.printf("  %-7s %10.1f %16.1f %8.1f%n", k, v.idleMib(), v.loadMib(), v.hwmMib()));
        System.out.println("\nImages");
        if (images.images() != null) {
            System.out.printf("  %-8s %6s %15s %13s %16s  %s%n", "image", "layers", "compressed MiB", "unpacked MiB", "top layer (app)", "built");
            for (var i : images.images()) {
                System.out.printf("  %-8s %6d %15.1f %13.1f %12.0f KiB  %s%s%n", i.name(), i.layers(), i.compressedMib(), i.uncompressedMib(),
                        i.layersCompressedUncompressedMib().getLast().getLast() * 1024, i.built(), i.warning() == null ? "" : "  " + i.warning());
            }
            System.out.println("  base image: " + images.baseImage());
        }
        if (images.note() != null) System.out.println("  " + images.note());
        if (images.jlinkRuntime() instanceof Jlink j) {
            System.out.printf("  A Java runtime linked from only %s (jlink): %.1f MiB compressed, %.1f MiB unpacked%n", j.modules(), j.compressedMib(), j.uncompressedMib());
        }
        System.out.println("\nTargets (issues 6 and 12)");
        targets.forEach(t -> System.out.printf("  %s %-40s %-16s %s%n", t.met() ? "✓" : "✗", t.what(), t.target(), t.measured()));
        // The load average lags a minute behind; what other work took while wrk ran is the measure that counts.
        long noisy = load.stream().filter(l -> l.otherCpuPercent() > 5).count();
        double most = load.stream().mapToDouble(Run::otherCpuPercent).max().orElse(Double.NaN);
        long warming = load.stream().filter(l -> l.jitCpuPercent() > 5).count();
        if (warming > 0) System.out.printf("%nWARNING: the JIT took over 5%% of the services' CPU in %d of %d runs: those rows measure its compiling too"
                + " (the warm-up runs at 50 connections, and other levels reach code it did not; --quick warms up for 1 s).%n", warming, load.size());
        if (noisy > 0) {
            System.out.printf("%nWARNING: other work took over 5%% of the CPU in %d of %d runs (up to %.0f%%). Those rows are noise"
                    + " (CPU µs/req is the least affected); rerun on a quiet machine for the record.%n", noisy, load.size(), most);
        } else if (!Double.isNaN(most)) {
            System.out.printf("%nOther work took at most %.0f%% of the CPU while wrk ran: a clean run.%n", most);
        }
    }

    /** B against A, level by level (medians), with the change in percent. */
    static void compare(Path a, Path b) {
        Result x = read(a), y = read(b);
        System.out.printf("A: %s  %s, load %.2f, CPU busy %.0f%%%n", a, x.timestamp(), x.machine().load1AtStart(), x.machine().cpuBusyPercentAtStart());
        System.out.printf("B: %s  %s, load %.2f, CPU busy %.0f%%%n", b, y.timestamp(), y.machine().load1AtStart(), y.machine().cpuBusyPercentAtStart());
        Settings sx = x.settings(), sy = y.settings();
        if (!sx.toolVersion().equals(sy.toolVersion())) System.out.printf("settings differ: load tool %s vs %s%n", sx.toolVersion(), sy.toolVersion());
        if (sx.durationS() != sy.durationS()) System.out.printf("settings differ: duration %d s vs %d s%n", sx.durationS(), sy.durationS());
        if (!sx.jvmFlags().equals(sy.jvmFlags())) System.out.printf("settings differ: JVM flags %s vs %s%n", sx.jvmFlags(), sy.jvmFlags());
        System.out.printf("%n%-30s %12s %12s %8s%n", "", "A", "B", "change");
        for (Run l : x.load().stream().map(r -> x.median(r.target(), r.connections())).distinct().toList()) { // level by level
            Run o = y.median(l.target(), l.connections());
            if (o == null) continue;
            String name = l.target() + " c=" + l.connections();
            row(name + " req/s", l.rps(), o.rps());
            row(name + " p99 ms", l.p99Ms(), o.p99Ms());
            row(name + " CPU µs/req", l.serverCpuUsPerRequest(), o.serverCpuUsPerRequest());
            row(name + " JIT CPU %", l.jitCpuPercent(), o.jitCpuPercent());
            row(name + " other CPU %", l.otherCpuPercent(), o.otherCpuPercent());
        }
        x.startup().forEach((k, v) -> {
            if (y.startup().get(k) instanceof Startup w) row("start-up " + k + " ms", v.medianMs(), w.medianMs());
        });
        x.memory().forEach((k, v) -> {
            if (y.memory().get(k) instanceof Memory w) row(k + " idle RSS MiB", v.idleMib(), w.idleMib());
        });
    }

    private static void row(String what, double a, double b) {
        String change = a == 0 || Double.isNaN(a) ? "" : "%+.1f%%".formatted((b - a) / a * 100);
        System.out.printf("%-30s %12s %12s %8s%n", what, fmt(a), fmt(b), change);
    }

    private static String fmt(double v) { return v >= 100 ? "%,.0f".formatted(v) : "%.2f".formatted(v); }

    static double round(double v, int digits) { return Math.round(v * Math.pow(10, digits)) / Math.pow(10, digits); }
}

/** load1 is the 1-minute load average; cpu_busy_percent the share of the CPU other work used in the second before. */
record Machine(int cores, String cpu, String jdk, double load1AtStart, double cpuBusyPercentAtStart) {
    static Machine now() throws Exception {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
        long[] a = Procs.cpuTicks();
        Thread.sleep(1000);
        long[] b = Procs.cpuTicks();
        return new Machine(Runtime.getRuntime().availableProcessors(), cpu, System.getProperty("java.vm.vendor") + " " + Runtime.version()
                + " (" + System.getProperty("java.home") + ")", Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]),
                Result.round(100.0 * (b[1] - a[1]) / Math.max(1, b[0] - a[0]), 1));
    }
}

record Settings(String tool, String toolVersion, String threads, List<Integer> connections, int durationS, int warmupS,
                int startupRuns, int repeat, List<String> jvmFlags, List<String> jvmFlagsFrom, String address, String servicesCommit) {}
/** One wrk run at one level, latencies in ms, with the CPU µs per request of each service it reached, the JIT's share of it, and other work's CPU share. */
record Run(String target, int connections, int run, int threads, long requests, double seconds, double rps,
           double p50Ms, double p99Ms, double maxMs, long errors, String errorDetail,
           double serverCpuUsPerRequest, Map<String, Double> cpuUsPerRequestByService, double otherCpuPercent, double jitCpuPercent) {}
record Startup(String command, long medianMs, List<Long> runsMs) {}
/** RSS in MiB from /proc/PID/status: idle after start, the highest sampled under load, and VmHWM, the kernel's peak. */
record Memory(double idleMib, Double loadMib, Double hwmMib) {}
record Target(String what, String target, String measured, boolean met) {}
/** Image sizes: compressed is what a registry stores and a node pulls, unpacked what the node extracts. */
record Images(String baseImage, List<Image> images, Jlink jlinkRuntime, String note) {}
record Image(String name, String built, int layers, double compressedMib, double uncompressedMib, List<List<Double>> layersCompressedUncompressedMib, String warning) {}
/** A runtime of only the modules the services use, linked by jlink, gzipped as a layer would be. */
record Jlink(String modules, double compressedMib, double uncompressedMib) {}
