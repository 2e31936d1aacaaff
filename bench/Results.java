import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.*;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.*;
import java.util.*;

/** One benchmark run as bench/results/*.json holds it: Jackson, snake_case names, fields of older files since dropped skipped. */
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
/** One wrk run at one level, latencies in ms, with the CPU µs per request of each service it reached and other work's CPU share. */
record Run(String target, int connections, int run, int threads, long requests, double seconds, double rps,
           double p50Ms, double p99Ms, double maxMs, long errors, String errorDetail,
           double serverCpuUsPerRequest, Map<String, Double> cpuUsPerRequestByService, double otherCpuPercent) {}
record Startup(String command, long medianMs, List<Long> runsMs) {}
/** RSS in MiB from /proc/PID/status: idle after start, the highest sampled under load, and VmHWM, the kernel's peak. */
record Memory(double idleMib, Double loadMib, Double hwmMib) {}
record Target(String what, String target, String measured, boolean met) {}
/** Image sizes: compressed is what a registry stores and a node pulls, unpacked what the node extracts. */
record Images(String baseImage, List<Image> images, Jlink jlinkRuntime, String note) {}
record Image(String name, String built, int layers, double compressedMib, double uncompressedMib, List<List<Double>> layersCompressedUncompressedMib, String warning) {}
/** A runtime of only the modules the services use, linked by jlink, gzipped as a layer would be. */
record Jlink(String modules, double compressedMib, double uncompressedMib) {}
