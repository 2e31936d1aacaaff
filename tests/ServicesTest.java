import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * hello, world and joiner as real processes on ephemeral ports: endpoints, configuration errors, joiner's
 * upstream handling (against stand-in upstreams in this JVM), SIGTERM with a request in flight, hostile input.
 */
class ServicesTest {

    // ---- hello and world

    @ParameterizedTest(name = "{0} answers every endpoint, logs on request and exits 0 on SIGTERM", quoteTextArguments = false)
    @ValueSource(strings = {"hello", "world"})
    void answers_every_endpoint_logs_on_request_and_exits_0_on_sigterm(String name) throws Exception {
        String body = name.equals("hello") ? "Hello" : "World";
        try (var s = Support.Service.start(name, Map.of("PORT", "0", "ACCESS_LOG", "true"))) {
            assertTrue(s.lines.getFirst().matches(name + " listening on http://127\\.0\\.0\\.1:\\d+/"), s.lines.toString());

            var root = Support.send(request(s.url).header("X-Request-Id", "trace-7").build());
            assertEquals(200, root.statusCode());
            assertEquals(body, root.body());
            assertEquals("text/plain; charset=utf-8", root.headers().firstValue("Content-Type").orElse(""));
            assertEquals("trace-7", root.headers().firstValue("X-Request-Id").orElse(""), "the request id is echoed");

            var head = Support.send(request(s.url).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());
            assertEquals(String.valueOf(body.length()), head.headers().firstValue("Content-Length").orElse(""));
            assertEquals("text/plain; charset=utf-8", head.headers().firstValue("Content-Type").orElse(""));

            assertEquals(200, Support.get(s.url.resolve("/healthz")).statusCode());
            assertEquals(200, Support.get(s.url.resolve("/readyz")).statusCode());
            assertNotAllowed(s.url, "POST", "/");
            assertNotAllowed(s.url, "DELETE", "/healthz");
            assertEquals(404, Support.get(s.url.resolve("/nope")).statusCode());
            s.awaitLine("\"GET /\" 200 id=trace-7", Duration.ofSeconds(10));
            assertServerLimits(s);

            s.process.destroy(); // SIGTERM
            assertTrue(s.process.waitFor(10, TimeUnit.SECONDS), name + " did not stop within 10 s of SIGTERM");
            assertEquals(0, s.process.exitValue(), "SIGTERM is a clean stop");
        }
    }

    @Test
    void host_empty_listens_on_every_interface() {
        try (var s = Support.Service.start("hello", Map.of("PORT", "0", "HOST", ""))) {
            assertTrue(s.url.toString().startsWith("http://0.0.0.0:"), s.lines.toString());
            assertEquals("Hello", Support.get(URI.create("http://127.0.0.1:" + s.url.getPort() + "/")).body());
        }
    }

    // ---- configuration mistakes

    @ParameterizedTest(name = "{0} with {1}={2} exits 2 with one line naming both", quoteTextArguments = false)
    @CsvSource({
        "hello, PORT, abc",
        "world, PORT, 70000",
        "hello, PORT, -1",
        "hello, SHUTDOWN_GRACE_SECONDS, soon",
        "world, HOST, no-such-host.invalid",
        "joiner, PORT, 3.5",
        "joiner, HELLO_SERVICE, hello",
        "joiner, WORLD_SERVICE, ftp://world:3001/",
        "joiner, HELLO_SERVICE, hello:99999",
        "joiner, UPSTREAM_TIMEOUT_MS, 0",
    })
    void bad_configuration_exits_2_with_one_line_naming_variable_and_value(String name, String variable, String value) {
        long start = System.nanoTime();
        var env = new HashMap<>(Map.of("PORT", "0"));
        env.put(variable, value);
        var r = Support.run(List.of(Support.JAVA, "-cp", Support.serviceClasses().toString(), name), env, Duration.ofSeconds(20));
        assertEquals(2, r.exit(), r.both());
        assertEquals("", r.out(), "nothing starts");
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line: " + err);
        assertTrue(err.startsWith("ERROR: " + name + ": " + variable + "=\"" + value + "\""), err);
        assertFalse(err.contains("Exception"), err);
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10, "fails fast");
    }

    @Test
    void a_port_in_use_exits_1_with_one_line() {
        try (var first = Support.Service.start("hello", Map.of("PORT", "0"))) {
            String port = String.valueOf(first.url.getPort());
            var r = Support.run(List.of(Support.JAVA, "-cp", Support.serviceClasses().toString(), "world"),
                    Map.of("PORT", port), Duration.ofSeconds(20));
            assertEquals(1, r.exit(), r.both());
            String err = r.err().strip();
            assertFalse(err.contains("\n"), "one line: " + err);
            assertEquals("ERROR: world: cannot listen on 127.0.0.1:" + port + ": Address already in use"
                    + " (another process has it? set PORT to a free port, or 0 for any)", err);
            assertEquals(200, Support.get(first.url).statusCode(), "the first one is unharmed");
        }
    }

    // ---- joiner

    @Test
    void joiner_joins_real_hello_and_world() {
        try (var hello = Support.Service.start("hello", Map.of("PORT", "0"));
             var world = Support.Service.start("world", Map.of("PORT", "0"));
             var joiner = Support.Service.start("joiner", Map.of("PORT", "0",
                     "HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", "http://" + world.hostPort()))) {
            var r = Support.get(joiner.url);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("Hello World", r.body());
            assertEquals("text/plain; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
            assertTrue(r.headers().firstValue("X-Request-Id").orElse("").matches("[0-9a-f]{16}"), "an id is made");

            var head = Support.send(request(joiner.url).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());
            assertEquals("11", head.headers().firstValue("Content-Length").orElse(""));

            assertEquals(200, Support.get(joiner.url.resolve("/healthz")).statusCode());
            assertEquals(200, Support.get(joiner.url.resolve("/readyz")).statusCode());
            assertNotAllowed(joiner.url, "PUT", "/");
            assertNotAllowed(joiner.url, "POST", "/readyz");
            assertEquals(404, Support.get(joiner.url.resolve("/hello")).statusCode());
            assertServerLimits(joiner);
        }
    }

    @Test
    void joiner_passes_the_request_id_to_both_upstreams_and_back() {
        try (var hello = new Upstream("Hello"); var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("ACCESS_LOG", "true"))) {
            var given = Support.send(request(joiner.url).header("X-Request-Id", "test-42").build());
            assertEquals("Hello World", given.body());
            assertEquals("test-42", given.headers().firstValue("X-Request-Id").orElse(""));
            assertEquals(List.of("test-42"), hello.requestIds);
            assertEquals(List.of("test-42"), world.requestIds);
            joiner.awaitLine("\"GET /\" 200 id=test-42", Duration.ofSeconds(10));

            // No id, or one not fit for a header: joiner makes one and both upstreams get that.
            for (String unfit : new String[] {null, "has spaces", "x".repeat(200)}) {
                var b = request(joiner.url);
                if (unfit != null) b.header("X-Request-Id", unfit);
                String made = Support.send(b.build()).headers().firstValue("X-Request-Id").orElse("");
                assertTrue(made.matches("[0-9a-f]{16}"), made);
                assertEquals(made, hello.requestIds.getLast());
                assertEquals(made, world.requestIds.getLast());
            }
        }
    }

    @Test
    void joiner_answers_502_naming_the_upstream_that_is_down() throws IOException {
        int closedPort;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort(); // free once closed: nothing listens there
        }
        String down = "127.0.0.1:" + closedPort;
        try (var hello = new Upstream("Hello"); var joiner = joiner(hello.hostPort(), down, Map.of())) {
            long start = System.nanoTime();
            var r = Support.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("world (" + down + "): connection refused", r.body());
            assertTrue(millisSince(start) < 2000 + 3000, "within the 2000 ms timeout and a margin");
            String id = r.headers().firstValue("X-Request-Id").orElseThrow();
            joiner.awaitLine("id=" + id + ": world (" + down + "): connection refused", Duration.ofSeconds(10));
        }
    }

    @Test
    void joiner_answers_502_when_an_upstream_answers_an_error() {
        try (var hello = new Upstream("Hello"); var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            hello.status = 503;
            var r = Support.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): answered 503", r.body());
        }
    }

    @Test
    void joiner_answers_504_within_its_timeout_when_an_upstream_stalls() {
        try (var hello = new Upstream("Hello"); var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "500"))) {
            world.hold = new CountDownLatch(1);
            long start = System.nanoTime();
            var r = Support.get(joiner.url);
            long took = millisSince(start);
            assertEquals(504, r.statusCode(), r.body());
            assertEquals("world (" + world.hostPort() + "): timed out after 500 ms", r.body());
            assertTrue(took >= 500 && took < 500 + 3000, "took " + took + " ms");
        }
    }

    @Test
    void joiner_asks_both_upstreams_at_once() {
        try (var hello = new Upstream("Hello"); var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "10000"))) {
            // Each upstream answers only once it has met the other (else 500 after 5 s): asked one after
            // the other, joiner gets a 500 and answers 502; asked at once, both answer 200.
            var meeting = new CountDownLatch(2);
            hello.meeting = meeting;
            world.meeting = meeting;
            var r = Support.get(joiner.url);
            assertEquals("Hello World", r.body(), "both upstreams were asked at once");
        }
    }

    @Test
    void sigterm_turns_readiness_503_and_lets_the_request_in_flight_finish_with_200() throws Exception {
        try (var hello = new Upstream("Hello"); var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "20000"));
             var kept = new Socket(joiner.url.getHost(), joiner.url.getPort())) {
            kept.setSoTimeout(10_000);
            assertEquals("200 ready", ask(kept, "/readyz"), "a kept-alive connection, opened before SIGTERM");

            world.hold = new CountDownLatch(1);
            var inFlight = Support.HTTP.sendAsync(request(joiner.url).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(world.arrived.await(10, TimeUnit.SECONDS), "the request reached world");

            joiner.process.destroy(); // SIGTERM
            assertTrue(eventually(() -> ask(kept, "/readyz").equals("503 shutting down")), "readiness turns 503");
            assertTrue(eventually(() -> refused(joiner.url)), "the listener closes");
            assertFalse(inFlight.isDone(), "the request in flight is still waiting for world");

            world.hold.countDown();
            var r = inFlight.get(20, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("Hello World", r.body());
            assertTrue(joiner.process.waitFor(10, TimeUnit.SECONDS), "joiner stops once the request is done");
            assertEquals(0, joiner.process.exitValue());
        }
    }

    // ---- hostile input

    @Test
    void garbage_huge_headers_and_slow_clients_neither_kill_nor_starve_the_server() throws Exception {
        // maxReqTime 2 s instead of the services' 10 s, so this test waits less; the mechanism is the same.
        var command = List.of(Support.JAVA, "-Dsun.net.httpserver.maxReqTime=2", "-cp",
                Support.serviceClasses().toString(), "hello");
        try (var s = Support.Service.start(command, Map.of("PORT", "0"))) {
            byte[] noise = new byte[64 * 1024];
            new java.util.Random(7).nextBytes(noise);
            List<byte[]> attacks = List.of(
                    noise,
                    "\u0000\u0001 not http at all\r\n\r\n".getBytes(ISO_8859_1),
                    ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(64 * 1024) + "\r\n\r\n").getBytes(ISO_8859_1),
                    manyHeaders(100));
            for (byte[] attack : attacks) {
                String answer = sendRaw(s.url, attack);
                assertFalse(answer.startsWith("HTTP/1.1 200"), "rejected: " + answer.lines().findFirst().orElse("(closed)"));
                assertEquals("Hello", Support.get(s.url).body(), "still serving after " + answer.lines().findFirst().orElse("a closed connection"));
            }

            // Twenty clients each sending a request one byte every 300 ms: others are served meanwhile,
            // and the server hangs up on each once maxReqTime has passed (checked every second).
            var slow = new ArrayList<Thread>();
            var hungUpAfter = new CopyOnWriteArrayList<Long>();
            for (int i = 0; i < 20; i++) {
                slow.add(Thread.ofVirtual().start(() -> hungUpAfter.add(dripFeed(s.url))));
            }
            for (int i = 0; i < 5; i++) assertEquals("Hello", Support.get(s.url).body());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            for (var t : slow) t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            assertEquals(20, hungUpAfter.size(), "slow clients cut off within 15 s");
            hungUpAfter.forEach(ms -> assertTrue(ms < 2000 + 1000 + 3000, "cut off after " + ms + " ms"));
            assertEquals("Hello", Support.get(s.url).body());
            assertTrue(s.process.isAlive());
        }
    }

    // ---- as a user runs them

    @ParameterizedTest(name = "{0}.java is executable and starts with the JBang header", quoteTextArguments = false)
    @ValueSource(strings = {"hello", "world", "joiner"})
    void each_script_is_executable_and_starts_with_the_jbang_header(String name) throws IOException {
        var file = Support.ROOT.resolve(name + ".java");
        assertTrue(Files.isExecutable(file), "chmod +x " + name + ".java, so ./" + name + ".java runs it");
        var lines = Files.readAllLines(file);
        assertEquals("///usr/bin/env jbang \"$0\" \"$@\" ; exit $?", lines.get(0));
        assertTrue(lines.get(1).startsWith("//DESCRIPTION "), lines.get(1));
        assertEquals("//JAVA 25+", lines.get(2));
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("//DEPS")), "no dependencies");
        assertTrue(lines.contains("class " + name + " {"), "the class is named after the file");
    }

    /** hello and world are each whole on their own, so they repeat each other; this keeps a fix in one from missing the other. */
    @Test
    void world_is_hello_with_its_name_port_and_word_changed() throws IOException {
        String hello = Files.readString(Support.ROOT.resolve("hello.java"));
        String world = Files.readString(Support.ROOT.resolve("world.java"));
        String expected = hello.replace("Hello", "World").replace("hello", "world").replace("DEFAULT_PORT = 3000", "DEFAULT_PORT = 3001");
        assertEquals(expected, world, "world.java drifted from hello.java: make the same change in both");
    }

    /** joiner repeats hello's configuration and logging helpers (each script is whole); they must not drift apart. */
    @Test
    void joiner_shares_hellos_helpers_word_for_word() throws IOException {
        String hello = Files.readString(Support.ROOT.resolve("hello.java"));
        String joiner = Files.readString(Support.ROOT.resolve("joiner.java"));
        String from = "    static void log(HttpExchange exchange) {";
        assertTrue(hello.contains(from) && joiner.contains(from), "both scripts have " + from.strip());
        assertEquals(hello.substring(hello.indexOf(from)), joiner.substring(joiner.indexOf(from)),
                "the helpers from log() on differ between hello.java and joiner.java: make the same change in both");
    }

    @Test
    void the_three_scripts_run_with_jbang_and_join() {
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        try (var hello = Support.Service.start(List.of("jbang", "hello.java"), Map.of("PORT", "0"));
             var world = Support.Service.start(List.of("jbang", "world.java"), Map.of("PORT", "0"));
             var joiner = Support.Service.start(List.of("jbang", "joiner.java"), Map.of("PORT", "0",
                     "HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", world.hostPort()))) {
            assertEquals("Hello", Support.get(hello.url).body());
            assertEquals("World", Support.get(world.url).body());
            assertEquals("Hello World", Support.get(joiner.url).body());
        }
    }

    // ---- helpers

    /** A stand-in for hello or world in this JVM: records request ids; can fail, be slow, or hold requests. */
    static final class Upstream implements AutoCloseable {
        final HttpServer server;
        final List<String> requestIds = new CopyOnWriteArrayList<>();
        final CountDownLatch arrived = new CountDownLatch(1);
        volatile int status = 200;
        volatile CountDownLatch hold, meeting;

        Upstream(String body) {
            try {
                server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
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
                        if (!meeting.await(5, TimeUnit.SECONDS)) answer = 500;
                    }
                    if (hold != null) hold.await(60, TimeUnit.SECONDS);
                    byte[] bytes = body.getBytes(UTF_8);
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

    static Support.Service joiner(String hello, String world, Map<String, String> more) {
        var env = new HashMap<>(Map.of("PORT", "0", "HELLO_SERVICE", hello, "WORLD_SERVICE", world));
        env.putAll(more);
        return Support.Service.start("joiner", env);
    }

    static HttpRequest.Builder request(URI url) {
        return HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10));
    }

    static void assertNotAllowed(URI base, String method, String path) {
        var r = Support.send(request(base.resolve(path)).method(method, HttpRequest.BodyPublishers.ofString("ignored")).build());
        assertEquals(405, r.statusCode(), method + " " + path);
        assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElse(""), method + " " + path);
    }

    /** The JDK server limits the services set (the hostile-input test shortens maxReqTime, so checks them here). */
    static void assertServerLimits(Support.Service s) {
        var jcmd = java.nio.file.Path.of(Support.JAVA).resolveSibling("jcmd").toString();
        var r = Support.run(List.of(jcmd, String.valueOf(s.process.pid()), "VM.system_properties"), Map.of(), Duration.ofSeconds(30));
        assertEquals(0, r.exit(), r.both());
        for (String limit : List.of("sun.net.httpserver.maxReqTime=10", "sun.net.httpserver.maxReqHeaderSize=16384",
                "sun.net.httpserver.maxReqHeaders=64", "jdk.httpserver.maxConnections=1000",
                "sun.net.httpserver.maxIdleConnections=1000", "sun.net.httpserver.nodelay=true")) {
            assertTrue(r.out().lines().anyMatch(limit::equals), limit + " in " + r.out());
        }
    }

    static long millisSince(long nanoTime) {
        return Duration.ofNanos(System.nanoTime() - nanoTime).toMillis();
    }

    /** Sends bytes on a new connection; returns what came back before the server hung up ("" if it reset). */
    static String sendRaw(URI url, byte[] bytes) throws IOException {
        try (var socket = new Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout(10_000);
            var out = new ByteArrayOutputStream();
            try {
                socket.getOutputStream().write(bytes);
                socket.getInputStream().transferTo(out);
            } catch (IOException e) {
                // the server hung up mid-way: that is a rejection too
            }
            return out.toString(ISO_8859_1);
        }
    }

    /** A request with {@code n} distinct headers (the JDK counts names, not lines). */
    static byte[] manyHeaders(int n) {
        var request = new StringBuilder("GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < n; i++) request.append("X-Many-").append(i).append(": 1\r\n");
        return request.append("\r\n").toString().getBytes(ISO_8859_1);
    }

    /** A client sending a request one byte every 300 ms; returns the ms until the server hung up. */
    static long dripFeed(URI url) {
        byte[] request = "GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ".getBytes(ISO_8859_1);
        long start = System.nanoTime();
        try (var socket = new Socket(url.getHost(), url.getPort())) {
            var out = socket.getOutputStream();
            for (int i = 0; ; i++) {
                out.write(i < request.length ? request[i] : 'z');
                out.flush();
                Thread.sleep(300); // the slowness under test
            }
        } catch (IOException e) {
            return millisSince(start); // the server closed the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Long.MAX_VALUE;
        }
    }

    /** One GET on a kept-alive connection; returns "status body". */
    static String ask(Socket socket, String path) {
        try {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(ISO_8859_1));
            InputStream in = socket.getInputStream();
            var head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) throw new IOException("closed after " + head);
                head.append((char) c);
            }
            int length = head.toString().lines()
                    .filter(l -> l.toLowerCase().startsWith("content-length:"))
                    .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).strip()))
                    .findFirst().orElse(0);
            return head.toString().split(" ")[1] + " " + new String(in.readNBytes(length), UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static boolean refused(URI url) {
        try (var ignored = new Socket(url.getHost(), url.getPort())) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Polls a condition that another process makes true, for up to 10 s. */
    static boolean eventually(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(20);
        }
        return false;
    }
}
