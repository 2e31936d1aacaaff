import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Load generators: wrk when it is installed, else one written with the JDK. Both give a {@link Result}. */
final class Load {
    private Load() {}

    /**
     * One load run at one concurrency level; latencies in milliseconds. cpu holds the CPU time (µs) each service
     * spent per request: unlike req/s, it hardly moves when other work shares the machine. otherCpu is the percent
     * of the machine's CPU that neither the services nor the load generator used meanwhile: other people's work,
     * which makes that run's numbers noise.
     */
    record Result(String target, int connections, int threads, long requests, double seconds,
                  double rps, double p50, double p99, double max, long errors, String errorDetail,
                  Map<String, Double> cpu, double otherCpu, int run) {
        /** The same run with what the benchmark measured around it: CPU by service, other CPU, and which repeat it was. */
        Result with(Map<String, Double> micros, double other, int repeat) {
            return new Result(target, connections, threads, requests, seconds, rps, p50, p99, max, errors, errorDetail, micros, other, repeat);
        }

        /** CPU µs per request of all the services this load reached. */
        double cpuPerRequest() {
            return cpu.isEmpty() ? Double.NaN : cpu.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    interface Generator {
        String name();
        /** What the table prints about the threads used. */
        String threads();
        Result run(String target, URI url, int connections, int seconds) throws IOException, InterruptedException;
    }

    // wrk's own summary rounds latencies to two digits and a unit; its Lua done() hook
    // hands over exact microseconds and each error kind, so the numbers are parsed from this line.
    private static final String WRK_REPORT = """
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("BENCH-RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
                summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
                latency:percentile(50), latency:percentile(99), latency.max))
            end
            """;

    /** wrk -tT -cN -dDs: T threads (never more than connections, as wrk requires), its default 2 s timeout. */
    static Generator wrk(Path wrk, int threads, Path scratch, List<Process> started) throws IOException {
        Path script = Files.writeString(scratch.resolve("report.lua"), WRK_REPORT);
        return new Generator() {
            public String name() { return "wrk"; }
            public String threads() { return threads + " threads (fewer when fewer connections)"; }
            public Result run(String target, URI url, int connections, int seconds) throws IOException, InterruptedException {
                int t = Math.min(threads, connections);
                var cmd = List.of(wrk.toString(), "-t" + t, "-c" + connections, "-d" + seconds + "s",
                        "-s", script.toString(), url.toString());
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                started.add(p);
                try {
                    // Bounded: wrk stops by itself after -d; the margin covers its 2 s timeout and start.
                    if (!p.waitFor(seconds + 20L, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        throw new IOException("wrk ran past " + (seconds + 20) + " s: " + String.join(" ", cmd));
                    }
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    String line = out.lines().filter(l -> l.startsWith("BENCH-RESULT ")).findFirst()
                            .orElseThrow(() -> new IOException("wrk gave no result (exit " + p.exitValue() + "):\n" + out));
                    long[] v = Arrays.stream(line.substring(13).trim().split(" ")).mapToLong(Long::parseLong).toArray();
                    double secs = v[1] / 1e6;
                    long errors = v[2] + v[3] + v[4] + v[5] + v[6];
                    String detail = errors == 0 ? "" : String.format("connect %d, read %d, write %d, non-2xx %d, timeout %d",
                            v[2], v[3], v[4], v[5], v[6]);
                    return new Result(target, connections, t, v[0], secs, v[0] / secs,
                            v[7] / 1e3, v[8] / 1e3, v[9] / 1e3, errors, detail, Map.of(), Double.NaN, 1);
                } finally {
                    started.remove(p);
                }
            }
        };
    }

    /**
     * The JDK's stand-in for wrk: one virtual thread per connection, each a keep-alive
     * HTTP/1.1 connection sending GET after GET until the time is up. A request taking
     * longer than 2 s counts as a timeout error, as in wrk.
     */
    static Generator jdk() {
        return new Generator() {
            public String name() { return "jdk"; }
            public String threads() { return "1 virtual thread per connection on " + Runtime.getRuntime().availableProcessors() + " carriers"; }
            public Result run(String target, URI url, int connections, int seconds) throws InterruptedException {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                var conns = new ArrayList<Connection>();
                var threads = new ArrayList<Thread>();
                long start = System.nanoTime();
                for (int i = 0; i < connections; i++) {
                    var c = new Connection(url, deadline);
                    conns.add(c);
                    threads.add(Thread.ofVirtual().name("load-" + i).start(c));
                }
                for (Thread t : threads) {
                    if (!t.join(java.time.Duration.ofSeconds(seconds + 10L))) t.interrupt();
                }
                double secs = (System.nanoTime() - start) / 1e9;
                long total = 0, connect = 0, io = 0, status = 0, timeout = 0;
                for (var c : conns) {
                    total += c.count;
                    connect += c.connectErrors;
                    io += c.ioErrors;
                    status += c.statusErrors;
                    timeout += c.timeouts;
                }
                long[] all = new long[(int) Math.min(total, Integer.MAX_VALUE - 8)];
                int n = 0;
                for (var c : conns) {
                    System.arraycopy(c.latencies, 0, all, n, c.count);
                    n += c.count;
                }
                Arrays.sort(all, 0, n);
                long errors = connect + io + status + timeout;
                String detail = errors == 0 ? "" : String.format("connect %d, read/write %d, non-2xx %d, timeout %d",
                        connect, io, status, timeout);
                return new Result(target, connections, connections, n, secs, n / secs,
                        percentile(all, n, 50) / 1e6, percentile(all, n, 99) / 1e6,
                        n == 0 ? 0 : all[n - 1] / 1e6, errors, detail, Map.of(), Double.NaN, 1);
            }
        };
    }

    static long percentile(long[] sorted, int n, double p) {
        if (n == 0) return 0;
        int i = (int) Math.ceil(p / 100.0 * n) - 1;
        return sorted[Math.max(0, Math.min(n - 1, i))];
    }

    /** One client connection of the JDK generator; counts and latencies (ns) of its successful requests. */
    static final class Connection implements Runnable {
        final URI url;
        final long deadline;
        final byte[] request;
        long[] latencies = new long[1024];
        int count;
        long connectErrors, ioErrors, statusErrors, timeouts;

        Connection(URI url, long deadline) {
            this.url = url;
            this.deadline = deadline;
            String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
            this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
        }

        @Override
        public void run() {
            while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
                try (var socket = new Socket()) {
                    socket.setTcpNoDelay(true);
                    try {
                        socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), 2000);
                    } catch (IOException e) {
                        connectErrors++;
                        pause();
                        continue;
                    }
                    socket.setSoTimeout(2000);
                    InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                    OutputStream out = socket.getOutputStream();
                    while (System.nanoTime() < deadline) {
                        long t0 = System.nanoTime();
                        out.write(request);
                        out.flush();
                        int code = readResponse(in);
                        record(System.nanoTime() - t0);
                        if (code < 200 || code > 399) statusErrors++;
                    }
                } catch (SocketTimeoutException e) {
                    timeouts++;
                } catch (IOException e) {
                    ioErrors++;
                    pause();
                }
            }
        }

        private void record(long nanos) {
            if (count == latencies.length) latencies = Arrays.copyOf(latencies, count * 2);
            latencies[count++] = nanos;
        }

        /** Backs off a little after an error so a dead server does not turn into a busy loop. */
        private static void pause() {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private final byte[] line = new byte[8192];

        /** Reads one response (fixed length or chunked) and returns its status code. */
        private int readResponse(InputStream in) throws IOException {
            int len = readLine(in);
            if (len < 12) throw new IOException("bad status line");
            int code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
            long contentLength = 0;
            boolean chunked = false;
            while ((len = readLine(in)) > 0) {
                String h = new String(line, 0, len, StandardCharsets.ISO_8859_1);
                int colon = h.indexOf(':');
                if (colon < 0) continue;
                String name = h.substring(0, colon).trim();
                String value = h.substring(colon + 1).trim();
                if (name.equalsIgnoreCase("content-length")) contentLength = Long.parseLong(value);
                else if (name.equalsIgnoreCase("transfer-encoding") && value.equalsIgnoreCase("chunked")) chunked = true;
            }
            if (!chunked) {
                skip(in, contentLength);
                return code;
            }
            while (true) {
                len = readLine(in);
                String size = new String(line, 0, len, StandardCharsets.ISO_8859_1);
                int semi = size.indexOf(';');
                long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    while (readLine(in) > 0) { /* trailers */ }
                    return code;
                }
                skip(in, n);
                readLine(in);
            }
        }

        private int readLine(InputStream in) throws IOException {
            int n = 0;
            for (int b; (b = in.read()) != '\n'; ) {
                if (b < 0) throw new EOFException("connection closed");
                if (b != '\r' && n < line.length) line[n++] = (byte) b;
            }
            return n;
        }

        private static void skip(InputStream in, long n) throws IOException {
            while (n > 0) {
                long s = in.skip(n);
                if (s <= 0) {
                    if (in.read() < 0) throw new EOFException("connection closed");
                    s = 1;
                }
                n -= s;
            }
        }
    }
}
