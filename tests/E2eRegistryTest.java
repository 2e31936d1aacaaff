import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 14 on real kind clusters and real registries (registry:3 from the lab):
 * (a) {@code up --registry local} from no cluster, then a one-service change that pushes one small layer;
 * (c) a refused push, (b) {@code up --context} on a second kind cluster standing in for a remote one, its images
 * from an htpasswd-protected registry, (d) {@code down --context}; (e) {@code --context} without {@code --registry}.
 * deploy.java runs in a copy of the checkout, so that the test may change a service. Clusters, registries and the
 * copy are this class's own and deleted at the end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class E2eRegistryTest {
    static final Lab LOCAL = new Lab("hw-registry-e2e"), REMOTE = new Lab("hw-registry-remote");
    static final int PORT = 18086, LOCAL_REGISTRY = 5011, PRIVATE_REGISTRY = 5012;
    static final String LOCAL_NAME = "kind-registry-" + LOCAL_REGISTRY, PRIVATE_NAME = "hw-registry-e2e-private";
    static final String PRIVATE = "localhost:" + PRIVATE_REGISTRY, USER = "e2e", PASSWORD = "pw-" + UUID.randomUUID();
    static final Pattern BLOBS = Pattern.compile("(\\w+) (\\d+) blobs? \\(([\\d.]+ [kM]?B)\\)");

    static String missing;
    static boolean started;
    static Path copy, goodLogin, badLogin;
    static final List<String> outputs = new ArrayList<>();

    @BeforeAll
    static void lab() throws IOException {
        missing = LOCAL.missing(PORT, LOCAL_REGISTRY, PRIVATE_REGISTRY);
        if (missing == null && Lab.docker("image", "inspect", "registry:3").exit() != 0) missing = "no image registry:3 in Docker: build the lab with .ci/lab/build";
        if (missing == null && Support.which("htpasswd") == null) missing = "htpasswd is not on PATH (apache2-utils; the lab installs it)";
        if (missing != null) return;
        started = true;
        cleanUp(); // what an interrupted run left
        copy = Files.createTempDirectory("hw-registry-e2e-checkout");
        for (String file : List.of("deploy.java", "deploy", "manifests", "hello.java", "world.java", "joiner.java")) Support.copyTree(Support.ROOT.resolve(file), copy.resolve(file));
        goodLogin = login(PASSWORD);
        badLogin = login("wrong-" + PASSWORD);
    }

    @AfterAll
    static void down() throws IOException {
        if (started) cleanUp();
        if (copy != null) Support.deleteTree(copy);
        for (Path p : new Path[] {goodLogin, badLogin}) if (p != null) Support.deleteTree(p);
    }

    static void cleanUp() {
        LOCAL.deleteCluster();
        REMOTE.deleteCluster();
        Lab.docker("rm", "-f", LOCAL_NAME, PRIVATE_NAME);
    }

    // ---- (a) kind with the local registry

    @Test
    @Order(1)
    void a_up_registry_local_from_no_cluster_serves_Hello_World_then_a_change_to_hello_pushes_one_small_layer_then_kind_load_serves_again() throws Exception {
        requireLab();
        long t = System.nanoTime();
        var up = deploy(Map.of(), "up", "--registry", "local:" + LOCAL_REGISTRY, "--port", Integer.toString(PORT), "--cluster", LOCAL.cluster,
                "--node-image", LOCAL.nodeImage, "--base-image", "docker://" + Lab.BASE_IMAGE);
        System.out.printf("    e2e-registry: cold up --registry local took %ds%n", seconds(t));
        assertEquals(0, up.exit(), "up failed:\n" + up.both());
        URI url = URI.create("http://localhost:" + PORT + "/");
        assertEquals("Hello World", Support.get(url).body().strip());
        assertTrue(up.err().contains("created " + LOCAL_NAME), up.err());
        assertFalse(up.err().contains("Loading images"), "nothing is loaded with a registry:\n" + up.err());
        var before = images(LOCAL);
        for (String s : Support.SERVICES) { // repository:tag@digest: the digest is what runs, the tag names the code
            assertTrue(before.get(Support.SERVICES.indexOf(s)).matches(java.util.regex.Pattern.quote("localhost:" + LOCAL_REGISTRY + "/" + s)
                    + ":[0-9a-f]{16}@sha256:[0-9a-f]{64}"), before.toString());
        }

        Path hello = copy.resolve("hello.java");
        Files.writeString(hello, Files.readString(hello).replace("class hello {", "class hello {\n    static final String E2E_CHANGE = \"" + UUID.randomUUID() + "\";"));
        t = System.nanoTime();
        var again = deploy(Map.of(), "up", "--registry", "local:" + LOCAL_REGISTRY, "--port", Integer.toString(PORT), "--cluster", LOCAL.cluster,
                "--base-image", "docker://" + Lab.BASE_IMAGE);
        long took = seconds(t);
        assertEquals(0, again.exit(), "second up failed:\n" + again.both());
        Matcher m = BLOBS.matcher(again.err());
        assertTrue(m.find(), again.err());
        System.out.printf("    e2e-registry: a change to hello: %s blobs pushed, %s moved; edit to served in %ds%n", m.group(2), m.group(3), took);
        assertEquals("hello", m.group(1), "only hello pushed anything:\n" + again.err());
        assertFalse(m.find(), "only hello pushed anything:\n" + again.err());
        assertTrue(again.err().contains("(world, joiner up to date)"), again.err());
        assertTrue(again.err().contains("already present"), "the registry and its wiring are reused:\n" + again.err());
        var after = images(LOCAL);
        assertNotEquals(before.get(0), after.get(0), "hello runs its new image");
        assertEquals(before.subList(1, before.size()), after.subList(1, after.size()), "world and joiner are unchanged");
        assertEquals("Hello World", Support.get(url).body().strip());

        // Back to kind load on the same cluster: a kubelet >= 1.35 that pulled these images from the registry would
        // refuse the same images loaded under another name (ErrImageNeverPull) but for Image.SHIPPED_BY.
        var load = deploy(Map.of(), "up", "--port", Integer.toString(PORT), "--cluster", LOCAL.cluster, "--base-image", "docker://" + Lab.BASE_IMAGE,
                "--timeout", "2m");
        assertEquals(0, load.exit(), "up with kind load after --registry local failed:\n" + load.both());
        assertTrue(images(LOCAL).stream().noneMatch(i -> i.contains("@sha256:")), "the loaded images run: " + images(LOCAL));
        assertEquals("Hello World", Support.get(url).body().strip());
        LOCAL.deleteCluster(); // (b) needs only the second cluster; one at a time on this machine
    }

    // ---- (b), (c), (d): a second kind cluster as a remote one, images from a registry that wants a login

    @Test
    @Order(2)
    void c_a_refused_push_is_one_error_line_exit_1_and_nothing_is_applied() throws Exception {
        requireLab();
        remoteCluster();
        var r = deploy(Map.of("DOCKER_CONFIG", badLogin.toString()), "up", "--context", REMOTE.context(), "--registry", PRIVATE + "/hello-world",
                "--base-image", "docker://" + Lab.BASE_IMAGE, "--timeout", "3m");
        assertEquals(1, r.exit(), r.both());
        var errors = r.both().lines().filter(l -> l.startsWith("ERROR:")).toList();
        assertEquals(1, errors.size(), r.both());
        assertTrue(errors.getFirst().contains(PRIVATE + " refused the push") && errors.getFirst().contains("401 Unauthorized")
                && errors.getFirst().contains("docker login " + PRIVATE), errors.getFirst());
        assertTrue(REMOTE.kubectl("get", "namespace", "hello-world").exit() != 0, "nothing applied");
    }

    @Test
    @Order(3)
    void b_up_context_on_another_cluster_serves_Hello_World_by_digest_from_the_private_registry() throws Exception {
        requireLab();
        remoteCluster();
        String node = REMOTE.cluster + "-control-plane";
        String address = Lab.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", node).out().strip();
        System.out.printf("    e2e-registry: the stand-in load balancer gives the Service %s%n", address);
        // The cloud's part, as a stand-in: give Traefik's LoadBalancer Service the node's address (kube-proxy then routes it),
        // reconciling while up runs, as a cloud's controller would.
        String patch = "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"" + address + "\"}]}}}";
        Process balancer = new ProcessBuilder("bash", "-c", "while sleep 1; do kubectl --context " + REMOTE.context()
                + " -n traefik get service traefik -o jsonpath='{.status.loadBalancer}' 2>/dev/null | grep -q '\"" + address + "\"'"
                + " || kubectl --context " + REMOTE.context() + " -n traefik patch service traefik --subresource=status --type=merge -p '"
                + patch + "'; done").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long t = System.nanoTime();
        Support.Result r;
        try {
            r = deploy(Map.of("DOCKER_CONFIG", goodLogin.toString()), "--verbose", "up", "--context", REMOTE.context(), "--registry", PRIVATE + "/hello-world",
                    "--base-image", "docker://" + Lab.BASE_IMAGE, "--timeout", "4m");
        } finally {
            balancer.destroy();
        }
        System.out.printf("    e2e-registry: up --context took %ds%n", seconds(t));
        assertEquals(0, r.exit(), "up --context failed:\n" + r.both());
        URI url = URI.create("http://" + address + "/");
        assertTrue(r.out().contains("Hello World is served at " + url), "the URL the Ingress published:\n" + r.out());
        assertEquals("Hello World", Support.get(url).body().strip());
        assertTrue(r.both().lines().noneMatch(l -> l.startsWith("   $ kind ")), "no kind command:\n" + r.both());

        var running = images(REMOTE);
        for (int i = 0; i < Support.SERVICES.size(); i++) {
            String s = Support.SERVICES.get(i);
            String pushed = registryDigest("hello-world/" + s);
            assertTrue(running.get(i).matches(java.util.regex.Pattern.quote(PRIVATE + "/hello-world/" + s) + ":[0-9a-f]{16}@"
                    + java.util.regex.Pattern.quote(pushed)), "runs exactly what was pushed (" + pushed + "): " + running.get(i));
        }
        var status = deploy(Map.of(), "status", "--context", REMOTE.context(), "--url", url.toString());
        assertEquals(0, status.exit(), status.both());
        assertTrue(status.out().contains(url + " → Hello World"), status.out());
    }

    @Test
    @Order(4)
    void d_down_context_removes_what_up_applied_and_leaves_the_cluster() {
        requireLab();
        assumeTrue(REMOTE.kubectl("get", "namespace", "hello-world").exit() == 0, "up --context did not run (see its failure)");
        var first = deploy(Map.of(), "down", "--context", REMOTE.context());
        assertEquals(0, first.exit(), first.both());
        assertTrue(first.err().contains("namespace hello-world"), first.err());
        assertFalse(REMOTE.kubectl("get", "namespace", "hello-world").exit() == 0, "the app's namespace is gone");
        assertFalse(REMOTE.kubectl("get", "ingressclass", "traefik").exit() == 0, "deploy.java's ingress controller is gone");
        var nodes = REMOTE.kubectl("get", "nodes", "-o", "name");
        assertEquals(0, nodes.exit(), "the cluster is still there: " + nodes.both());
        assertTrue(REMOTE.kind("get", "clusters").out().lines().anyMatch(REMOTE.cluster::equals));
        var again = deploy(Map.of(), "down", "--context", REMOTE.context());
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains("nothing of deploy.java's is left there"), again.err());
    }

    @Test
    @Order(5)
    void the_password_is_in_no_output() {
        requireLab();
        assumeTrue(!outputs.isEmpty(), "nothing ran");
        String encoded = Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        for (String out : outputs) {
            assertFalse(out.contains(PASSWORD) || out.contains(encoded), "the password is printed:\n" + out);
        }
    }

    // ---- (e) needs no cluster

    @Test
    @Order(6)
    void e_context_without_registry_is_a_usage_error() {
        var r = Support.run(List.of("jbang", "deploy.java", "up", "--context", "kind-anything"), Map.of(), Duration.ofMinutes(2));
        assertEquals(2, r.exit(), r.both());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("ERROR:")).count(), r.err());
        assertTrue(r.err().contains("--context needs --registry"), r.err());
    }

    // ---- helpers

    static void requireLab() {
        assumeTrue(missing == null, missing);
    }

    /**
     * The second cluster, made as its owner would: plain kind, then what the owner does so that its nodes pull from a
     * private registry — the registry on the nodes' network and named in a hosts.toml, the login in the kubelet's
     * config.json (kind's "private registries" recipe). deploy.java itself never hands a login to a cluster.
     */
    static void remoteCluster() throws IOException, InterruptedException {
        if (REMOTE.kind("get", "clusters").out().lines().anyMatch(REMOTE.cluster::equals)) return;
        Path auth = Files.createTempDirectory("hw-registry-e2e-auth");
        // containerd 1.x (the lab's v1.34 node) reads hosts.toml files only when told where (kind's recipe).
        Files.writeString(auth.resolve("kind.yaml"), """
                kind: Cluster
                apiVersion: kind.x-k8s.io/v1alpha4
                containerdConfigPatches:
                  - |-
                    [plugins."io.containerd.grpc.v1.cri".registry]
                      config_path = "/etc/containerd/certs.d"
                """);
        var created = REMOTE.kind("create", "cluster", "--name", REMOTE.cluster, "--image", REMOTE.nodeImage,
                "--config", auth.resolve("kind.yaml").toString(), "--wait", "120s");
        assertEquals(0, created.exit(), created.both());
        var htpasswd = Support.run(List.of("htpasswd", "-Bbn", USER, PASSWORD), Map.of(), Duration.ofSeconds(30));
        assertEquals(0, htpasswd.exit(), "htpasswd failed");
        Files.writeString(auth.resolve("htpasswd"), htpasswd.out());
        var run = Lab.docker("run", "-d", "--name", PRIVATE_NAME, "--network", "kind", "-p", "127.0.0.1:" + PRIVATE_REGISTRY + ":5000",
                "-v", auth + ":/auth:ro", "-e", "REGISTRY_AUTH=htpasswd", "-e", "REGISTRY_AUTH_HTPASSWD_REALM=e2e",
                "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd", "registry:3");
        assertEquals(0, run.exit(), run.both());
        String node = REMOTE.cluster + "-control-plane", dir = "/etc/containerd/certs.d/" + PRIVATE;
        Path hosts = auth.resolve("hosts.toml"), kubelet = auth.resolve("config.json");
        Files.writeString(hosts, "[host.\"http://" + PRIVATE_NAME + ":5000\"]\n");
        Files.writeString(kubelet, Files.readString(goodLogin.resolve("config.json")));
        for (var command : List.of(List.of("exec", node, "mkdir", "-p", dir), List.of("cp", hosts.toString(), node + ":" + dir + "/hosts.toml"),
                List.of("cp", kubelet.toString(), node + ":/var/lib/kubelet/config.json"), List.of("exec", node, "systemctl", "restart", "kubelet"))) {
            var ran = Lab.docker(command.toArray(String[]::new));
            assertEquals(0, ran.exit(), command + ": " + ran.both());
        }
        var ready = REMOTE.kubectl("wait", "node", "--all", "--for=condition=Ready", "--timeout=120s");
        assertEquals(0, ready.exit(), ready.both());
    }

    /** A Docker config.json holding a login for the private registry. */
    static Path login(String password) throws IOException {
        Path dir = Files.createTempDirectory("hw-registry-e2e-docker");
        String auth = Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
        Files.writeString(dir.resolve("config.json"), "{\"auths\": {\"" + PRIVATE + "\": {\"auth\": \"" + auth + "\"}}}");
        return dir;
    }

    /** The digest the private registry holds for a repository's one tag, asked over its API with the login. */
    static String registryDigest(String repository) throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        var tags = Support.HTTP.send(HttpRequest.newBuilder(URI.create("http://" + PRIVATE + "/v2/" + repository + "/tags/list"))
                .header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString());
        Matcher tag = Pattern.compile("\"tags\":\\[\"([^\"]+)\"").matcher(tags.body());
        assertTrue(tag.find(), tags.body());
        var manifest = Support.HTTP.send(HttpRequest.newBuilder(URI.create("http://" + PRIVATE + "/v2/" + repository + "/manifests/" + tag.group(1)))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Authorization", auth)
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").build(), HttpResponse.BodyHandlers.discarding());
        return manifest.headers().firstValue("Docker-Content-Digest").orElseThrow();
    }

    /** The image of each service's Deployment, in the services' order. */
    static List<String> images(Lab lab) {
        var images = new ArrayList<String>();
        for (String s : Support.SERVICES) {
            images.add(lab.kubectl("-n", "hello-world", "get", "deployment", s, "-o", "jsonpath={.spec.template.spec.containers[0].image}").out().strip());
        }
        return images;
    }

    /** deploy.java run from the copy of the checkout; every output is kept for the password check. */
    static Support.Result deploy(Map<String, String> env, String... args) {
        var command = Support.command(List.of("env", "-C", copy.toString(), "jbang", "deploy.java"), args);
        var r = Support.run(command, env, Duration.ofMinutes(12));
        synchronized (outputs) {
            outputs.add(r.both());
        }
        return r;
    }

    static long seconds(long startNanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    }
}
