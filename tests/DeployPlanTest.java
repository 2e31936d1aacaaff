import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code jbang deploy.java up} step by step, with fake kind, kubectl and docker first on PATH: each
 * records its arguments and answers like the real one from a state folder (clusters, the node's
 * images, the host port). The images are built for real, on Jib's empty "scratch" base (no registry).
 * The smoke test asks a tiny local server that answers Hello World on the "ingress" port.
 */
class DeployPlanTest {
    static final List<String> SERVICES = Support.SERVICES;
    static Path bin, state;
    static HttpServer ingress;
    static int port;

    @BeforeAll
    static void fakes() throws IOException {
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        Path dir = Files.createTempDirectory("deploy-fakes");
        bin = Files.createDirectories(dir.resolve("bin"));
        state = Files.createDirectories(dir.resolve("state"));
        fake("kind", KIND);
        fake("kubectl", KUBECTL);
        fake("docker", DOCKER);
        ingress = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        // It answers as joiner would: X-Version names joiner's version, then hello's and world's, here the tags that
        // the fake kubectl last applied ($FAKE_STATE/deployed, "name tag" lines), or $FAKE_STATE/answering when a test says so.
        ingress.createContext("/", answersAsJoiner(state));
        ingress.start();
        port = ingress.getAddress().getPort();
    }

    /**
     * The fake ingress answers as joiner would: X-Version names joiner's version, then hello's and world's, here the
     * tags that the fake kubectl last applied ($FAKE_STATE/deployed, "name tag" lines), or $FAKE_STATE/answering when a
     * test says so; the body is $FAKE_STATE/body when a test edited it.
     */
    static HttpHandler answersAsJoiner(Path state) {
        return exchange -> {
            try (exchange) {
                Path answering = Files.exists(state.resolve("answering")) ? state.resolve("answering") : state.resolve("deployed");
                var versions = Files.exists(answering) ? Files.readAllLines(answering).stream().map(l -> l.replace(' ', '=')).toList() : List.<String>of();
                if (!versions.isEmpty()) {
                    var joined = new ArrayList<>(List.of(versions.getLast()));
                    joined.addAll(versions.subList(0, versions.size() - 1));
                    exchange.getResponseHeaders().set("X-Version", String.join(", ", joined));
                }
                Path edited = state.resolve("body");
                byte[] body = (Files.exists(edited) ? Files.readString(edited) : "Hello World").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
        };
    }

    @AfterAll
    static void stop() {
        if (ingress != null) ingress.stop(0);
    }

    @BeforeEach
    void clean() throws IOException {
        try (var files = Files.list(state)) {
            for (Path f : files.toList()) Files.delete(f);
        }
    }

    @Test
    void up_from_nothing_checks_builds_creates_loads_installs_applies_waits_and_asks() throws IOException {
        var r = up();
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        String root = Support.ROOT.toString();
        var expected = new ArrayList<>(List.of(
                "kind version",
                "kubectl version --client",
                "kind get clusters",
                "kind create cluster --name hello-world --config " + root + "/build/kind/hello-world.yaml --wait 120s --image lab/node:v1",
                "kind get nodes --name hello-world",
                "docker exec hello-world-control-plane crictl images -o json"));
        for (String s : SERVICES) expected.add("kind load image-archive " + root + "/build/images/" + s + ".tar --name hello-world");
        expected.addAll(List.of(
                "kubectl --context kind-hello-world apply -k " + root + "/manifests/ingress",
                "kubectl --context kind-hello-world -n traefik rollout status deployment/traefik --timeout=",
                "kubectl --context kind-hello-world apply -k " + root + "/build/kustomize/dev"));
        for (String s : SERVICES) expected.add("kubectl --context kind-hello-world -n hello-world rollout status deployment/" + s + " --timeout=");
        assertInOrder(calls, expected);
        assertTrue(calls.stream().filter(c -> c.contains(" apply ")).allMatch(c -> c.contains(" --server-side --force-conflicts ")),
                "the API server merges what is applied, and the manifests win: " + calls);
        for (String call : calls) {
            if (call.startsWith("kubectl") && !call.startsWith("kubectl version")) {
                assertTrue(call.startsWith("kubectl --context kind-hello-world "), "every cluster call names its context: " + call);
            }
        }
        // The kind config is manifests/kind/cluster.yaml with the host port from --port.
        String config = Files.readString(state.resolve("kind-config.yaml"));
        assertTrue(config.contains("hostPort: " + port), config);
        assertTrue(config.contains("ingress-ready"), config);
        // The generated kustomization: the overlay, and one content tag per image.
        String kustomization = Files.readString(Support.ROOT.resolve("build/kustomize/dev/kustomization.yaml"));
        assertTrue(kustomization.contains("- ../../../manifests/overlays/dev"), kustomization);
        assertEquals(SERVICES.size(), kustomization.lines().filter(l -> l.matches("    newTag: \"[0-9a-f]{16}\"")).count(), kustomization);
        for (String s : SERVICES) {
            assertTrue(r.err().contains(s + "=" + tag(kustomization, s)), "the answer is from the versions just deployed:\n" + r.err());
        }
        String out = r.out();
        assertTrue(out.contains("Hello World is served at http://localhost:" + port + "/"), out);
        assertTrue(out.contains("jbang deploy.java down"), "ends with what to run next:\n" + out);
        assertTrue(r.err().contains(" ✓ Creating cluster hello-world"), r.err());
        assertFalse(r.both().contains("ERROR"), r.both());
    }

    @Test
    void a_second_run_reuses_the_cluster_and_loads_no_unchanged_image() throws IOException {
        assertEquals(0, up().exit(), "first run");
        Files.writeString(state.resolve("calls"), "");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("kind create")), "no cluster created: " + calls);
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("kind load")), "nothing loaded: " + calls);
        assertTrue(calls.contains("docker port hello-world-control-plane 80/tcp"), "the host port is checked: " + calls);
        assertTrue(r.err().contains(" ✓ Reusing cluster hello-world"), r.err());
        assertTrue(r.err().contains("all " + SERVICES.size() + " already present on hello-world-control-plane"), r.err());
        assertTrue(r.err().contains("(" + String.join(", ", SERVICES) + " up to date)"), "unchanged images are not rebuilt:\n" + r.err());
    }

    /** Issue 13: prod's cluster has two workers to spread over; the images go to all three nodes. */
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
    void up_with_the_prod_profile_creates_a_control_plane_and_two_workers() throws IOException {
        var r = up("--profile", "prod");
        assertEquals(0, r.exit(), r.both());
        String config = Files.readString(state.resolve("kind-config.yaml"));
        assertTrue(config.startsWith("# Generated by deploy.java from manifests/kind/cluster-prod.yaml, hostPort " + port), config);
        assertEquals(2, config.lines().filter(l -> l.endsWith("role: worker")).count(), config);
        assertTrue(config.contains("hostPort: " + port) && config.contains("ingress-ready"), config);
        assertTrue(r.err().contains(" ✓ Creating cluster hello-world") && r.err().contains("a control plane and 2 workers"), r.err());
        // The images go to the workers only: the app's pods never run on the tainted control plane.
        for (String node : List.of("hello-world-worker", "hello-world-worker2")) {
            assertTrue(calls().contains("docker exec " + node + " crictl images -o json"), "images are checked on " + node + ": " + calls());
        }
        assertFalse(calls().contains("docker exec hello-world-control-plane crictl images -o json"), calls().toString());
        for (String s : SERVICES) {
            assertTrue(calls().contains("kind load image-archive " + Support.ROOT + "/build/images/" + s + ".tar --name hello-world"
                    + " --nodes hello-world-worker,hello-world-worker2"), calls().toString());
        }
        assertTrue(calls().contains("kubectl --context kind-hello-world apply -k " + Support.ROOT + "/build/kustomize/prod --server-side --force-conflicts -o yaml"), calls().toString());

        // Reused as it is, for prod and for dev alike.
        Files.writeString(state.resolve("calls"), "");
        var again = up("--profile", "prod");
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains(" ✓ Reusing cluster hello-world: created before; host port " + port + "; a control plane and 2 workers"), again.err());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind create")), calls().toString());
        assertEquals(0, up().exit(), "dev runs on prod's cluster too");
    }

    /** A cluster made for dev has no workers: prod would leave its replicas unspread (or pending), so it stops first. */
    @Test
    void up_with_the_prod_profile_refuses_a_cluster_without_workers_before_anything_changes() throws IOException {
        assertEquals(0, up().exit(), "a dev cluster first");
        Files.writeString(state.resolve("calls"), "");
        var r = up("--profile", "prod");
        assertEquals(1, r.exit(), r.both());
        assertEquals(1, errorLines(r).size(), r.both());
        String error = errorLines(r).getFirst();
        assertTrue(error.contains("cluster hello-world has one node, and the prod profile spreads its replicas over 2 workers"
                + " (manifests/kind/cluster-prod.yaml)"), error);
        assertTrue(error.contains("`jbang deploy.java down` and `jbang deploy.java up --profile prod`"), "the fix: " + error);
        assertFalse(r.err().contains("Building"), "checked before building:\n" + r.err());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind load") || c.contains(" apply ")), calls().toString());
    }

    @Test
    void an_edited_answer_is_no_failure_the_versions_say_which_code_answered() throws IOException {
        Files.writeString(state.resolve("body"), "Howdy World");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        assertTrue(r.out().contains("Howdy World is served at http://localhost:" + port + "/"), r.out());
    }

    @Test
    void up_waits_for_the_old_pods_to_be_gone_before_it_asks() throws IOException {
        // Left by the rollout: hello's old pod, terminating (and world's, which another selector would not pick).
        Files.writeString(state.resolve("terminating"), """
                hello-5f7d8-old01 {"app.kubernetes.io/name":"hello","pod-template-hash":"5f7d8"}
                other-1234-zzzzz {"app.kubernetes.io/name":"other"}
                """);
        var r = up();
        assertEquals(0, r.exit(), r.both());
        var calls = calls();
        assertInOrder(calls, List.of("kubectl --context kind-hello-world -n hello-world rollout status deployment/" + SERVICES.getLast(),
                "kubectl --context kind-hello-world -n hello-world get pods -o jsonpath={range .items[?(@.metadata.deletionTimestamp)]}",
                "kubectl --context kind-hello-world -n hello-world wait --for=delete --timeout="));
        String wait = calls.stream().filter(c -> c.contains(" wait ")).findFirst().orElseThrow();
        assertTrue(wait.endsWith(" pod/hello-5f7d8-old01"), "only the old pods of the app's workloads: " + wait);
        assertTrue(r.err().contains("for the old pods to stop, so that only new ones answer: 1 stopped"), r.err());
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
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind load") || c.contains(" apply ")), calls().toString());
    }

    @Test
    void a_cluster_made_with_another_host_port_is_named_before_anything_changes() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        Files.writeString(state.resolve("host-port"), "8080\n");
        var r = up();
        assertEquals(1, r.exit(), r.both());
        assertTrue(errorLines(r).getFirst().contains("created with host port 8080, not " + port), r.both());
        assertFalse(r.err().contains("Building"), "checked before building:\n" + r.err());
        assertTrue(calls().stream().noneMatch(c -> c.startsWith("kind load") || c.contains(" apply ")), calls().toString());
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
    void down_deletes_the_cluster_and_succeeds_when_it_is_already_gone() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        var first = deploy(List.of("down"));
        assertEquals(0, first.exit(), first.both());
        assertTrue(calls().contains("kind delete cluster --name hello-world"), calls().toString());
        var again = deploy(List.of("down"));
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains("already gone"), again.err());
        assertEquals(1, calls().stream().filter(c -> c.startsWith("kind delete")).count(), calls().toString());
    }

    @Test
    void status_reports_each_deployment_the_versions_deployed_and_answering_and_the_answer_of_the_url() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        Files.writeString(state.resolve("host-port"), port + "\n");
        var deployed = new StringBuilder();
        for (String s : SERVICES) deployed.append(s).append(" ").append(s).append("1111aaaa2222bbbb\n");
        Files.writeString(state.resolve("deployed"), deployed);
        Files.writeString(state.resolve("body"), "Howdy World"); // the user's code: no failure
        var r = deploy(List.of("status"));
        assertEquals(0, r.exit(), r.both());
        for (String s : SERVICES) {
            assertTrue(r.out().lines().anyMatch(l -> l.contains("hello-world/" + s) && l.contains("1/1 ready")
                    && l.contains("deployed " + s + "1111aaaa2222bbbb") && l.contains("answering " + s + "1111aaaa2222bbbb")), r.out());
        }
        assertTrue(r.out().contains("http://localhost:" + port + "/ → Howdy World"), r.out());

        Files.writeString(state.resolve("answering"), deployed.toString().replace("hello1111aaaa2222bbbb", "hello0000old00000"));
        var stale = deploy(List.of("status"));
        assertEquals(1, stale.exit(), stale.both());
        assertTrue(stale.out().contains("answering hello0000old00000 (not what is deployed)"), stale.out());
        assertTrue(errorLines(stale).getFirst().contains("hello answers hello0000old00000 but hello1111aaaa2222bbbb is deployed"), stale.both());

        Files.delete(state.resolve("answering"));
        Files.writeString(state.resolve("not-ready"), "");
        var unhealthy = deploy(List.of("status"));
        assertEquals(1, unhealthy.exit(), unhealthy.both());
        assertTrue(errorLines(unhealthy).getFirst().contains("hello-world/world is 0/1 ready"), unhealthy.both());
    }

    // ---- helpers

    Support.Result up(String... more) {
        var args = new ArrayList<>(List.of("up", "--base-image", "scratch", "--port", Integer.toString(port),
                "--node-image", "lab/node:v1", "--timeout", "2m"));
        args.addAll(List.of(more));
        return deploy(args);
    }

    static Support.Result deploy(List<String> args) {
        var command = Support.command(List.of("jbang", "deploy.java"), args.toArray(String[]::new));
        var env = new HashMap<String, String>();
        env.put("PATH", bin + ":" + System.getenv("PATH"));
        env.put("FAKE_STATE", state.toString());
        env.put("FAKE_SERVICES", String.join(" ", SERVICES));
        return Support.run(command, env, Duration.ofMinutes(3));
    }

    /** A service's newTag in a generated kustomization. */
    static String tag(String kustomization, String service) {
        var m = java.util.regex.Pattern.compile("- name: " + service + "\n    newTag: \"([0-9a-f]+)\"").matcher(kustomization);
        assertTrue(m.find(), service + " in " + kustomization);
        return m.group(1);
    }

    static List<String> calls() throws IOException {
        Path log = state.resolve("calls");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    static List<String> errorLines(Support.Result r) {
        return r.both().lines().filter(l -> l.startsWith("ERROR:")).toList();
    }

    /** Each expected call (a prefix) appears, after the one before it. */
    static void assertInOrder(List<String> calls, List<String> expected) {
        int at = 0;
        for (String e : expected) {
            int found = -1;
            for (int i = at; i < calls.size(); i++) {
                if (calls.get(i).startsWith(e)) {
                    found = i;
                    break;
                }
            }
            assertTrue(found >= 0, "expected, after call " + at + ": " + e + "\nin:\n" + String.join("\n", calls));
            at = found + 1;
        }
    }

    static void fake(String name, String script) throws IOException {
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/usr/bin/env bash\n" + COMMON + script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    // The fakes. Each appends its argument list to $FAKE_STATE/calls, then answers.
    static final String COMMON = """
            set -u
            s=$FAKE_STATE
            echo "$(basename "$0") $*" >> "$s/calls"
            arg() { local want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
            """;

    static final String KIND = """
            case "$1 ${2:-}" in
              "version ") echo "kind $(cat "$s/kind-version" 2>/dev/null || echo v0.33.0) go1.26.8 linux/amd64" ;;
              "get clusters") if [ -s "$s/clusters" ]; then cat "$s/clusters"; else echo "No kind clusters found." >&2; fi ;;
              "get nodes") if [ -s "$s/nodes" ]; then cat "$s/nodes"; else echo "$(arg --name "$@")-control-plane"; fi ;;
              "create cluster")
                if [ -e "$s/fail-create" ]; then echo "ERROR: failed to create cluster: node boom" >&2; exit 1; fi
                arg --name "$@" >> "$s/clusters"
                cp "$(arg --config "$@")" "$s/kind-config.yaml"
                # Nodes named as kind names them: NAME-control-plane, NAME-worker, NAME-worker2, ...
                echo "$(arg --name "$@")-control-plane" > "$s/nodes"
                for i in $(seq "$(grep -c 'role: worker' "$s/kind-config.yaml")"); do
                  echo "$(arg --name "$@")-worker$([ "$i" -gt 1 ] && echo "$i")" >> "$s/nodes"
                done
                grep -o 'hostPort: [0-9]*' "$s/kind-config.yaml" | cut -d' ' -f2 > "$s/host-port" ;;
              "load image-archive")
                tar -xOf "$3" manifest.json | grep -o '"RepoTags":\\["[^"]*' | sed 's/.*\\["/docker.io\\/library\\//' >> "$s/node-images" ;;
              "delete cluster") grep -vx "$(arg --name "$@")" "$s/clusters" > "$s/clusters.new"; mv "$s/clusters.new" "$s/clusters" ;;
              *) echo "fake kind: unexpected: $*" >&2; exit 64 ;;
            esac
            """;

    static final String DOCKER = """
            case "$1" in
              version) echo "20.10.24" ;;
              port) echo "127.0.0.1:$(cat "$s/host-port")" ;;
              inspect) if [ -e "$s/node-stopped" ]; then echo false; else echo true; fi ;;
              exec)
                printf '{"images": ['
                sep=
                while read -r ref; do printf '%s{"repoTags": ["%s"]}' "$sep" "$ref"; sep=,; done < <(cat "$s/node-images" 2>/dev/null)
                printf ']}\\n' ;;
              *) echo "fake docker: unexpected: $*" >&2; exit 64 ;;
            esac
            """;

    static final String KUBECTL = """
            deployment() { printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: %s\\n  namespace: %s\\nspec:\\n  selector:\\n    matchLabels:\\n      app.kubernetes.io/name: %s\\n---\\n' "$1" "$2" "$1"; }
            case "$*" in
              "version --client") echo "Client Version: v1.34.0"; echo "Kustomize Version: v5.7.1" ;;
              *" apply -k "*"/manifests/ingress "*" -o yaml") deployment traefik traefik ;;
              *" apply -k "*" -o yaml")
                for d in $FAKE_SERVICES; do deployment $d hello-world; done
                # What was deployed, for the fake ingress and get deployments: "name tag" from the kustomization's images.
                awk '/^  - name: /{n=$3} /^    newTag: /{gsub(/"/,"",$2); print n, $2}' "$(arg -k "$@")/kustomization.yaml" > "$s/deployed" ;;
              *" rollout status "*)
                name=$(echo "$*" | sed 's/.*deployment\\/\\([a-z]*\\).*/\\1/')
                if [ -e "$s/fail-rollout-$name" ]; then echo "error: timed out waiting for the condition" >&2; exit 1; fi
                echo "deployment \\"$name\\" successfully rolled out" ;;
              *"deletionTimestamp"*) if [ -e "$s/terminating" ]; then cat "$s/terminating"; fi ;;
              *" wait --for=delete "*) for p in "$@"; do case $p in pod/*) echo "$p condition met" ;; esac; done ;;
              *" get pods "*) echo "joiner-7d9f-abcde False" ;;
              *" get events "*) echo "LAST SEEN   TYPE      REASON    OBJECT                 MESSAGE"
                                echo "10s         Warning   BackOff   pod/joiner-7d9f-abcde  Back-off restarting failed container" ;;
              *" logs "*) echo "joiner: cannot listen on 0.0.0.0:3002" ;;
              *" get deployments "*)
                echo "traefik/traefik 1 1 docker.io/library/traefik:v3.6.12"
                for d in $FAKE_SERVICES; do
                  ready=1; [ "$d" = world ] && [ -e "$s/not-ready" ] && ready=
                  echo "hello-world/$d $ready 1 $d:$(awk -v d=$d '$1==d{print $2}' "$s/deployed" 2>/dev/null)"
                done
                echo "kube-system/coredns 2 2 registry.k8s.io/coredns/coredns:v1.12.1" ;;
              *) echo "fake kubectl: unexpected: $*" >&2; exit 64 ;;
            esac
            """;
}
