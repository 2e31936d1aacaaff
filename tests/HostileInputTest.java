import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The services' JDK server under hostile input (the limits all three set in SERVER_LIMITS, checked in ServicesTest):
 * garbage, huge headers and slow clients cost a connection, never the server.
 */
class HostileInputTest {

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
                assertEquals("Hello", Upstreams.get(s.url).body(), "still serving after " + answer.lines().findFirst().orElse("a closed connection"));
            }

            // Twenty clients each sending a request one byte every 300 ms, for ever unless the server hangs up: others
            // are served meanwhile, and the server hangs up on each once maxReqTime has passed (checked every second).
            var slow = new ArrayList<Thread>();
            var hungUpAfter = new CopyOnWriteArrayList<Long>();
            for (int i = 0; i < 20; i++) {
                slow.add(Thread.ofVirtual().start(() -> hungUpAfter.add(dripFeed(s.url))));
            }
            for (int i = 0; i < 5; i++) assertEquals("Hello", Upstreams.get(s.url).body());
            long deadline = System.nanoTime() + Upstreams.PATIENCE.toNanos();
            for (var t : slow) t.join(java.time.Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            assertEquals(20, hungUpAfter.size(), "the server hung up on every slow client");
            // 2 s, then up to 1 s until the server's next check; a wide margin beyond for a loaded machine.
            hungUpAfter.forEach(ms -> assertTrue(ms < 2000 + 1000 + 30_000, "cut off only after " + ms + " ms"));
            assertEquals("Hello", Upstreams.get(s.url).body());
            assertTrue(s.process.isAlive());
        }
    }

    /** Sends bytes on a new connection; returns what came back before the server hung up ("" if it reset). */
    static String sendRaw(URI url, byte[] bytes) throws IOException {
        try (var socket = new Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout((int) Upstreams.PATIENCE.toMillis());
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

    /** A client sending a request one byte every 300 ms until the server hangs up; returns the ms until it did. */
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
            return Upstreams.millisSince(start); // the server closed the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Long.MAX_VALUE;
        }
    }
}
