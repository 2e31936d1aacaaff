///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION joiner: asks hello and world at once and answers "Hello World"; /healthz and /readyz for Kubernetes. No dependencies.
//JAVA 25+

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Answers "Hello World", joining what hello and world answer. Configured by the environment: HOST, PORT, VERSION,
 * HELLO_SERVICE, WORLD_SERVICE, UPSTREAM_TIMEOUT_MS, SHUTDOWN_GRACE_SECONDS, SHUTDOWN_QUIET_MS, ACCESS_LOG.
 */
class joiner {
    static final String NAME = "joiner";
    static final int DEFAULT_PORT = 3002;

    // Exit codes: 0 after a clean shutdown (SIGTERM included), 1 when the port is taken, 2 for bad configuration.
    static final int OK = 0, CANNOT_LISTEN = 1, BAD_CONFIG = 2;

    /**
     * Bounds for the JDK server (sun.net.httpserver.ServerConfig), so that garbage, huge headers or a client sending
     * a byte a second cost little and starve no one. maxRspTime stays unset: every response fits a socket buffer.
     * They are read once, when the first server is made; a -D on the command line wins.
     */
    static final Map<String, String> SERVER_LIMITS = Map.of(
            "sun.net.httpserver.maxReqTime", "10",           // seconds to send a whole request, else closed
            "sun.net.httpserver.maxReqHeaderSize", "16384",  // bytes of request headers (JDK default: 380 KiB)
            "sun.net.httpserver.maxReqHeaders", "64",        // distinct header names (JDK default: 200)
            "jdk.httpserver.maxConnections", "1000",         // open connections, so memory stays bounded
            "sun.net.httpserver.maxIdleConnections", "1000", // keep-alive for all of them (JDK default: 200)
            "sun.net.httpserver.nodelay", "true");           // tiny responses must not wait for Nagle's algorithm

    /**
     * Bounds for the upstream connections. An answer is held whole in memory, so its size is bounded. Each upstream
     * keeps at most MAX_IDLE connections between requests, enough for the benchmark's busiest level, and closes one
     * unused for IDLE_MILLIS: less than the 5 s after which actix-web and Node.js close theirs, so a connection is
     * rarely reused just as the upstream closes it (and when it is, the call is retried).
     */
    static final int MAX_ANSWER = 1 << 20, MAX_IDLE = 256, IDLE_MILLIS = 4000;

    /**
     * A refused connection never reached the upstream, so it is tried again: 10 ms later, then 20, 40, … 200 ms
     * apart, for up to REFUSED_MILLIS of the deadline. While a network policy is reprogrammed or a Service's
     * endpoints change, an address may refuse for a moment (seen in the e2e: about 1 request in 1,000 under a
     * rollout); an upstream that is down still gets its 502 within REFUSED_MILLIS.
     */
    static final int REFUSED_MILLIS = 1000;

    /**
     * How often each upstream's name is looked up again, off the request path: a call connects to the address found
     * last, so a slow DNS answer (seen in the prod e2e: 1-2 s lookups while pods come and go) delays no request.
     */
    static final int LOOKUP_MILLIS = 5000;

    /** What a call was doing when its deadline came, as its 504 says it: "timed out after 2000 ms connecting". */
    static final String LOOKING_UP = "looking up the address", CONNECTING = "connecting", WAITING = "waiting for the answer";

    static final byte[] ALIVE = bytes("alive"), READY = bytes("ready"), STOPPING = bytes("shutting down"),
            NOT_FOUND = bytes("not found"), NOT_ALLOWED = bytes("method not allowed");

    static volatile boolean stopping;
    static volatile long lastAnswer; // System.nanoTime() of the latest answer since SIGTERM
    static Upstream hello, world;
    static int timeout;
    static String versionHeader;

    public static void main(String[] args) throws IOException {
        InetAddress host = host();
        int port = number("PORT", DEFAULT_PORT, 0, 65535);
        int grace = number("SHUTDOWN_GRACE_SECONDS", 10, 0, 3600);
        int quiet = number("SHUTDOWN_QUIET_MS", 0, 0, 600_000);
        String version = version();
        versionHeader = NAME + "=" + Objects.requireNonNullElse(version, "unversioned");
        boolean accessLog = "true".equalsIgnoreCase(System.getenv("ACCESS_LOG")); // off: a line per request costs ~10%
        hello = upstream("hello", "HELLO_SERVICE", "localhost:3000");
        world = upstream("world", "WORLD_SERVICE", "localhost:3001");
        timeout = number("UPSTREAM_TIMEOUT_MS", 2000, 1, 600_000);
        SERVER_LIMITS.forEach(System.getProperties()::putIfAbsent);

        HttpServer server;
        try {
            // Backlog 1024, not the JDK's 50: a burst of new connections would overflow the accept queue and
            // wait for TCP retransmits (measured: 256 at once gave a max latency of 200-800 ms instead of < 80 ms).
            server = HttpServer.create(new InetSocketAddress(host, port), 1024);
        } catch (BindException e) {
            boolean taken = String.valueOf(e.getMessage()).contains("in use");
            throw fail(CANNOT_LISTEN, "cannot listen on " + address(host, port) + ": " + e.getMessage()
                    + (taken ? " (another process has it? set PORT to a free port, or 0 for any)" : ""));
        }
        var context = server.createContext("/", joiner::handle);
        if (accessLog) {
            context.getFilters().add(Filter.afterHandler("access log", joiner::log));
            Thread.ofVirtual().start(joiner::flushAccessLog);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        Thread.ofVirtual().start(() -> {
            while (true) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
                hello.closeIdle();
                world.closeIdle();
            }
        });
        for (Upstream upstream : new Upstream[] {hello, world}) {
            Thread.ofVirtual().start(() -> {
                while (true) {
                    upstream.lookUp();
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(LOOKUP_MILLIS));
                }
            });
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server, grace, quiet)));
        System.out.println(NAME + " listening on http://" + address(host, server.getAddress().getPort()) + "/ "
                + (version == null ? "(unversioned: VERSION is not set)" : "(version " + version + ")"));
    }

    // ---- handlers

    static void handle(HttpExchange exchange) throws IOException {
        // close() drains what is left of a request body (the JDK server keeps ≤ 64 KiB, then drops the connection).
        try (exchange) {
            exchange.getResponseHeaders().set("X-Request-Id", requestId(exchange));
            exchange.getResponseHeaders().set("X-Version", versionHeader);
            switch (exchange.getRequestURI().getPath()) {
                case "/" -> answer(exchange, joiner::join);
                case "/healthz" -> answer(exchange, ex -> send(ex, 200, ALIVE));
                // Readiness is this process only: were it to follow hello and world, one slow upstream
                // would take every joiner out of its Service at once.
                case "/readyz" -> answer(exchange, ex -> send(ex, stopping ? 503 : 200, stopping ? STOPPING : READY));
                default -> send(exchange, 404, NOT_FOUND);
            }
        }
    }

    /** Both upstreams at once, within one deadline, so the answer takes as long as the slower one, not the sum. */
    static void join(HttpExchange exchange) throws IOException {
        String id = exchange.getResponseHeaders().getFirst("X-Request-Id");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
        var fromHello = hello.ask(id, deadline);
        var fromWorld = world.ask(id, deadline);
        Reply h = fromHello.get(), w = fromWorld.get();
        // Which code made this answer: each upstream's own X-Version as it came, so a longer chain shows whole.
        exchange.getResponseHeaders().set("X-Version", versionHeader + ", "
                + Objects.requireNonNullElse(h.version, "hello=unknown") + ", " + Objects.requireNonNullElse(w.version, "world=unknown"));
        if (h.failure == null && w.failure == null) {
            byte[] body = new byte[h.body.length + 1 + w.body.length];
            System.arraycopy(h.body, 0, body, 0, h.body.length);
            body[h.body.length] = ' ';
            System.arraycopy(w.body, 0, body, h.body.length + 1, w.body.length);
            send(exchange, 200, body);
            return;
        }
        String why = h.failure == null ? world.describe(w) : w.failure == null ? hello.describe(h) : hello.describe(h) + "; " + world.describe(w);
        System.err.println(NAME + " id=" + id + ": " + why);
        send(exchange, h.timedOut || w.timedOut ? 504 : 502, bytes(why));
    }

    /** GET and HEAD get the answer; any other method on a known path gets 405. */
    static void answer(HttpExchange exchange, HttpHandler handler) throws IOException {
        switch (exchange.getRequestMethod()) {
            case "GET", "HEAD" -> handler.handle(exchange);
            default -> {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, NOT_ALLOWED);
            }
        }
    }

    // ---- upstreams

    /** What an upstream answered: a 2xx body, or why not in a few words; its X-Version either way, when it sent one. */
    record Reply(byte[] body, String version, String failure, boolean timedOut) {
        static Reply failed(String why) {
            return new Reply(null, null, why, false);
        }

        /** where: what the call was doing when its deadline came (LOOKING_UP, CONNECTING or WAITING). */
        static Reply outOfTime(String where) {
            return new Reply(null, null, "timed out after " + timeout + " ms " + where, true);
        }
    }

    /**
     * An upstream as configured, with its idle keep-alive connections, the last used first. Plain blocking sockets on
     * virtual threads, because the JDK HttpClient spent ~130 µs of CPU per call here (docs/services.md).
     */
    static final class Upstream {
        final String name, address, host, requestHead;
        final int port;
        final ArrayDeque<Connection> idle = new ArrayDeque<>();
        volatile InetAddress resolved; // host's address as last looked up (lookUp); null before the first answer

        Upstream(String name, String address, URI url) {
            this.name = name;
            this.address = address;
            this.host = url.getHost();
            this.port = url.getPort() < 0 ? 80 : url.getPort();
            String target = url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
            this.requestHead = "GET " + target + " HTTP/1.1\r\nHost: " + url.getRawAuthority() + "\r\nX-Request-Id: ";
        }

        String describe(Reply failed) {
            return name + " (" + address + "): " + failed.failure;
        }

        /**
         * Starts a call. On a kept connection the request goes out at once and the answer is read when asked for, on the
         * caller's thread: join sends both requests before it reads either answer, so the two are in flight together
         * with no thread started (a thread per call cost ~26 µs of joiner's CPU per joined request). Without a kept
         * connection the call runs on a virtual thread of its own, whose answer is waited for only until the deadline,
         * even when a name lookup hangs.
         */
        Supplier<Reply> ask(String id, long deadline) {
            byte[] request = (requestHead + id + "\r\n\r\n").getBytes(ISO_8859_1);
            Connection kept;
            synchronized (idle) { kept = idle.pollFirst(); }
            if (kept != null) {
                try {
                    kept.send(request);
                    return () -> answer(kept, request, deadline);
                } catch (IOException e) {
                    kept.close(); // closed by the upstream meanwhile: the call goes on a new connection
                }
            }
            return onItsOwnThread(request, deadline);
        }

        /**
         * The answer on a kept connection; when it fails before its first byte, the call is made again on a new one, as a
         * first call: a kept connection that fails was most likely closed while idle (or its upstream died, and the new
         * connection may race the same death: measured in the prod e2e, 1 request in ~800 when hello or world is killed).
         */
        Reply answer(Connection kept, byte[] request, long deadline) {
            try {
                return done(kept, kept.receive(deadline));
            } catch (IOException e) {
                kept.close();
                if (e instanceof SocketTimeoutException) return Reply.outOfTime(WAITING);
                return kept.received == 0 ? onItsOwnThread(request, deadline).get() : Reply.failed(why(e));
            }
        }

        Supplier<Reply> onItsOwnThread(byte[] request, long deadline) {
            var step = new AtomicReference<>(LOOKING_UP);
            var call = new FutureTask<>(() -> call(request, deadline, step));
            Thread.startVirtualThread(call);
            return () -> {
                try {
                    return call.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    return Reply.outOfTime(step.get());
                } catch (InterruptedException | ExecutionException e) {
                    return Reply.failed(e.toString());
                }
            };
        }

        /**
         * A GET on a new connection. A failure before the answer's first byte is tried once more, within the same
         * deadline: the upstream cannot have acted on a request it did not answer, and in Kubernetes a new connection
         * through the Service may reach another replica. A timeout is not retried: the time is spent. {@code step}
         * says what the call is doing, for the 504 when the deadline comes first.
         */
        Reply call(byte[] request, long deadline, AtomicReference<String> step) {
            for (boolean retry = false; ; retry = true) {
                Connection connection = null;
                try {
                    step.set(LOOKING_UP);
                    InetAddress address = resolved; // before lookUp's first answer, the call looks it up itself
                    if (address == null) address = resolved = InetAddress.getByName(host);
                    step.set(CONNECTING);
                    connection = connect(address, deadline);
                    connection.send(request);
                    step.set(WAITING);
                    return done(connection, connection.receive(deadline));
                } catch (IOException e) {
                    if (connection != null) connection.close();
                    boolean timedOut = e instanceof SocketTimeoutException;
                    if (!timedOut && !retry && (connection == null || connection.received == 0)) continue;
                    return timedOut ? Reply.outOfTime(step.get()) : Reply.failed(why(e));
                }
            }
        }

        Reply done(Connection connection, Reply reply) {
            if (connection.reusable) release(connection); else connection.close();
            return reply;
        }

        /** A new connection; a refused one is tried again, REFUSED_MILLIS at most, within the deadline. */
        Connection connect(InetAddress address, long deadline) throws IOException {
            long giveUp = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REFUSED_MILLIS));
            for (long pause = 10; ; pause = Math.min(2 * pause, 200)) {
                try {
                    return new Connection(address, port, deadline);
                } catch (ConnectException refused) {
                    long nanos = TimeUnit.MILLISECONDS.toNanos(pause);
                    if (System.nanoTime() + nanos >= giveUp) throw refused;
                    LockSupport.parkNanos(nanos);
                }
            }
        }

        /** As the JDK says it, in lower case ("connection refused"); a name that does not resolve is "unknown host". */
        static String why(IOException e) {
            if (e instanceof UnknownHostException) return "unknown host";
            String message = Objects.requireNonNullElse(e.getMessage(), e.getClass().getSimpleName());
            return Character.toLowerCase(message.charAt(0)) + message.substring(1);
        }

        void release(Connection connection) {
            connection.idleSince = System.nanoTime();
            synchronized (idle) {
                if (idle.size() < MAX_IDLE) {
                    idle.addFirst(connection);
                    return;
                }
            }
            connection.close();
        }

        /**
         * Looks host up again (every LOOKUP_MILLIS, on a thread of its own; the JDK keeps an answer 30 s). A lookup that
         * fails keeps the last address: a DNS server slow or gone for a moment fails no call. (A Service's address never
         * changes while it exists.)
         */
        void lookUp() {
            try {
                resolved = InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                // the last address stays; a name that never resolved stays unknown, and calls say so
            }
        }

        /** Closes the connections unused for IDLE_MILLIS: those at the end, as each one used goes back to the front. */
        void closeIdle() {
            for (Connection oldest; ; oldest.close()) {
                synchronized (idle) {
                    oldest = idle.peekLast();
                    if (oldest == null || System.nanoTime() - oldest.idleSince < IDLE_MILLIS * 1_000_000L) return;
                    idle.pollLast();
                }
            }
        }
    }

    /** One HTTP/1.1 connection, read through its own buffer so that each read waits only until the call's deadline. */
    static final class Connection {
        final Socket socket = new Socket();
        final byte[] buffer = new byte[8192];
        int start, end, received;
        long idleSince;
        boolean reusable;

        Connection(InetAddress address, int port, long deadline) throws IOException {
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(address, port), millisLeft(deadline));
            } catch (IOException e) {
                close();
                throw e;
            }
        }

        void send(byte[] request) throws IOException {
            received = 0;
            reusable = false;
            socket.getOutputStream().write(request);
        }

        /** Reads the status, the headers and, of a 2xx, the body, however it is framed. */
        Reply receive(long deadline) throws IOException {
            int status;
            long length = -1;
            boolean chunked = false, close;
            String version = null;
            try {
                do { // a 1xx answer is interim: the real one follows
                    String statusLine = line(deadline);
                    if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12 || statusLine.charAt(8) != ' ') {
                        throw new ProtocolException("answered something other than HTTP/1.1");
                    }
                    status = Integer.parseInt(statusLine, 9, 12, 10);
                    close = statusLine.charAt(7) == '0'; // HTTP/1.0
                    for (String header; !(header = line(deadline)).isEmpty(); ) {
                        int colon = Math.max(0, header.indexOf(':'));
                        String value = header.substring(colon + 1).strip();
                        switch (header.substring(0, colon).toLowerCase()) {
                            case "content-length" -> length = Long.parseUnsignedLong(value);
                            case "transfer-encoding" -> chunked = value.toLowerCase().endsWith("chunked");
                            case "connection" -> close |= value.toLowerCase().contains("close");
                            case "x-version" -> version = Objects.requireNonNullElse(version, value);
                            default -> {}
                        }
                    }
                } while (status < 200);
                // joiner answers 502 to anything but a 2xx, so the body is not read and the connection not reused.
                if (status / 100 != 2) return new Reply(null, version, "answered " + status, false);
                byte[] body = status == 204 ? new byte[0] : chunked ? chunked(deadline)
                        : length >= 0 ? exactly(length, deadline) : untilClosed(deadline);
                reusable = !close && (chunked || length >= 0);
                return new Reply(body, version, null, false);
            } catch (NumberFormatException e) {
                throw new ProtocolException("sent a malformed status, length or chunk size");
            }
        }

        byte[] exactly(long length, long deadline) throws IOException {
            if (length > MAX_ANSWER) throw tooLarge();
            byte[] body = new byte[(int) length];
            for (int n = 0, k; n < body.length; n += k, start += k) {
                if (start == end) more(deadline);
                k = Math.min(end - start, body.length - n);
                System.arraycopy(buffer, start, body, n, k);
            }
            return body;
        }

        byte[] chunked(long deadline) throws IOException {
            var body = new ByteArrayOutputStream();
            for (long size; (size = Long.parseUnsignedLong(line(deadline).split(";", 2)[0].strip(), 16)) > 0; ) {
                if (body.size() + size > MAX_ANSWER) throw tooLarge();
                body.writeBytes(exactly(size, deadline));
                if (!line(deadline).isEmpty()) throw new ProtocolException("sent a chunk longer than its size");
            }
            while (!line(deadline).isEmpty()) {} // trailer fields: not needed
            return body.toByteArray();
        }

        byte[] untilClosed(long deadline) throws IOException {
            var body = new ByteArrayOutputStream();
            do {
                body.write(buffer, start, end - start);
                start = end;
                if (body.size() > MAX_ANSWER) throw tooLarge();
            } while (fill(deadline));
            return body.toByteArray();
        }

        /** The next line, without its line end, as ISO-8859-1 (what header bytes are, or opaque). */
        String line(long deadline) throws IOException {
            for (int scanned = 0; ; scanned = end - start, more(deadline)) {
                for (int i = start + scanned; i < end; i++) {
                    if (buffer[i] != '\n') continue;
                    String line = new String(buffer, start, (i > start && buffer[i - 1] == '\r' ? i - 1 : i) - start, ISO_8859_1);
                    start = i + 1;
                    return line;
                }
            }
        }

        void more(long deadline) throws IOException {
            if (!fill(deadline)) throw new EOFException(received == 0 ? "closed the connection without answering" : "closed the connection mid-answer");
        }

        /** Reads what has come, waiting at most until the deadline, so a byte-a-second upstream is bounded too; false at the end. */
        boolean fill(long deadline) throws IOException {
            System.arraycopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
            if (end == buffer.length) throw new ProtocolException("sent a line longer than 8 KiB");
            var in = socket.getInputStream();
            // Past the deadline, what already came is still read: join reads one answer after it waited for the other.
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0 && in.available() == 0) throw new SocketTimeoutException();
            socket.setSoTimeout((int) Math.clamp(left, 1, Integer.MAX_VALUE));
            int n = Math.max(0, in.read(buffer, end, buffer.length - end));
            end += n;
            received += n;
            return n > 0;
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closed either way
            }
        }

        static ProtocolException tooLarge() {
            return new ProtocolException("answered more than " + (MAX_ANSWER >> 20) + " MiB");
        }

        /** Never 0, which a socket takes as no timeout at all. */
        static int millisLeft(long deadline) throws SocketTimeoutException {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) throw new SocketTimeoutException();
            return (int) Math.min(left, Integer.MAX_VALUE);
        }
    }

    /** HELLO_SERVICE and friends: host:port (as in Kubernetes, hello:3000) or a whole http:// URL. */
    static Upstream upstream(String name, String variable, String fallback) {
        String value = System.getenv(variable);
        if (value == null || value.isBlank()) value = fallback;
        value = value.strip();
        boolean isUrl = value.contains("://");
        try {
            URI url = new URI(isUrl ? value : "http://" + value + "/");
            int port = url.getPort() < 0 && isUrl ? 80 : url.getPort();
            if ("http".equals(url.getScheme()) && url.getHost() != null && port > 0 && port <= 65535
                    && (isUrl || value.indexOf('/') < 0) && url.getRawUserInfo() == null && url.getRawFragment() == null) {
                return new Upstream(name, value, url.getRawPath().isEmpty() ? url.resolve("/") : url);
            }
        } catch (URISyntaxException e) {
            // reported below, with the value
        }
        throw fail(BAD_CONFIG, variable + "=\"" + value + "\" is neither host:port nor an http:// URL (e.g. "
                + fallback + " or http://" + fallback + "/)");
    }

    /** The caller's X-Request-Id when it is a sane token, else a new one, so one request can be followed through three logs. */
    static String requestId(HttpExchange exchange) {
        String id = exchange.getRequestHeaders().getFirst("X-Request-Id");
        if (id != null && !id.isEmpty() && id.length() <= 128 && id.chars().allMatch(c -> c > ' ' && c < 127)) return id;
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }

    // ---- helpers

    /** The one way a response leaves: text with a charset, no body for HEAD. */
    static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        var headers = exchange.getResponseHeaders();
        if (stopping) {
            String path = exchange.getRequestURI().getPath(); // the kubelet probes a terminating pod too: not traffic
            if (!path.equals("/healthz") && !path.equals("/readyz")) lastAnswer = System.nanoTime();
            headers.set("Connection", "close"); // its client asks again on a new connection: another pod, once balanced
        }
        headers.set("Content-Type", "text/plain; charset=utf-8");
        if (exchange.getRequestMethod().equals("HEAD")) {
            headers.set("Content-Length", Integer.toString(body.length));
            exchange.sendResponseHeaders(status, -1);
        } else {
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
        }
    }

    static void log(HttpExchange exchange) {
        ACCESS.println(NAME + " " + exchange.getRemoteAddress().getAddress().getHostAddress() + " \""
                + exchange.getRequestMethod() + " " + exchange.getRequestURI() + "\" " + exchange.getResponseCode()
                + " id=" + Objects.requireNonNullElse(exchange.getResponseHeaders().getFirst("X-Request-Id"), "-"));
    }

    /**
     * The access log's lines go out together, every ACCESS_LOG_FLUSH_MS (flushAccessLog, and at shutdown): a write per
     * request costs whoever follows the log a wake-up per line (`kubectl logs -f`: at each, the kubelet asks the
     * container runtime whether the container still runs). Measured with `dev` following 3 pods under 40 requests/s:
     * containerd and the kubelet ~0.15 of a core less, and a save served ~1 s sooner (docs/design.md).
     */
    static final PrintStream ACCESS = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
            false, StandardCharsets.UTF_8);
    static final long ACCESS_LOG_FLUSH_MS = 100;

    static void flushAccessLog() {
        while (true) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ACCESS_LOG_FLUSH_MS));
            ACCESS.flush();
        }
    }

    /**
     * SIGTERM: readiness turns 503, and whatever still arrives (from a load balancer that has not dropped this pod
     * yet, or on a kept-alive connection) is answered, each answer closing its connection. Once no answer was due for
     * SHUTDOWN_QUIET_MS (0: at once) the listener closes, and requests in flight get what is left of the grace. Then
     * it says so ("NAME stopped") and exits.
     */
    static void stop(HttpServer server, int graceSeconds, int quietMillis) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(graceSeconds), quiet = TimeUnit.MILLISECONDS.toNanos(quietMillis);
        lastAnswer = System.nanoTime();
        stopping = true;
        for (long wait; (wait = Math.min(lastAnswer + quiet, end) - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
        server.stop((int) Math.max(0, TimeUnit.NANOSECONDS.toSeconds(end - System.nanoTime())));
        ACCESS.flush(); // what the requests answered logged, then
        System.out.println(NAME + " stopped"); // the last line: no answer comes from here any more (deploy.java waits for it)
        Runtime.getRuntime().halt(OK); // SIGTERM is how a pod normally ends: success, not the JVM's 143
    }

    /** VERSION: which code this is (deploy.java passes the image's content tag); unset when run from source. */
    static String version() {
        String value = System.getenv("VERSION");
        if (value == null || value.isBlank()) return null;
        if (value.matches("[A-Za-z0-9._-]{1,64}")) return value;
        throw fail(BAD_CONFIG, "VERSION=\"" + value + "\" is not 1 to 64 letters, digits, '.', '_' or '-' (unset it for unversioned)");
    }

    /** HOST unset: loopback only. Empty, 0.0.0.0 or :: (what containers need): every interface. */
    static InetAddress host() {
        String value = System.getenv("HOST");
        if (value == null) return InetAddress.getLoopbackAddress();
        if (value.isEmpty() || value.equals("0.0.0.0") || value.equals("::")) return null;
        try {
            return InetAddress.getByName(value);
        } catch (UnknownHostException e) {
            throw fail(BAD_CONFIG, "HOST=\"" + value + "\" is not an address of this machine (unset it for 127.0.0.1, or \"\" for all)");
        }
    }

    static int number(String variable, int fallback, int min, int max) {
        String value = System.getenv(variable);
        if (value == null || value.isBlank()) return fallback;
        int n = value.strip().matches("[0-9]{1,9}") ? Integer.parseInt(value.strip()) : -1;
        if (n >= min && n <= max) return n;
        throw fail(BAD_CONFIG, variable + "=\"" + value + "\" is not a number from " + min + " to " + max + " (unset it for " + fallback + ")");
    }

    static String address(InetAddress host, int port) {
        String h = host == null ? "0.0.0.0" : host.getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + port;
    }

    static RuntimeException fail(int exitCode, String message) {
        System.err.println("ERROR: " + NAME + ": " + message);
        System.exit(exitCode);
        return new IllegalStateException(message); // not reached; lets callers write `throw fail(...)`
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
