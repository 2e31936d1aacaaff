import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code --context}: deploy.java on any cluster, no kind. With the fakes and the registry of RegistryFakes;
 * tests/E2eRegistryTest.java does the same on a real kind cluster.
 */
class DeployContextTest extends RegistryFakes {
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
        assertInOrder(calls, List.of(
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
            assertEquals(1, errorLines(r).size(), r.both());
            assertEquals(List.of(), calls(), "nothing ran");
        }
    }
}
