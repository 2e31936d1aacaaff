import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * joiner looks its upstreams' names up off the request path (issue 13, the prod e2e's drain: DNS answers took 1-2 s
 * while pods came and went). The DNS here is a real one to the JDK: an InetAddressResolverProvider on joiner's class
 * path, which answers names ending in .test from a file the test rewrites: "DELAY_MS ADDRESS", or "DELAY_MS -" for a
 * name that does not resolve. joiner runs with the JDK's cache of answers off, so every lookup reaches it.
 */
class JoinerLookupTest {
    static final String RESOLVER = """
            import java.net.*;
            import java.net.spi.*;
            import java.nio.file.*;
            import java.util.stream.Stream;

            public class TestDns extends InetAddressResolverProvider {
                public InetAddressResolver get(Configuration configuration) {
                    var builtin = configuration.builtinResolver();
                    return new InetAddressResolver() {
                        public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                            if (!host.endsWith(".test")) return builtin.lookupByName(host, policy);
                            String[] answer;
                            try {
                                answer = Files.readString(Path.of(System.getProperty("test.dns"))).strip().split(" ");
                                Thread.sleep(Long.parseLong(answer[0]));
                            } catch (Exception e) {
                                throw new UnknownHostException(host + ": " + e);
                            }
                            if (answer[1].equals("-")) throw new UnknownHostException(host);
                            return Stream.of(InetAddress.getByAddress(host, InetAddress.ofLiteral(answer[1]).getAddress()));
                        }

                        public String lookupByAddress(byte[] address) throws UnknownHostException {
                            return builtin.lookupByAddress(address);
                        }
                    };
                }

                public String name() {
                    return "test-dns";
                }
            }
            """;

    @TempDir
    Path dir;

    @Test
    void a_slow_or_failing_name_lookup_delays_and_fails_no_request_once_the_name_was_found() throws Exception {
        Path dns = dir.resolve("dns");
        Files.writeString(dns, "0 -");
        // Each answer closes its connection, so that every call makes a new one: the path that used to look the name up.
        byte[] once = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nHello".getBytes(ISO_8859_1);
        try (var hello = new Upstreams.Raw(ex -> ex.out().write(once)); var world = new Upstreams.Fake("World")) {
            String helloAddress = "hello.test:" + hello.hostPort().split(":")[1];
            var command = List.of(Support.JAVA, "-Dsun.net.inetaddr.ttl=0", "-Dtest.dns=" + dns,
                    "-cp", Support.serviceClasses() + java.io.File.pathSeparator + resolver(), "joiner");
            var env = Map.of("PORT", "0", "HELLO_SERVICE", helloAddress, "WORLD_SERVICE", world.hostPort(), "UPSTREAM_TIMEOUT_MS", "2000");
            try (var joiner = Support.Service.start(command, env)) {
                var r = Upstreams.get(joiner.url);
                assertEquals("502 hello (" + helloAddress + "): unknown host", r.statusCode() + " " + r.body(), "a name never found");

                Files.writeString(dns, "0 127.0.0.1");
                assertTrue(Upstreams.eventually(() -> Upstreams.get(joiner.url).body().equals("Hello World")), "the name found");

                Files.writeString(dns, "4000 127.0.0.1"); // every lookup now outlasts the 2 s deadline
                var slow = answers(joiner, 12); // past two of joiner's lookups (every 5 s)
                assertTrue(slow.stream().allMatch("200 Hello World"::equals), "a slow lookup delayed requests: " + slow);

                Files.writeString(dns, "0 -"); // the DNS server fails: the last address stays
                var failing = answers(joiner, 8);
                assertTrue(failing.stream().allMatch("200 Hello World"::equals), "a failed lookup failed requests: " + failing);
            }
        }
    }

    /** Status and body of a request every 200 ms, for that many seconds. */
    static List<String> answers(Support.Service joiner, int seconds) throws InterruptedException {
        var answers = new ArrayList<String>();
        for (long until = System.nanoTime() + seconds * 1_000_000_000L; System.nanoTime() < until; Thread.sleep(200)) {
            var r = Upstreams.get(joiner.url);
            answers.add(r.statusCode() + " " + r.body());
        }
        assertTrue(answers.size() >= seconds, "a request took seconds: " + answers);
        return answers;
    }

    /** TestDns compiled, with the service file that makes the JDK use it. */
    Path resolver() throws IOException {
        Path classes = dir.resolve("resolver"), source = dir.resolve("TestDns.java");
        Files.writeString(source, RESOLVER);
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), source.toString());
        assertEquals(0, rc, "javac failed on TestDns");
        Path services = classes.resolve("META-INF/services/java.net.spi.InetAddressResolverProvider");
        Files.createDirectories(services.getParent());
        Files.writeString(services, "TestDns\n");
        return classes;
    }
}
