import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 without a cluster: {@code --registry} and {@code --registry local} with fake kind, kubectl and docker first
 * on PATH (each records its arguments, as in DeployPlanTest), and Jib pushing for real to a small in-process registry
 * (FakeRegistry) that speaks the distribution API (blobs and manifests, optional Basic auth) and counts the bytes it is
 * sent. The images are built on Jib's empty "scratch" base; the "ingress" is a tiny Hello World server.
 * {@code --context}: DeployContextTest. tests/E2eRegistryTest.java does the same against a real registry and real kind clusters.
 */
class DeployRegistryTest extends RegistryFakes {
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
        Support.deleteTree(Support.ROOT.resolve("build/images/pushed"));
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
        var errors = errorLines(r);
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
        assertTrue(errorLines(refused).getFirst().contains(host + " refused the push"), refused.both());
        assertTrue(refused.err().contains("--insecure-registry"), "names the way out:\n" + refused.err());
        assertEquals(0, registry.blobBytes.get(), "nothing went over plain HTTP");
        var allowed = deploy("images", "--base-image", "scratch", "--registry", host, "--insecure-registry");
        assertEquals(0, allowed.exit(), allowed.both());
    }

    @Test
    void a_registry_that_does_not_answer_or_does_not_resolve_is_one_error_line_with_the_fix() throws IOException {
        String address = nonLoopbackAddress();
        assumeTrue(address != null, "this machine has no non-loopback IPv4 address");
        int closed;
        try (var socket = new ServerSocket(0, 1, InetAddress.getByName(address))) {
            closed = socket.getLocalPort();
        }
        String host = address + ":" + closed;
        var nothing = deploy("images", "--base-image", "scratch", "--registry", host);
        assertEquals(1, nothing.exit(), nothing.both());
        assertEquals(List.of("ERROR: " + host + " refused the push of hello, world, joiner (nothing answers there): check the address, and that the registry runs"),
                errorLines(nothing), nothing.both());
        var unknown = deploy("images", "--base-image", "scratch", "--registry", "registry.invalid/acme");
        assertEquals(1, unknown.exit(), unknown.both());
        assertEquals(List.of("ERROR: registry.invalid refused the push of hello, world, joiner (the name does not resolve): check the address"),
                errorLines(unknown), unknown.both());
        assertFalse(nothing.err().contains("\tat ") || unknown.err().contains("\tat "), "no stack trace:\n" + nothing.err() + unknown.err());
    }

    // ---- --registry local: kind's local-registry pattern

    @Test
    void up_registry_local_starts_the_registry_wires_the_cluster_loads_nothing_and_a_rerun_finds_all_present() {
        String local = "local:" + registry.port();
        var r = up("--registry", local, "--port", Integer.toString(ingress.getAddress().getPort()));
        assertEquals(0, r.exit(), r.both());
        String name = "kind-registry-" + registry.port(), dir = "/etc/containerd/certs.d/" + registry.host();
        List<String> calls = calls();
        assertInOrder(calls, List.of(
                "docker inspect -f {{.State.Running}} " + name,
                "docker run -d --restart=always --name " + name + " -p 127.0.0.1:" + registry.port() + ":5000 registry:3",
                "kind create cluster",
                "docker network connect kind " + name,
                "docker exec hello-world-control-plane mkdir -p " + dir,
                "docker cp ",
                "kubectl --context kind-hello-world apply -f ",
                "kubectl --context kind-hello-world apply -k " + Support.ROOT + "/manifests/ingress",
                "kubectl --context kind-hello-world apply -k " + Support.ROOT + "/build/kustomize/dev"));
        assertTrue(calls.stream().noneMatch(c -> c.contains(" images import ") || c.startsWith("kind load")), "nothing loaded: " + calls);
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
}
