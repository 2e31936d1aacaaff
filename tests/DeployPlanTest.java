import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code jbang deploy.java up} step by step, with fake kind, kubectl and docker first on PATH: each
 * records its arguments and answers like the real one from a state folder (clusters, the node's
 * images, the host port). The images are built for real, on Jib's empty "scratch" base (no registry).
 * The smoke test asks a tiny local server that answers Hello World on the "ingress" port.
 */
class DeployPlanTest extends Fakes.Plan {
    /**
     * What a node is asked before an image goes in (its blobs and containerd's config, in one exec); by a run that built
     * an image, with its images in the same exec; and how an image goes in.
     */
    static final String ASK_NODE = "docker exec %s sh -c ctr --namespace=k8s.io content ls --quiet && echo '--- deploy.java ---' && containerd config dump",
            ASK_ALL = "docker exec %s sh -c crictl images -o json && echo '--- deploy.java ---' && ctr --namespace=k8s.io content ls --quiet && echo '--- deploy.java ---' && containerd config dump",
            IMPORT = "docker exec -i %s ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -";

    @Test
    void up_from_nothing_checks_builds_creates_loads_installs_applies_waits_and_asks() throws IOException {
        var r = up();
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        String root = Support.ROOT.toString();
        // The tools' versions are asked side by side, in any order, before anything else.
        int clusters = calls.indexOf("kind get clusters");
        for (String version : List.of("docker version", "kind version", "kubectl version --client")) {
            int at = calls.stream().filter(c -> c.startsWith(version)).findFirst().map(calls::indexOf).orElse(-1);
            assertTrue(at >= 0 && at < clusters, version + " before kind get clusters: " + calls);
        }
        var expected = new ArrayList<>(List.of(
                "kind get clusters",
                "kind create cluster --name hello-world --config " + root + "/build/kind/hello-world.yaml --wait 120s --image lab/node:v1",
                "kind get nodes --name hello-world",
                // This run built the images: the node is asked for its images, blobs and config at once, and each image
                // goes in as kind load would put it. The first went whole (a new node has none of its layers): the node
                // is asked for its blobs again before the next (on a real base, the others then go in without it).
                ASK_ALL.formatted("hello-world-control-plane"),
                IMPORT.formatted("hello-world-control-plane"),
                ASK_NODE.formatted("hello-world-control-plane")));
        for (String s : SERVICES.subList(1, SERVICES.size())) expected.add(IMPORT.formatted("hello-world-control-plane"));
        expected.addAll(List.of(
                "kubectl --context kind-hello-world apply -k " + root + "/manifests/ingress",
                "kubectl --context kind-hello-world -n traefik rollout status deployment/traefik --timeout=",
                "kubectl --context kind-hello-world apply -k " + root + "/build/kustomize/dev"));
        for (String s : SERVICES) expected.add("kubectl --context kind-hello-world -n hello-world rollout status deployment/" + s + " --timeout=");
        assertInOrder(calls, expected);
        assertEquals(SERVICES.size(), calls.stream().filter(c -> c.startsWith(IMPORT.formatted("hello-world-control-plane"))).count(), calls.toString());
        for (String s : SERVICES) {
            assertTrue(Files.readString(state.resolve("node-images")).contains("docker.io/library/" + s + ":" + tag(Files.readString(
                    Support.ROOT.resolve("build/kustomize/dev/kustomization.yaml")), s)), s + " is on the node, named as kind load names it");
        }
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
    void images_go_in_with_the_snapshotter_the_nodes_containerd_unpacks_with_and_a_refused_import_is_one_error() throws IOException {
        // kind configures another snapshotter where overlayfs cannot work (rootless, some filesystems): the import follows it.
        Files.writeString(state.resolve("snapshotter"), "native");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        assertEquals(SERVICES.size(), calls().stream().filter(c -> c.contains(" images import ") && c.contains(" --snapshotter=native ")).count(), calls().toString());

        // A containerd config that names none: said, with nothing imported or applied.
        emptyState(state);
        Files.writeString(state.resolve("snapshotter"), "");
        r = up();
        assertEquals(1, r.exit(), r.both());
        assertTrue(r.err().contains("ERROR: cannot tell which snapshotter node hello-world-control-plane's containerd unpacks images with"), r.err());
        assertNothingLoadedOrApplied();

        // ctr refusing the slim archive, then the whole one: its words, then one ERROR line; nothing applied.
        emptyState(state);
        Files.writeString(state.resolve("fail-import"), "");
        r = up();
        assertEquals(1, r.exit(), r.both());
        assertEquals(2, calls().stream().filter(c -> c.contains(" images import ")).count(), "the whole archive is tried once more: " + calls() + r.both());
        assertTrue(r.err().contains("ctr: content digest sha256:0: not found"), r.err());
        assertTrue(r.err().contains("ERROR: importing hello.tar (as hello.slim.tar) into a node (ctr images import) failed (exit 1)"), r.err());
        assertTrue(calls().stream().noneMatch(c -> c.contains(" apply ")), calls().toString());
    }

    @Test
    void a_second_run_reuses_the_cluster_and_loads_no_unchanged_image() throws IOException {
        assertEquals(0, up().exit(), "first run");
        Files.writeString(state.resolve("calls"), "");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("kind create")), "no cluster created: " + calls);
        assertTrue(calls.stream().noneMatch(c -> c.contains(" images import ")), "nothing loaded: " + calls);
        assertTrue(calls.contains("docker exec hello-world-control-plane crictl images -o json"), "the node's images asked: " + calls);
        assertTrue(calls.stream().noneMatch(c -> c.contains(" content ls ")), "but not its blobs (nothing was built): " + calls);
        assertTrue(calls.contains("docker port hello-world-control-plane 80/tcp"), "the host port is checked: " + calls);
        assertTrue(r.err().contains(" ✓ Reusing cluster hello-world"), r.err());
        assertTrue(r.err().contains("all " + SERVICES.size() + " already present on hello-world-control-plane"), r.err());
        assertTrue(r.err().contains("(" + String.join(", ", SERVICES) + " up to date)"), "unchanged images are not rebuilt:\n" + r.err());

        // An image built again (as after an edit): the node is asked for its images, blobs and config in one exec, and
        // that image alone goes in.
        Files.delete(Support.ROOT.resolve("build/images/hello.ref"));
        Files.writeString(state.resolve("calls"), "");
        Files.writeString(state.resolve("node-images"), Files.readString(state.resolve("node-images")).replaceAll("(?m)^docker.io/library/hello:.*\n", ""));
        r = up();
        assertEquals(0, r.exit(), r.both());
        var node = calls().stream().filter(c -> c.startsWith("docker exec")).toList();
        assertEquals(List.of(ASK_ALL.formatted("hello-world-control-plane") + " 2>/dev/null", IMPORT.formatted("hello-world-control-plane")), node, calls().toString());
        assertTrue(r.err().contains("loaded hello ("), r.err());
    }

    /** Issue 11: a no-change up asks, in one get per kustomization, whether what it applied last is still as it left it. */
    @Test
    void a_run_with_nothing_changed_applies_nothing_and_waits_for_no_rollout() throws IOException {
        Files.writeString(state.resolve("settled"), ""); // the fake API server answers Deployments rolled out
        assertEquals(0, up().exit(), "first run");
        assertTrue(calls().stream().noneMatch(c -> c.contains(" rollout status ")), "a rolled-out Deployment needs no kubectl to wait: " + calls());
        Files.writeString(state.resolve("calls"), "");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        List<String> calls = calls();
        assertTrue(calls.stream().noneMatch(c -> c.contains(" apply ") || c.contains(" rollout status ")), "nothing applied, nothing awaited: " + calls);
        assertTrue(calls.contains("kubectl --context kind-hello-world -n traefik get deployment.v1.apps/traefik -o json"), calls.toString());
        var services = SERVICES.stream().map(s -> "deployment.v1.apps/" + s).toList();
        assertTrue(calls.contains("kubectl --context kind-hello-world -n hello-world get " + String.join(" ", services) + " -o json"), calls.toString());
        assertTrue(r.err().contains(" ✓ Installing the ingress controller (waiting ≤ 2m0s): unchanged since the last apply ("), r.err());
        assertTrue(r.err().contains("3 Deployment, unchanged since the last apply (as applied: build/kustomize/dev/applied.yaml)"), r.err());
        assertTrue(r.err().contains("to roll out: rolled out already"), r.err());

        // Changed on the cluster since (kubectl scale, edit: a new generation): applied again.
        Files.writeString(state.resolve("changed"), "");
        Files.writeString(state.resolve("calls"), "");
        assertEquals(0, up().exit());
        assertTrue(calls().stream().filter(c -> c.contains(" apply -k ")).count() == 2, "both applied again: " + calls());
        // Changed here (the record names other inputs): applied again. An image's tag alone (the kustomization
        // deploy.java writes) needs no kubectl validation where these manifests are (the same objects: the same
        // cluster); other manifests do, and then the cluster is not even asked.
        Files.delete(state.resolve("changed"));
        Path record = Support.ROOT.resolve("build/applied/kind-hello-world/build-kustomize-dev.yaml");
        String apply = "kubectl --context kind-hello-world apply -k " + Support.ROOT + "/build/kustomize/dev --server-side --force-conflicts";
        for (boolean tagsOnly : List.of(true, false)) {
            String text = Files.readString(record);
            String[] inputs = text.substring(0, text.indexOf('\n')).split(" ");
            assertEquals(4, inputs.length, "# inputs: MANIFESTS KUSTOMIZATION: " + text);
            Files.writeString(record, "# inputs: " + (tagsOnly ? inputs[2] + " 0" : "0 " + inputs[3]) + text.substring(text.indexOf('\n')));
            Files.writeString(state.resolve("calls"), "");
            assertEquals(0, up().exit());
            assertTrue(calls().contains(apply + (tagsOnly ? " --validate=false" : "") + " -o yaml"), tagsOnly + ": " + calls());
            assertEquals(tagsOnly, calls().stream().anyMatch(c -> c.contains("-n hello-world get deployment")), calls().toString());
            assertTrue(calls().stream().noneMatch(c -> c.contains(" apply -k " + Support.ROOT + "/manifests/ingress")), "the ingress controller is as it was: " + calls());
        }
        // A new cluster under the same context (down, then up: other uids): the same manifests are validated again.
        Files.writeString(state.resolve("uid"), "a-new-cluster");
        Files.writeString(state.resolve("calls"), "");
        assertEquals(0, up().exit());
        assertTrue(calls().contains(apply + " -o yaml"), "validated on the new cluster: " + calls());
        assertTrue(calls().contains("kubectl --context kind-hello-world apply -k " + Support.ROOT + "/manifests/ingress --server-side --force-conflicts -o yaml"), calls().toString());
    }

    /** Issue 13: prod's cluster has two workers to spread over; the images go to all three nodes. */
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
            assertTrue(calls().stream().anyMatch(c -> c.startsWith(ASK_ALL.formatted(node))), "images and blobs are asked of " + node + ": " + calls());
            assertEquals(SERVICES.size(), calls().stream().filter(c -> c.startsWith(IMPORT.formatted(node))).count(), "each image goes to " + node + ": " + calls());
        }
        assertTrue(calls().stream().noneMatch(c -> c.contains("hello-world-control-plane") && (c.contains(" crictl ") || c.contains(" sh -c ") || c.contains(" import "))), calls().toString());
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
        assertNothingLoadedOrApplied();
    }

    @Test
    void an_edited_answer_is_no_failure_the_versions_say_which_code_answered() throws IOException {
        Files.writeString(state.resolve("body"), "Howdy World");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        assertTrue(r.out().contains("Howdy World is served at http://localhost:" + port + "/"), r.out());
    }

    /** Issue 11: a service's last line says it stopped (hello.java's stop()); up need not wait for the kubelet to notice. */
    @Test
    void an_old_pod_that_said_it_stopped_is_waited_for_no_longer() throws IOException {
        // One old pod of hello, its container running as far as the API server knows, and a watch that reports nothing
        // (the kubelet has not noticed yet): its log's last line ends the wait.
        Files.writeString(state.resolve("pods.json"), """
                {"kind": "PodList", "metadata": {"resourceVersion": "41"}, "items": [
                  {"metadata": {"name": "hello-5f7d8-old01", "deletionTimestamp": "2026-11-30T10:00:00Z",
                                "labels": {"app.kubernetes.io/name": "hello", "pod-template-hash": "5f7d8"}},
                   "spec": {"containers": [{"name": "hello", "image": "hello:0123456789abcdef"}]},
                   "status": {"containerStatuses": [{"name": "hello", "state": {"running": {"startedAt": "2026-11-30T09:00:00Z"}}}]}}
                ]}
                """);
        Files.writeString(state.resolve("watch-waits"), "");
        Files.writeString(state.resolve("last-line-hello-5f7d8-old01"), "hello 10.244.0.7 \"GET /\" 200 id=-\nhello stopped\n");
        var r = up();
        assertEquals(0, r.exit(), r.both());
        assertTrue(r.err().contains("for the old pods to stop, so that only new ones answer: 1 stopped"), r.err());
        assertTrue(calls().contains("kubectl --context kind-hello-world -n hello-world logs -f --tail=1 hello-5f7d8-old01"), calls().toString());
    }

    @Test
    void up_waits_until_no_old_pod_runs_before_it_asks() throws IOException {
        // Left by the rollout: two old pods of hello, terminating with their containers running; another app's pod,
        // terminating too (no selector of the profile picks it); world's new pod. The watch from the list's version then
        // sees one old container terminated (the kubelet reports it before the pod is deleted), and the other pod deleted.
        Files.writeString(state.resolve("pods.json"), """
                {"kind": "PodList", "metadata": {"resourceVersion": "41"}, "items": [
                  {"metadata": {"name": "hello-5f7d8-old01", "deletionTimestamp": "2026-11-30T10:00:00Z",
                                "labels": {"app.kubernetes.io/name": "hello", "pod-template-hash": "5f7d8"}},
                   "status": {"containerStatuses": [{"name": "hello", "state": {"running": {"startedAt": "2026-11-30T09:00:00Z"}}}]}},
                  {"metadata": {"name": "hello-5f7d8-old02", "deletionTimestamp": "2026-11-30T10:00:00Z",
                                "labels": {"app.kubernetes.io/name": "hello", "pod-template-hash": "5f7d8"}},
                   "status": {"containerStatuses": [{"name": "hello", "state": {"running": {"startedAt": "2026-11-30T09:00:00Z"}}}]}},
                  {"metadata": {"name": "other-1234-zzzzz", "deletionTimestamp": "2026-11-30T10:00:00Z",
                                "labels": {"app.kubernetes.io/name": "other"}},
                   "status": {"containerStatuses": [{"name": "other", "state": {"running": {"startedAt": "2026-11-30T09:00:00Z"}}}]}},
                  {"metadata": {"name": "world-9a8b7-new01", "labels": {"app.kubernetes.io/name": "world"}},
                   "status": {"containerStatuses": [{"name": "world", "state": {"running": {"startedAt": "2026-11-30T10:00:00Z"}}}]}}
                ]}
                """);
        Files.writeString(state.resolve("pod-events"), """
                {"type": "MODIFIED", "object": {"metadata": {"name": "world-9a8b7-new01", "resourceVersion": "42", "labels": {"app.kubernetes.io/name": "world"}}, "status": {}}}
                {"type": "MODIFIED", "object": {"metadata": {"name": "hello-5f7d8-old01", "resourceVersion": "43", "deletionTimestamp": "2026-11-30T10:00:00Z", "labels": {"app.kubernetes.io/name": "hello"}}, "status": {"containerStatuses": [{"name": "hello", "state": {"terminated": {"exitCode": 0}}}]}}}
                {"type": "DELETED", "object": {"metadata": {"name": "hello-5f7d8-old02", "resourceVersion": "44", "deletionTimestamp": "2026-11-30T10:00:00Z", "labels": {"app.kubernetes.io/name": "hello"}}, "status": {"containerStatuses": [{"name": "hello", "state": {"running": {"startedAt": "2026-11-30T09:00:00Z"}}}]}}}
                """);
        var r = up();
        assertEquals(0, r.exit(), r.both());
        var calls = calls();
        assertInOrder(calls, List.of("kubectl --context kind-hello-world -n hello-world rollout status deployment/" + SERVICES.getLast(),
                "kubectl --context kind-hello-world get --raw /api/v1/namespaces/hello-world/pods",
                "kubectl --context kind-hello-world get --raw /api/v1/namespaces/hello-world/pods?watch=1&resourceVersion=41&timeoutSeconds="));
        assertEquals(1, calls.stream().filter(c -> c.contains("watch=1")).count(), "one watch, ended once neither old pod runs: " + calls);
        assertTrue(r.err().contains("for the old pods to stop, so that only new ones answer: 2 stopped"), r.err());

        // None left running: no watch at all.
        emptyState(state);
        var again = up();
        assertEquals(0, again.exit(), again.both());
        assertTrue(calls().stream().noneMatch(c -> c.contains("watch=1")), calls().toString());
        assertTrue(again.err().contains("for the old pods to stop, so that only new ones answer: none left"), again.err());
    }
}
