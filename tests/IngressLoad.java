import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A bounded load on the lab's ingress for the e2e tests: a few clients on loopback, each sending at most one request
 * per pause, counting the answers that pass and keeping every failure (a status and body, or an exception).
 *
 * <pre>
 * var load = IngressLoad.start(URL, 4, Duration.ofMillis(20), "Hello World"::equals);
 * ... disrupt ...
 * load.stop();
 * load.assertFailedAtMost("e2e: rolling restart", 0);
 * </pre>
 */
final class IngressLoad {
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger ok = new AtomicInteger();
    final List<String> failures = new CopyOnWriteArrayList<>();
    final CountDownLatch finished;

    private IngressLoad(int clients) {
        finished = new CountDownLatch(clients);
    }

    /** Clients that each ask url, pause, and ask again until stop(); a 200 whose body (stripped) passes counts as answered. */
    static IngressLoad start(URI url, int clients, Duration pause, Predicate<String> body) {
        var load = new IngressLoad(clients);
        for (int i = 0; i < clients; i++) Thread.ofVirtual().start(() -> load.client(url, pause, body));
        return load;
    }

    private void client(URI url, Duration pause, Predicate<String> body) {
        try {
            while (!stop.get()) {
                try {
                    var res = Support.HTTP.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                    if (res.statusCode() == 200 && body.test(res.body().strip())) ok.incrementAndGet();
                    else failures.add(res.statusCode() + " " + res.body().strip());
                } catch (IOException e) {
                    failures.add(e.toString());
                }
                Thread.sleep(pause);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            finished.countDown();
        }
    }

    void stop() throws InterruptedException {
        stop.set(true);
        assertTrue(finished.await(30, TimeUnit.SECONDS), "the load clients did not stop");
    }

    /** Prints "WHAT under load: N requests answered, M failed"; something got through, and at most mayFail failed. */
    void assertFailedAtMost(String what, int mayFail) {
        System.out.printf("    %s under load: %d requests answered, %d failed%n", what, ok.get(), failures.size());
        assertTrue(ok.get() > 0, "no request got through");
        if (failures.size() > mayFail) {
            assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                    failures.size() + " requests failed" + (mayFail > 0 ? " (at most " + mayFail + " may)" : ""));
        }
    }
}
