import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 13: the prod profile on a laptop's multi-node kind, through the ingress, while things go away.
 * {@code up --profile prod} on the lab makes a control plane and 2 workers; then, each under a bounded
 * loopback load ({@link IngressLoad}), a worker is drained, one pod of each service is force-deleted and every Deployment
 * restarts: not one request may fail; the process of one pod of each service is killed: only what a dying joiner was
 * answering may fail. NetworkPolicy must hold across nodes, and a pod that floods its
 * log past the services' ephemeral-storage limit must be evicted. Without the lab ({@link Lab}) every test is
 * skipped, saying why.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class E2eProdTest {
    static final Lab LAB = new Lab("hello-world-prod-e2e");
    static final String NAMESPACE = "hello-world", PROBES = "e2e-prod-probe";
    static final int PORT = 8090; // not 80: --port on a cluster with workers
    static final URI URL = URI.create("http://localhost:" + PORT + "/");
    static final int CLIENTS = 4; // the load: 4 clients, each at most one request per 20 ms (≤ 200 requests/s)
    static final List<String> SERVICES = Support.SERVICES;

    static String missing;
    static boolean started, up;
    static long start;

    @BeforeAll
    static void lab() {
        start = System.nanoTime();
        missing = LAB.missing(PORT);
        if (missing != null) return;
        started = true;
        LAB.deleteCluster(); // one left by an interrupted run
    }

    @AfterAll
    static void down() {
        if (!started) return;
        LAB.deleteCluster();
        System.out.printf("    e2e prod: the whole class took %ds%n", seconds(start));
    }

    @Test
    @Order(1)
    void up_prod_creates_two_workers_and_spreads_each_service_over_both() {
        assumeTrue(missing == null, missing);
        long t = System.nanoTime();
        var r = LAB.up(Duration.ofMinutes(15), "--profile", "prod", "--port", String.valueOf(PORT), "--timeout", "5m");
        System.out.printf("    e2e prod: cold up of 3 nodes took %ds%n", seconds(t));
        String unrouted = LAB.podNetworkNotPerNode();
        assumeTrue(unrouted == null, unrouted);
        assertEquals(0, r.exit(), "up --profile prod failed:\n" + r.both());
        assertTrue(r.err().contains("a control plane and 2 workers"), r.err());
        assertEquals(List.of(LAB.cluster + "-worker", LAB.cluster + "-worker2"), workers());
        up = true;
        assertSpread();
    }

    @Test
    @Order(2)
    void draining_a_worker_moves_its_pods_and_fails_no_request() throws Exception {
        requireUp();
        String drained = workers().getFirst(), other = workers().getLast();
        try {
            // The PodDisruptionBudgets let one pod of each service go at a time; the other keeps serving.
            underLoad("drain of " + drained, () -> {
                var drain = LAB.kubectl("drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=180s");
                assertEquals(0, drain.exit(), drain.both());
            });
        } finally {
            LAB.kubectl("uncordon", drained);
        }
        for (var e : placement().entrySet()) assertEquals(List.of(other, other), e.getValue(), e.getKey() + " left " + drained);
    }

    /**
     * The kill. The kubelet still gives such a pod a second of its preStop pause and then SIGTERM (measured:
     * "Killing container with a grace period override" gracePeriod=1, exit code 0), but its endpoint goes at once.
     */
    @Test
    @Order(3)
    void force_deleting_one_pod_of_each_service_fails_no_request() throws Exception {
        requireUp();
        for (String service : SERVICES) {
            String pod = pods(service).getFirst();
            underLoad("force delete of " + service + " pod " + pod, () -> {
                var kill = LAB.kubectl("-n", NAMESPACE, "delete", "pod", pod, "--grace-period=0", "--force");
                assertEquals(0, kill.exit(), kill.both());
            });
        }
    }

    /**
     * The hard case: the service's process dies at once (SIGKILL, as in a crash or an OOM kill) while its pod stays
     * in the endpoints until the kubelet notices. Requests sent to it meanwhile are refused: Traefik sends a request
     * for joiner again (manifests/ingress/dynamic.yaml), joiner retries a call to hello or world on a fresh connection.
     * What cannot be retried is what a joiner was answering when it died (Traefik retries only what it could not send,
     * docs/prod.md): at most one request per load client may fail then, none when hello or world dies.
     * (Measured without Traefik's retry, on one node: 40 of 780 requests failed with 502 when a joiner died; with
     * 3 tries 100 ms apart, 7 of 720; with 4 tries about 300-600 ms apart, 2 of 805.)
     */
    @Test
    @Order(4)
    void the_process_of_one_pod_of_each_service_dying_fails_at_most_the_requests_in_flight() throws Exception {
        requireUp();
        for (String service : SERVICES) {
            String pod = pods(service).getFirst();
            underLoad("SIGKILL of " + service + " in pod " + pod, () -> {
                String node = LAB.kubectl("-n", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.spec.nodeName}").out().strip();
                String container = Lab.docker("exec", node, "crictl", "ps", "--label", "io.kubernetes.pod.name=" + pod, "-q").out().strip();
                var kill = Lab.docker("exec", node, "crictl", "stop", "--timeout", "0", container);
                assertEquals(0, kill.exit(), kill.both());
            }, service.equals("joiner") ? CLIENTS : 0);
        }
    }

    /**
     * One Deployment after the other, as E2eTest does on one node. (All three at once fit the workers too, see
     * ManifestsTest, but six JVMs starting together on a 2-core machine that others load as well made new joiners
     * time out their first calls: 1 to 10 of ~500 requests failed with 504, measured at a load average of 40.)
     */
    @Test
    @Order(5)
    void a_rolling_restart_of_every_deployment_fails_no_request_and_spreads_them_again() throws Exception {
        requireUp();
        underLoad("rolling restart of " + String.join(", ", SERVICES), () -> {
            for (String s : SERVICES) {
                var restart = LAB.kubectl("-n", NAMESPACE, "rollout", "restart", "deployment/" + s);
                assertEquals(0, restart.exit(), restart.both());
                var status = LAB.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/" + s, "--timeout=180s");
                assertEquals(0, status.exit(), status.both());
            }
        });
        assertSpread(); // the drain left every pod on one worker; new pods spread again
    }

    /**
     * A pod in another namespace on one worker cannot reach hello's pod on the other worker, while a pod of the same
     * image on that same node, in the probe's own namespace (no policy), answers it: the policy, not the route, says no.
     */
    @Test
    @Order(6)
    void another_namespace_cannot_reach_hello_across_nodes() {
        requireUp();
        var hello = LAB.kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/name=hello", "-o",
                "jsonpath={.items[0].spec.nodeName} {.items[0].status.podIP} {.items[0].spec.containers[0].image}").out().split(" ");
        String helloNode = hello[0], helloIp = hello[1], image = hello[2];
        String probeNode = workers().stream().filter(w -> !w.equals(helloNode)).findFirst().orElseThrow();
        LAB.kubectl("create", "namespace", PROBES);
        try {
            var target = LAB.kubectl("-n", PROBES, "run", "target", "--image", image, "--image-pull-policy=Never", "--restart=Never",
                    "--env=HOST=0.0.0.0", "--env=PORT=" + Support.port("hello"), "--overrides", onNode(helloNode));
            assertEquals(0, target.exit(), target.both());
            var ready = LAB.kubectl("-n", PROBES, "wait", "pod/target", "--for=condition=Ready", "--timeout=120s");
            assertEquals(0, ready.exit(), ready.both());
            String targetIp = LAB.kubectl("-n", PROBES, "get", "pod", "target", "-o", "jsonpath={.status.podIP}").out().strip();

            String url = ":" + Support.port("hello") + "/";
            String script = "curl -s -m 5 --retry 10 --retry-connrefused --retry-delay 1 -w ' control %{http_code}\\n' http://" + targetIp + url + ";"
                    + " curl -s -m 5 http://" + helloIp + url + " && echo reached || echo unreachable";
            var probe = LAB.kubectl("-n", PROBES, "run", "probe", "--image", LAB.probeImage(), "--image-pull-policy=Never", "--restart=Never",
                    "--overrides", onNode(probeNode), "--command", "--", "bash", "-c", script);
            assertEquals(0, probe.exit(), probe.both());
            var done = LAB.kubectl("-n", PROBES, "wait", "pod/probe", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s");
            String log = LAB.kubectl("-n", PROBES, "logs", "probe").out();
            assertEquals(0, done.exit(), "the probe pod did not finish: " + done.both() + log);
            System.out.printf("    e2e prod: from %s, a pod in %s: %s", probeNode, PROBES, log.replace("\n", "; ").strip() + "\n");
            assertTrue(log.contains("Hello control 200"), "the probe reaches no pod on " + helloNode + ", so it proves nothing:\n" + log);
            assertTrue(log.strip().endsWith("unreachable"), "hello on " + helloNode + " answered a pod in another namespace:\n" + log);
        } finally {
            LAB.kubectl("delete", "namespace", PROBES, "--wait=false");
        }
    }

    /** The kubelet enforces the services' ephemeral-storage limit: a pod with their resources that floods its log is evicted. */
    @Test
    @Order(7)
    void a_pod_flooding_its_log_past_the_services_limit_is_evicted() {
        requireUp();
        String resources = LAB.kubectl("-n", NAMESPACE, "get", "deployment", "hello", "-o",
                "jsonpath={.spec.template.spec.containers[0].resources}").out().strip();
        String namespace = PROBES + "-flood";
        LAB.kubectl("create", "namespace", namespace);
        try {
            // 1 MiB lines as fast as one CPU writes them: faster than the kubelet's log rotation (10Mi, every 10 s) can
            // hold, which is what the limit is for. (A slow flood is held by rotation; measured: ~7 MiB/s never passed
            // 128Mi at the kubelet's 10 s checks.)
            String flood = "line=$(head -c 1048576 /dev/zero | tr '\\0' x); while :; do echo \"$line\"; done";
            String overrides = "{\"spec\":{\"containers\":[{\"name\":\"flood\",\"image\":\"" + LAB.probeImage() + "\",\"imagePullPolicy\":\"Never\","
                    + "\"command\":[\"bash\",\"-c\",\"" + flood.replace("\\", "\\\\").replace("\"", "\\\"") + "\"],\"resources\":" + resources + "}]}}";
            long t = System.nanoTime();
            var run = LAB.kubectl("-n", namespace, "run", "flood", "--image", LAB.probeImage(), "--restart=Never", "--overrides", overrides);
            assertEquals(0, run.exit(), run.both());
            var evicted = LAB.kubectl("-n", namespace, "wait", "pod/flood", "--for=jsonpath={.status.reason}=Evicted", "--timeout=180s");
            String status = LAB.kubectl("-n", namespace, "get", "pod", "flood", "-o", "jsonpath={.status.phase}: {.status.message}").out();
            assertEquals(0, evicted.exit(), "not evicted: " + status + "\n" + evicted.both());
            System.out.printf("    e2e prod: a pod flooding its log was evicted %ds after it was created: %s%n", seconds(t), status);
            assertTrue(status.contains("ephemeral"), status);
        } finally {
            LAB.kubectl("delete", "namespace", namespace, "--wait=false");
        }
    }

    // ---- the cluster, read with kubectl

    static void requireUp() {
        assumeTrue(missing == null, missing);
        assumeTrue(up, "the cluster did not come up (see the first test's failure)");
    }

    static List<String> workers() {
        String names = LAB.kubectl("get", "nodes", "-l", "!node-role.kubernetes.io/control-plane", "-o", "jsonpath={.items[*].metadata.name}").out();
        return List.of(names.strip().split("\\s+")).stream().sorted().toList();
    }

    /** Each service's pods that are not going away, by their node (sorted). */
    static Map<String, List<String>> placement() {
        var where = new TreeMap<String, List<String>>();
        for (String line : podTable().lines().toList()) {
            String[] f = line.split(" ", -1);
            if (f[3].isEmpty()) where.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[2]);
        }
        where.values().forEach(nodes -> nodes.sort(null));
        return where;
    }

    static List<String> pods(String service) {
        return podTable().lines().map(l -> l.split(" ", -1)).filter(f -> f[0].equals(service) && f[3].isEmpty()).map(f -> f[1]).toList();
    }

    /** "service pod node deletionTimestamp ready" per line. */
    static String podTable() {
        return LAB.kubectl("-n", NAMESPACE, "get", "pods", "-o", "jsonpath={range .items[*]}{.metadata.labels.app\\.kubernetes\\.io/name} {.metadata.name}"
                + " {.spec.nodeName} {.metadata.deletionTimestamp} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}").out();
    }

    static void assertSpread() {
        var where = placement();
        for (String s : SERVICES) assertEquals(Set.copyOf(workers()), Set.copyOf(where.get(s)), s + "'s pods are not on both workers: " + where);
    }

    interface Disruption {
        void run() throws Exception;
    }

    /**
     * A disruption under a bounded load, which goes on while the pods come back: 2 s of load before it, 5 s at least
     * after it (the endpoints' update), then until every service has its 2 pods ready again. No request may fail.
     */
    static void underLoad(String what, Disruption disruption) throws Exception {
        underLoad(what, disruption, 0);
    }

    /** The same, with at most {@code mayFail} failed requests. */
    static void underLoad(String what, Disruption disruption, int mayFail) throws Exception {
        var load = IngressLoad.start(URL, CLIENTS, Duration.ofMillis(20), "Hello World"::equals);
        try {
            Thread.sleep(2000);
            disruption.run();
            Thread.sleep(5000);
            awaitReady();
        } finally {
            load.stop();
        }
        load.assertFailedAtMost("e2e prod: " + what, mayFail);
    }

    /** Waits ≤ 3 min until every service has its 2 pods ready and none going away. */
    static void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        String table = "";
        while (System.nanoTime() < deadline) {
            table = podTable();
            var ready = table.lines().map(l -> l.split(" ", -1)).filter(f -> f[3].isEmpty() && f[4].equals("True")).map(f -> f[0]).toList();
            if (table.lines().count() == 2L * SERVICES.size() && SERVICES.stream().allMatch(s -> ready.stream().filter(s::equals).count() == 2)) return;
            Thread.sleep(1000);
        }
        throw new AssertionError("pods not back to 2 ready per service within 3 min:\n" + table);
    }

    static String onNode(String node) {
        return "{\"spec\":{\"nodeName\":\"" + node + "\"}}";
    }

    static long seconds(long startNanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    }
}
