import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * joiner's joining, as a real process against real hello and world or stand-ins in this JVM: both asked at once, the
 * request id passed along, what a failed upstream makes of the answer (502 or 504, naming it), and X-Version.
 * Its upstream client (framing, retries, deadlines, the pool): JoinerClientTest.
 */
class JoinerTest {

    @Test
    void joiner_joins_real_hello_and_world_and_every_answer_names_the_versions_that_made_it() {
        try (var hello = Support.Service.start("hello", Map.of("PORT", "0", "VERSION", "4771a94d75f7f068"));
             var world = Support.Service.start("world", Map.of("PORT", "0", "VERSION", "w.2_b-3"));
             var joiner = Support.Service.start("joiner", Map.of("PORT", "0", "VERSION", "j1", "UPSTREAM_TIMEOUT_MS", "60000",
                     "HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", "http://" + world.hostPort()))) {
            var r = Upstreams.get(joiner.url);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("Hello World", r.body());
            assertEquals("text/plain; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
            assertTrue(r.headers().firstValue("X-Request-Id").orElse("").matches("[0-9a-f]{16}"), "an id is made");
            assertEquals("joiner=j1, hello=4771a94d75f7f068, world=w.2_b-3", version(r));

            var head = Support.send(Upstreams.request(joiner.url).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertEquals(200, head.statusCode());
            assertEquals("11", head.headers().firstValue("Content-Length").orElse(""));
            assertEquals("joiner=j1, hello=4771a94d75f7f068, world=w.2_b-3", version(head));

            assertTrue(hello.lines.getFirst().endsWith("/ (version 4771a94d75f7f068)"), hello.lines.toString());
            assertTrue(joiner.lines.getFirst().endsWith("/ (version j1)"), joiner.lines.toString());
            assertEquals("hello=4771a94d75f7f068", version(Upstreams.get(hello.url)));
            assertEquals("hello=4771a94d75f7f068", version(Upstreams.get(hello.url.resolve("/nope"))));
            assertEquals("world=w.2_b-3", version(Upstreams.get(world.url.resolve("/readyz"))));
            for (String path : List.of("/healthz", "/readyz", "/nope")) assertEquals("joiner=j1", version(Upstreams.get(joiner.url.resolve(path))));
            var put = Support.send(Upstreams.request(joiner.url).PUT(HttpRequest.BodyPublishers.noBody()).build());
            assertEquals("joiner=j1", version(put), "405: no upstream was asked");
        }
    }

    @Test
    void joiner_passes_the_request_id_to_both_upstreams_and_back() {
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of("ACCESS_LOG", "true"))) {
            var given = Support.send(Upstreams.request(joiner.url).header("X-Request-Id", "test-42").build());
            assertEquals("Hello World", given.body());
            assertEquals("test-42", given.headers().firstValue("X-Request-Id").orElse(""));
            assertEquals(List.of("test-42"), hello.requestIds);
            assertEquals(List.of("test-42"), world.requestIds);
            joiner.awaitLine("\"GET /\" 200 id=test-42", Upstreams.PATIENCE);

            // No id, or one not fit for a header: joiner makes one and both upstreams get that.
            for (String unfit : new String[] {null, "has spaces", "x".repeat(200)}) {
                var b = Upstreams.request(joiner.url);
                if (unfit != null) b.header("X-Request-Id", unfit);
                String made = Support.send(b.build()).headers().firstValue("X-Request-Id").orElse("");
                assertTrue(made.matches("[0-9a-f]{16}"), made);
                assertEquals(made, hello.requestIds.getLast());
                assertEquals(made, world.requestIds.getLast());
            }
        }
    }

    @Test
    void joiner_asks_both_upstreams_at_once() {
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            // Each upstream answers only once it has met the other (else 500 after 30 s): asked one after
            // the other, joiner gets a 500 and answers 502; asked at once, both answer 200.
            var meeting = new CountDownLatch(2);
            hello.meeting = meeting;
            world.meeting = meeting;
            var r = Upstreams.get(joiner.url);
            assertEquals("Hello World", r.body(), "both upstreams were asked at once");
        }
    }

    // ---- a failed upstream

    @Test
    void joiner_answers_502_naming_the_upstream_that_is_down() throws IOException {
        // A 502 at all says joiner gave up on the refusal: had it kept trying until its deadline, it would be a 504.
        String down = "127.0.0.1:" + closedPort();
        try (var hello = new Upstreams.Fake("Hello"); var joiner = Upstreams.joiner(hello.hostPort(), down, Map.of())) {
            var r = Upstreams.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("world (" + down + "): connection refused", r.body());
            String id = r.headers().firstValue("X-Request-Id").orElseThrow();
            joiner.awaitLine("id=" + id + ": world (" + down + "): connection refused", Upstreams.PATIENCE);
        }
    }

    @Test
    void joiner_answers_502_when_an_upstream_answers_an_error() {
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            hello.status = 503;
            var r = Upstreams.get(joiner.url);
            assertEquals(502, r.statusCode());
            assertEquals("hello (" + hello.hostPort() + "): answered 503", r.body());
        }
    }

    /**
     * Only the upstream that held the request is named: the other one's answer came in time, although joiner reads it
     * after the deadline when it waited for the slow one first (hello is waited for first).
     */
    @ParameterizedTest(name = "joiner answers 504 at its deadline while {0} still holds the request, and names {0} alone", quoteTextArguments = false)
    @ValueSource(strings = {"hello", "world"})
    void joiner_answers_504_at_its_deadline_while_an_upstream_still_holds_the_request(String holding) {
        int timeout = 5000;
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of("UPSTREAM_TIMEOUT_MS", String.valueOf(timeout)))) {
            assertEquals("Hello World", Upstreams.get(joiner.url).body(), "a first call, so that only " + holding + " is slow below");
            var slow = holding.equals("hello") ? hello : world;
            slow.hold = new CountDownLatch(1); // released when the test ends
            long start = System.nanoTime();
            var r = Upstreams.get(joiner.url);
            long took = Upstreams.millisSince(start);
            assertEquals(504, r.statusCode(), r.body());
            assertEquals(holding + " (" + slow.hostPort() + "): timed out after " + timeout + " ms waiting for the answer", r.body());
            assertEquals(2, slow.requestIds.size(), holding + " got the request, and holds it still");
            // Never before the deadline; after it, within a margin wide enough for a loaded machine (world holds for minutes).
            assertTrue(took >= timeout && took < timeout + 30_000, "took " + took + " ms");
        }
    }

    // ---- which code answered (issue 11)

    @Test
    void joiner_copies_an_upstreams_version_as_is_and_says_unknown_when_there_is_none() throws IOException {
        try (var chain = new Upstreams.Fake("Hello"); var plain = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(chain.hostPort(), plain.hostPort(), Map.of());
             var failing = Upstreams.joiner(chain.hostPort(), "127.0.0.1:" + closedPort(), Map.of("VERSION", "v2"))) {
            chain.version = "joiner=a, hello=b, world=c";
            assertEquals("joiner=unversioned, joiner=a, hello=b, world=c, world=unknown", version(Upstreams.get(joiner.url)));
            var down = Upstreams.get(failing.url);
            assertEquals(502, down.statusCode());
            assertEquals("joiner=v2, joiner=a, hello=b, world=c, world=unknown", version(down));
            chain.status = 503;
            var error = Upstreams.get(joiner.url);
            assertEquals(502, error.statusCode());
            assertEquals("joiner=unversioned, joiner=a, hello=b, world=c, world=unknown", version(error),
                    "an upstream that answered an error still says which code it is");
        }
    }

    static String version(HttpResponse<String> r) {
        return r.headers().firstValue("X-Version").orElse("(none)");
    }

    /** A port nothing listens on: one just freed. */
    static int closedPort() throws IOException {
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
