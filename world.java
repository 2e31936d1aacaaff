///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION world: answers "World" on GET /, with /healthz and /readyz for Kubernetes. No dependencies.
//JAVA 25+

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** Answers "World". Configured by the environment: HOST, PORT, VERSION, SHUTDOWN_GRACE_SECONDS, SHUTDOWN_QUIET_MS, ACCESS_LOG. */
class world {
    static final String NAME = "world";
    static final int DEFAULT_PORT = 3001;

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

    static final byte[] BODY = bytes("World"), ALIVE = bytes("alive"), READY = bytes("ready"),
            STOPPING = bytes("shutting down"), NOT_FOUND = bytes("not found"), NOT_ALLOWED = bytes("method not allowed");

    static volatile boolean stopping;
    static volatile long lastAnswer; // System.nanoTime() of the latest answer since SIGTERM
    static String versionHeader;

    public static void main(String[] args) throws IOException {
        InetAddress host = host();
        int port = number("PORT", DEFAULT_PORT, 0, 65535);
        int grace = number("SHUTDOWN_GRACE_SECONDS", 10, 0, 3600);
        int quiet = number("SHUTDOWN_QUIET_MS", 0, 0, 600_000);
        String version = version();
        versionHeader = NAME + "=" + Objects.requireNonNullElse(version, "unversioned");
        boolean accessLog = "true".equalsIgnoreCase(System.getenv("ACCESS_LOG")); // off: a line per request costs ~10%
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
        var context = server.createContext("/", world::handle);
        if (accessLog) {
            context.getFilters().add(Filter.afterHandler("access log", world::log));
            Thread.ofVirtual().start(world::flushAccessLog);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server, grace, quiet)));
        System.out.println(NAME + " listening on http://" + address(host, server.getAddress().getPort()) + "/ "
                + (version == null ? "(unversioned: VERSION is not set)" : "(version " + version + ")"));
    }

    // ---- handlers

    static void handle(HttpExchange exchange) throws IOException {
        // close() drains what is left of a request body (the JDK server keeps ≤ 64 KiB, then drops the connection).
        try (exchange) {
            switch (exchange.getRequestURI().getPath()) {
                case "/" -> answer(exchange, 200, BODY);
                case "/healthz" -> answer(exchange, 200, ALIVE);
                case "/readyz" -> answer(exchange, stopping ? 503 : 200, stopping ? STOPPING : READY);
                default -> send(exchange, 404, NOT_FOUND);
            }
        }
    }

    /** GET and HEAD get the answer; any other method on a known path gets 405. */
    static void answer(HttpExchange exchange, int status, byte[] body) throws IOException {
        switch (exchange.getRequestMethod()) {
            case "GET", "HEAD" -> send(exchange, status, body);
            default -> {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, NOT_ALLOWED);
            }
        }
    }

    // ---- helpers

    /** The one way a response leaves: text with a charset, the request id echoed, the version, no body for HEAD. */
    static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        var headers = exchange.getResponseHeaders();
        if (stopping) {
            String path = exchange.getRequestURI().getPath(); // the kubelet probes a terminating pod too: not traffic
            if (!path.equals("/healthz") && !path.equals("/readyz")) lastAnswer = System.nanoTime();
            headers.set("Connection", "close"); // its client asks again on a new connection: another pod, once balanced
        }
        headers.set("Content-Type", "text/plain; charset=utf-8");
        headers.set("X-Version", versionHeader);
        String id = exchange.getRequestHeaders().getFirst("X-Request-Id");
        if (id != null) headers.set("X-Request-Id", id);
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
