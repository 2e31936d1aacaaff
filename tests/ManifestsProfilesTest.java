import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** manifests/overlays: what dev and prod change of the base, and that prod fits on a two-core laptop's kind. */
class ManifestsProfilesTest extends Manifests {
    static final List<String> SERVICES = Support.SERVICES;

    @Test
    void profiles_differ_in_replicas_cpu_pull_policy_pauses_probes_spread_and_disruption_budgets() {
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
            // dev's edit -> served loop: an old pod goes sooner (no pause before SIGTERM: its quiet period alone keeps it
            // serving while kube-proxy and Traefik drop it) and a new one is seen ready sooner.
            assertNull(container(d).get("lifecycle"), s + ": dev has no preStop pause");
            assertEquals(5, at(container(p), "lifecycle.preStop.sleep.seconds"), s);
            assertEquals(1, at(container(d), "readinessProbe.periodSeconds"), s);
            assertEquals(2, at(container(p), "readinessProbe.periodSeconds"), s);
            assertNull(container(d).get("startupProbe"), s + ": dev probes readiness from the start");
            assertEquals(Map.of("path", "/healthz", "port", "http"), at(container(p), "startupProbe.httpGet"), s);
            // Without a startup probe, liveness alone bounds a start: it must allow as long as prod's startup probe.
            int liveness = (Integer) at(container(d), "livenessProbe.periodSeconds") * (Integer) at(container(d), "livenessProbe.failureThreshold");
            int startup = (Integer) at(container(p), "startupProbe.periodSeconds") * (Integer) at(container(p), "startupProbe.failureThreshold");
            assertTrue(liveness >= startup, s + ": liveness allows " + liveness + " s to start, prod's startup probe " + startup);
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
                container(x).remove("lifecycle");
                map(at(container(x), "readinessProbe")).remove("periodSeconds");
                container(x).remove("startupProbe");
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

    private static Map<String, Object> data(Map<String, Object> configMap) {
        return new java.util.TreeMap<>(map(configMap.get("data")));
    }
}
