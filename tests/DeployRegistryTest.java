import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 without a cluster: {@code --registry}, {@code --registry local} and {@code --context} with fake kind, kubectl
 * and docker first on PATH (each records its arguments, as in DeployPlanTest), and Jib pushing for real to a small
 * in-process registry that speaks the distribution API (blobs and manifests, optional Basic auth) and counts the
 * bytes it is sent. The images are built on Jib's empty "scratch" base; the "ingress" is a tiny Hello World server.
 * tests/E2eRegistryTest.java does the same against a real registry and real kind clusters.
 */
class DeployRegistryTest {
    static final List<String> SERVICES = Support.SERVICES;
    static final String USER = "alice", PASSWORD = "pw-" + UUID.randomUUID();
    static final Pattern PUSHED = Pattern.compile("(?m)^(\\w+) +(\\S+)@(sha256:[0-9a-f]{64})$");
    static Path bin, state, dockerConfig;
    static HttpServer ingress;
    static FakeRegistry registry;

    @BeforeAll
    static void fakes() throws IOException {
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        Path dir = Files.createTempDirectory("deploy-registry-fakes");
        bin = Files.createDirectories(dir.resolve("bin"));
        state = Files.createDirectories(dir.resolve("state"));
        fake("kind", DeployPlanTest.KIND);
        fake("kubectl", KUBECTL);
        fake("docker", DOCKER);
        dockerConfig = Files.createDirectories(dir.resolve("docker"));
        ingress = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        ingress.createContext("/", DeployPlanTest.answersAsJoiner(state));
        ingress.start();
        registry = new FakeRegistry(new InetSocketAddress(0));
    }

    @AfterAll
    static void stop() {
        if (ingress != null) ingress.stop(0);
        if (registry != null) {
            try {
                registry.stop();
            } catch (IOException ignored) {
                // the test is over
            }
        }
    }

    @BeforeEach
    void clean() throws IOException {
        try (var files = Files.list(state)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        registry.reset(false);
        login(null);
    }

    // ---- --registry: what Jib pushes, and what deploy.java says about it

    @Test
    void images_pushes_each_image_by_digest_and_a_second_push_sends_no_blob() throws IOException {
        var first = deploy("images", "--base-image", "scratch", "--registry", registry.host() + "/acme/hello-world");
        assertEquals(0, first.exit(), first.both());
        var pushed = pushed(first.out());
        assertEquals(SERVICES, List.copyOf(pushed.keySet()), first.out());
        for (String s : SERVICES) {
            String[] ref = pushed.get(s);
            assertEquals(registry.host() + "/acme/hello-world/" + s, ref[0]);
            assertEquals(ref[1], registry.digestOf("acme/hello-world/" + s), "the digest printed is the manifest's the registry holds");
        }
        long received = registry.blobBytes.get();
        assertTrue(received > 0, "blobs were sent");
        assertTrue(first.err().contains(size(received) + " sent"), "deploy.java counts what the registry received (" + received + " B):\n" + first.err());

        // Pushed before from the same inputs, and the registry still has it: nothing is built or pushed.
        registry.blobBytes.set(0);
        var second = deploy("images", "--base-image", "scratch", "--registry", registry.host() + "/acme/hello-world");
        assertEquals(0, second.exit(), second.both());
        assertEquals(0, registry.blobBytes.get(), "nothing new was sent:\n" + second.err());
        assertTrue(second.err().contains("0 B sent (" + String.join(", ", SERVICES) + " up to date)"), second.err());
        for (String s : SERVICES) assertEquals(pushed.get(s)[1], pushed(second.out()).get(s)[1], "same inputs, same digest: " + s);

        // Without that record, Jib builds again and finds every blob there.
        deleteTree(Support.ROOT.resolve("build/images/pushed"));
        var third = deploy("images", "--base-image", "scratch", "--registry", registry.host() + "/acme/hello-world");
        assertEquals(0, third.exit(), third.both());
        assertEquals(0, registry.blobBytes.get(), "nothing new was sent:\n" + third.err());
        assertTrue(third.err().contains(String.join(", ", SERVICES) + " had all their blobs there; 0 B sent"), third.err());
        for (String s : SERVICES) assertEquals(pushed.get(s)[1], pushed(third.out()).get(s)[1], "same inputs, same digest: " + s);

        // A registry that lost the image (a local one recreated, say) gets it again.
        registry.reset(false);
        var fourth = deploy("images", "--base-image", "scratch", "--registry", registry.host() + "/acme/hello-world");
        assertEquals(0, fourth.exit(), fourth.both());
        assertEquals(received, registry.blobBytes.get(), fourth.err());
    }

    @Test
    void a_login_from_the_docker_config_is_used_and_never_printed_even_verbose() throws IOException {
        registry.reset(true);
        login(PASSWORD);
        var r = deploy("--verbose", "images", "--base-image", "scratch", "--registry", registry.host());
        assertEquals(0, r.exit(), r.both());
        assertEquals(SERVICES, List.copyOf(pushed(r.out()).keySet()), r.out());
        assertFalse(r.both().contains(PASSWORD), "the password is printed:\n" + r.both());
        assertFalse(r.both().contains(base64(USER + ":" + PASSWORD)), "the encoded login is printed:\n" + r.both());
    }

    @Test
    void a_refused_push_is_one_error_line_naming_the_registry_and_the_login_and_nothing_is_applied() throws IOException {
        registry.reset(true);
        login("wrong-" + PASSWORD);
        var r = up("--context", "remote", "--registry", registry.host(), "--url", url());
        assertEquals(1, r.exit(), r.both());
        var errors = DeployPlanTest.errorLines(r);
        assertEquals(1, errors.size(), r.both());
        assertTrue(errors.getFirst().contains(registry.host() + " refused the push"), errors.getFirst());
        assertTrue(errors.getFirst().contains("401 Unauthorized"), errors.getFirst());
        assertTrue(errors.getFirst().contains("`docker login " + registry.host() + "`"), errors.getFirst());
        assertFalse(r.both().contains(PASSWORD), r.both());
        assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r.err());
        assertTrue(calls().stream().noneMatch(c -> c.contains(" apply ")), "nothing applied: " + calls());
    }

    @Test
    void plain_http_goes_to_loopback_only_unless_insecure_registry_says_so() throws IOException {
        String address = nonLoopbackAddress();
        assumeTrue(address != null, "this machine has no non-loopback IPv4 address");
        String host = address + ":" + registry.port();
        var refused = deploy("images", "--base-image", "scratch", "--registry", host);
        assertEquals(1, refused.exit(), refused.both());
        assertTrue(DeployPlanTest.errorLines(refused).getFirst().contains(host + " refused the push"), refused.both());
        assertTrue(refused.err().contains("--insecure-registry"), "names the way out:\n" + refused.err());
        assertEquals(0, registry.blobBytes.get(), "nothing went over plain HTTP");
        var allowed = deploy("images", "--base-image", "scratch", "--registry", host, "--insecure-registry");
        assertEquals(0, allowed.exit(), allowed.both());
    }

    // ---- --context: any cluster, no kind

    @Test
    void up_context_runs_no_kind_step_applies_digests_pulled_if_not_present_and_asks_the_url() throws IOException {
        var r = up("--context", "remote", "--registry", registry.host() + "/team", "--url", url());
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("kind ") || c.startsWith("docker ")), "no kind, no engine: " + calls);
        for (String c : calls) {
            if (c.startsWith("kubectl") && !c.startsWith("kubectl version") && !c.startsWith("kubectl config")) {
                assertTrue(c.startsWith("kubectl --context remote "), "every cluster call names the context: " + c);
            }
        }
        String root = Support.ROOT.toString();
        DeployPlanTest.assertInOrder(calls, List.of(
                "kubectl config get-contexts -o name",
                "kubectl --context remote version",
                "kubectl --context remote get ingressclass traefik",
                "kubectl --context remote apply -k " + root + "/build/kustomize/ingress",
                "kubectl --context remote apply -k " + root + "/build/kustomize/dev"));
        String ingress = Files.readString(Support.ROOT.resolve("build/kustomize/ingress/kustomization.yaml"));
        assertTrue(ingress.contains("- ../../../manifests/ingress-load-balancer") && ingress.contains("app.kubernetes.io/managed-by: deploy.java"), ingress);

        // The profile: each image by the digest the registry holds, pulled (dev says Never, for kind load), owned.
        String kustomization = Files.readString(Support.ROOT.resolve("build/kustomize/dev/kustomization.yaml"));
        for (String s : SERVICES) {
            assertTrue(kustomization.matches("(?s).*newName: " + java.util.regex.Pattern.quote(registry.host() + "/team/" + s)
                    + "\n    newTag: [0-9a-f]{16}\n    digest: " + registry.digestOf("team/" + s) + "\n.*"), kustomization);
        }
        var render = Support.run(List.of("kubectl", "kustomize", Support.ROOT.resolve("build/kustomize/dev").toString()), Map.of(), Duration.ofMinutes(1));
        assumeTrue(render.exit() == 0, "a real kubectl renders the generated kustomization");
        for (String s : SERVICES) { // the tag names the code (status shows it), the digest is what runs
            assertTrue(render.out().matches("(?s).*image: " + java.util.regex.Pattern.quote(registry.host() + "/team/" + s) + ":[0-9a-f]{16}@sha256:.*"), render.out());
        }
        assertFalse(render.out().contains("imagePullPolicy: Never"), render.out());
        assertEquals(SERVICES.size(), render.out().lines().filter(l -> l.strip().equals("imagePullPolicy: IfNotPresent")).count(), render.out());
        assertTrue(render.out().contains("app.kubernetes.io/managed-by: deploy.java"), render.out());

        assertTrue(r.out().contains("Hello World is served at " + url()), r.out());
        assertTrue(r.out().contains("jbang deploy.java down --context remote"), r.out());
    }

    @Test
    void up_context_leaves_an_ingress_controller_of_the_cluster_alone_or_skips_it_when_told() {
        registry.reset(false);
        write("ingressclass", "traefik.io/ingress-controller");
        var r = up("--context", "remote", "--registry", registry.host(), "--url", url());
        assertEquals(0, r.exit(), r.both());
        assertTrue(calls().stream().noneMatch(c -> c.contains("build/kustomize/ingress")), calls().toString());
        assertTrue(r.err().contains("the cluster's own (traefik.io/ingress-controller) serves the traefik class: not installed"), r.err());

        write("calls", "");
        write("ingressclass", "");
        var skipped = up("--context", "remote", "--registry", registry.host(), "--url", url(), "--skip-ingress-controller");
        assertEquals(0, skipped.exit(), skipped.both());
        assertTrue(calls().stream().noneMatch(c -> c.contains("ingressclass") || c.contains("build/kustomize/ingress")), calls().toString());
    }

    @Test
    void up_context_without_url_asks_the_address_the_ingress_publishes() {
        write("ingress-address", "127.0.0.1");
        // As up --context left it: each service deployed by tag and digest, and answering from that tag.
        var pulled = new StringBuilder();
        var deployed = new StringBuilder();
        for (String s : SERVICES) {
            pulled.append(s).append(" 0123456789abcdef sha256:").append("0".repeat(64)).append('\n');
            deployed.append(s).append(" 0123456789abcdef\n");
        }
        write("pulled", pulled.toString());
        write("deployed", deployed.toString());
        var r = deploy("status", "--context", "remote");
        assertTrue(r.out().contains("context      remote (Kubernetes v1.34.4)"), r.out());
        assertTrue(r.out().contains("url          http://127.0.0.1/ → "), "the URL comes from the Ingress's status:\n" + r.out());
        var ok = deploy("status", "--context", "remote", "--url", url());
        assertEquals(0, ok.exit(), ok.both());
        assertTrue(ok.out().contains(url() + " → Hello World"), ok.out());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind ") || c.startsWith("docker ")), calls().toString());
    }

    @Test
    void down_context_deletes_only_what_carries_deploy_javas_label_and_is_safe_to_rerun() {
        var first = deploy("down", "--context", "remote");
        assertEquals(0, first.exit(), first.both());
        assertTrue(first.err().contains("deleted namespace hello-world, namespace traefik"), first.err());
        String delete = calls().stream().filter(c -> c.contains(" delete ")).findFirst().orElseThrow();
        assertTrue(delete.startsWith("kubectl --context remote delete namespace,"), delete);
        for (String kind : List.of("clusterrole.rbac.authorization.k8s.io", "clusterrolebinding.rbac.authorization.k8s.io", "ingressclass.networking.k8s.io")) {
            assertTrue(delete.contains(kind), kind + " in " + delete);
        }
        assertTrue(delete.contains(" -l app.kubernetes.io/managed-by=deploy.java "), delete);
        var again = deploy("down", "--context", "remote");
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains("nothing of deploy.java's is left there"), again.err());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind ") || c.startsWith("docker ")), calls().toString());
    }

    @Test
    void context_without_registry_and_kind_options_with_context_are_usage_errors() {
        for (var args : List.of(List.of("up", "--context", "remote"), List.of("up", "--context", "remote", "--registry", "local"),
                List.of("up", "--context", "remote", "--registry", "localhost:5000", "--port", "8080"), List.of("up", "--registry", "acme"))) {
            var r = deploy(args.toArray(String[]::new));
            assertEquals(2, r.exit(), args + ":\n" + r.both());
            assertEquals(1, DeployPlanTest.errorLines(r).size(), r.both());
            assertEquals(List.of(), calls(), "nothing ran");
        }
    }

    // ---- --registry local: kind's local-registry pattern

    @Test
    void up_registry_local_starts_the_registry_wires_the_cluster_loads_nothing_and_a_rerun_finds_all_present() {
        String local = "local:" + registry.port();
        var r = up("--registry", local, "--port", Integer.toString(ingress.getAddress().getPort()));
        assertEquals(0, r.exit(), r.both());
        String name = "kind-registry-" + registry.port(), dir = "/etc/containerd/certs.d/" + registry.host();
        List<String> calls = calls();
        DeployPlanTest.assertInOrder(calls, List.of(
                "docker inspect -f {{.State.Running}} " + name,
                "docker run -d --restart=always --name " + name + " -p 127.0.0.1:" + registry.port() + ":5000 registry:3",
                "kind create cluster",
                "docker network connect kind " + name,
                "docker exec hello-world-control-plane mkdir -p " + dir,
                "docker cp ",
                "kubectl --context kind-hello-world apply -f ",
                "kubectl --context kind-hello-world apply -k " + Support.ROOT + "/manifests/ingress",
                "kubectl --context kind-hello-world apply -k " + Support.ROOT + "/build/kustomize/dev"));
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("kind load")), "nothing loaded: " + calls);
        assertTrue(state.resolve("hosts.toml").toFile().isFile(), "hosts.toml was copied to the node");
        assertEquals("[host.\"http://" + name + ":5000\"]\n", read("hosts.toml"));
        for (String s : SERVICES) assertTrue(registry.digestOf(s) != null, s + " pushed to the local registry");

        write("calls", "");
        var again = up("--registry", local, "--port", Integer.toString(ingress.getAddress().getPort()));
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains(name + " already present"), again.err());
        assertTrue(again.err().contains("hosts.toml already present on hello-world-control-plane"), again.err());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("docker run") || c.startsWith("docker cp") || c.startsWith("kind create")), calls().toString());
    }

    // ---- helpers

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    static void fake(String name, String script) throws IOException {
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/usr/bin/env bash\n" + DeployPlanTest.COMMON + script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    static String url() {
        return "http://127.0.0.1:" + ingress.getAddress().getPort() + "/";
    }

    Support.Result up(String... args) {
        var all = new ArrayList<>(List.of("up", "--base-image", "scratch", "--timeout", "2m"));
        all.addAll(List.of(args));
        return deploy(all.toArray(String[]::new));
    }

    static Support.Result deploy(String... args) {
        var env = new HashMap<String, String>();
        env.put("PATH", bin + ":" + System.getenv("PATH"));
        env.put("FAKE_STATE", state.toString());
        env.put("FAKE_SERVICES", String.join(" ", SERVICES));
        env.put("DOCKER_CONFIG", dockerConfig.toString());
        if (Support.which("kubectl") != null) env.put("REAL_KUBECTL", Support.which("kubectl").toString());
        return Support.run(Support.command(List.of("jbang", "deploy.java"), args), env, Duration.ofMinutes(3));
    }

    /** Docker's config.json with a login for the fake registry (or none). */
    static void login(String password) throws IOException {
        Path config = dockerConfig.resolve("config.json");
        if (password == null) Files.deleteIfExists(config);
        else Files.writeString(config, "{\"auths\": {\"" + registry.host() + "\": {\"auth\": \"" + base64(USER + ":" + password) + "\"}}}");
    }

    static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** name → [repository, digest] from the lines of images --registry. */
    static Map<String, String[]> pushed(String out) {
        var pushed = new java.util.LinkedHashMap<String, String[]>();
        Matcher m = PUSHED.matcher(out);
        while (m.find()) pushed.put(m.group(1), new String[] {m.group(2), m.group(3)});
        return pushed;
    }

    static String size(long bytes) {
        return bytes < 1000 ? bytes + " B" : bytes < 1_000_000 ? String.format("%.1f kB", bytes / 1e3) : String.format("%.1f MB", bytes / 1e6);
    }

    static String nonLoopbackAddress() throws IOException {
        for (var nic : NetworkInterface.networkInterfaces().toList()) {
            if (!nic.isUp() || nic.isLoopback()) continue;
            for (var a : nic.inetAddresses().toList()) if (a instanceof java.net.Inet4Address) return a.getHostAddress();
        }
        return null;
    }

    static List<String> calls() {
        try {
            Path log = state.resolve("calls");
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void write(String file, String text) {
        try {
            Files.writeString(state.resolve(file), text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String read(String file) {
        try {
            return Files.readString(state.resolve(file));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The distribution API as far as a push goes (check a blob, upload it in a PATCH and a PUT, put a manifest), with
     * Basic auth when asked. Its port is a front on all interfaces (a non-loopback address reaches it too) that drops
     * a TLS handshake at once, as a plain-HTTP registry does, so that Jib falls back to HTTP where it may.
     */
    static final class FakeRegistry {
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
                if (auth && !("Basic " + base64(USER + ":" + PASSWORD)).equals(x.getRequestHeaders().getFirst("Authorization"))) {
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

    // The fakes (DeployPlanTest.COMMON first): docker and kubectl, extended for the registry and for any context.
    static final String DOCKER = """
            case "$1" in
              version) echo "20.10.24" ;;
              port)
                if [ "$2" = hello-world-control-plane ]; then echo "127.0.0.1:$(cat "$s/host-port")"
                else echo "127.0.0.1:$(cat "$s/registry-port")"; fi ;;
              inspect)
                case "$3" in
                  "{{.State.Running}}") if [ -e "$s/registry-port" ]; then echo true; else echo "Error: No such object: $4" >&2; exit 1; fi ;;
                  "{{json .NetworkSettings.Networks}}") if [ -e "$s/registry-on-kind" ]; then echo '{"bridge":{},"kind":{}}'; else echo '{"bridge":{}}'; fi ;;
                  *) echo true ;;
                esac ;;
              run) p=$(arg -p "$@"); p=${p#127.0.0.1:}; echo "${p%:5000}" > "$s/registry-port"; echo 0123abcd ;;
              network) touch "$s/registry-on-kind" ;;
              cp) cp "$2" "$s/hosts.toml" ;;
              exec)
                case "$3" in
                  cat) if [ -e "$s/hosts.toml" ]; then cat "$s/hosts.toml"; else echo "cat: $4: No such file or directory" >&2; exit 1; fi ;;
                  containerd) echo '    config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"' ;;
                  mkdir) ;;
                  *) echo '{"images": []}' ;;
                esac ;;
              *) echo "fake docker: unexpected: $*" >&2; exit 64 ;;
            esac
            """;

    static final String KUBECTL = """
            deployment() { printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: %s\\n  namespace: %s\\nspec:\\n  selector:\\n    matchLabels:\\n      app.kubernetes.io/name: %s\\n---\\n' "$1" "$2" "$1"; }
            case "$*" in
              "version --client") echo "Client Version: v1.34.0"; echo "Kustomize Version: v5.7.1" ;;
              "kustomize "*) exec "$REAL_KUBECTL" "$@" ;;
              "config get-contexts -o name") printf 'kind-hello-world\\nremote\\n' ;;
              *" version -o yaml") printf 'clientVersion:\\n  gitVersion: v1.34.0\\nserverVersion:\\n  gitVersion: v1.34.4\\n' ;;
              *" get ingressclass traefik "*) cat "$s/ingressclass" 2>/dev/null || true ;;
              *" apply -f "*) echo "configmap/local-registry-hosting created" ;;
              *" apply -k "*"/ingress -o yaml"|*" apply -k "*"/manifests/ingress -o yaml") deployment traefik traefik ;;
              *" apply -k "*" -o yaml")
                for d in $FAKE_SERVICES; do deployment $d hello-world; done
                # What was deployed, for the fake ingress and get deployments: "name tag digest" from the kustomization's images.
                awk '/^  - name: /{n=$3} /^    newTag: /{t=$2} /^    digest: /{print n, t, $2}' "$(arg -k "$@")/kustomization.yaml" > "$s/pulled"
                cut -d' ' -f1,2 "$s/pulled" > "$s/deployed" ;;
              *" rollout status "*) echo "successfully rolled out" ;;
              *"deletionTimestamp"*) ;;
              *" get ingress --all-namespaces "*) echo "hello-world/hello-world $(cat "$s/ingress-address" 2>/dev/null)" ;;
              *" get deployments "*)
                echo "traefik/traefik 1 1 docker.io/library/traefik:v3.6.12"
                cat "$s/pulled" 2>/dev/null | while read -r d t digest; do echo "hello-world/$d 1 1 registry.example/$d:$t@$digest"; done ;;
              *" delete "*)
                if [ ! -e "$s/deleted" ]; then touch "$s/deleted"; echo 'namespace "hello-world" deleted'; echo 'namespace "traefik" deleted'; fi ;;
              *) echo "fake kubectl: unexpected: $*" >&2; exit 64 ;;
            esac
            """;
}
