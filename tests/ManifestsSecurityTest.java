import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** manifests/base: the namespace's Pod Security and the NetworkPolicy graph, as {@code kubectl kustomize} renders them. */
class ManifestsSecurityTest extends Manifests {
    static final List<String> SERVICES = Support.SERVICES;

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
}
