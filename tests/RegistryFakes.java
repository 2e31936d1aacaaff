import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The fixture of DeployRegistryTest and DeployContextTest: fake kind, kubectl and docker first on PATH (each records its
 * arguments, as in Fakes.Plan), Jib pushing for real to a FakeRegistry, and a fake ingress that answers Hello World.
 */
abstract class RegistryFakes extends Fakes {
    static final List<String> SERVICES = Support.SERVICES;
    static final String USER = "alice", PASSWORD = "pw-" + UUID.randomUUID();
    static final Pattern PUSHED = Pattern.compile("(?m)^(\\w+) +(\\S+)@(sha256:[0-9a-f]{64})$");
    static Path bin, state, dockerConfig;
    static HttpServer ingress;
    static FakeRegistry registry;

    @BeforeAll
    static void fakes() throws IOException {
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        Path dir = Files.createTempDirectory("deploy-registry-fakes");
        bin = fakeTools(dir, KIND, KUBECTL, DOCKER);
        state = Files.createDirectories(dir.resolve("state"));
        dockerConfig = Files.createDirectories(dir.resolve("docker"));
        ingress = ingressAnsweringAsJoiner(state);
        registry = new FakeRegistry(new InetSocketAddress(0));
    }

    @AfterAll
    static void stop() {
        if (ingress != null) ingress.stop(0);
        if (registry != null) {
            try {
                registry.stop();
            } catch (IOException ignored) {
                // the test is over
            }
        }
    }

    @BeforeEach
    void clean() throws IOException {
        emptyState(state);
        registry.reset(false);
        login(null);
    }

    // ---- helpers

    static String url() {
        return "http://127.0.0.1:" + ingress.getAddress().getPort() + "/";
    }

    Support.Result up(String... args) {
        var all = new ArrayList<>(List.of("up", "--base-image", "scratch", "--timeout", "2m"));
        all.addAll(List.of(args));
        return deploy(all.toArray(String[]::new));
    }

    static Support.Result deploy(String... args) {
        var env = new HashMap<String, String>();
        env.put("PATH", bin + ":" + System.getenv("PATH"));
        env.put("FAKE_STATE", state.toString());
        env.put("FAKE_SERVICES", String.join(" ", SERVICES));
        env.put("DOCKER_CONFIG", dockerConfig.toString());
        if (Support.which("kubectl") != null) env.put("REAL_KUBECTL", Support.which("kubectl").toString());
        return Support.run(Support.command(List.of("jbang", "deploy.java"), args), env, Duration.ofMinutes(3));
    }

    /** Docker's config.json with a login for the fake registry (or none). */
    static void login(String password) throws IOException {
        Path config = dockerConfig.resolve("config.json");
        if (password == null) Files.deleteIfExists(config);
        else Files.writeString(config, "{\"auths\": {\"" + registry.host() + "\": {\"auth\": \"" + base64(USER + ":" + password) + "\"}}}");
    }

    static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** name → [repository, digest] from the lines of images --registry. */
    static Map<String, String[]> pushed(String out) {
        var pushed = new java.util.LinkedHashMap<String, String[]>();
        Matcher m = PUSHED.matcher(out);
        while (m.find()) pushed.put(m.group(1), new String[] {m.group(2), m.group(3)});
        return pushed;
    }

    static String size(long bytes) {
        return bytes < 1000 ? bytes + " B" : bytes < 1_000_000 ? String.format("%.1f kB", bytes / 1e3) : String.format("%.1f MB", bytes / 1e6);
    }

    static String nonLoopbackAddress() throws IOException {
        for (var nic : NetworkInterface.networkInterfaces().toList()) {
            if (!nic.isUp() || nic.isLoopback()) continue;
            for (var a : nic.inetAddresses().toList()) if (a instanceof java.net.Inet4Address) return a.getHostAddress();
        }
        return null;
    }

    static List<String> calls() {
        return Fakes.calls(state);
    }

    static void write(String file, String text) {
        try {
            Files.writeString(state.resolve(file), text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String read(String file) {
        try {
            return Files.readString(state.resolve(file));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // The fakes (COMMON first): docker and kubectl, extended for the registry and for any context.
    static final String DOCKER = """
            case "$1" in
              version) echo "20.10.24" ;;
              port)
                if [ "$2" = hello-world-control-plane ]; then echo "127.0.0.1:$(cat "$s/host-port")"
                else echo "127.0.0.1:$(cat "$s/registry-port")"; fi ;;
              inspect)
                case "$3" in
                  "{{.State.Running}}") if [ -e "$s/registry-port" ]; then echo true; else echo "Error: No such object: $4" >&2; exit 1; fi ;;
                  "{{json .NetworkSettings.Networks}}") if [ -e "$s/registry-on-kind" ]; then echo '{"bridge":{},"kind":{}}'; else echo '{"bridge":{}}'; fi ;;
                  *) echo true ;;
                esac ;;
              run) p=$(arg -p "$@"); p=${p#127.0.0.1:}; echo "${p%:5000}" > "$s/registry-port"; echo 0123abcd ;;
              network) touch "$s/registry-on-kind" ;;
              cp) cp "$2" "$s/hosts.toml" ;;
              exec)
                case "$3" in
                  cat) if [ -e "$s/hosts.toml" ]; then cat "$s/hosts.toml"; else echo "cat: $4: No such file or directory" >&2; exit 1; fi ;;
                  containerd) echo '    config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"' ;;
                  mkdir) ;;
                  *) echo '{"images": []}' ;;
                esac ;;
              *) echo "fake docker: unexpected: $*" >&2; exit 64 ;;
            esac
            """;

    static final String KUBECTL = """
            deployment() { printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: %s\\n  namespace: %s\\nspec:\\n  selector:\\n    matchLabels:\\n      app.kubernetes.io/name: %s\\n---\\n' "$1" "$2" "$1"; }
            case "$*" in
              "version --client") echo "Client Version: v1.34.0"; echo "Kustomize Version: v5.7.1" ;;
              "kustomize "*) exec "$REAL_KUBECTL" "$@" ;;
              "config get-contexts -o name") printf 'kind-hello-world\\nremote\\n' ;;
              *" version -o yaml") printf 'clientVersion:\\n  gitVersion: v1.34.0\\nserverVersion:\\n  gitVersion: v1.34.4\\n' ;;
              *" get ingressclass traefik "*) cat "$s/ingressclass" 2>/dev/null || true ;;
              *" apply -f "*) echo "configmap/local-registry-hosting created" ;;
              *" apply -k "*"/ingress -o yaml"|*" apply -k "*"/manifests/ingress -o yaml") deployment traefik traefik ;;
              *" apply -k "*" -o yaml")
                for d in $FAKE_SERVICES; do deployment $d hello-world; done
                # What was deployed, for the fake ingress and get deployments: "name tag digest" from the kustomization's images.
                awk '/^  - name: /{n=$3} /^    newTag: /{t=$2} /^    digest: /{print n, t, $2}' "$(arg -k "$@")/kustomization.yaml" > "$s/pulled"
                cut -d' ' -f1,2 "$s/pulled" > "$s/deployed" ;;
              *" rollout status "*) echo "successfully rolled out" ;;
              *" get --raw /api/v1/namespaces/"*"/pods") echo '{"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": []}' ;;
              *" get ingress --all-namespaces "*) echo "hello-world/hello-world $(cat "$s/ingress-address" 2>/dev/null)" ;;
              *" get deployments "*)
                echo "traefik/traefik 1 1 docker.io/library/traefik:v3.6.12"
                cat "$s/pulled" 2>/dev/null | while read -r d t digest; do echo "hello-world/$d 1 1 registry.example/$d:$t@$digest"; done ;;
              *" delete "*)
                if [ ! -e "$s/deleted" ]; then touch "$s/deleted"; echo 'namespace "hello-world" deleted'; echo 'namespace "traefik" deleted'; fi ;;
              *) echo "fake kubectl: unexpected: $*" >&2; exit 64 ;;
            esac
            """;
}
