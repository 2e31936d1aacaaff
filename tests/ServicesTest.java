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
import java.io.OutputStream;
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
import java.util.concurrent.atomic.AtomicInteger;
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
            assertTrue(s.lines.getFirst().matches(name + " listening on http://127\\.0\\.0\\.1:\\d+/ \\(unversioned: VERSION is not set\\)"),
                    s.lines.toString());

            var root = Support.send(request(s.url).header("X-Request-Id", "trace-7").build());
            assertEquals(200, root.statusCode());
            assertEquals(body, root.body());
            assertEquals("text/plain; charset=utf-8", root.headers().firstValue("Content-Type").orElse(""));
            assertEquals("trace-7", root.headers().firstValue("X-Request-Id").orElse(""), "the request id is echoed");
            assertEquals(name + "=unversioned", root.headers().firstValue("X-Version").orElse(""));

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
        "hello, VERSION, has space",
        "world, VERSION, a/b",
        "joiner, VERSION, 0123456789012345678901234567890123456789012345678901234567890123456789",
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
             var joiner = Support.Service.start("joiner", Map.of("PORT", "0", "UPSTREAM_TIMEOUT_MS", "20000", // cold JVMs on a busy machine
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
            assertTrue(took >= 500 && took < 500 + 5000, "took " + took + " ms"); // held for 60 s: a margin for a busy machine
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

    // ---- joiner's upstream connections (issues 12 and 13)

    @ParameterizedTest(name = "an answer framed by {0} is read whole; connections used for 3 requests: {2}", quoteTextArguments = false)
    @CsvSource(delimiter = '|', value = {
        "Content-Length             | HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nHello                                           | 1",
        "chunked, with a trailer    | HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nHe\\r\\n3;x=y\\r\\nllo\\r\\n0\\r\\nT: 1\\r\\n\\r\\n | 1",
        "an interim 103 first       | HTTP/1.1 103 Early Hints\\r\\nLink: </x>\\r\\n\\r\\nHTTP/1.1 200 OK\\r\\ncontent-length: 5\\r\\n\\r\\nHello | 1",
        "Connection: close          | HTTP/1.1 200 OK\\r\\nConnection: close\\r\\nContent-Length: 5\\r\\n\\r\\nHello                        | 3",
        "the end of the connection  | HTTP/1.1 200 OK\\r\\n\\r\\nHello                                                              | 3",
        "HTTP/1.0                   | HTTP/1.0 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nHello                                           | 3",
    })
    void joiner_reads_every_framing_of_an_answer_and_keeps_the_connection_only_when_it_may(String framing, String answer, int connections) {
        byte[] bytes = answer.replace("\\r\\n", "\r\n").getBytes(ISO_8859_1);
        boolean closes = connections > 1;
        try (var hello = new RawUpstream((c, in, out) -> {
                 out.write(bytes);
                 if (closes && !answer.startsWith("HTTP/1.0")) out.close(); // else joiner must be the one to close it
             });
             var world = new Upstream("World"); var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            for (int i = 0; i < 3; i++) assertEquals("Hello World", Support.get(joiner.url).body(), framing);
            assertEquals(connections, hello.connections.get(), framing);
        }
    }

    @Test
    void joiner_asks_an_upstream_url_for_its_path_and_query_with_its_host() {
        try (var world = new RawUpstream((c, in, out) -> out.write(ok("World")));
             var hello = new Upstream("Hello");
             var joiner = joiner(hello.hostPort(), "http://" + world.hostPort() + "/api/word?lang=en", Map.of())) {
            var r = Support.send(request(joiner.url).header("X-Request-Id", "path-1").build());
            assertEquals("Hello World", r.body());
            assertEquals(List.of("GET /api/word?lang=en HTTP/1.1", "Host: " + world.hostPort(), "X-Request-Id: path-1"),
                    world.requests.getFirst().lines().toList());
        }
    }

    @Test
    void a_pooled_connection_the_upstream_closed_is_retried_on_a_new_one_never_a_502() {
        // The upstream closes each connection right after answering, as one does at its idle timeout or on restart,
        // without saying so: joiner keeps the connection, finds it closed on the next call, and asks again.
        try (var hello = new RawUpstream((c, in, out) -> {
                 out.write(ok("Hello"));
                 out.close();
             });
             var world = new Upstream("World"); var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            for (int i = 1; i <= 3; i++) {
                var r = Support.get(joiner.url);
                assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
                assertEquals(i, hello.requests.size(), "each request reached hello once");
            }
            assertEquals(3, hello.connections.get(), "the first on a new connection, then one failed reuse and a new one each");
        }
    }

    @Test
    void an_upstream_restart_costs_no_failed_request() throws InterruptedException {
        try (var world = new Upstream("World")) {
            var first = Support.Service.start("hello", Map.of("PORT", "0"));
            String port = String.valueOf(first.url.getPort());
            try (var joiner = joiner(first.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "20000"))) { // a cold hello, a busy machine
                assertEquals("Hello World", Support.get(joiner.url).body());
                first.close(); // SIGKILL: the kept connection ends
                try (var second = Support.Service.start("hello", Map.of("PORT", port))) {
                    assertEquals("Hello World", Support.get(joiner.url).body());
                }
            }
        }
    }

    @Test
    void a_connection_reset_before_the_status_line_is_retried_once_on_a_new_connection() {
        try (var hello = new RawUpstream((c, in, out) -> {
                 if (c == 1) throw new Reset(); else out.write(ok("Hello"));
             });
             var world = new Upstream("World"); var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            assertEquals("Hello World", Support.get(joiner.url).body(), "a new connection, first call");
            assertEquals(2, hello.connections.get());
        }
        try (var hello = new RawUpstream((c, in, out) -> { throw new Reset(); });
             var world = new Upstream("World"); var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            var r = Support.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): connection reset", r.body());
            assertEquals(2, hello.connections.get(), "retried once, not more");
        }
    }

    @Test
    void a_retry_has_only_what_is_left_of_the_same_deadline() {
        // First connection: reset after 3 s; the second: silence. With its own 4 s the retry would end after 7 s.
        try (var hello = new RawUpstream((c, in, out) -> {
                 Thread.sleep(c == 1 ? 3000 : 60_000);
                 throw new Reset();
             });
             var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "4000"))) {
            long start = System.nanoTime();
            var r = Support.get(joiner.url);
            long took = millisSince(start);
            assertEquals(504, r.statusCode(), r.body());
            assertEquals("hello (" + hello.hostPort() + "): timed out after 4000 ms", r.body());
            assertEquals(2, hello.connections.get(), "retried after the reset");
            assertTrue(took < 6000, "one deadline for both tries, yet took " + took + " ms");
        }
    }

    @ParameterizedTest(name = "{0} upstream: 504 within UPSTREAM_TIMEOUT_MS, not retried, connection closed", quoteTextArguments = false)
    @ValueSource(strings = {"a silent", "a byte-a-second", "an unaccepting"})
    void a_slow_upstream_is_cut_off_at_the_timeout_and_not_retried(String kind) throws Exception {
        byte[] answer = ok("Hello");
        RawUpstream.Script script = switch (kind) {
            case "a silent" -> (c, in, out) -> in.read(); // until joiner hangs up
            case "a byte-a-second" -> (c, in, out) -> {
                for (byte b : answer) {
                    out.write(b);
                    Thread.sleep(200); // 5 bytes a second: the whole answer would take 8 s
                }
            };
            default -> null;
        };
        // An unaccepting one: a listener whose backlog is full, so that connecting hangs.
        try (var hello = script == null ? null : new RawUpstream(script);
             var full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var queued1 = new Socket(); var queued2 = new Socket();
             var world = new Upstream("World")) {
            String address = hello != null ? hello.hostPort() : "127.0.0.1:" + full.getLocalPort();
            if (hello == null) {
                queued1.connect(full.getLocalSocketAddress(), 5000);
                queued2.connect(full.getLocalSocketAddress(), 5000);
            }
            try (var joiner = joiner(address, world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "1000"))) {
                long start = System.nanoTime();
                var r = Support.get(joiner.url);
                long took = millisSince(start);
                assertEquals(504, r.statusCode(), r.body());
                assertEquals("hello (" + address + "): timed out after 1000 ms", r.body());
                assertTrue(took >= 1000 && took < 1000 + 5000, "took " + took + " ms"); // a margin for a busy machine
                if (hello != null) {
                    assertEquals(1, hello.connections.get(), "a timeout is not retried");
                    assertTrue(eventually(() -> hello.open.get() == 0), "joiner closed the timed-out connection");
                }
            }
        }
    }

    @ParameterizedTest(name = "after {0}, the next call takes a new connection", quoteTextArguments = false)
    @ValueSource(strings = {"a timeout", "a malformed answer", "a 503 with a body"})
    void a_timed_out_or_broken_connection_never_returns_to_the_pool(String failure) throws InterruptedException {
        // Each first connection leaves something behind on it that a reuse would read as its answer.
        try (var hello = new RawUpstream((c, in, out) -> {
                 if (c > 1) out.write(ok("Fresh"));
                 else if (failure.equals("a timeout")) {
                     Thread.sleep(4000);
                     out.write(ok("Stale"));
                 } else if (failure.equals("a malformed answer")) out.write("HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\nStale".getBytes(ISO_8859_1));
                 else out.write("HTTP/1.1 503 Busy\r\nContent-Length: 5\r\n\r\nStale".getBytes(ISO_8859_1));
             });
             var world = new Upstream("World");
             var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "3000"))) {
            var failed = Support.get(joiner.url);
            assertEquals(failure.equals("a timeout") ? 504 : 502, failed.statusCode(), failed.body());
            Thread.sleep(1500); // the late answer has arrived on the first connection by now
            assertEquals("Fresh World", Support.get(joiner.url).body());
            assertEquals(2, hello.connections.get());
        }
    }

    @ParameterizedTest(name = "an answer over 1 MiB by {0} is a 502", quoteTextArguments = false)
    @ValueSource(strings = {"Content-Length", "chunks", "the end of the connection"})
    void an_answer_larger_than_1_MiB_is_a_502_not_memory(String framing) {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        try (var hello = new RawUpstream((c, in, out) -> {
                 out.write((switch (framing) {
                     case "Content-Length" -> "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n";
                     case "chunks" -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                     default -> "HTTP/1.1 200 OK\r\n\r\n";
                 }).getBytes(ISO_8859_1));
                 for (int i = 0; i < 32; i++) {
                     if (framing.equals("chunks")) out.write("10000\r\n".getBytes(ISO_8859_1));
                     out.write(chunk);
                     if (framing.equals("chunks")) out.write("\r\n".getBytes(ISO_8859_1));
                 }
             });
             var world = new Upstream("World"); var joiner = joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            var r = Support.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): answered more than 1 MiB", r.body());
        }
    }

    @Test
    void the_pool_keeps_at_most_256_idle_connections_per_upstream_and_closes_them_after_4_s_unused() throws Exception {
        int requests = 264; // at once; joiner's MAX_IDLE is 256
        var all = new CountDownLatch(2 * requests);
        try (var both = new RawUpstream((c, in, out) -> {
                 all.countDown();
                 all.await(20, TimeUnit.SECONDS); // held until every call has its own connection
                 out.write(ok("Hi"));
             });
             var joiner = joiner(both.hostPort(), both.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", "30000"))) {
            var answers = new ArrayList<java.util.concurrent.CompletableFuture<HttpResponse<String>>>();
            for (int i = 0; i < requests; i++) {
                answers.add(Support.HTTP.sendAsync(request(joiner.url).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (var a : answers) assertEquals("Hi Hi", a.get(40, TimeUnit.SECONDS).body());
            assertEquals(2 * requests, both.connections.get());
            // Released at once beyond 256 per upstream: closed right away; the 2 x 256 kept: closed after 4 s unused.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (both.open.get() > 0 && System.nanoTime() < deadline) Thread.sleep(50);
            var idle = both.idleWhenClosed;
            assertEquals(2 * requests, idle.size(), "every connection closed by joiner within 30 s");
            assertEquals(2 * (requests - 256), idle.stream().filter(ms -> ms < 4000).count(), "closed on release: " + idle);
            assertEquals(2 * 256, idle.stream().filter(ms -> ms >= 4000).count(), "closed once unused for 4 s: " + idle);
        }
    }

    // ---- versions (issue 11)

    @Test
    void every_answer_names_the_versions_that_made_it() {
        try (var hello = Support.Service.start("hello", Map.of("PORT", "0", "VERSION", "4771a94d75f7f068"));
             var world = Support.Service.start("world", Map.of("PORT", "0", "VERSION", "w.2_b-3"));
             var joiner = Support.Service.start("joiner", Map.of("PORT", "0", "VERSION", "j1", "UPSTREAM_TIMEOUT_MS", "20000",
                     "HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", world.hostPort()))) {
            assertTrue(hello.lines.getFirst().endsWith("/ (version 4771a94d75f7f068)"), hello.lines.toString());
            assertTrue(joiner.lines.getFirst().endsWith("/ (version j1)"), joiner.lines.toString());
            assertEquals("hello=4771a94d75f7f068", version(Support.get(hello.url)));
            assertEquals("hello=4771a94d75f7f068", version(Support.get(hello.url.resolve("/nope"))));
            assertEquals("world=w.2_b-3", version(Support.get(world.url.resolve("/readyz"))));
            assertEquals("joiner=j1, hello=4771a94d75f7f068, world=w.2_b-3", version(Support.get(joiner.url)));
            var head = Support.send(request(joiner.url).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertEquals("joiner=j1, hello=4771a94d75f7f068, world=w.2_b-3", version(head));
            for (String path : List.of("/healthz", "/readyz", "/nope")) assertEquals("joiner=j1", version(Support.get(joiner.url.resolve(path))));
            var put = Support.send(request(joiner.url).PUT(HttpRequest.BodyPublishers.noBody()).build());
            assertEquals("joiner=j1", version(put), "405: no upstream was asked");
        }
    }

    @Test
    void joiner_copies_an_upstreams_version_as_is_and_says_unknown_when_there_is_none() throws IOException {
        int closedPort;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (var chain = new Upstream("Hello"); var plain = new Upstream("World");
             var joiner = joiner(chain.hostPort(), plain.hostPort(), Map.of());
             var failing = joiner(chain.hostPort(), "127.0.0.1:" + closedPort, Map.of("VERSION", "v2"))) {
            chain.version = "joiner=a, hello=b, world=c";
            assertEquals("joiner=unversioned, joiner=a, hello=b, world=c, world=unknown", version(Support.get(joiner.url)));
            var down = Support.get(failing.url);
            assertEquals(502, down.statusCode());
            assertEquals("joiner=v2, joiner=a, hello=b, world=c, world=unknown", version(down));
            chain.status = 503;
            var error = Support.get(joiner.url);
            assertEquals(502, error.statusCode());
            assertEquals("joiner=unversioned, joiner=a, hello=b, world=c, world=unknown", version(error),
                    "an upstream that answered an error still says which code it is");
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
        volatile String version;

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
     * A stand-in upstream on a bare socket, for what the JDK server never does: odd framing, closing or resetting
     * connections, dripping bytes. For each request on each connection, the script writes whatever answer it likes.
     */
    static final class RawUpstream implements AutoCloseable {
        interface Script {
            /** {@code connection} counts from 1; {@code in} is past the request; closing {@code out} ends the connection. */
            void answer(int connection, InputStream in, OutputStream out) throws Exception;
        }

        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger(), open = new AtomicInteger();
        final List<String> requests = new CopyOnWriteArrayList<>(); // each request's head
        final List<Long> idleWhenClosed = new CopyOnWriteArrayList<>(); // ms from the last answer to the client's hang-up

        RawUpstream(Script script) {
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
            try (socket) {
                var in = socket.getInputStream();
                for (long answered = 0; !socket.isClosed(); answered = System.nanoTime()) {
                    var head = new StringBuilder();
                    for (int c; !head.toString().endsWith("\r\n\r\n"); head.append((char) c)) {
                        if ((c = in.read()) >= 0) continue;
                        if (answered > 0) idleWhenClosed.add(millisSince(answered)); // the client closed the connection
                        return;
                    }
                    requests.add(head.toString().strip());
                    try {
                        script.answer(connection, in, socket.getOutputStream());
                    } catch (Reset e) {
                        socket.setSoLinger(true, 0); // close() now sends RST
                        return;
                    }
                }
            } catch (Exception e) {
                // the client went away, or the test ended
            } finally {
                open.decrementAndGet();
            }
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

    static byte[] ok(String body) {
        return ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(ISO_8859_1);
    }

    static String version(HttpResponse<String> r) {
        return r.headers().firstValue("X-Version").orElse("(none)");
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
