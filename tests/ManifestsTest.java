import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * manifests/base and the overlays: what {@code kubectl kustomize} renders for both
 * profiles, checked object by object (the way in, Ingress and Traefik: IngressTest). (E2eTest has a real API server check
 * them all against Kubernetes' own schema with {@code kubectl apply --dry-run=server}.)
 */
class ManifestsTest extends Manifests {
    static final List<String> SERVICES = Support.SERVICES;

    @TempDir
    Path tmp;

    @Test
    void both_profiles_render_every_service_in_the_app_namespace() {
        for (String profile : List.of("dev", "prod")) {
            var objects = overlay(profile);
            for (String s : SERVICES) {
                find(objects, "Deployment", s);
                find(objects, "Service", s);
            }
            assertEquals(Set.copyOf(SERVICES), Set.copyOf(all(objects, "Deployment").stream().map(d -> at(d, "metadata.name")).toList()),
                    profile + ": Support.SERVICES (X.yaml with an X.java) are the app's Deployments");
            find(objects, "Namespace", "hello-world");
            find(objects, "Ingress", "hello-world");
            assertEquals(5, all(objects, "NetworkPolicy").size(), profile);
            for (var o : objects) {
                if (!kind(o).equals("Namespace")) assertEquals("hello-world", at(o, "metadata.namespace"), profile + " " + id(o));
                assertEquals("hello-world", labels(o).get(PART_OF), profile + " " + id(o));
            }
        }
    }

    /** The rule the tests and deploy.java share: a listed X.yaml with an X.java at the root is a service. */
    @Test
    void the_services_are_the_listed_manifests_that_have_a_java_source_in_their_order() throws IOException {
        Files.createDirectories(tmp.resolve("manifests/base"));
        Files.writeString(tmp.resolve("manifests/base/kustomization.yaml"),
                "resources:\n  - namespace.yaml\n  - zeta.yaml\n  - alpha.yaml\n  - policies.yaml\n  - extra/\n");
        for (String source : List.of("alpha.java", "zeta.java", "namespace.txt", "other.java")) Files.writeString(tmp.resolve(source), "");
        assertEquals(List.of("zeta", "alpha"), Support.services(tmp));
    }

    @Test
    void every_deployment_is_labelled_probed_sized_and_hardened() {
        for (String profile : List.of("dev", "prod")) {
            var objects = overlay(profile);
            Object hardening = null;
            for (String s : SERVICES) {
                var d = find(objects, "Deployment", s);
                String where = profile + " " + s + ": ";
                assertEquals(Map.of(NAME, s), at(d, "spec.selector.matchLabels"), where + "selector is the name alone");
                var pod = map(at(d, "spec.template"));
                for (var labels : List.of(labels(d), labels(pod))) {
                    assertEquals(s, labels.get(NAME), where + labels);
                    assertEquals("hello-world", labels.get(PART_OF), where + labels);
                    assertEquals(s.equals("joiner") ? "frontend" : "backend", labels.get(COMPONENT), where + labels);
                }
                assertEquals(0, at(d, "spec.strategy.rollingUpdate.maxUnavailable"), where + "rollouts never go below the replica count");

                var spec = map(pod.get("spec"));
                assertEquals(false, spec.get("automountServiceAccountToken"), where);
                assertEquals(false, spec.get("enableServiceLinks"), where);
                assertEquals(true, at(spec, "securityContext.runAsNonRoot"), where);
                assertEquals(65532, at(spec, "securityContext.runAsUser"), where);
                assertEquals(65532, at(spec, "securityContext.runAsGroup"), where);
                assertEquals("RuntimeDefault", at(spec, "securityContext.seccompProfile.type"), where);

                var containers = list(spec.get("containers"));
                assertEquals(1, containers.size(), where + "the overlays patch containers/0");
                var c = map(containers.get(0));
                assertEquals(s, c.get("name"), where);
                assertEquals(s, c.get("image"), where + "image names are the contract with deploy.java's Kustomize images");
                assertEquals(Map.of("allowPrivilegeEscalation", false, "readOnlyRootFilesystem", true,
                        "capabilities", Map.of("drop", List.of("ALL"))), c.get("securityContext"), where);
                if (hardening == null) hardening = List.of(spec.get("securityContext"), c.get("securityContext"));
                assertEquals(hardening, List.of(spec.get("securityContext"), c.get("securityContext")), where + "one hardening block for all");

                var port = map(list(c.get("ports")).get(0));
                assertEquals("http", port.get("name"), where);
                assertEquals(Support.port(s), port.get("containerPort"), where);
                assertEquals(Map.of("path", "/healthz", "port", "http"), at(c, "startupProbe.httpGet"), where);
                assertEquals(Map.of("path", "/readyz", "port", "http"), at(c, "readinessProbe.httpGet"), where);
                assertEquals(Map.of("path", "/healthz", "port", "http"), at(c, "livenessProbe.httpGet"), where);

                var resources = assertBounded(c, where);
                assertEquals(1.0, quantity(at(resources, "limits.cpu")), where + "may use a whole CPU, never more");
                // The kubelet keeps up to 5 x 10Mi of a container's log (its defaults): with a full /tmp, a pod that
                // only logs stays under its limit, so only a flood faster than rotation gets it evicted.
                double logs = 5 * quantity("10Mi"), tmp = quantity(at(list(spec.get("volumes")).get(0), "emptyDir.sizeLimit"));
                assertTrue(quantity(at(resources, "limits.ephemeral-storage")) >= logs + tmp, where + "ephemeral-storage limit " + resources);

                // The tmp volume is an emptyDir: the root filesystem is read-only.
                var mounts = list(c.get("volumeMounts"));
                assertEquals(List.of(Map.of("name", "tmp", "mountPath", "/tmp")), mounts, where);
                assertEquals(Map.of("name", "tmp", "emptyDir", Map.of("sizeLimit", "16Mi")), list(spec.get("volumes")).get(0), where);

                // Graceful rollout: the pod leaves the endpoints during preStop, then
                // drains for SHUTDOWN_GRACE_SECONDS, all within the grace period.
                var env = environment(objects, c);
                int preStop = (Integer) at(c, "lifecycle.preStop.sleep.seconds");
                int drain = Integer.parseInt(env.get("SHUTDOWN_GRACE_SECONDS"));
                int grace = (Integer) spec.get("terminationGracePeriodSeconds");
                assertTrue(preStop >= 3 && grace > preStop + drain, where + preStop + " + " + drain + " < " + grace);
                assertEquals("0.0.0.0", env.get("HOST"), where);
                // JVM flags are stated once, in the image (JVM_FLAGS in deploy/Image.java; DeployImagesTest checks them).
                assertFalse(env.containsKey("JAVA_TOOL_OPTIONS"), where + "JVM flags belong to the image: " + env);
            }
        }
    }

    @Test
    void services_are_named_like_their_app_and_target_the_named_port() {
        var objects = overlay("dev");
        for (String s : SERVICES) {
            var svc = find(objects, "Service", s);
            assertEquals(Map.of(NAME, s), at(svc, "spec.selector"), s);
            assertEquals(List.of(Map.of("name", "http", "protocol", "TCP", "port", Support.port(s), "targetPort", "http")),
                    at(svc, "spec.ports"), s);
            var c = container(find(objects, "Deployment", s));
            assertEquals(String.valueOf(Support.port(s)), environment(objects, c).get("PORT"), s + ": PORT is text, as env values must be");
        }
        var joiner = environment(objects, container(find(objects, "Deployment", "joiner")));
        assertEquals("hello:" + Support.port("hello"), joiner.get("HELLO_SERVICE"));
        assertEquals("world:" + Support.port("world"), joiner.get("WORLD_SERVICE"));
    }

    /**
     * The README's promise: a service's port is written once, as its Service's port, and changing
     * that value moves everything: no rendered object of either profile keeps the old number.
     */
    @Test
    void each_port_is_written_once_and_changing_it_rewires_everything() throws IOException {
        for (String s : SERVICES) {
            int old = Support.port(s), moved = 40000 + SERVICES.indexOf(s);
            Path copy = tmp.resolve(s + "/manifests");
            copyTree(MANIFESTS, copy);
            Path file = copy.resolve("base/" + s + ".yaml");
            Matcher port = Pattern.compile("(?m)^(\\s+port: )" + old + "\\b").matcher(Files.readString(file));
            assertTrue(port.find(), s + ": no `port: " + old + "` in base/" + s + ".yaml");
            Files.writeString(file, port.replaceFirst("$1" + moved));

            for (String profile : List.of("dev", "prod")) {
                var objects = render(copy.resolve("overlays/" + profile));
                String where = profile + ", " + s + "'s port moved from " + old + " to " + moved + ": ";
                var stale = new ArrayList<String>();
                for (var o : objects) mentions(o, old, id(o), stale);
                assertEquals(List.of(), stale, where + "values still holding the old port");
                var c = container(find(objects, "Deployment", s));
                assertEquals(moved, map(list(c.get("ports")).get(0)).get("containerPort"), where);
                assertEquals(String.valueOf(moved), environment(objects, c).get("PORT"), where);
                var upstreams = environment(objects, container(find(objects, "Deployment", "joiner")));
                String variable = s.toUpperCase() + "_SERVICE";
                if (upstreams.containsKey(variable)) assertEquals(s + ":" + moved, upstreams.get(variable), where);
                for (String other : SERVICES) {
                    assertEquals(other.equals(s) ? moved : Support.port(other),
                            map(list(at(find(objects, "Service", other), "spec.ports")).get(0)).get("port"), where + other);
                }
            }
        }
    }

    /** Where a rendered value is the number, or text holding it as a word: "path: value". */
    static void mentions(Object node, int number, String path, List<String> found) {
        if (node instanceof Map<?, ?> m) m.forEach((k, v) -> mentions(v, number, path + "." + k, found));
        else if (node instanceof List<?> l) for (int i = 0; i < l.size(); i++) mentions(l.get(i), number, path + "[" + i + "]", found);
        else if (Objects.equals(node, number) || (node instanceof String t && t.matches(".*\\b" + number + "\\b.*"))) found.add(path + ": " + node);
    }

    @Test
    void profiles_differ_in_replicas_cpu_pull_policy_spread_and_disruption_budgets() {
        var dev = overlay("dev");
        var prod = overlay("prod");
        for (String s : SERVICES) {
            var d = find(dev, "Deployment", s);
            var p = find(prod, "Deployment", s);
            assertEquals(1, at(d, "spec.replicas"), s);
            assertEquals(2, at(p, "spec.replicas"), s);
            assertEquals("100m", at(container(d), "resources.requests.cpu"), s);
            assertEquals("200m", at(container(p), "resources.requests.cpu"), s);
            assertEquals("Never", container(d).get("imagePullPolicy"), s + ": dev images come only from kind load");
            assertEquals("IfNotPresent", container(p).get("imagePullPolicy"), s);
            assertNull(at(d, "spec.template.spec.topologySpreadConstraints"), s);
            assertEquals(List.of(Map.of("maxSkew", 1, "topologyKey", "kubernetes.io/hostname",
                            "whenUnsatisfiable", "ScheduleAnyway",
                            "labelSelector", Map.of("matchLabels", Map.of(PART_OF, "hello-world")),
                            "matchLabelKeys", List.of(NAME, "pod-template-hash"))),
                    at(p, "spec.template.spec.topologySpreadConstraints"), s);

            var pdb = find(prod, "PodDisruptionBudget", s);
            assertEquals(Map.of(NAME, s), at(pdb, "spec.selector.matchLabels"), s);
            assertEquals(1, at(pdb, "spec.maxUnavailable"), s + ": one pod of two may go, one always serves");

            // Apart from those, the two profiles are the same Deployment.
            var dc = deepCopy(d);
            var pc = deepCopy(p);
            for (var x : List.of(dc, pc)) {
                map(x.get("spec")).remove("replicas");
                map(at(x, "spec.template.spec")).remove("topologySpreadConstraints");
                container(x).remove("imagePullPolicy");
                map(at(container(x), "resources.requests")).remove("cpu");
                container(x).remove("envFrom"); // the ConfigMap's name carries a hash of its content: compared below
            }
            assertEquals(dc, pc, s + ": profiles must differ only by their patches");
        }
        // The services' shared environment differs by one line: dev logs each request (dev and logs show them).
        var devEnv = data(all(dev, "ConfigMap").getFirst());
        var prodEnv = data(all(prod, "ConfigMap").getFirst());
        assertEquals("true", devEnv.remove("ACCESS_LOG"), "dev's service-env turns the access log on");
        assertNull(prodEnv.get("ACCESS_LOG"), "prod logs no request");
        assertEquals(prodEnv, devEnv, "service-env: the same in both profiles but ACCESS_LOG");
        assertTrue(all(dev, "PodDisruptionBudget").isEmpty());
        assertEquals(3, all(prod, "PodDisruptionBudget").size());
    }

    /**
     * prod runs on a laptop's kind: a control plane and 2 workers sharing 2 cores, each worker offering the scheduler
     * both. When one worker is drained, the other must hold every pod, and during a rollout of all three at once, each
     * Deployment's surge pod too; kindnetd asks 100m of each node (kube-proxy nothing). (It was 6 CPUs, and stayed Pending.)
     */
    @Test
    void prod_fits_on_one_worker_of_a_two_core_laptop_with_every_rollout_surging() {
        double worker = 2.0, daemons = 0.1, requested = 0;
        var sum = new ArrayList<String>();
        for (var d : all(overlay("prod"), "Deployment")) {
            int pods = (Integer) at(d, "spec.replicas") + (Integer) at(d, "spec.strategy.rollingUpdate.maxSurge");
            Object cpu = at(container(d), "resources.requests.cpu");
            requested += pods * quantity(cpu);
            sum.add(pods + " x " + cpu + " (" + at(d, "metadata.name") + ")");
        }
        assertTrue(requested + daemons <= worker, String.join(" + ", sum) + " + " + daemons + " for the node's daemons > " + worker + " CPUs");
    }

    @Test
    void the_namespace_enforces_restricted_pod_security() {
        var ns = labels(find(overlay("dev"), "Namespace", "hello-world"));
        for (String mode : List.of("enforce", "audit", "warn")) {
            assertEquals("restricted", ns.get("pod-security.kubernetes.io/" + mode), mode);
        }
    }

    /** Reads the policies as a graph and compares it with the one the app needs. */
    @Test
    void network_policies_allow_exactly_ingress_controller_to_joiner_to_hello_and_world() {
        var objects = overlay("dev");
        var policies = all(objects, "NetworkPolicy");
        var deny = find(objects, "NetworkPolicy", "default-deny");
        assertEquals(Map.of(), at(deny, "spec.podSelector"), "the default deny selects every pod");
        assertEquals(List.of("Ingress", "Egress"), at(deny, "spec.policyTypes"));
        assertNull(at(deny, "spec.ingress"));
        assertNull(at(deny, "spec.egress"));

        var allowed = new ArrayList<String>();
        for (var p : policies) {
            var selected = map(at(p, "spec.podSelector")).isEmpty() ? "*" : map(at(p, "spec.podSelector.matchLabels")).get(NAME);
            for (String direction : List.of("ingress", "egress")) {
                var rules = (List<?>) at(p, "spec." + direction);
                if (rules == null) continue;
                assertTrue(list(at(p, "spec.policyTypes")).contains(direction.equals("ingress") ? "Ingress" : "Egress"), id(p));
                for (var rule : rules) {
                    var peers = list(map(rule).get(direction.equals("ingress") ? "from" : "to"));
                    var ports = list(map(rule).get("ports")).stream().map(o -> map(o).get("protocol") + "/" + map(o).get("port")).toList();
                    for (var peer : peers) {
                        String other = describePeer(map(peer));
                        allowed.add(direction.equals("ingress") ? other + " -> " + selected + " " + ports : selected + " -> " + other + " " + ports);
                    }
                }
            }
        }
        assertEquals(List.of(
                "joiner -> namespace kube-system pod kube-dns [UDP/53, TCP/53]",
                "joiner -> pod hello [TCP/http]",
                "joiner -> pod world [TCP/http]",
                "namespace traefik -> joiner [TCP/http]",
                "pod joiner -> hello [TCP/http]",
                "pod joiner -> world [TCP/http]"), allowed.stream().sorted().toList());

        // Every named port a policy opens exists on the pods it is about.
        for (String s : SERVICES) {
            assertEquals("http", map(list(container(find(objects, "Deployment", s)).get("ports")).get(0)).get("name"));
        }
    }

    /** What deploy.java does: a kustomization on top of an overlay that sets each image's tag. */
    @Test
    void tagging_the_images_leaves_no_untagged_or_latest_image() throws IOException {
        for (String profile : List.of("dev", "prod")) {
            Path dir = Files.createDirectories(tmp.resolve(profile));
            // Kustomize refuses an absolute path to another kustomization: relative it is.
            var images = new StringBuilder();
            for (String s : SERVICES) images.append("  - name: ").append(s).append("\n    newTag: 0123abcd\n");
            Files.writeString(dir.resolve("kustomization.yaml"), "resources:\n  - "
                    + dir.relativize(MANIFESTS.resolve("overlays/" + profile)) + "\nimages:\n" + images);
            for (var d : all(render(dir), "Deployment")) {
                assertEquals(at(d, "metadata.name") + ":0123abcd", container(d).get("image"), profile);
            }
        }
    }

    static String describePeer(Map<String, Object> peer) {
        var parts = new ArrayList<String>();
        var ns = at(peer, "namespaceSelector.matchLabels");
        if (ns != null) parts.add("namespace " + map(ns).get("kubernetes.io/metadata.name"));
        var pod = at(peer, "podSelector.matchLabels");
        if (pod != null) parts.add("pod " + map(pod).getOrDefault(NAME, map(pod).get("k8s-app")));
        assertFalse(parts.isEmpty(), "a peer that allows everything: " + peer);
        assertTrue(peer.keySet().stream().allMatch(k -> k.equals("namespaceSelector") || k.equals("podSelector")), "ipBlock peers: " + peer);
        return String.join(" ", parts);
    }

    private static Map<String, Object> data(Map<String, Object> configMap) {
        return new java.util.TreeMap<>(map(configMap.get("data")));
    }
}
