import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The way in, from host port 80 to joiner: the kind cluster's port mapping (manifests/kind),
 * the Traefik ingress controller on that node (manifests/ingress) and the app's Ingress.
 */
class IngressTest extends Manifests {
    static final String TRAEFIK_IMAGE = "docker.io/library/traefik:v3.6.12";

    @Test
    void the_ingress_routes_everything_to_joiner_through_the_traefik_class() {
        var ingress = find(overlay("dev"), "Ingress", "hello-world");
        assertEquals("traefik", at(ingress, "spec.ingressClassName"));
        var rules = list(at(ingress, "spec.rules"));
        assertEquals(1, rules.size());
        assertNull(map(rules.get(0)).get("host"), "any host: localhost, 127.0.0.1 or a name");
        assertEquals(List.of(Map.of("path", "/", "pathType", "Prefix",
                        "backend", Map.of("service", Map.of("name", "joiner", "port", Map.of("name", "http"))))),
                at(rules.get(0), "http.paths"));
        var ingressClass = find(ingressController(), "IngressClass", "traefik");
        assertEquals("traefik.io/ingress-controller", at(ingressClass, "spec.controller"));
    }

    @Test
    void the_ingress_controller_is_pinned_least_privileged_and_on_the_labelled_node() {
        var objects = ingressController();
        var ns = find(objects, "Namespace", "traefik");
        // hostPort is beyond even "baseline", so this namespace cannot be restricted.
        assertEquals("privileged", labels(ns).get("pod-security.kubernetes.io/enforce"));

        var d = find(objects, "Deployment", "traefik");
        assertEquals("traefik", at(d, "metadata.namespace"));
        assertEquals(Map.of(NAME, "traefik"), at(d, "spec.selector.matchLabels"));
        assertEquals(0, at(d, "spec.strategy.rollingUpdate.maxSurge"), "a surge pod could never bind the taken hostPort");
        var spec = map(at(d, "spec.template.spec"));
        assertEquals(Map.of("ingress-ready", "true"), spec.get("nodeSelector"));
        assertTrue(list(spec.get("tolerations")).contains(Map.of("key", "node-role.kubernetes.io/control-plane",
                "operator", "Exists", "effect", "NoSchedule")));
        var c = container(d);
        assertEquals(TRAEFIK_IMAGE, c.get("image"));
        var args = list(c.get("args"));
        for (String arg : List.of("--providers.kubernetesingress=true", "--providers.kubernetesingress.ingressclass=traefik",
                "--providers.kubernetesingress.allowemptyservices=true", "--entrypoints.web.address=:8000", "--ping=true", "--global.checknewversion=false",
                "--global.sendanonymoususage=false")) {
            assertTrue(args.contains(arg), arg + " in " + args);
        }
        assertFalse(args.stream().anyMatch(a -> a.toString().startsWith("--api")), "no dashboard");
        var web = map(list(c.get("ports")).get(0));
        assertEquals(Map.of("name", "web", "containerPort", 8000, "hostPort", kindPortMapping().get("containerPort"), "protocol", "TCP"), web,
                "Traefik's hostPort is the kind node port that the host port maps to");
        assertEquals(Map.of("path", "/ping", "port", "ping"), at(c, "readinessProbe.httpGet"));
        assertBounded(c, "traefik: ");

        // The same hardening block as the app's pods: non-root needs no capability
        // because it listens on 8000; hostPort maps the node's port 80 to it.
        var app = find(overlay("dev"), "Deployment", "hello");
        assertEquals(at(app, "spec.template.spec.securityContext"), spec.get("securityContext"));
        assertEquals(container(app).get("securityContext"), c.get("securityContext"));
        assertEquals(true, spec.get("automountServiceAccountToken"), "it watches the API");
        assertEquals("traefik", spec.get("serviceAccountName"));

        // RBAC: read-only list/watch on what the Ingress provider watches, plus Ingress status.
        var role = find(objects, "ClusterRole", "traefik-ingress");
        var granted = new ArrayList<String>();
        for (var rule : list(role.get("rules"))) {
            for (var group : list(map(rule).get("apiGroups"))) {
                for (var resource : list(map(rule).get("resources"))) {
                    granted.add(group + "/" + resource + " " + map(rule).get("verbs"));
                }
            }
        }
        assertEquals(Set.of(
                "networking.k8s.io/ingresses [list, watch]",
                "networking.k8s.io/ingressclasses [list, watch]",
                "networking.k8s.io/ingresses/status [update]",
                "/services [list, watch]",
                "/secrets [list, watch]",
                "discovery.k8s.io/endpointslices [list, watch]",
                "/nodes [list, watch]"), new HashSet<>(granted), granted.toString());
        var binding = find(objects, "ClusterRoleBinding", "traefik-ingress");
        assertEquals(Map.of("apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name", "traefik-ingress"), binding.get("roleRef"));
        assertEquals(List.of(Map.of("kind", "ServiceAccount", "name", "traefik", "namespace", "traefik")), binding.get("subjects"));
        find(objects, "ServiceAccount", "traefik");
    }

    /**
     * Issue 13: a request Traefik could not send to the joiner pod it picked (killed, its endpoint not yet gone)
     * goes to another. The Retry middleware comes from Traefik's file provider, fed by a ConfigMap, and is attached
     * to the web entrypoint, so the app's Ingress needs no Traefik annotation (and no CRDs are needed).
     */
    @Test
    void the_ingress_controller_retries_a_request_it_could_not_send() {
        var objects = ingressController();
        var d = find(objects, "Deployment", "traefik");
        var args = list(container(d).get("args"));
        assertTrue(args.contains("--entrypoints.web.http.middlewares=retry@file"), "every route through web gets the retry: " + args);
        String file = args.stream().map(String::valueOf).filter(a -> a.startsWith("--providers.file.filename=")).findFirst()
                .map(a -> a.substring(a.indexOf('=') + 1)).orElseGet(() -> fail("no file provider in " + args));

        // The file is a key of a ConfigMap mounted where the flag looks.
        var mount = list(container(d).get("volumeMounts")).stream().map(Manifests::map)
                .filter(m -> file.startsWith(m.get("mountPath") + "/")).findFirst().orElseGet(() -> fail("nothing mounted at " + file));
        assertEquals(true, mount.get("readOnly"));
        var volume = list(at(d, "spec.template.spec.volumes")).stream().map(Manifests::map)
                .filter(v -> v.get("name").equals(mount.get("name"))).findFirst().orElseThrow();
        var configMap = find(objects, "ConfigMap", (String) at(volume, "configMap.name"));
        String key = file.substring(((String) mount.get("mountPath")).length() + 1);
        var dynamic = map(Support.yaml((String) map(configMap.get("data")).get(key)).getFirst());

        var retry = map(at(dynamic, "http.middlewares.retry.retry"));
        int attempts = (Integer) retry.get("attempts");
        assertTrue(attempts >= 2 && attempts <= 4, "one try and one to three more, not a storm: " + retry);
        assertTrue(seconds(retry.get("initialInterval")) <= 0.5, "a retry waits less than a client would: " + retry);
        assertEquals(Set.of("retry"), map(at(dynamic, "http.middlewares")).keySet());
        assertNull(at(find(overlay("prod"), "Ingress", "hello-world"), "metadata.annotations"), "the app's Ingress stays controller-neutral");
    }

    /** Go durations as Traefik reads them: "100ms", "1s". */
    static double seconds(Object value) {
        String s = String.valueOf(value);
        return s.endsWith("ms") ? Double.parseDouble(s.substring(0, s.length() - 2)) / 1000 : Double.parseDouble(s.replaceAll("s$", ""));
    }

    @Test
    void the_kind_cluster_has_one_labelled_node_mapping_host_port_80() {
        var config = map(Support.yaml(MANIFESTS.resolve("kind/cluster.yaml")).getFirst());
        assertEquals("Cluster", config.get("kind"));
        assertEquals("kind.x-k8s.io/v1alpha4", config.get("apiVersion"));
        var nodes = list(config.get("nodes"));
        assertEquals(1, nodes.size());
        var node = map(nodes.get(0));
        assertEquals("control-plane", node.get("role"));
        assertEquals(Map.of("ingress-ready", "true"), node.get("labels"));
        var mapping = kindPortMapping();
        assertEquals(80, mapping.get("containerPort"));
        assertEquals(80, mapping.get("hostPort"), "deploy.java's --port default");
        assertNull(node.get("image"), "the node image is kind's default or deploy.java's --node-image");
    }

    /** prod's kind cluster: the same control plane as dev's, and two plain workers for the replicas to spread over. */
    @Test
    void the_prod_kind_cluster_adds_two_workers_to_the_same_control_plane() {
        var dev = list(map(Support.yaml(MANIFESTS.resolve("kind/cluster.yaml")).getFirst()).get("nodes"));
        var config = map(Support.yaml(MANIFESTS.resolve("kind/cluster-prod.yaml")).getFirst());
        assertEquals("Cluster", config.get("kind"));
        assertEquals("kind.x-k8s.io/v1alpha4", config.get("apiVersion"));
        var nodes = list(config.get("nodes"));
        assertEquals(dev.getFirst(), nodes.getFirst(), "the control plane, its label and port mapping, as in cluster.yaml");
        assertEquals(List.of(Map.of("role", "worker"), Map.of("role", "worker")), nodes.subList(1, nodes.size()));
        var devConfig = map(Support.yaml(MANIFESTS.resolve("kind/cluster.yaml")).getFirst());
        assertEquals(Set.of("kind", "apiVersion", "nodes", "containerdConfigPatches"), config.keySet());
        assertEquals(devConfig.keySet(), config.keySet(), "nothing else differs from dev's cluster");
        assertEquals(devConfig.get("containerdConfigPatches"), config.get("containerdConfigPatches"),
                "every node finds registry hosts in /etc/containerd/certs.d (up --registry local), in both");
    }

    static Map<String, Object> kindPortMapping() {
        var config = Support.yaml(MANIFESTS.resolve("kind/cluster.yaml")).getFirst();
        var node = map(list(map(config).get("nodes")).get(0));
        return map(list(node.get("extraPortMappings")).get(0));
    }
}
