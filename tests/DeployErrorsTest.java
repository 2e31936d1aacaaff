import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code jbang deploy.java up} when something is wrong, with the fakes of Fakes.Plan: a kind too old, a failing rollout
 * or cluster create, a cluster made otherwise, no engine, kind or kubectl, usage errors. Each is one ERROR line with its fix.
 */
class DeployErrorsTest extends Fakes.Plan {
    @Test
    void a_kind_older_than_the_oldest_tested_is_one_error_with_the_upgrade_before_anything_changes() throws IOException {
        Files.writeString(state.resolve("kind-version"), "v0.29.0");
        try {
            var r = up();
            assertEquals(1, r.exit(), r.both());
            assertEquals(List.of("ERROR: kind v0.29.0 is older than v0.30.0, the oldest kind this project is tested with"
                    + " (README: tested versions): upgrade it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation,"
                    + " e.g. go install sigs.k8s.io/kind@v0.33.0)"), errorLines(r), r.both());
            assertFalse(r.both().contains("Exception"), r.both());
            assertTrue(calls().stream().allMatch(c -> c.equals("kind version") || c.startsWith("docker version")
                    || c.startsWith("kubectl version")), "nothing but version checks ran: " + calls());
            // The oldest tested passes.
            Files.writeString(state.resolve("kind-version"), "v0.30.0");
            assertEquals(0, up().exit());
        } finally {
            Files.deleteIfExists(state.resolve("kind-version"));
        }
    }

    @Test
    void a_failing_rollout_stops_the_run_with_exit_1_its_pods_story_and_one_error_line() throws IOException {
        Files.writeString(state.resolve("fail-rollout-joiner"), "");
        var r = up();
        assertEquals(1, r.exit(), r.both());
        assertEquals(1, errorLines(r).size(), r.both());
        assertTrue(errorLines(r).getFirst().contains("hello-world/joiner did not roll out within 2m0s"), r.both());
        assertTrue(r.err().contains(" ✗ Waiting ≤ 2m0s for " + String.join(", ", SERVICES) + " to roll out"), r.err());
        assertTrue(r.err().contains("Back-off restarting failed container"), "the pod's events:\n" + r.err());
        assertTrue(r.err().contains("joiner: cannot listen"), "the pod's last log lines:\n" + r.err());
        assertFalse(r.err().contains("Asking http"), "no step after the failing one:\n" + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r.err());
    }

    @Test
    void a_failing_cluster_create_stops_before_anything_is_loaded() throws IOException {
        Files.writeString(state.resolve("fail-create"), "");
        var r = up();
        assertEquals(1, r.exit(), r.both());
        assertEquals(1, errorLines(r).size(), r.both());
        assertTrue(errorLines(r).getFirst().contains("kind create cluster failed"), r.both());
        assertTrue(r.err().contains("failed to create cluster: node boom"), "kind's own output is shown:\n" + r.err());
        assertNothingLoadedOrApplied();
    }

    @Test
    void a_cluster_made_with_another_host_port_is_named_before_anything_changes() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        Files.writeString(state.resolve("host-port"), "8080\n");
        var r = up();
        assertEquals(1, r.exit(), r.both());
        assertTrue(errorLines(r).getFirst().contains("created with host port 8080, not " + port), r.both());
        assertFalse(r.err().contains("Building"), "checked before building:\n" + r.err());
        assertNothingLoadedOrApplied();
    }

    @Test
    void a_cluster_whose_node_is_stopped_is_named_with_the_way_out() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        Files.writeString(state.resolve("node-stopped"), "");
        var r = up();
        assertEquals(1, r.exit(), r.both());
        assertTrue(errorLines(r).getFirst().contains("docker start hello-world-control-plane"), r.both());
    }

    @Test
    void without_a_container_engine_kind_or_kubectl_each_gets_one_error_with_its_fix() throws IOException {
        // A PATH with bash only (JBang's launcher is a bash script): no docker, podman, kind or kubectl.
        Path bare = Files.createTempDirectory("deploy-bare-path");
        Files.createSymbolicLink(bare.resolve("bash"), Support.which("bash"));
        var r = Support.run(List.of(Support.which("jbang").toString(), "deploy.java", "up"),
                Map.of("PATH", bare.toString()), Duration.ofMinutes(2));
        assertEquals(1, r.exit(), r.both());
        List<String> errors = errorLines(r);
        assertEquals(3, errors.size(), r.both());
        assertTrue(errors.get(0).contains("no container engine") && errors.get(0).contains("jbang deploy.java local"), errors.get(0));
        assertTrue(errors.get(1).contains("kind is not on PATH") && errors.get(1).contains("kind.sigs.k8s.io"), errors.get(1));
        assertTrue(errors.get(2).contains("kubectl is not on PATH") && errors.get(2).contains("kubernetes.io/docs/tasks/tools"), errors.get(2));
        assertFalse(r.err().contains("Building"), "nothing is built when a check fails:\n" + r.err());
    }

    @Test
    void usage_errors_exit_2_with_one_error_line_and_a_hint() {
        for (var args : List.of(List.of("up", "--profile", "staging"), List.of("up", "--timeout", "soon"),
                List.of("upp"), List.of("render", "--base-image", "Not An Image"))) {
            var r = deploy(args);
            assertEquals(2, r.exit(), args + ":\n" + r.both());
            assertEquals(1, errorLines(r).size(), args + ":\n" + r.both());
            assertTrue(r.err().contains("--help"), "a hint where to look: " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r.err());
        }
    }

    @Test
    void dev_names_up_for_the_options_it_does_not_take() {
        for (String option : List.of("--registry", "--context")) {
            var r = deploy(List.of("dev", option, "x"));
            assertEquals(2, r.exit(), r.both());
            assertEquals(List.of("ERROR: dev works on the local kind cluster, with kind load: " + option + " is for up (jbang deploy.java up " + option + " …)"),
                    errorLines(r), r.both());
        }
    }
}
