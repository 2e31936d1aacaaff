import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The distribution API as far as a push goes (check a blob, upload it in a PATCH and a PUT, put a manifest), with
 * Basic auth when asked. Its port is a front on all interfaces (a non-loopback address reaches it too) that drops
 * a TLS handshake at once, as a plain-HTTP registry does, so that Jib falls back to HTTP where it may.
 */
final class FakeRegistry {
    final HttpServer server;
    final java.net.ServerSocket front;
    final Map<String, byte[]> blobs = new ConcurrentHashMap<>(), uploads = new ConcurrentHashMap<>(), manifests = new ConcurrentHashMap<>();
    final AtomicLong blobBytes = new AtomicLong();
    volatile boolean auth;

    FakeRegistry(InetSocketAddress address) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        front = new java.net.ServerSocket(address.getPort(), 50, address.getAddress());
        Thread.ofVirtual().start(() -> {
            while (!front.isClosed()) {
                try {
                    var client = front.accept();
                    Thread.ofVirtual().start(() -> relay(client));
                } catch (IOException e) {
                    return; // closed
                }
            }
        });
    }

    int port() {
        return front.getLocalPort();
    }

    String host() {
        return "localhost:" + port();
    }

    void stop() throws IOException {
        front.close();
        server.stop(0);
    }

    void relay(java.net.Socket client) {
        try (client) {
            int first = client.getInputStream().read();
            if (first < 0 || first == 0x16) return; // 0x16: a TLS handshake record
            try (var backend = new java.net.Socket(InetAddress.getLoopbackAddress(), server.getAddress().getPort())) {
                backend.getOutputStream().write(first);
                var up = Thread.ofVirtual().start(() -> {
                    try {
                        client.getInputStream().transferTo(backend.getOutputStream());
                        backend.shutdownOutput();
                    } catch (IOException ignored) {
                        // either side closed
                    }
                });
                backend.getInputStream().transferTo(client.getOutputStream());
                client.shutdownOutput();
                up.join(5000);
            }
        } catch (IOException | InterruptedException ignored) {
            // the client went away
        }
    }

    void reset(boolean withAuth) {
        blobs.clear();
        uploads.clear();
        manifests.clear();
        blobBytes.set(0);
        auth = withAuth;
    }

    String digestOf(String repository) {
        return manifests.entrySet().stream().filter(e -> e.getKey().startsWith(repository + ":sha256:"))
                .map(e -> e.getKey().substring(repository.length() + 1)).findFirst().orElse(null);
    }

    void handle(HttpExchange x) throws IOException {
        try (x) {
            byte[] body = x.getRequestBody().readAllBytes();
            String method = x.getRequestMethod(), path = x.getRequestURI().getPath(), query = x.getRequestURI().getQuery();
            if (auth && !("Basic " + RegistryFakes.base64(RegistryFakes.USER + ":" + RegistryFakes.PASSWORD)).equals(x.getRequestHeaders().getFirst("Authorization"))) {
                x.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"fake\"");
                x.sendResponseHeaders(401, -1);
                return;
            }
            Matcher blob = Pattern.compile("/v2/(.+)/blobs/(sha256:[0-9a-f]+)").matcher(path);
            Matcher upload = Pattern.compile("/v2/(.+)/blobs/uploads/(.*)").matcher(path);
            Matcher manifest = Pattern.compile("/v2/(.+)/manifests/(.+)").matcher(path);
            if (path.equals("/v2/")) {
                send(x, 200, "{}");
            } else if (blob.matches()) {
                byte[] b = blobs.get(blob.group(2));
                if (b == null) x.sendResponseHeaders(404, -1);
                else {
                    x.getResponseHeaders().add("Docker-Content-Digest", blob.group(2));
                    x.getResponseHeaders().add("Content-Length", Integer.toString(b.length));
                    x.sendResponseHeaders(200, -1);
                }
            } else if (upload.matches() && method.equals("POST")) {
                String id = UUID.randomUUID().toString();
                uploads.put(id, new byte[0]);
                x.getResponseHeaders().add("Location", "/v2/" + upload.group(1) + "/blobs/uploads/" + id);
                x.getResponseHeaders().add("Range", "0-0");
                x.sendResponseHeaders(202, -1);
            } else if (upload.matches() && uploads.containsKey(upload.group(2))) {
                var all = new ByteArrayOutputStream();
                all.write(uploads.get(upload.group(2)));
                all.write(body);
                blobBytes.addAndGet(body.length);
                uploads.put(upload.group(2), all.toByteArray());
                if (method.equals("PUT")) {
                    String digest = query.replaceFirst(".*digest=([^&]+).*", "$1").replace("%3A", ":");
                    blobs.put(digest, uploads.remove(upload.group(2)));
                    x.getResponseHeaders().add("Location", "/v2/" + upload.group(1) + "/blobs/" + digest);
                    x.sendResponseHeaders(201, -1);
                } else {
                    x.getResponseHeaders().add("Location", path);
                    x.getResponseHeaders().add("Range", "0-" + Math.max(0, all.size() - 1));
                    x.sendResponseHeaders(202, -1);
                }
            } else if (manifest.matches() && method.equals("PUT")) {
                String digest = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
                manifests.put(manifest.group(1) + ":" + manifest.group(2), body);
                manifests.put(manifest.group(1) + ":" + digest, body);
                x.getResponseHeaders().add("Docker-Content-Digest", digest);
                x.sendResponseHeaders(201, -1);
            } else if (manifest.matches()) {
                x.sendResponseHeaders(manifests.containsKey(manifest.group(1) + ":" + manifest.group(2)) ? 200 : 404, -1);
            } else {
                send(x, 404, "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}");
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void send(HttpExchange x, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        x.sendResponseHeaders(status, bytes.length);
        x.getResponseBody().write(bytes);
    }
}
