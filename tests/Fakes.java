import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
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

/**
 * Fake kind, kubectl and docker for the tests of deploy.java's plan (Deploy*Test): bash scripts first on PATH, each
 * records its arguments in $FAKE_STATE/calls and answers like the real one from that state folder; and a fake ingress
 * that answers as joiner would. {@link Plan} is the fixture of DeployPlanTest, DeployErrorsTest and DeployStatusTest;
 * RegistryFakes that of DeployRegistryTest and DeployContextTest.
 */
class Fakes {
    // The fakes. Each appends its argument list to $FAKE_STATE/calls, then answers.
    static final String COMMON = """
            set -u
            s=$FAKE_STATE
            echo "$(basename "$0") $*" >> "$s/calls"
            arg() { local want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
            """;

    /** DIR/bin holding fake kind, kubectl and docker (these scripts after COMMON), for the front of PATH. */
    static Path fakeTools(Path dir, String kind, String kubectl, String docker) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (var tool : Map.of("kind", kind, "kubectl", kubectl, "docker", docker).entrySet()) {
            Path p = bin.resolve(tool.getKey());
            Files.writeString(p, "#!/usr/bin/env bash\n" + COMMON + tool.getValue());
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    /** Empties the fakes' state folder: each test starts from no cluster, no calls. */
    static void emptyState(Path state) throws IOException {
        try (var files = Files.list(state)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        // The fake API server's uids are this test's own: what up recorded of another's apply is never taken as current.
        Files.writeString(state.resolve("uid"), Long.toString(System.nanoTime()));
    }

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
              "delete cluster") grep -vx "$(arg --name "$@")" "$s/clusters" > "$s/clusters.new"; mv "$s/clusters.new" "$s/clusters" ;;
              *) echo "fake kind: unexpected: $*" >&2; exit 64 ;;
            esac
            """;

    /**
     * The fake ingress answers as joiner would: X-Version names joiner's version, then hello's and world's, here the
     * tags that the fake kubectl last applied ($FAKE_STATE/deployed, "name tag" lines), or $FAKE_STATE/answering when a
     * test says so; the body is $FAKE_STATE/body when a test edited it. Started on a free loopback port.
     */
    static HttpServer ingressAnsweringAsJoiner(Path state) throws IOException {
        var ingress = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        ingress.createContext("/", exchange -> {
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
        });
        ingress.start();
        return ingress;
    }

    /** The command lines the fake tools recorded, in order ($FAKE_STATE/calls). */
    static List<String> calls(Path state) {
        try {
            Path log = state.resolve("calls");
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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

    /**
     * {@code jbang deploy.java} with the fakes first on PATH (kind, kubectl and docker of a kind cluster). The images are
     * built for real, on Jib's empty "scratch" base (no registry); the smoke test asks the fake ingress on the "ingress" port.
     */
    abstract static class Plan extends Fakes {
        static final List<String> SERVICES = Support.SERVICES;
        static Path bin, state;
        static HttpServer ingress;
        static int port;

        @BeforeAll
        static void fakes() throws IOException {
            assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
            Path dir = Files.createTempDirectory("deploy-fakes");
            bin = fakeTools(dir, KIND, KUBECTL, DOCKER);
            state = Files.createDirectories(dir.resolve("state"));
            ingress = ingressAnsweringAsJoiner(state);
            port = ingress.getAddress().getPort();
        }

        @AfterAll
        static void stop() {
            if (ingress != null) ingress.stop(0);
        }

        @BeforeEach
        void clean() throws IOException {
            emptyState(state);
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

        static List<String> calls() {
            return Fakes.calls(state);
        }

        /** A failure before anything changed: no image loaded, nothing applied. */
        static void assertNothingLoadedOrApplied() {
            assertTrue(calls().stream().noneMatch(c -> c.contains(" images import ") || c.contains(" apply ")), calls().toString());
        }

        static final String DOCKER = """
                # What a node holds: crictl's images; the content store's blobs and containerd's config.
                images() {
                  printf '{"images": ['
                  sep=
                  while read -r ref; do printf '%s{"repoTags": ["%s"]}' "$sep" "$ref"; sep=,; done < <(cat "$s/node-images" 2>/dev/null)
                  printf ']}\\n'
                }
                blobs_and_config() {
                  cat "$s/node-blobs" 2>/dev/null || true
                  printf -- "--- deploy.java ---\\nversion = 3\\n[plugins]\\n  [plugins.'io.containerd.cri.v1.images']\\n    snapshotter = '%s'\\n" \\
                    "$(cat "$s/snapshotter" 2>/dev/null || echo overlayfs)"
                }
                case "$1" in
                  version) echo "20.10.24" ;;
                  port) echo "127.0.0.1:$(cat "$s/host-port")" ;;
                  inspect) if [ -e "$s/node-stopped" ]; then echo false; else echo true; fi ;;
                  exec)
                    case "$*" in
                      # KindNode.images (a run that built nothing), KindNode.ask without and with the images.
                      *" crictl images -o json") images ;;
                      *" sh -c ctr --namespace=k8s.io content ls --quiet && "*) blobs_and_config ;;
                      *" sh -c crictl images -o json && echo '--- deploy.java ---' && ctr --namespace=k8s.io content ls --quiet && "*)
                        images; echo "--- deploy.java ---"; blobs_and_config ;;
                      # An import (what kind load runs): an OCI layout, as deploy.java's SlimArchive writes it, on stdin.
                      "exec -i "*" ctr --namespace=k8s.io images import "*)
                        if [ -e "$s/fail-import" ]; then echo "ctr: content digest sha256:0: not found" >&2; exit 1; fi
                        t=$(mktemp); cat > "$t"
                        tar -xOf "$t" index.json | grep -o '"io.containerd.image.name":"[^"]*' | sed 's/.*:"//' >> "$s/node-images"
                        tar -tf "$t" | grep '^blobs/sha256/' | sed 's|blobs/sha256/|sha256:|' >> "$s/node-blobs"
                        rm -f "$t" ;;
                      *) echo "fake docker: unexpected: $*" >&2; exit 64 ;;
                    esac ;;
                  *) echo "fake docker: unexpected: $*" >&2; exit 64 ;;
                esac
                """;

        static final String KUBECTL = """
                # A Deployment as the API server answers it; with $s/settled, rolled out (its status says so); with
                # $s/changed, get answers it with a newer generation (someone changed it since).
                deployment() {
                  g=1; [ "${3:-}" = get ] && [ -e "$s/changed" ] && g=2
                  printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: %s\\n  namespace: %s\\n  uid: %s-%s\\n  generation: %s\\nspec:\\n  selector:\\n    matchLabels:\\n      app.kubernetes.io/name: %s\\n' "$1" "$2" "$1" "$(cat "$s/uid" 2>/dev/null)" "$g" "$1"
                  if [ -e "$s/settled" ]; then printf 'status:\\n  observedGeneration: %s\\n  replicas: 1\\n  updatedReplicas: 1\\n  availableReplicas: 1\\n' "$g"; fi
                  printf -- '---\\n'
                }
                case "$*" in
                  # The app's pods (OldPods lists them, then follows them from the list's version): $s/pods.json, $s/pod-events.
                  *" get --raw /api/v1/namespaces/hello-world/pods") cat "$s/pods.json" 2>/dev/null || echo '{"kind": "PodList", "metadata": {"resourceVersion": "7"}, "items": []}' ;;
                  *" get --raw /api/v1/namespaces/hello-world/pods?watch=1&resourceVersion="[0-9]*"&"*)
                    cat "$s/pod-events" 2>/dev/null || true
                    if [ -e "$s/watch-waits" ]; then exec sleep 100; fi ;; # a kubelet that has not reported yet
                  # An old pod's log followed from its last line: $s/last-line-POD, then nothing more (it has not ended).
                  *" logs -f --tail=1 "*) cat "$s/last-line-${@: -1}" 2>/dev/null; exec sleep 100 ;;
                  *" -n traefik get "*" -o json") deployment traefik traefik get ;;
                  *" -n hello-world get "*" -o json") for d in $FAKE_SERVICES; do deployment $d hello-world get; done ;;
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
}
