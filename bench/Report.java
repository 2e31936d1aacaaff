import java.nio.file.Path;
import java.util.List;

/** The table on stdout, and {@code --compare A B}. */
final class Report {
    static void print(Result r) {
        var s = r.settings();
        System.out.printf("%nThroughput and latency (%s -t%s, %s s per run, loopback; services at commit %s)%n",
                s.toolVersion(), s.threads(), s.durationS(), s.servicesCommit());
        boolean repeated = s.repeat() > 1;
        System.out.printf("  %-13s %5s%s %11s %8s %8s %8s %6s %11s %9s%n", "service", "conns", repeated ? "  run" : "", "req/s",
                "p50 ms", "p99 ms", "max ms", "errors", "CPU µs/req", "other CPU");
        for (var l : r.load()) {
            System.out.printf("  %-13s %5d%s %,11.0f %8.2f %8.2f %8.2f %6d %11.1f %8.0f%%%n", l.target(), l.connections(),
                    repeated ? " %3d%s".formatted(l.run(), l == r.median(l.target(), l.connections()) ? "*" : " ") : "",
                    l.rps(), l.p50Ms(), l.p99Ms(), l.maxMs(), l.errors(), l.serverCpuUsPerRequest(), l.otherCpuPercent());
        }
        if (repeated) System.out.println("  * the median run of its level by req/s: the one the targets and ratios use.");
        System.out.println("  CPU µs/req: CPU time of the services the load reached (a joiner: all three) per request; other work hardly moves it.");
        System.out.println("  other CPU: the machine's CPU used by neither those services nor wrk meanwhile; above a few % the row is noise.");
        r.load().stream().filter(l -> l.cpuUsPerRequestByService().size() > 1 && l == r.median(l.target(), l.connections()))
                .forEach(l -> System.out.printf("  %s at %d: CPU µs/req by service %s%n", l.target(), l.connections(), l.cpuUsPerRequestByService()));
        r.load().stream().filter(l -> l.errors() > 0).forEach(l -> System.out.printf("  errors of %s at %d, run %d: %s%n", l.target(), l.connections(), l.run(), l.errorDetail()));
        // With --peers: ours against actix-web at each level, medians of the alternated runs.
        if (r.load().stream().anyMatch(l -> l.target().startsWith("actix-"))) System.out.printf("%n  Against actix-web (ours / actix, medians):%n");
        for (String target : List.of("hello", "joiner")) {
            for (int c : s.connections()) {
                Run ours = r.median(target, c), actix = r.median("actix-" + target, c);
                if (ours == null || actix == null) continue;
                System.out.printf("  %-6s %4d conns: req/s %,.0f / %,.0f = %.2f×   p99 %.2f / %.2f ms = %.2f×   CPU µs/req %.0f / %.0f%n", target, c,
                        ours.rps(), actix.rps(), ours.rps() / actix.rps(), ours.p99Ms(), actix.p99Ms(), ours.p99Ms() / actix.p99Ms(),
                        ours.serverCpuUsPerRequest(), actix.serverCpuUsPerRequest());
            }
        }
        System.out.println("\nStart-up: process start to first 200 on GET / (median of " + s.startupRuns() + ")");
        r.startup().forEach((k, v) -> System.out.printf("  %-6s %6d ms   %s   runs %s%n", k, v.medianMs(), v.command(), v.runsMs()));
        System.out.println("\nMemory (MiB, from /proc/PID/status)");
        System.out.printf("  %-7s %10s %16s %8s%n", "service", "idle RSS", "RSS under load", "VmHWM");
        r.memory().forEach((k, v) -> System.out.printf("  %-7s %10.1f %16.1f %8.1f%n", k, v.idleMib(), v.loadMib(), v.hwmMib()));
        System.out.println("\nImages");
        var images = r.images();
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
        r.targets().forEach(t -> System.out.printf("  %s %-40s %-16s %s%n", t.met() ? "✓" : "✗", t.what(), t.target(), t.measured()));
        // The load average lags a minute behind; what other work took while wrk ran is the measure that counts.
        long noisy = r.load().stream().filter(l -> l.otherCpuPercent() > 5).count();
        double most = r.load().stream().mapToDouble(Run::otherCpuPercent).max().orElse(Double.NaN);
        if (noisy > 0) {
            System.out.printf("%nWARNING: other work took over 5%% of the CPU in %d of %d runs (up to %.0f%%). Those rows are noise"
                    + " (CPU µs/req is the least affected); rerun on a quiet machine for the record.%n", noisy, r.load().size(), most);
        } else if (!Double.isNaN(most)) {
            System.out.printf("%nOther work took at most %.0f%% of the CPU while wrk ran: a clean run.%n", most);
        }
    }

    /** B against A, level by level (medians), with the change in percent. */
    static void compare(Path a, Path b) {
        Result x = Result.read(a), y = Result.read(b);
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
            row(name + " other CPU %", l.otherCpuPercent(), o.otherCpuPercent());
        }
        for (String k : List.of("java", "jbang")) {
            if (x.startup().get(k) != null && y.startup().get(k) != null) row("start-up " + k + " ms", x.startup().get(k).medianMs(), y.startup().get(k).medianMs());
        }
        x.memory().forEach((k, v) -> {
            if (y.memory().get(k) != null) row(k + " idle RSS MiB", v.idleMib(), y.memory().get(k).idleMib());
        });
    }

    private static void row(String what, double a, double b) {
        String change = a == 0 || Double.isNaN(a) ? "" : "%+.1f%%".formatted((b - a) / a * 100);
        System.out.printf("%-30s %12s %12s %8s%n", what, fmt(a), fmt(b), change);
    }

    private static String fmt(double v) { return v >= 100 ? "%,.0f".formatted(v) : "%.2f".formatted(v); }
}
