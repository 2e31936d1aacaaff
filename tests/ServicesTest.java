import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What hello, world and joiner share, each as a real process on an ephemeral port: endpoints, configuration errors,
 * SIGTERM, and the code they repeat from each other. Hostile input: HostileInputTest. joiner's own work: JoinerTest,
 * JoinerClientTest, JoinerPoolTest.
 */
class ServicesTest {

    @ParameterizedTest(name = "{0} answers every endpoint, logs on request and exits 0 on SIGTERM", quoteTextArguments = false)
    @ValueSource(strings = {"hello", "world", "joiner"})
    void answers_every_endpoint_logs_on_request_and_exits_0_on_sigterm(String name) throws Exception {
        String body = Map.of("hello", "Hello", "world", "World", "joiner", "Hello World").get(name);
        String version = name.equals("joiner") ? "joiner=unversioned, hello=unknown, world=unknown" : name + "=unversioned";
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var s = name.equals("joiner") ? Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of("ACCESS_LOG", "true"))
                     : Support.Service.start(name, Map.of("PORT", "0", "ACCESS_LOG", "true"))) {
            assertTrue(s.lines.getFirst().matches(name + " listening on http://127\\.0\\.0\\.1:\\d+/ \\(unversioned: VERSION is not set\\)"),
                    s.lines.toString());

            var root = Support.send(Upstreams.request(s.url).header("X-Request-Id", "trace-7").build());
            assertEquals(200, root.statusCode(), root.body());
            assertEquals(body, root.body());
            assertEquals("text/plain; charset=utf-8", root.headers().firstValue("Content-Type").orElse(""));
            assertEquals("trace-7", root.headers().firstValue("X-Request-Id").orElse(""), "the request id is echoed");
            assertEquals(version, root.headers().firstValue("X-Version").orElse(""));

            var head = Support.send(Upstreams.request(s.url).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());
            assertEquals(String.valueOf(body.length()), head.headers().firstValue("Content-Length").orElse(""));
            assertEquals("text/plain; charset=utf-8", head.headers().firstValue("Content-Type").orElse(""));

            assertEquals(200, Upstreams.get(s.url.resolve("/healthz")).statusCode());
            assertEquals(200, Upstreams.get(s.url.resolve("/readyz")).statusCode());
            assertNotAllowed(s.url, "POST", "/");
            assertNotAllowed(s.url, "DELETE", "/healthz");
            assertEquals(404, Upstreams.get(s.url.resolve("/nope")).statusCode());
            s.awaitLine("\"GET /\" 200 id=trace-7", Upstreams.PATIENCE);
            assertServerLimits(s);

            // A request answered just before SIGTERM: its access log line, written in a batch, is not lost.
            assertEquals(200, Support.send(Upstreams.request(s.url).header("X-Request-Id", "last-1").build()).statusCode());
            s.process.toHandle().destroy(); // SIGTERM (Process.destroy would close its output too, and its last line with it)
            assertTrue(s.process.waitFor(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS), name + " did not stop after SIGTERM");
            assertEquals(0, s.process.exitValue(), "SIGTERM is a clean stop");
            // Its last line says it stopped: deploy.java's up and dev wait for it, rather than for the kubelet to notice.
            s.awaitLine(name + " stopped", Upstreams.PATIENCE);
            assertEquals(name + " stopped", s.lines.getLast(), s.lines.toString());
            assertTrue(s.lines.stream().anyMatch(l -> l.contains("\"GET /\" 200 id=last-1")), s.lines.toString());
        }
    }

    @Test
    void host_empty_listens_on_every_interface() {
        try (var s = Support.Service.start("hello", Map.of("PORT", "0", "HOST", ""))) {
            assertTrue(s.url.toString().startsWith("http://0.0.0.0:"), s.lines.toString());
            assertEquals("Hello", Upstreams.get(URI.create("http://127.0.0.1:" + s.url.getPort() + "/")).body());
        }
    }

    // ---- configuration mistakes

    /** Exits at once: a service that started anyway would print its URL and never exit, and Support.run would give up on it. */
    @ParameterizedTest(name = "{0} with {1}={2} exits 2 with one line naming both", quoteTextArguments = false)
    @CsvSource({
        "hello, PORT, abc",
        "world, PORT, 70000",
        "hello, PORT, -1",
        "hello, SHUTDOWN_GRACE_SECONDS, soon",
        "world, SHUTDOWN_QUIET_MS, 1s",
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
        var env = new HashMap<>(Map.of("PORT", "0"));
        env.put(variable, value);
        var r = Support.run(List.of(Support.JAVA, "-cp", Support.serviceClasses().toString(), name), env, Upstreams.PATIENCE);
        assertEquals(2, r.exit(), r.both());
        assertEquals("", r.out(), "nothing starts");
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line: " + err);
        assertTrue(err.startsWith("ERROR: " + name + ": " + variable + "=\"" + value + "\""), err);
        assertFalse(err.contains("Exception"), err);
    }

    @Test
    void a_port_in_use_exits_1_with_one_line() {
        try (var first = Support.Service.start("hello", Map.of("PORT", "0"))) {
            String port = String.valueOf(first.url.getPort());
            var r = Support.run(List.of(Support.JAVA, "-cp", Support.serviceClasses().toString(), "world"),
                    Map.of("PORT", port), Upstreams.PATIENCE);
            assertEquals(1, r.exit(), r.both());
            String err = r.err().strip();
            assertFalse(err.contains("\n"), "one line: " + err);
            assertEquals("ERROR: world: cannot listen on 127.0.0.1:" + port + ": Address already in use"
                    + " (another process has it? set PORT to a free port, or 0 for any)", err);
            assertEquals(200, Upstreams.get(first.url).statusCode(), "the first one is unharmed");
        }
    }

    // ---- SIGTERM with a request in flight

    @Test
    void sigterm_turns_readiness_503_and_lets_the_request_in_flight_finish_with_200() throws Exception {
        // A grace far longer than the test: every step below waits for an event, and the grace must outlast them all.
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var joiner = Upstreams.joiner(hello.hostPort(), world.hostPort(), Map.of("SHUTDOWN_GRACE_SECONDS", "600"));
             var kept = new Socket(joiner.url.getHost(), joiner.url.getPort())) {
            kept.setSoTimeout((int) Upstreams.PATIENCE.toMillis());
            assertEquals("200 ready", ask(kept, "/readyz"), "a kept-alive connection, opened before SIGTERM");

            world.hold = new CountDownLatch(1);
            var inFlight = Support.HTTP.sendAsync(Upstreams.request(joiner.url).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(world.arrived.await(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS), "the request reached world");

            joiner.process.destroy(); // SIGTERM
            assertTrue(Upstreams.eventually(() -> ask(kept, "/readyz").equals("503 shutting down")), "readiness turns 503");
            assertTrue(Upstreams.eventually(() -> refused(joiner.url)), "the listener closes");
            assertFalse(inFlight.isDone(), "the request in flight is still waiting for world");

            world.hold.countDown();
            var r = inFlight.get(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("Hello World", r.body());
            assertTrue(joiner.process.waitFor(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS), "joiner stops once the request is done");
            assertEquals(0, joiner.process.exitValue());
        }
    }

    /**
     * A pod's load balancers (kube-proxy, the ingress controller, joiner's kept connections) take a moment to drop it:
     * with SHUTDOWN_QUIET_MS, what still comes after SIGTERM is answered, each answer closing its connection, and the
     * service stops only once nothing came for that long.
     */
    @ParameterizedTest(name = "{0} with SHUTDOWN_QUIET_MS answers what comes after SIGTERM, closing each connection, then stops", quoteTextArguments = false)
    @ValueSource(strings = {"hello", "joiner"})
    void with_a_quiet_period_sigterm_keeps_answering_while_requests_come_then_stops(String name) throws Exception {
        var env = Map.of("SHUTDOWN_QUIET_MS", "1500", "SHUTDOWN_GRACE_SECONDS", "600");
        try (var hello = new Upstreams.Fake("Hello"); var world = new Upstreams.Fake("World");
             var s = name.equals("joiner") ? Upstreams.joiner(hello.hostPort(), world.hostPort(), env)
                     : Support.Service.start(name, Map.of("PORT", "0", "SHUTDOWN_QUIET_MS", "1500", "SHUTDOWN_GRACE_SECONDS", "600"));
             var kept = new Socket(s.url.getHost(), s.url.getPort())) {
            String body = name.equals("joiner") ? "Hello World" : "Hello";
            kept.setSoTimeout((int) Upstreams.PATIENCE.toMillis());
            assertEquals("200 " + body, ask(kept, "/"), "a kept-alive connection, opened before SIGTERM");

            s.process.destroy(); // SIGTERM
            // Once the shutdown began, every answer says it closes its connection (and, not being a probe, keeps it going).
            assertTrue(Upstreams.eventually(() -> head(s.url, "/").contains("\r\nConnection: close\r\n")), "answers close their connections");
            assertEquals("503 shutting down (then closed)", once(s.url, "/readyz"), "readiness turns 503");
            assertEquals("200 " + body + " (then closed)", askAndSeeClosed(kept, "/"), "the kept connection: answered once more, then closed");
            // New connections, as from a load balancer that still sends here: each answered, for twice the quiet period.
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3000);
            for (int n = 0; System.nanoTime() < until; n++) {
                assertEquals("200 " + body + " (then closed)", once(s.url, "/"), "request " + n + " after SIGTERM");
                Thread.sleep(300);
            }
            assertTrue(s.process.isAlive(), "requests kept coming: still serving");
            assertTrue(s.process.waitFor(Upstreams.PATIENCE.toSeconds(), TimeUnit.SECONDS), name + " stops once nothing comes");
            assertEquals(0, s.process.exitValue());
        }
    }

    // ---- the scripts as a user runs them, and the code they repeat

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
        try (var hello = Support.Service.start(List.of("jbang", "hello.java"), Map.of("PORT", "0"), Upstreams.PATIENCE);
             var world = Support.Service.start(List.of("jbang", "world.java"), Map.of("PORT", "0"), Upstreams.PATIENCE);
             var joiner = Support.Service.start(List.of("jbang", "joiner.java"), Map.of("PORT", "0", "UPSTREAM_TIMEOUT_MS", "60000",
                     "HELLO_SERVICE", hello.hostPort(), "WORLD_SERVICE", world.hostPort()), Upstreams.PATIENCE)) {
            assertEquals("Hello", Upstreams.get(hello.url).body());
            assertEquals("World", Upstreams.get(world.url).body());
            assertEquals("Hello World", Upstreams.get(joiner.url).body());
        }
    }

    // ---- helpers

    static void assertNotAllowed(URI base, String method, String path) {
        var r = Support.send(Upstreams.request(base.resolve(path)).method(method, HttpRequest.BodyPublishers.ofString("ignored")).build());
        assertEquals(405, r.statusCode(), method + " " + path);
        assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElse(""), method + " " + path);
    }

    /** The JDK server limits the services set (the hostile-input test shortens maxReqTime, so checks them here). */
    static void assertServerLimits(Support.Service s) {
        var jcmd = java.nio.file.Path.of(Support.JAVA).resolveSibling("jcmd").toString();
        var r = Support.run(List.of(jcmd, String.valueOf(s.process.pid()), "VM.system_properties"), Map.of(), Upstreams.PATIENCE);
        assertEquals(0, r.exit(), r.both());
        for (String limit : List.of("sun.net.httpserver.maxReqTime=10", "sun.net.httpserver.maxReqHeaderSize=16384",
                "sun.net.httpserver.maxReqHeaders=64", "jdk.httpserver.maxConnections=1000",
                "sun.net.httpserver.maxIdleConnections=1000", "sun.net.httpserver.nodelay=true")) {
            assertTrue(r.out().lines().anyMatch(limit::equals), limit + " in " + r.out());
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

    /** One GET on a new connection; returns "status body (then closed)" when the server closed it after answering. */
    static String once(URI url, String path) {
        try (var socket = new Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout((int) Upstreams.PATIENCE.toMillis());
            return askAndSeeClosed(socket, path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The head of one answer to a GET on a new connection, the connection closed by this end right after. */
    static String head(URI url, String path) {
        try (var socket = new Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout((int) Upstreams.PATIENCE.toMillis());
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(ISO_8859_1));
            var head = new StringBuilder();
            InputStream in = socket.getInputStream();
            for (int c; !head.toString().endsWith("\r\n\r\n") && (c = in.read()) >= 0; ) head.append((char) c);
            return head.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String askAndSeeClosed(Socket socket, String path) throws IOException {
        String answer = ask(socket, path);
        return socket.getInputStream().read() < 0 ? answer + " (then closed)" : answer + " (then more)";
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
}
