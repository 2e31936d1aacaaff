import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The machine the numbers come from. load1 is the 1-minute load average; busy is the share of the CPU
 * that other work used in the second before the run (the load average lags by a minute).
 */
record Machine(int cores, String cpu, String jdk, double load1, double busy) {
    /** Numbers measured with other work on the CPU are noise; a warning says so. */
    boolean noisy() {
        return load1 > 0.5 || busy > 10;
    }

    static Machine now() {
        String cpu = "unknown CPU";
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            cpu = lines.filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException ignored) {
            // not Linux: the CPU stays unnamed
        }
        String jdk = System.getProperty("java.vm.vendor") + " " + Runtime.version() + " (" + System.getProperty("java.home") + ")";
        return new Machine(Runtime.getRuntime().availableProcessors(), cpu, jdk, currentLoad(), busyPercent());
    }

    /** Percent of all CPUs not idle over one second, from the first line of /proc/stat. */
    static double busyPercent() {
        try {
            long[] a = cpuTicks();
            Thread.sleep(1000);
            long[] b = cpuTicks();
            double total = b[0] - a[0], idle = b[1] - a[1];
            return total <= 0 ? Double.NaN : 100 * (total - idle) / total;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    /** {all ticks, idle + iowait ticks} */
    private static long[] cpuTicks() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length && i <= 8; i++) total += Long.parseLong(f[i]);
        return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
    }

    static double currentLoad() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** wrk prints its version on the first line of its usage text. */
    static String wrkVersion(Path wrk) {
        try {
            var p = new ProcessBuilder(wrk.toString(), "-v").redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("wrk");
            p.waitFor();
            return first.replaceAll(" Copyright.*", "");
        } catch (IOException | InterruptedException e) {
            return "wrk";
        }
    }
}

/** Everything one run measured, printed as the table and written as JSON. */
final class Results {
    final Machine machine;
    final Map<String, Object> settings = new LinkedHashMap<>();
    final List<Load.Result> load = new ArrayList<>();
    final Map<String, Map<String, Object>> startup = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> memory = new LinkedHashMap<>();
    Map<String, Object> images = Map.of();
    final Map<String, Long> memoryLimits;
    double loadAfter = Double.NaN;

    Results(Machine machine, List<String> jvmFlags, Container container, String tool, String toolVersion,
            String threads, int duration, int warmup, List<Integer> connections, int startupRuns) {
        this.machine = machine;
        this.memoryLimits = container.memoryLimits();
        settings.put("tool", tool);
        settings.put("tool_version", toolVersion);
        settings.put("threads", threads);
        settings.put("connections", connections);
        settings.put("duration_s", duration);
        settings.put("warmup_s", warmup);
        settings.put("startup_runs", startupRuns);
        settings.put("jvm_flags", jvmFlags);
        settings.put("java_tool_options", container.javaToolOptions());
        settings.put("jvm_flags_from", container.sources());
        settings.put("address", "127.0.0.1");
    }

    /** The run that stands for a level: with --repeat, the median by req/s. */
    Load.Result at(String target, int connections) {
        var runs = load.stream().filter(r -> r.target().equals(target) && r.connections() == connections)
                .sorted(java.util.Comparator.comparingDouble(Load.Result::rps)).toList();
        return runs.isEmpty() ? null : runs.get(runs.size() / 2);
    }

    /** Each target of issue 6, measured here: [what, wanted, got, ok]; missing measurements are left out. */
    List<Map<String, Object>> targets() {
        var t = new ArrayList<Map<String, Object>>();
        var hello = at("hello", 50);
        var joiner = at("joiner", 50);
        if (hello != null) target(t, "hello throughput, 50 connections", "≥ 60,000 req/s", String.format("%,.0f req/s", hello.rps()), hello.rps() >= 60_000);
        if (joiner != null) {
            target(t, "joiner throughput, 50 connections", "≥ 10,000 req/s", String.format("%,.0f req/s", joiner.rps()), joiner.rps() >= 10_000);
            target(t, "joiner p99, 50 connections", "≤ 20 ms", String.format("%.2f ms", joiner.p99()), joiner.p99() <= 20);
        }
        long errors = load.stream().mapToLong(Load.Result::errors).sum();
        if (!load.isEmpty()) target(t, "errors, all runs", "0", String.valueOf(errors), errors == 0);
        var java = startup.get("java");
        if (java != null) {
            long ms = ((Number) java.get("median_ms")).longValue();
            target(t, "start-up to first 200 (java, median)", "≤ 500 ms", ms + " ms", ms <= 500);
        }
        memory.forEach((name, m) -> {
            double idle = ((Number) m.get("idle_mib")).doubleValue();
            target(t, name + " RSS idle", "≤ 64 MiB", String.format("%.1f MiB", idle), idle <= 64);
        });
        // Not one of the targets, but the one that ends a pod: the kernel kills a container above its limit.
        memoryLimits.forEach((name, limit) -> {
            if (memory.get(name) instanceof Map<String, Object> m && m.get("hwm_mib") instanceof Number hwm) {
                double mib = limit / 1048576.0;
                target(t, name + " peak RSS vs pod memory limit", String.format("< %.0f MiB", mib), String.format("%.1f MiB", hwm.doubleValue()), hwm.doubleValue() < mib);
            }
        });
        if (images.get("images") instanceof List<?> list) {
            for (Object o : list) {
                var i = (Map<?, ?>) o;
                if (i.get("warning") != null) continue;
                double mib = ((Number) i.get("compressed_mib")).doubleValue();
                target(t, i.get("name") + " image, compressed", "≤ 100 MiB", String.format("%.1f MiB", mib), mib <= 100);
            }
        }
        return t;
    }

    private static void target(List<Map<String, Object>> t, String what, String wanted, String got, boolean ok) {
        var m = new LinkedHashMap<String, Object>();
        m.put("what", what);
        m.put("target", wanted);
        m.put("measured", got);
        m.put("met", ok);
        t.add(m);
    }

    Map<String, Object> toJson() {
        var m = new LinkedHashMap<String, Object>();
        m.put("timestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        var mach = new LinkedHashMap<String, Object>();
        mach.put("cores", machine.cores());
        mach.put("cpu", machine.cpu());
        mach.put("jdk", machine.jdk());
        mach.put("load1_at_start", machine.load1());
        mach.put("cpu_busy_percent_at_start", round(machine.busy(), 1));
        mach.put("load1_at_end", loadAfter);
        m.put("machine", mach);
        m.put("settings", settings);
        m.put("load", load.stream().map(r -> {
            var x = new LinkedHashMap<String, Object>();
            x.put("target", r.target());
            x.put("connections", r.connections());
            x.put("run", r.run());
            x.put("threads", r.threads());
            x.put("requests", r.requests());
            x.put("seconds", round(r.seconds(), 2));
            x.put("rps", round(r.rps(), 0));
            x.put("p50_ms", round(r.p50(), 3));
            x.put("p99_ms", round(r.p99(), 3));
            x.put("max_ms", round(r.max(), 3));
            x.put("errors", r.errors());
            x.put("server_cpu_us_per_request", round(r.cpuPerRequest(), 1));
            var byService = new LinkedHashMap<String, Object>();
            r.cpu().forEach((k, v) -> byService.put(k, round(v, 1)));
            x.put("cpu_us_per_request_by_service", byService);
            x.put("other_cpu_percent", round(r.otherCpu(), 1));
            if (r.errors() > 0) x.put("error_detail", r.errorDetail());
            return x;
        }).toList());
        m.put("startup", startup);
        var mem = new LinkedHashMap<String, Object>();
        memory.forEach((k, v) -> {
            var x = new LinkedHashMap<String, Object>();
            v.forEach((kk, vv) -> x.put(kk, round(((Number) vv).doubleValue(), 1)));
            mem.put(k, x);
        });
        m.put("memory", mem);
        m.put("images", images);
        m.put("targets", targets());
        return m;
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}

/** The table on stdout. */
final class Report {
    private Report() {}

    static void print(Results r) {
        System.out.println();
        System.out.printf("Throughput and latency (%s, %s s per level, loopback; services at commit %s)%n",
                r.settings.get("tool_version"), r.settings.get("duration_s"), r.settings.get("services_commit"));
        boolean repeated = r.load.stream().anyMatch(l -> l.run() > 1);
        System.out.printf("  %-7s %6s%s %11s %9s %9s %9s %7s %12s %10s%n", "service", "conns", repeated ? "  run" : "", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU µs/req", "other CPU");
        for (var l : r.load) {
            boolean median = l == r.at(l.target(), l.connections());
            System.out.printf("  %-7s %6d%s %,11.0f %9.2f %9.2f %9.2f %7d %12.1f %9.0f%%%n", l.target(), l.connections(),
                    repeated ? String.format(" %3d%s", l.run(), median ? "*" : " ") : "",
                    l.rps(), l.p50(), l.p99(), l.max(), l.errors(), l.cpuPerRequest(), l.otherCpu());
        }
        if (repeated) System.out.println("  * the median run of its level by req/s: the one the targets use.");
        System.out.println("  CPU µs/req: CPU time of the services reached (joiner: all three) per request; other load on the machine hardly moves it.");
        System.out.println("  other CPU: share of the machine's CPU used by neither the services nor the load generator meanwhile; above a few % the row is noise.");
        r.load.stream().filter(l -> l.cpu().size() > 1 && l == r.at(l.target(), l.connections())).forEach(l -> System.out.printf("  %s at %d: CPU µs/req by service %s%n",
                l.target(), l.connections(), l.cpu().entrySet().stream().map(e -> String.format("%s %.1f", e.getKey(), e.getValue())).toList()));
        r.load.stream().filter(l -> l.errors() > 0)
                .forEach(l -> System.out.printf("  errors of %s at %d: %s%n", l.target(), l.connections(), l.errorDetail()));

        System.out.println("\nStart-up: process start to first 200 on GET / (median of " + r.settings.get("startup_runs") + ")");
        r.startup.forEach((k, v) -> System.out.printf("  %-6s %6s ms   %s   runs %s%n", k, v.get("median_ms"), v.get("command"), v.get("runs_ms")));

        System.out.println("\nMemory (MiB, from /proc/PID/status)");
        System.out.printf("  %-7s %10s %16s %8s%n", "service", "idle RSS", "RSS under load", "VmHWM");
        r.memory.forEach((k, v) -> System.out.printf("  %-7s %10.1f %16.1f %8.1f%n", k, v.get("idle_mib"), v.getOrDefault("load_mib", Double.NaN), v.getOrDefault("hwm_mib", Double.NaN)));

        System.out.println("\nImages");
        if (r.images.get("images") instanceof List<?> list) {
            System.out.printf("  %-12s %7s %16s %14s %18s  %s%n", "image", "layers", "compressed MiB", "unpacked MiB", "top layer (app)", "built");
            for (Object o : list) {
                var i = (Map<?, ?>) o;
                var layers = (List<?>) i.get("layers_compressed_uncompressed_mib");
                var top = layers.isEmpty() ? List.of(Double.NaN, Double.NaN) : (List<?>) layers.getLast();
                System.out.printf("  %-12s %7s %16.1f %14.1f %14.0f KiB  %s%n", i.get("name"), i.get("layers"), i.get("compressed_mib"),
                        i.get("uncompressed_mib"), ((Number) top.get(1)).doubleValue() * 1024, i.get("built"));
            }
            System.out.println("  base image: " + r.images.get("base_image"));
            for (Object o : list) {
                if (((Map<?, ?>) o).get("warning") instanceof String w) System.out.println("  " + ((Map<?, ?>) o).get("name") + ": " + w);
            }
        }
        if (r.images.get("note") != null) System.out.println("  " + r.images.get("note"));
        if (r.images.get("jlink_runtime") instanceof Map<?, ?> j) {
            System.out.println(j.get("note") != null ? "  jlink runtime: " + j.get("note")
                    : String.format("  A Java runtime linked from only %s (jlink): %.1f MiB compressed, %.1f MiB unpacked",
                            j.get("modules"), j.get("compressed_mib"), j.get("uncompressed_mib")));
        }

        System.out.println("\nTargets (issue 6)");
        for (var t : r.targets()) {
            System.out.printf("  %s %-38s %-16s %s%n", (Boolean) t.get("met") ? "✓" : "✗", t.get("what"), t.get("target"), t.get("measured"));
        }
        // The load average lags a minute behind; what other work took while the load ran is the measure that counts.
        var others = r.load.stream().mapToDouble(Load.Result::otherCpu).filter(d -> !Double.isNaN(d)).summaryStatistics();
        var noisy = r.load.stream().filter(l -> l.otherCpu() > 5)
                .map(l -> String.format("%s %d%s (%.0f%%)", l.target(), l.connections(), (Integer) r.settings.getOrDefault("repeat", 1) > 1 ? " run " + l.run() : "", l.otherCpu())).toList();
        if (!noisy.isEmpty()) {
            String which = noisy.size() <= 4 ? String.join(", ", noisy) : "up to " + Math.round(others.getMax()) + "%";
            System.out.printf("%nWARNING: other work took over 5%% of the CPU in %d of %d runs (%s). Those rows are noise"
                    + " (CPU µs/req is the least affected); rerun on a quiet machine for the record.%n", noisy.size(), r.load.size(), which);
        } else if (others.getCount() > 0) {
            System.out.printf("%nOther work took at most %.0f%% of the CPU while the load ran: a clean run.%n", others.getMax());
        } else if (r.machine.noisy()) {
            System.out.printf("%nWARNING: load average %.2f at start: other work may have shared the CPU.%n", r.machine.load1());
        }
    }
}

/** {@code --compare A.json B.json}: B against A, line by line, with the change in percent. */
final class Compare {
    private Compare() {}

    @SuppressWarnings("unchecked")
    static void print(Path a, Path b) throws IOException {
        Map<String, Object> x = read(a), y = read(b);
        System.out.printf("A: %s  %s, load %s, CPU busy %s%%%nB: %s  %s, load %s, CPU busy %s%%%n%n",
                a, get(x, "timestamp"), get(x, "machine", "load1_at_start"), get(x, "machine", "cpu_busy_percent_at_start"),
                b, get(y, "timestamp"), get(y, "machine", "load1_at_start"), get(y, "machine", "cpu_busy_percent_at_start"));
        for (String k : List.of("tool_version", "duration_s", "jvm_flags")) {
            if (!String.valueOf(get(x, "settings", k)).equals(String.valueOf(get(y, "settings", k)))) {
                System.out.printf("settings differ: %s: %s vs %s%n", k, get(x, "settings", k), get(y, "settings", k));
            }
        }
        System.out.printf("%-28s %12s %12s %8s%n", "", "A", "B", "change");
        var xs = (List<Map<String, Object>>) x.get("load");
        var ys = (List<Map<String, Object>>) y.get("load");
        for (var level : xs.stream().map(l -> List.of(l.get("target"), l.get("connections"))).distinct().toList()) {
            var l = median(xs, level);
            var other = median(ys, level);
            if (other == null) continue;
            String name = level.get(0) + " c=" + ((Number) level.get(1)).intValue();
            row(name + " req/s", l.get("rps"), other.get("rps"));
            row(name + " p99 ms", l.get("p99_ms"), other.get("p99_ms"));
            row(name + " CPU µs/req", l.get("server_cpu_us_per_request"), other.get("server_cpu_us_per_request"));
            row(name + " other CPU %", l.get("other_cpu_percent"), other.get("other_cpu_percent"));
        }
        for (String k : List.of("java", "jbang")) {
            row("start-up " + k + " ms", get(x, "startup", k, "median_ms"), get(y, "startup", k, "median_ms"));
        }
        for (String s : List.of("hello", "world", "joiner")) {
            row(s + " idle RSS MiB", get(x, "memory", s, "idle_mib"), get(y, "memory", s, "idle_mib"));
        }
    }

    /** Of the runs at one level (target, connections), the median by req/s, as the targets take it. */
    private static Map<String, Object> median(List<Map<String, Object>> runs, List<Object> level) {
        var at = runs.stream().filter(r -> r.get("target").equals(level.get(0)) && r.get("connections").equals(level.get(1)))
                .sorted(java.util.Comparator.comparingDouble(r -> ((Number) r.get("rps")).doubleValue())).toList();
        return at.isEmpty() ? null : at.get(at.size() / 2);
    }

    private static void row(String what, Object a, Object b) {
        if (!(a instanceof Number na) || !(b instanceof Number nb)) return;
        double va = na.doubleValue(), vb = nb.doubleValue();
        String change = va == 0 ? "" : String.format("%+.1f%%", (vb - va) / va * 100);
        System.out.printf("%-28s %12s %12s %8s%n", what, fmt(va), fmt(vb), change);
    }

    private static String fmt(double v) {
        return v >= 100 ? String.format("%,.0f", v) : String.format("%.2f", v);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> read(Path p) throws IOException {
        if (!Files.exists(p)) throw new bench.Usage("no such results file: " + p);
        try {
            return (Map<String, Object>) Json.parse(Files.readString(p));
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new bench.Usage(p + " is not a results file: " + e.getMessage());
        }
    }

    private static Object get(Object m, String... keys) {
        for (String k : keys) {
            if (!(m instanceof Map<?, ?> map)) return null;
            m = map.get(k);
        }
        return m;
    }
}
