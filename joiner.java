///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION joiner: asks hello and world at once and answers "Hello World"; /healthz and /readyz for Kubernetes. No dependencies.
//JAVA 25+

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * Answers "Hello World", joining what hello and world answer. Configured by the environment: HOST, PORT,
 * HELLO_SERVICE, WORLD_SERVICE, UPSTREAM_TIMEOUT_MS, SHUTDOWN_GRACE_SECONDS, ACCESS_LOG.
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

    static final byte[] ALIVE = bytes("alive"), READY = bytes("ready"), STOPPING = bytes("shutting down"),
            NOT_FOUND = bytes("not found"), NOT_ALLOWED = bytes("method not allowed");

    static volatile boolean stopping;
    static Upstream hello, world;
    static Duration timeout;
    static HttpClient client;

    public static void main(String[] args) throws Exception {
        InetAddress host = host();
        int port = number("PORT", DEFAULT_PORT, 0, 65535);
        int grace = number("SHUTDOWN_GRACE_SECONDS", 10, 0, 3600);
        boolean accessLog = "true".equalsIgnoreCase(System.getenv("ACCESS_LOG")); // off: a line per request costs ~10%
        hello = upstream("hello", "HELLO_SERVICE", "localhost:3000");
        world = upstream("world", "WORLD_SERVICE", "localhost:3001");
        timeout = Duration.ofMillis(number("UPSTREAM_TIMEOUT_MS", 2000, 1, 600_000));
        SERVER_LIMITS.forEach(System.getProperties()::putIfAbsent);
        // One client for all requests, so connections to hello and world stay open between them. HTTP/1.1 because
        // the JDK server does not speak h2c. Replies are handled on virtual threads, not a growing pool of platform ones.
        // Plain HTTP only: an SSLContext never initialised spares loading the CA certificates (~400 classes) at start.
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .sslContext(SSLContext.getInstance("TLS")).sslParameters(new SSLParameters()).build();

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
        if (accessLog) context.getFilters().add(Filter.afterHandler("access log", joiner::log));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            server.stop(grace); // closes the listener, then waits ≤ grace for requests in flight
            Runtime.getRuntime().halt(OK); // SIGTERM is how a pod normally ends: success, not the JVM's 143
        }));
        System.out.println(NAME + " listening on http://" + address(host, server.getAddress().getPort()) + "/");
    }

    // ---- handlers

    static void handle(HttpExchange exchange) throws IOException {
        // close() drains what is left of a request body (the JDK server keeps ≤ 64 KiB, then drops the connection).
        try (exchange) {
            exchange.getResponseHeaders().set("X-Request-Id", requestId(exchange));
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

    /** Both upstreams at once, so the answer takes as long as the slower one, not the sum. */
    static void join(HttpExchange exchange) throws IOException {
        String id = exchange.getResponseHeaders().getFirst("X-Request-Id");
        var fromHello = call(hello, id);
        var fromWorld = call(world, id);
        try {
            CompletableFuture.allOf(fromHello, fromWorld).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // each call is looked at below
        } catch (InterruptedException e) {
            throw new InterruptedIOException("interrupted while waiting for hello and world");
        }
        Reply h = reply(hello, fromHello), w = reply(world, fromWorld);
        if (h.failure == null && w.failure == null) {
            byte[] body = new byte[h.body.length + 1 + w.body.length];
            System.arraycopy(h.body, 0, body, 0, h.body.length);
            body[h.body.length] = ' ';
            System.arraycopy(w.body, 0, body, h.body.length + 1, w.body.length);
            send(exchange, 200, body);
            return;
        }
        String why = h.failure == null ? w.failure : w.failure == null ? h.failure : h.failure + "; " + w.failure;
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

    /** An upstream as configured: its name, the address as the user wrote it, and the URL asked. */
    record Upstream(String name, String address, URI url) {
        String describe() {
            return name + " (" + address + ")";
        }
    }

    /** What an upstream answered: a body, or why not in one line. */
    record Reply(byte[] body, String failure, boolean timedOut) {}

    // No timeout on the HttpRequest: the client would register a timer and wake its selector for every call (measured
    // here: ~45 of ~130 µs of CPU per call). join() bounds both calls at once instead, and cancels a late one.
    static CompletableFuture<HttpResponse<byte[]>> call(Upstream upstream, String id) {
        var request = HttpRequest.newBuilder(upstream.url).header("X-Request-Id", id).build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    static Reply reply(Upstream upstream, CompletableFuture<HttpResponse<byte[]>> call) {
        if (!call.isDone()) {
            call.cancel(true); // aborts the exchange, so a stalled upstream does not keep a connection
            return failed(upstream, "timed out after " + timeout.toMillis() + " ms", true);
        }
        if (call.isCompletedExceptionally()) {
            Throwable error = call.exceptionNow(); // the cause, not its CompletionException wrapper
            return failed(upstream, why(error), error instanceof HttpTimeoutException);
        }
        var response = call.resultNow();
        if (response.statusCode() / 100 == 2) return new Reply(response.body(), null, false);
        return failed(upstream, "answered " + response.statusCode(), false);
    }

    static Reply failed(Upstream upstream, String why, boolean timedOut) {
        return new Reply(null, upstream.describe() + ": " + why, timedOut);
    }

    static String why(Throwable error) {
        return switch (error) {
            case HttpTimeoutException e -> "timed out after " + timeout.toMillis() + " ms"; // connecting, here
            case ConnectException e when e.getCause() instanceof UnresolvedAddressException -> "unknown host";
            case ConnectException e -> e.getMessage() == null ? "connection refused" : e.getMessage().toLowerCase();
            case IOException e -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            default -> error.toString();
        };
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
        System.out.println(NAME + " " + exchange.getRemoteAddress().getAddress().getHostAddress() + " \""
                + exchange.getRequestMethod() + " " + exchange.getRequestURI() + "\" " + exchange.getResponseCode()
                + " id=" + Objects.requireNonNullElse(exchange.getResponseHeaders().getFirst("X-Request-Id"), "-"));
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
