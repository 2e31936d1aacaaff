import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * profiles, checked object by object (the way in, Ingress and Traefik: IngressTest; what the profiles change:
 * ManifestsProfilesTest; Pod Security and NetworkPolicy: ManifestsSecurityTest). (E2eTest has a real API server check
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
                // dev probes readiness from a container's start, for its edit -> served loop (ManifestsProfilesTest).
                if (profile.equals("prod")) assertEquals(Map.of("path", "/healthz", "port", "http"), at(c, "startupProbe.httpGet"), where);
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

                // Graceful rollout: the pod leaves the endpoints during preStop (prod), serves on
                // while requests still come (SHUTDOWN_QUIET_MS), then drains what is in
                // flight, both within SHUTDOWN_GRACE_SECONDS, all within the grace period.
                // prod's nodes need seconds to drop a pod; dev's one node about one, which
                // the quiet period alone covers (E2eTest and E2eDevTest roll pods under load).
                var env = environment(objects, c);
                boolean prod = profile.equals("prod");
                int preStop = prod ? (Integer) at(c, "lifecycle.preStop.sleep.seconds") : 0, least = prod ? 3 : 0;
                int drain = Integer.parseInt(env.get("SHUTDOWN_GRACE_SECONDS"));
                int grace = (Integer) spec.get("terminationGracePeriodSeconds");
                assertTrue(preStop >= least && grace > preStop + drain, where + preStop + " + " + drain + " < " + grace);
                assertTrue(Integer.parseInt(env.get("SHUTDOWN_QUIET_MS")) >= 1000, where + "SHUTDOWN_QUIET_MS: " + env);
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
            Support.copyTree(MANIFESTS, copy);
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
}
