import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpServer;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the service test classes share: joiner started against stand-ins for hello and world in this JVM (one on the
 * JDK server, one on a bare socket that records what joiner did on each connection), and requests that wait as long
 * as a loaded machine needs. Nothing here measures speed: PATIENCE is how long a failing test hangs before it says
 * so, never how fast a passing one must be.
 */
final class Upstreams {
    private Upstreams() {}

    /** How long a request, a log line or an exit may take before a test gives up: minutes, for a machine at load 60. */
    static final Duration PATIENCE = Duration.ofMinutes(2);

    /** joiner's pool bounds, read from joiner.java so that the tests follow a change there. */
    static final int MAX_IDLE = joinerConstant("MAX_IDLE"), IDLE_MILLIS = joinerConstant("IDLE_MILLIS");

    /**
     * joiner against the given upstreams. UPSTREAM_TIMEOUT_MS is a minute unless a test sets it: stand-ins answer at
     * once, and a slow machine must never pass for a slow upstream.
     */
    static Support.Service joiner(String hello, String world, Map<String, String> more) {
        var env = new HashMap<>(Map.of("PORT", "0", "HELLO_SERVICE", hello, "WORLD_SERVICE", world, "UPSTREAM_TIMEOUT_MS", "60000"));
        env.putAll(more);
        return Support.Service.start("joiner", env);
    }

    static HttpRequest.Builder request(URI url) {
        return HttpRequest.newBuilder(url).timeout(PATIENCE);
    }

    static HttpResponse<String> get(URI url) {
        return Support.send(request(url).build());
    }

    static byte[] ok(String body) {
        return ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(ISO_8859_1);
    }

    static long millisSince(long nanoTime) {
        return Duration.ofNanos(System.nanoTime() - nanoTime).toMillis();
    }

    /** Polls a condition that another thread or process makes true, for up to PATIENCE. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }

    static int joinerConstant(String name) {
        try {
            Matcher m = Pattern.compile("\\b" + name + " = (\\d+)\\b").matcher(Files.readString(Support.ROOT.resolve("joiner.java")));
            if (!m.find()) throw new IllegalStateException("joiner.java sets no " + name);
            return Integer.parseInt(m.group(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** hello or world on the JDK server: answers its word at once, or as a test sets it: another status, a version, held, or only once it met the other. */
    static final class Fake implements AutoCloseable {
        final HttpServer server;
        final List<String> requestIds = new CopyOnWriteArrayList<>();
        final CountDownLatch arrived = new CountDownLatch(1);
        volatile int status = 200;
        volatile CountDownLatch hold, meeting;
        volatile String version;

        Fake(String body) {
            this(body, 0);
        }

        Fake(String body, int port) {
            try {
                server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", exchange -> {
                try (exchange) {
                    requestIds.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Request-Id")));
                    arrived.countDown();
                    int answer = status;
                    if (meeting != null) {
                        meeting.countDown();
                        if (!meeting.await(30, TimeUnit.SECONDS)) answer = 500;
                    }
                    if (hold != null) hold.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS); // released by the test, or by close()
                    byte[] bytes = body.getBytes(UTF_8);
                    if (version != null) exchange.getResponseHeaders().set("X-Version", version);
                    exchange.sendResponseHeaders(answer, bytes.length);
                    exchange.getResponseBody().write(bytes);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            server.start();
        }

        String hostPort() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            if (hold != null) hold.countDown();
            server.stop(0);
        }
    }

    /**
     * hello or world on a bare socket, for what the JDK server never does: odd framing, closing or resetting
     * connections, dripping bytes. A script answers each request as it likes, and the upstream records what joiner did:
     * which connection each request came on, and how long each connection had been idle when joiner closed it.
     */
    static final class Raw implements AutoCloseable {
        /** One request to answer: {@code connection} and {@code nth} count from 1; {@code in} is past the request; closing {@code out} ends the connection. */
        record Exchange(int connection, int nth, Socket socket, InputStream in, OutputStream out) {}

        interface Script {
            void answer(Exchange exchange) throws Exception;
        }

        /**
         * A request as it came: on which connection, the how-many-th there, its X-Request-Id and head, and the ms since this
         * upstream began writing its last answer (-1 before the first). joiner sets a connection idle only once it has read
         * the answer, so for requests one after another that is at least how long joiner's connection had been idle.
         */
        record Request(int connection, int nth, String id, String head, long afterLastAnswer) {
            @Override
            public String toString() {
                return id + " on connection " + connection + " (#" + nth + " there, " + afterLastAnswer + " ms after the last answer)";
            }
        }

        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger(), open = new AtomicInteger();
        final List<Request> requests = new CopyOnWriteArrayList<>();
        /** For each connection joiner closed after an answer: ms from when its last answer began to the close (at least joiner's idle time). */
        final List<Long> idleWhenClosed = new CopyOnWriteArrayList<>();
        volatile long lastAnswer;

        Raw(Script script) {
            try {
                server = new ServerSocket(0, 1000, InetAddress.getLoopbackAddress());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket socket = server.accept();
                        int n = connections.incrementAndGet();
                        open.incrementAndGet();
                        Thread.ofVirtual().start(() -> serve(socket, n, script));
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
        }

        void serve(Socket socket, int connection, Script script) {
            long[] written = {0}; // when this connection's last write began
            try (socket) {
                var in = socket.getInputStream();
                var out = new FilterOutputStream(socket.getOutputStream()) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        lastAnswer = written[0] = System.nanoTime();
                        super.out.write(b, off, len);
                    }

                    @Override
                    public void write(int b) throws IOException {
                        write(new byte[] {(byte) b}, 0, 1);
                    }
                };
                for (int nth = 1; ; nth++) {
                    String head = head(in);
                    if (head == null) { // the client closed the connection
                        if (written[0] != 0) idleWhenClosed.add(millisSince(written[0]));
                        return;
                    }
                    long last = lastAnswer;
                    String id = head.lines().filter(l -> l.startsWith("X-Request-Id: ")).map(l -> l.substring(14)).findFirst().orElse("");
                    requests.add(new Request(connection, nth, id, head, last == 0 ? -1 : millisSince(last)));
                    try {
                        script.answer(new Exchange(connection, nth, socket, in, out));
                    } catch (Reset e) {
                        socket.setSoLinger(true, 0); // close() now sends RST
                        return;
                    }
                }
            } catch (Exception e) {
                // the client went away mid-answer, or the test ended
            } finally {
                open.decrementAndGet();
            }
        }

        /** A request's head without its blank line, or null when the connection ends first. */
        static String head(InputStream in) throws IOException {
            var head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) return null;
                head.append((char) c);
            }
            return head.toString().strip();
        }

        /** Every request that carried this id, in the order they came. */
        List<Request> tries(String id) {
            return requests.stream().filter(r -> r.id().equals(id)).toList();
        }

        String hostPort() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Thrown by a script: the connection is reset (RST) instead of answered. */
    static final class Reset extends Exception {}
}
