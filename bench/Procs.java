import java.io.IOException;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.regex.*;

/** The processes the benchmark starts (services, wrk, tools): each bounded in time, all stopped at exit, Ctrl+C too. */
final class Procs {
    static final List<Process> STARTED = new CopyOnWriteArrayList<>();

    static Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.redirectErrorStream(true).start();
        STARTED.add(p);
        return p;
    }

    /** Runs a command in dir to its end within the bound: its output, or a Failure holding it. */
    static String check(List<String> cmd, Path dir, Duration bound) throws IOException, InterruptedException {
        Path log = Files.createTempFile("bench", ".log");
        Process p = start(new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(log.toFile()));
        try {
            if (!p.waitFor(bound.toSeconds(), TimeUnit.SECONDS)) throw new bench.Failure(String.join(" ", cmd) + " ran past " + bound.toSeconds() + " s");
            if (p.exitValue() != 0) throw new bench.Failure(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + Files.readString(log));
            return Files.readString(log);
        } finally {
            stop(p);
            Files.delete(log);
        }
    }

    static void stop(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.onExit().completeOnTimeout(p, 10, TimeUnit.SECONDS).join();
        STARTED.remove(p);
    }

    static Path which(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":")).map(dir -> Path.of(dir.isEmpty() ? "." : dir, tool))
                .filter(p -> Files.isExecutable(p) && !Files.isDirectory(p)).findFirst().orElse(null);
    }

    /** One GET / on a fresh loopback connection: the start of the status line ("HTTP/1.1 200"), or null. */
    static String get(int port) {
        try (var s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        } catch (IOException e) { return null; }
    }

    /** Line 1 of /proc/stat: {all ticks, busy ticks}; busy is user, nice, system, steal (interrupts, where loopback is handled, are no process's). */
    static long[] cpuTicks() throws IOException {
        long[] f = Arrays.stream(Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+")).skip(1).limit(8).mapToLong(Long::parseLong).toArray();
        return new long[] {Arrays.stream(f).sum(), f[0] + f[1] + f[2] + f[7]};
    }

    /** This JVM's CPU ticks with its reaped children's (wrk's, once it ended). */
    static long selfTicks() throws IOException { return ticks(Files.readString(Path.of("/proc/self/stat")), 4); }

    /** Of a /proc stat line: user and system ticks, and with fields 4 its reaped children's too; counted after the command's ')'. */
    static long ticks(String stat, int fields) {
        return Arrays.stream(stat.substring(stat.lastIndexOf(')') + 2).split(" ")).skip(11).limit(fields).mapToLong(Long::parseLong).sum();
    }
}

/** A service under test on loopback (PORT=0: a free port it picks), ready once it printed "listening on URL" and answered 200 on GET /. */
record Svc(String name, Process process, URI url) implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

    static Svc start(String name, List<String> cmd, Map<String, String> env) throws Exception {
        var pb = new ProcessBuilder(cmd).directory(bench.ROOT.toFile());
        pb.environment().putAll(Map.of("HOST", "127.0.0.1", "PORT", "0"));
        pb.environment().putAll(env);
        Process p = Procs.start(pb);
        var url = new CompletableFuture<URI>();
        var tail = new ConcurrentLinkedDeque<String>();
        Thread.ofVirtual().start(() -> { // drains its output while it runs; the last lines go into an error
            try (var r = p.inputReader(StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; tail.add(line)) {
                    if (tail.size() > 20) tail.poll();
                    if (LISTENING.matcher(line) instanceof Matcher m && m.find()) url.complete(URI.create(m.group(1)));
                }
            } catch (IOException ended) { /* the process ended */ }
            url.complete(null);
        });
        URI u = url.get(60, TimeUnit.SECONDS);
        if (u == null) throw new bench.Failure(name + " exited before it was listening:\n  " + String.join("\n  ", tail));
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); !"HTTP/1.1 200".equals(Procs.get(u.getPort())); Thread.sleep(2)) {
            if (System.nanoTime() > end) throw new bench.Failure(name + " did not answer 200 on GET / within 10 s:\n  " + String.join("\n  ", tail));
        }
        return new Svc(name, p, u);
    }

    double mib(String field) {
        try (var lines = Files.lines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
            return lines.filter(l -> l.startsWith(field + ":")).findFirst().map(l -> Result.round(Long.parseLong(l.replaceAll("\\D", "")) / 1024.0, 1))
                    .orElse(Double.NaN);
        } catch (IOException | RuntimeException gone) { return Double.NaN; }
    }

    /** CPU time (user + system) so far; the kernel counts it in ticks of 10 ms. */
    long cpuNanos() { return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L); }

    /** CPU time so far of its JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre" in /proc); 0 for a process that has none. */
    long jitNanos() {
        try (var tasks = Files.list(Path.of("/proc", String.valueOf(process.pid()), "task"))) {
            return tasks.mapToLong(t -> {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    boolean jit = stat.contains("(C1 CompilerThre)") || stat.contains("(C2 CompilerThre)");
                    return jit ? Procs.ticks(stat, 2) * 10_000_000L : 0;
                } catch (IOException | RuntimeException gone) { return 0; }
            }).sum();
        } catch (IOException | RuntimeException gone) { return 0; }
    }
    @Override public void close() { Procs.stop(process); }
}

/** wrk with a Lua done() hook: its summary rounds latencies to a unit, the hook hands over microseconds and each error kind. */
record Wrk(Path exe, Path script, int threads, String version) {
    private static final String REPORT = """
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("BENCH-RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
                summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
                latency:percentile(50), latency:percentile(99), latency.max))
            end
            """;

    static Wrk find(Path scratch, int threads) throws IOException {
        Path exe = Procs.which("wrk");
        if (exe == null) throw new bench.Failure("wrk is not on PATH, and it is the load generator: install it (Debian, Ubuntu: apt-get install wrk; macOS: brew install wrk)");
        Process v = new ProcessBuilder(exe.toString(), "-v").redirectErrorStream(true).start(); // exits 1 after its usage text
        String version = new String(v.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("wrk");
        return new Wrk(exe, Files.writeString(scratch.resolve("report.lua"), REPORT), threads, version.replaceAll(" Copyright.*", ""));
    }

    /** wrk -tT -cN -dDs (T ≤ N, as wrk requires; its 2 s timeout), with the CPU per request of each service it reached, the
     *  share of their CPU that their JIT compilers took, and the share of the machine's CPU that other work (neither those
     *  services nor wrk) took meanwhile. */
    Run run(String target, List<Svc> reached, List<Svc> all, int connections, int seconds, int run) throws IOException, InterruptedException {
        int t = Math.min(threads, connections);
        long[] ticks = Procs.cpuTicks();
        long self = Procs.selfTicks(), services = all.stream().mapToLong(Svc::cpuNanos).sum();
        var before = reached.stream().map(Svc::cpuNanos).toList();
        long jit = reached.stream().mapToLong(Svc::jitNanos).sum();
        String out = Procs.check(List.of(exe.toString(), "-t" + t, "-c" + connections, "-d" + seconds + "s", "-s", script.toString(),
                reached.getLast().url().toString()), bench.ROOT, Duration.ofSeconds(seconds + 30L));
        long[] now = Procs.cpuTicks();
        long other = (now[1] - ticks[1]) - (Procs.selfTicks() - self) - (all.stream().mapToLong(Svc::cpuNanos).sum() - services) / 10_000_000;
        String line = out.lines().filter(l -> l.startsWith("BENCH-RESULT ")).findFirst().orElseThrow(() -> new bench.Failure("wrk gave no result:\n" + out));
        long[] v = Arrays.stream(line.substring(13).trim().split(" ")).mapToLong(Long::parseLong).toArray();
        var cpu = new LinkedHashMap<String, Double>();
        long cpuNanos = 0;
        for (int i = 0; i < before.size(); i++) {
            long used = reached.get(i).cpuNanos() - before.get(i);
            cpu.put(reached.get(i).name(), Result.round(used / 1e3 / Math.max(1, v[0]), 1));
            cpuNanos += used;
        }
        long errors = v[2] + v[3] + v[4] + v[5] + v[6];
        double jitPercent = Result.round(100.0 * (reached.stream().mapToLong(Svc::jitNanos).sum() - jit) / Math.max(1, cpuNanos), 1);
        return new Run(target, connections, run, t, v[0], Result.round(v[1] / 1e6, 2), Math.round(v[0] / (v[1] / 1e6)), v[7] / 1e3, v[8] / 1e3, v[9] / 1e3, errors,
                errors == 0 ? null : "connect %d, read %d, write %d, non-2xx %d, timeout %d".formatted(v[2], v[3], v[4], v[5], v[6]),
                Result.round(cpuNanos / 1e3 / Math.max(1, v[0]), 1), cpu, Result.round(Math.max(0, 100.0 * other / Math.max(1, now[0] - ticks[0])), 1), jitPercent);
    }
}
