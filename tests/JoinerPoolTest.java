import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * joiner's pool of idle connections per upstream: at most MAX_IDLE kept, each closed once unused for IDLE_MILLIS,
 * none closed while in use. Proved by what the upstreams see, connection by connection, never by how fast joiner is.
 */
class JoinerPoolTest {

    /**
     * More calls at once than MAX_IDLE, in two bursts. In each, every call holds its own connection until all have come.
     * The second burst takes every connection joiner kept before it opens one, so its reused connections count what
     * the pool kept; its calls also hold their connections longer than IDLE_MILLIS. Then joiner is left alone.
     */
    @Test
    void the_pool_keeps_at_most_its_bound_of_idle_connections_per_upstream_and_closes_each_once_unused() throws Exception {
        int calls = Upstreams.MAX_IDLE + 8, surplus = calls - Upstreams.MAX_IDLE;
        var burst = new AtomicReference<CountDownLatch>();
        var inUse = new AtomicLong(); // ms each call holds its connection once all calls of its burst have come
        Upstreams.Raw.Script held = ex -> {
            var all = burst.get();
            all.countDown();
            if (!all.await(Upstreams.PATIENCE.toMillis(), TimeUnit.MILLISECONDS)) throw new IllegalStateException("not all calls came");
            Thread.sleep(inUse.get());
            ex.out().write(Upstreams.ok("Hi"));
        };
        try (var hello = new Upstreams.Raw(held); var world = new Upstreams.Raw(held);
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of())) {
            burst(joiner, "first", calls, burst);
            assertEquals(calls, hello.connections.get(), "a connection per call");
            assertEquals(calls, world.connections.get(), "a connection per call");

            inUse.set(Upstreams.IDLE_MILLIS + 1000);
            burst(joiner, "second", calls, burst);

            for (var upstream : List.of(hello, world)) {
                var requests = upstream.requests;
                long kept = requests.stream().filter(r -> r.id().startsWith("second-") && r.nth() > 1).count();
                assertTrue(kept <= Upstreams.MAX_IDLE, kept + " connections kept from the first burst, more than " + Upstreams.MAX_IDLE);
                assertEquals(2 * calls, requests.stream().map(Upstreams.Raw.Request::id).distinct().count(), "every call came once");
                assertEquals(2 * calls, requests.size(), "none again: no connection was closed while in use");

                assertTrue(Upstreams.eventually(() -> upstream.open.get() == 0), upstream.open.get() + " connections still open");
                var idle = upstream.idleWhenClosed;
                assertEquals(upstream.connections.get(), idle.size(), "each closed by joiner after its answer");
                // Closed on release, when MAX_IDLE are kept already: up to the surplus of each burst. Every other one was
                // kept, and closed only once unused for IDLE_MILLIS (or later, on a loaded machine).
                long early = idle.stream().filter(ms -> ms < Upstreams.IDLE_MILLIS).count();
                assertTrue(early <= 2 * surplus, early + " closed sooner than " + Upstreams.IDLE_MILLIS + " ms after their answer: " + idle);
            }
        }
    }

    /** {@code calls} requests at once, each with its own id; returns once all are answered, each having met all the others upstream. */
    static void burst(Support.Service joiner, String name, int calls, AtomicReference<CountDownLatch> burst) throws Exception {
        burst.set(new CountDownLatch(2 * calls)); // each call asks hello and world
        var answers = new ArrayList<CompletableFuture<HttpResponse<String>>>();
        for (int i = 0; i < calls; i++) {
            answers.add(Support.HTTP.sendAsync(Upstreams.request(joiner.url).header("X-Request-Id", name + "-" + i).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (var a : answers) assertEquals("Hi Hi", a.get(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS).body(), name + " burst");
        assertEquals(0, burst.get().getCount(), "every call of the " + name + " burst was in flight at once");
    }
}
