import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 7: {@code jbang deploy.java} on a real kind cluster, then HTTP through the ingress.
 * It needs the lab that {@code .ci/lab/build} makes ({@link Lab}: kind on PATH, the node image and the
 * Java base image in Docker) because no registry is reachable here; without it every test
 * is skipped, saying which part is missing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class E2eTest {
    static final Lab LAB = new Lab("hello-world-e2e");
    static final String NAMESPACE = "hello-world";
    static final URI URL = URI.create("http://localhost/");

    static boolean started, up;

    /** Why the e2e cannot run here, or null. Each test skips with it (a skipped @BeforeAll would go uncounted). */
    static String missing;

    @BeforeAll
    static void lab() {
        missing = LAB.missing(80);
        if (missing != null) return;
        started = true;
        // From no cluster at all: a cluster left by an interrupted run goes first.
        LAB.deleteCluster();
    }

    @AfterAll
    static void down() {
        if (started) LAB.deleteCluster();
    }

    @Test
    @Order(1)
    void up_from_no_cluster_serves_Hello_World_through_the_ingress() {
        assumeTrue(missing == null, missing);
        long t = System.nanoTime();
        var r = LAB.up(Duration.ofMinutes(12), "--timeout", "5m");
        System.out.printf("    e2e: cold up took %ds%n", seconds(t));
        assertEquals(0, r.exit(), "up failed:\n" + r.both());
        var answer = Support.get(URL);
        assertEquals(200, answer.statusCode());
        assertEquals("Hello World", answer.body().strip());
        up = true;
    }

    /**
     * The cluster's own API server checks every object both profiles and the ingress controller
     * render: field names, types and keyed lists (kubectl validates strictly), admission, and the
     * namespace's restricted Pod Security, which warns about a pod template that breaks it.
     */
    @Test
    @Order(2)
    void the_api_server_accepts_all_that_both_profiles_render_without_a_warning() throws IOException {
        requireUp();
        var profiles = new ArrayList<String>();
        for (String profile : List.of("dev", "prod")) {
            var r = Support.run(List.of("jbang", "deploy.java", "render", "--profile", profile, "--base-image", "docker://" + Lab.BASE_IMAGE),
                    Map.of(), Duration.ofMinutes(3));
            assertEquals(0, r.exit(), "render --profile " + profile + ":\n" + r.both());
            profiles.add(r.out());
        }
        var ingress = Support.run(List.of("kubectl", "kustomize", "manifests/ingress"), Map.of(), Duration.ofMinutes(1));
        assertEquals(0, ingress.exit(), ingress.both());
        var all = dryRun(String.join("---\n", profiles.getFirst(), profiles.getLast(), ingress.out()));
        assertEquals(0, all.exit(), all.both());
        assertEquals("", all.err(), "warnings from the API server");
        assertTrue(all.out().lines().allMatch(l -> l.endsWith("(server dry run)")), all.out());

        // Not vacuous: a misspelt field is refused, and a pod template that breaks restricted is warned about.
        var typo = dryRun(profiles.getFirst().replace("imagePullPolicy:", "imagePullPolicyy:"));
        assertTrue(typo.exit() != 0 && typo.err().contains("imagePullPolicyy: field not declared in schema"), typo.both());
        var root = dryRun(profiles.getFirst().replace("runAsNonRoot: true", "runAsNonRoot: false"));
        assertEquals(0, root.exit(), root.both());
        assertTrue(root.err().contains("would violate PodSecurity \"restricted"), root.both());
    }

    static Support.Result dryRun(String yaml) throws IOException {
        Path file = Files.createTempFile("e2e-dry-run", ".yaml");
        try {
            Files.writeString(file, yaml);
            // As deploy.java applies: server-side (a client-side apply would warn of the missing last-applied annotation).
            return LAB.kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", file.toString());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    @Order(3)
    void a_second_up_builds_loads_and_replaces_nothing() {
        requireUp();
        String before = pods();
        long t = System.nanoTime();
        var r = LAB.up(Duration.ofMinutes(5), "--timeout", "5m");
        // Its time is printed, not asserted: speed is the benchmark's to judge, not a test's on a shared machine.
        System.out.printf("    e2e: warm up took %.1fs%n", (System.nanoTime() - t) / 1e9);
        assertEquals(0, r.exit(), "second up failed:\n" + r.both());
        assertTrue(r.err().contains("(" + String.join(", ", Support.SERVICES) + " up to date)"), "an image was rebuilt:\n" + r.err());
        assertTrue(r.err().contains("all " + Support.SERVICES.size() + " already present on"), "an image was loaded again:\n" + r.err());
        assertEquals(before, pods(), "the second up replaced pods (a rebuild or reload):\n" + r.both());
    }

    @Test
    @Order(4)
    void a_rolling_restart_of_each_Deployment_under_load_fails_no_request() throws Exception {
        requireUp();
        var load = IngressLoad.start(URL, 4, Duration.ofMillis(20), "Hello World"::equals); // at most ~50 requests/s per client
        try {
            for (String deployment : LAB.kubectl("-n", NAMESPACE, "get", "deployments", "-o", "name").out().strip().split("\\s+")) {
                var restart = LAB.kubectl("-n", NAMESPACE, "rollout", "restart", deployment);
                assertEquals(0, restart.exit(), restart.both());
                var status = LAB.kubectl("-n", NAMESPACE, "rollout", "status", deployment, "--timeout=180s");
                assertEquals(0, status.exit(), status.both());
            }
        } finally {
            load.stop();
        }
        load.assertFailedAtMost("e2e: rolling restart", 0);
    }

    @Test
    @Order(5)
    void hello_is_unreachable_from_a_pod_in_another_namespace() {
        requireUp();
        String ns = "e2e-probe";
        LAB.kubectl("create", "namespace", ns);
        // A control first (the API server, which no policy guards), so a broken probe is not taken for a policy.
        String script = "curl -sk -o /dev/null -m 5 -w 'control %{http_code}\\n' https://kubernetes.default.svc/livez;"
                + " curl -s -m 5 -w ' %{http_code}\\n' http://hello." + NAMESPACE + ".svc:3000/ && echo reached || echo unreachable";
        var run = LAB.kubectl("-n", ns, "run", "probe", "--image", LAB.probeImage(), "--image-pull-policy=Never", "--restart=Never",
                "--command", "--", "bash", "-c", script);
        assertEquals(0, run.exit(), run.both());
        var done = LAB.kubectl("-n", ns, "wait", "pod/probe", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s");
        String log = LAB.kubectl("-n", ns, "logs", "probe").out();
        LAB.kubectl("delete", "namespace", ns, "--wait=false");
        assertEquals(0, done.exit(), "the probe pod did not finish: " + done.both() + log);
        assertTrue(log.contains("control 200"), "the probe pod reaches nothing, so it proves nothing:\n" + log);
        assertTrue(log.strip().endsWith("unreachable"), "hello answered a pod in another namespace:\n" + log);
    }

    @Test
    @Order(6)
    void a_privileged_pod_is_rejected_in_the_app_namespace() {
        requireUp();
        var r = LAB.kubectl("-n", NAMESPACE, "run", "privileged", "--image", LAB.probeImage(), "--image-pull-policy=Never",
                "--restart=Never", "--privileged", "--dry-run=server", "--command", "--", "true");
        assertFalse(r.exit() == 0, "a privileged pod was admitted:\n" + r.both());
        assertTrue(r.err().contains("violates PodSecurity \"restricted"), r.both());
    }

    @Test
    @Order(7)
    void status_reports_all_ready() {
        requireUp();
        var r = LAB.deploy(Duration.ofMinutes(2), "status");
        assertEquals(0, r.exit(), r.both());
        assertTrue(r.out().contains("Hello World"), r.both());
    }

    @Test
    @Order(8)
    void down_removes_the_cluster_and_a_second_down_succeeds() {
        requireUp();
        var first = LAB.deploy(Duration.ofMinutes(5), "down");
        assertEquals(0, first.exit(), first.both());
        assertFalse(LAB.kind("get", "clusters").out().lines().anyMatch(LAB.cluster::equals), "the cluster is still there");
        var second = LAB.deploy(Duration.ofMinutes(2), "down");
        assertEquals(0, second.exit(), second.both());
    }

    // ---- helpers

    static void requireUp() {
        assumeTrue(missing == null, missing);
        assumeTrue(up, "the cluster did not come up (see the first test's failure)");
    }

    /** The app's pods, by name and uid: a rollout or reload changes them. */
    static String pods() {
        return LAB.kubectl("-n", NAMESPACE, "get", "pods", "-o",
                "jsonpath={range .items[*]}{.metadata.name} {.metadata.uid}{\"\\n\"}{end}").out();
    }

    static long seconds(long startNanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    }
}
