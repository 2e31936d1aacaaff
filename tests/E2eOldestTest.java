import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: the oldest pair the README says is tested, kind v0.30.0 with Kubernetes v1.34.4, still works end to end
 * (E2eTest runs today's pair, kind v0.33.0 with v1.37.2): up from no cluster, Hello World through the ingress, down.
 * The lab builds both node images and installs that kind as {@code kind-v0.30.0}; without them the test is skipped,
 * saying which part is missing.
 */
class E2eOldestTest {
    static final Lab LAB = new Lab("hello-world-oldest", "hello-world-lab/node:v1.34.4", "/usr/local/bin/kind-v0.30.0");
    static final int PORT = 8091; // not 80, so that a user's cluster on 80 never collides with it
    static final URI URL = URI.create("http://localhost:" + PORT + "/");

    static String missing;
    static boolean started;

    @BeforeAll
    static void lab() {
        missing = LAB.missing(PORT);
        if (missing != null) return;
        started = true;
        LAB.deleteCluster(); // a cluster left by an interrupted run goes first
    }

    @AfterAll
    static void cleanUp() {
        if (started) LAB.deleteCluster();
    }

    @Test
    void kind_v0_30_with_kubernetes_1_34_serves_Hello_World_and_goes_down() {
        assumeTrue(missing == null, missing);
        long t = System.nanoTime();
        var up = LAB.up(Duration.ofMinutes(12), "--port", String.valueOf(PORT), "--timeout", "5m");
        System.out.printf("    e2e: up on kind v0.30.0 + Kubernetes v1.34.4 took %ds%n", (System.nanoTime() - t) / 1_000_000_000);
        assertEquals(0, up.exit(), "up failed:\n" + up.both());
        assertTrue(up.err().contains("kind v0.30.0"), "deploy.java ran the oldest kind:\n" + up.err());
        var nodes = LAB.kubectl("get", "nodes", "-o", "jsonpath={.items[*].status.nodeInfo.kubeletVersion}");
        assertEquals("v1.34.4", nodes.out().strip(), nodes.both());

        var answer = Support.get(URL);
        assertEquals(200, answer.statusCode());
        assertEquals("Hello World", answer.body().strip());

        var down = LAB.deploy(Duration.ofMinutes(3), "down");
        assertEquals(0, down.exit(), down.both());
        assertTrue(down.err().contains("Deleting cluster hello-world-oldest"), down.err());
        assertTrue(LAB.kind("get", "clusters").both().lines().noneMatch(l -> l.strip().equals("hello-world-oldest")), "the cluster is gone");
    }
}
