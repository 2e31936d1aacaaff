import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * joiner's own HTTP/1.1 client against stand-in upstreams that record what it did on each connection: every framing,
 * when a connection may be kept, retries, one deadline per request (issues 12 and 13). The pool's bounds: JoinerPoolTest.
 * A time is asserted only where it is the behaviour (a deadline), never below it and with a wide margin above.
 */
class JoinerClientTest {

    @ParameterizedTest(name = "an answer framed by {0} is read whole; the connection is kept: {2}", quoteTextArguments = false)
    @CsvSource(delimiter = '|', value = {
        "Content-Length             | HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nHello                                           | true",
        "chunked, with a trailer    | HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nHe\\r\\n3;x=y\\r\\nllo\\r\\n0\\r\\nT: 1\\r\\n\\r\\n | true",
        "an interim 103 first       | HTTP/1.1 103 Early Hints\\r\\nLink: </x>\\r\\n\\r\\nHTTP/1.1 200 OK\\r\\ncontent-length: 5\\r\\n\\r\\nHello | true",
        "Connection: close          | HTTP/1.1 200 OK\\r\\nConnection: close\\r\\nContent-Length: 5\\r\\n\\r\\nHello                        | false",
        "the end of the connection  | HTTP/1.1 200 OK\\r\\n\\r\\nHello                                                              | false",
        "HTTP/1.0                   | HTTP/1.0 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nHello                                           | false",
    })
    void joiner_reads_every_framing_of_an_answer_and_keeps_the_connection_only_when_it_may(String framing, String answer, boolean kept)
            throws InterruptedException {
        byte[] bytes = answer.replace("\\r\\n", "\r\n").getBytes(ISO_8859_1);
        boolean endsByClosing = framing.equals("the end of the connection"); // else joiner must be the one to close it
        try (var hello = new Upstreams.Raw(ex -> {
                 ex.out().write(bytes);
                 if (endsByClosing) ex.out().close();
             });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            for (int i = 0; i < 3; i++) assertEquals("Hello World", Upstreams.get(joiner.url).body(), framing);
            var requests = hello.requests;
            assertEquals(3, requests.size(), framing);
            if (kept) {
                // On the connection of the answer before, unless joiner had already closed it as unused for IDLE_MILLIS
                // (a machine so loaded that seconds passed between two requests).
                for (var r : requests.subList(1, 3)) {
                    assertTrue(r.nth() > 1 || r.afterLastAnswer() >= Upstreams.IDLE_MILLIS,
                            framing + ": a new connection, although the last one was idle for only " + r.afterLastAnswer() + " ms: " + requests);
                }
            } else {
                assertTrue(requests.stream().allMatch(r -> r.nth() == 1), framing + ": each request on a new connection: " + requests);
                assertTrue(Upstreams.eventually(() -> hello.open.get() == 0), framing + ": joiner closed each one");
            }
        }
    }

    @Test
    void joiner_asks_an_upstream_url_for_its_path_and_query_with_its_host() {
        try (var world = new Upstreams.Raw(ex -> ex.out().write(Upstreams.ok("World")));
             var hello = new Upstreams.Fake("Hello");
             var joiner = Upstreams.joiner(hello.hostPort(), "http://" + world.hostPort() + "/api/word?lang=en", Map.of())) {
            var r = Support.send(Upstreams.request(joiner.url).header("X-Request-Id", "path-1").build());
            assertEquals("Hello World", r.body());
            assertEquals(List.of("GET /api/word?lang=en HTTP/1.1", "Host: " + world.hostPort(), "X-Request-Id: path-1"),
                    world.requests.getFirst().head().lines().toList());
        }
    }

    // ---- retries

    @Test
    void a_kept_connection_the_upstream_closed_is_retried_on_a_new_one_never_a_502() {
        // hello ends each connection after one answer without saying so, as a server does at its idle timeout or on a
        // restart. It only shuts its side, and reads on: what joiner sends on the closed connection is seen here.
        try (var hello = new Upstreams.Raw(ex -> {
                 if (ex.nth() > 1) return; // on a connection already ended: no answer
                 ex.out().write(Upstreams.ok("Hello"));
                 ex.socket().shutdownOutput();
             });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            for (int i = 1; i <= 3; i++) {
                var r = Support.send(Upstreams.request(joiner.url).header("X-Request-Id", "kept-" + i).build());
                assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
                var tries = hello.tries("kept-" + i);
                assertEquals(1, tries.stream().filter(t -> t.nth() == 1).count(), "answered once, on a new connection: " + tries);
                if (i > 1 && tries.getFirst().afterLastAnswer() < Upstreams.IDLE_MILLIS) { // joiner still kept the connection
                    assertEquals(List.of(2, 1), tries.stream().map(Upstreams.Raw.Request::nth).toList(),
                            "request " + i + ": first on the kept connection, then once more on a new one: " + tries);
                }
            }
            assertEquals(3, hello.connections.get());
        }
    }

    /** As when a pod is killed: its kept connection fails, and the first new one may still race its death. */
    @Test
    void a_kept_connection_that_fails_is_followed_by_a_first_call_on_new_connections_with_its_own_retry() {
        try (var hello = new Upstreams.Raw(ex -> {
                 if (ex.connection() == 1 && ex.nth() == 1 || ex.connection() == 3) ex.out().write(Upstreams.ok("Hello"));
                 else throw new Upstreams.Reset();
             });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            assertEquals("Hello World", Upstreams.get(joiner.url).body(), "on a new connection, kept after");
            var r = Upstreams.get(joiner.url);
            assertEquals(200, r.statusCode(), "the kept connection reset, then the first new one: " + r.body());
            assertEquals(3, hello.connections.get(), "the kept one, a new one, and its one retry");
        }
    }

    @Test
    void an_upstream_restart_costs_no_failed_request() {
        try (var world = new Upstreams.Fake("World")) {
            var first = Support.Service.start("hello", Map.of("PORT", "0"));
            String port = String.valueOf(first.url.getPort());
            try (var joiner = Upstreams.joiner(first.hostPort(), world.hostPort(), Map.of())) {
                assertEquals("Hello World", Upstreams.get(joiner.url).body());
                first.close(); // SIGKILL: the kept connection ends
                try (var second = Support.Service.start("hello", Map.of("PORT", port))) {
                    assertEquals("Hello World", Upstreams.get(joiner.url).body());
                }
            }
        }
    }

    @Test
    void a_refused_connection_is_tried_again_until_the_upstream_listens() throws Exception {
        // As while a network policy is reprogrammed: the address refuses for a moment, then answers.
        int port = JoinerTest.closedPort();
        try (var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner("127.0.0.1:" + port, world.hostPort(), Map.of())) {
            var later = Executors.newSingleThreadScheduledExecutor();
            var hello = later.schedule(() -> new Upstreams.Fake("Hello", port), 300, TimeUnit.MILLISECONDS);
            try {
                var r = Upstreams.get(joiner.url);
                assertEquals(200, r.statusCode(), r.body());
                assertEquals("Hello World", r.body());
            } finally {
                hello.get().close();
                later.shutdown();
            }
        }
    }

    @Test
    void a_connection_reset_before_the_status_line_is_retried_once_on_a_new_connection() {
        try (var hello = new Upstreams.Raw(ex -> {
                 if (ex.connection() == 1) throw new Upstreams.Reset();
                 ex.out().write(Upstreams.ok("Hello"));
             });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            assertEquals("Hello World", Upstreams.get(joiner.url).body(), "a new connection, first call");
            assertEquals(2, hello.connections.get());
        }
        try (var hello = new Upstreams.Raw(ex -> { throw new Upstreams.Reset(); });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            var r = Upstreams.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): connection reset", r.body());
            assertEquals(2, hello.connections.get(), "retried once, not more");
        }
    }

    @Test
    void a_retry_has_only_what_is_left_of_the_same_deadline() {
        // The first connection is reset 5 s after the request came, the second stays silent. One 10 s deadline for both
        // tries ends at 10 s; a retry with 10 s of its own could end no sooner than 15 s after the request.
        int timeout = 10_000, reset = 5000;
        try (var hello = new Upstreams.Raw(ex -> {
                 if (ex.connection() > 1) ex.in().read(); // silent until joiner hangs up
                 Thread.sleep(reset);
                 throw new Upstreams.Reset();
             });
             var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", String.valueOf(timeout)))) {
            long start = System.nanoTime();
            var r = Upstreams.get(joiner.url);
            long took = Upstreams.millisSince(start);
            assertEquals(504, r.statusCode(), r.body());
            assertEquals("hello (" + hello.hostPort() + "): timed out after " + timeout + " ms waiting for the answer", r.body());
            assertEquals(2, hello.connections.get(), "retried after the reset");
            assertTrue(took >= timeout && took < reset + timeout, "one deadline for both tries, yet took " + took + " ms");
        }
    }

    // ---- deadlines, and what is never kept

    @ParameterizedTest(name = "{0} upstream: 504 at UPSTREAM_TIMEOUT_MS, not retried, connection closed", quoteTextArguments = false)
    @ValueSource(strings = {"a silent", "a byte-a-second", "an unaccepting"})
    void a_slow_upstream_is_cut_off_at_the_deadline_and_not_retried(String kind) throws Exception {
        // The same upstream for hello and world, so that no upstream has to be quick for this test to hold.
        int timeout = 3000;
        byte[] answer = Upstreams.ok("Hello");
        Upstreams.Raw.Script script = switch (kind) {
            case "a silent" -> ex -> ex.in().read(); // until joiner hangs up
            case "a byte-a-second" -> ex -> {
                for (byte b : answer) { // each byte well within the deadline, the whole answer far beyond it
                    ex.out().write(b);
                    Thread.sleep(250);
                }
            };
            default -> null;
        };
        // An unaccepting one: a listener whose backlog is full, so that connecting hangs.
        try (var slow = script == null ? null : new Upstreams.Raw(script);
             var full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var queued1 = new Socket(); var queued2 = new Socket()) {
            String address = slow != null ? slow.hostPort() : "127.0.0.1:" + full.getLocalPort();
            if (slow == null) {
                queued1.connect(full.getLocalSocketAddress(), (int) Upstreams.PATIENCE.toMillis());
                queued2.connect(full.getLocalSocketAddress(), (int) Upstreams.PATIENCE.toMillis());
            }
            try (var joiner = Upstreams.joiner(address, address, Map.of("UPSTREAM_TIMEOUT_MS", String.valueOf(timeout)))) {
                long start = System.nanoTime();
                var r = Upstreams.get(joiner.url);
                long took = Upstreams.millisSince(start);
                assertEquals(504, r.statusCode(), r.body());
                // The 504 says where the deadline came: an unaccepting upstream never completed the connection.
                String where = slow == null ? "connecting" : "waiting for the answer";
                assertEquals("hello (" + address + "): timed out after " + timeout + " ms " + where + "; world (" + address + "): timed out after "
                        + timeout + " ms " + where, r.body());
                assertTrue(took >= timeout && took < timeout + 30_000, "took " + took + " ms"); // a wide margin for a loaded machine
                if (slow != null) {
                    assertEquals(2, slow.connections.get(), "one connection per call: a timeout is not retried");
                    assertTrue(Upstreams.eventually(() -> slow.open.get() == 0), "joiner closed the timed-out connections");
                }
            }
        }
    }

    @ParameterizedTest(name = "after {0}, the next call takes a new connection", quoteTextArguments = false)
    @ValueSource(strings = {"a timeout", "a malformed answer", "a 503 with a body"})
    void a_timed_out_or_broken_connection_never_returns_to_the_pool(String failure) throws InterruptedException {
        // The second call fails and leaves on its connection what a reuse would read as its answer.
        var calls = new AtomicInteger();
        var gaveUp = new CountDownLatch(1);
        var staleSent = new CountDownLatch(1);
        try (var hello = new Upstreams.Raw(ex -> {
                 switch (calls.incrementAndGet()) {
                     case 1 -> ex.out().write(Upstreams.ok("Hello"));
                     case 2 -> {
                         try {
                             if (failure.equals("a timeout")) {
                                 gaveUp.await(Upstreams.PATIENCE.toMillis(), TimeUnit.MILLISECONDS); // until joiner answered 504
                                 ex.out().write(Upstreams.ok("Stale"));
                             } else if (failure.equals("a malformed answer")) {
                                 ex.out().write("HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\nStale".getBytes(ISO_8859_1));
                             } else {
                                 ex.out().write("HTTP/1.1 503 Busy\r\nContent-Length: 5\r\n\r\nStale".getBytes(ISO_8859_1));
                             }
                         } finally {
                             staleSent.countDown();
                         }
                     }
                     default -> ex.out().write(Upstreams.ok("Fresh"));
                 }
             });
             var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(),
                     failure.equals("a timeout") ? Map.of("UPSTREAM_TIMEOUT_MS", "5000") : Map.of())) {
            assertEquals("Hello World", Upstreams.get(joiner.url).body(), "a first call, on a connection joiner keeps");
            var failed = Upstreams.get(joiner.url);
            assertEquals(failure.equals("a timeout") ? 504 : 502, failed.statusCode(), failed.body());
            assertTrue(failed.body().startsWith("hello (" + hello.hostPort() + "): "), failed.body());
            gaveUp.countDown();
            assertTrue(staleSent.await(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS));
            assertEquals("Fresh World", Upstreams.get(joiner.url).body());
            assertEquals(1, hello.requests.get(2).nth(), "the third call came on a new connection: " + hello.requests);
        }
    }

    @ParameterizedTest(name = "an answer over 1 MiB by {0} is a 502", quoteTextArguments = false)
    @ValueSource(strings = {"Content-Length", "chunks", "the end of the connection"})
    void an_answer_larger_than_1_MiB_is_a_502_not_memory(String framing) {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        try (var hello = new Upstreams.Raw(ex -> {
                 ex.out().write((switch (framing) {
                     case "Content-Length" -> "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n";
                     case "chunks" -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                     default -> "HTTP/1.1 200 OK\r\n\r\n";
                 }).getBytes(ISO_8859_1));
                 for (int i = 0; i < 32; i++) {
                     if (framing.equals("chunks")) ex.out().write("10000\r\n".getBytes(ISO_8859_1));
                     ex.out().write(chunk);
                     if (framing.equals("chunks")) ex.out().write("\r\n".getBytes(ISO_8859_1));
                 }
             });
             var world = new Upstreams.Fake("World"); var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            var r = Upstreams.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): answered more than 1 MiB", r.body());
        }
    }
}
