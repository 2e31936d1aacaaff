import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * --registry local: the pattern kind documents (kind.sigs.k8s.io/docs/user/local-registry): a registry container
 * published on 127.0.0.1:PORT, joined to the `kind` network, each node's containerd told that localhost:PORT is that
 * container (a hosts.toml), and the cluster telling tools where it is (the local-registry-hosting ConfigMap).
 * Everything is created when missing and left as it is when present, so it is shared by clusters and re-runs.
 *
 * @param port where this machine pushes (localhost:PORT), which is also the name the nodes pull by
 */
record LocalRegistry(String engine, int port) {
    static final String IMAGE = "registry:3";

    /** kind's own name for it, so that a registry made by kind's script is reused; another port, another one. */
    String name() {
        return port == Registry.LOCAL_PORT ? "kind-registry" : "kind-registry-" + port;
    }

    String host() {
        return "localhost:" + port;
    }

    Proc.Ran run(String... args) {
        var command = new ArrayList<>(List.of(engine));
        command.addAll(List.of(args));
        return Proc.run(Duration.ofMinutes(2), command);
    }

    /** The local registry started (a step), when --registry says local; else null. */
    static LocalRegistry start(String engine, Registry registry) throws Exception {
        if (registry == null || registry.local() == 0) return null;
        var local = new LocalRegistry(engine, registry.local());
        Step.run("Starting the local registry " + local.host(), () -> Step.note(local.ensure()));
        return local;
    }

    /** Before the push: the container runs and answers. */
    String ensure() throws InterruptedException {
        var state = run("inspect", "-f", "{{.State.Running}}", name());
        String note;
        if (state.exit() != 0) {
            run("run", "-d", "--restart=always", "--name", name(), "-p", "127.0.0.1:" + port + ":5000", IMAGE)
                    .orFail(engine + " run " + IMAGE + " (the local registry)");
            note = "created " + name() + " (" + IMAGE + ") on 127.0.0.1:" + port;
        } else if (!state.out().strip().equals("true")) {
            run("start", name()).orFail(engine + " start " + name());
            note = name() + " started again";
        } else {
            note = name() + " already present";
        }
        String published = run("port", name(), "5000/tcp").out().strip();
        if (!published.lines().anyMatch(l -> l.endsWith(":" + port))) {
            throw new Failure("the container " + name() + " is not published on port " + port + " (" + published + "): remove it with `"
                    + engine + " rm -f " + name() + "`, or pick another with --registry local:PORT");
        }
        URI v2 = URI.create("http://" + host() + "/v2/");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Http.ask(v2).body().startsWith("{")) { // the API's root answers 200 with {}
            if (System.nanoTime() > deadline) throw new Failure(name() + " does not answer at " + v2 + " within 30s: "
                    + Http.ask(v2).shown() + " (its log: " + engine + " logs " + name() + ")");
            Thread.sleep(500);
        }
        return note;
    }

    /** After the cluster exists: the registry on its network, each node's containerd pointed at it, the ConfigMap. */
    String wire(Kind kind, Path root) throws IOException {
        var notes = new ArrayList<String>();
        String networks = run("inspect", "-f", "{{json .NetworkSettings.Networks}}", name()).orFail(engine + " inspect " + name()).out();
        if (!networks.contains("\"kind\"")) {
            run("network", "connect", "kind", name()).orFail(engine + " network connect kind " + name());
            notes.add("joined the kind network");
        }
        // containerd reads hosts.toml afresh on each pull: no restart. Where it looks is its config_path: by default
        // in containerd 2 (kind's images since v0.27), set by manifests/kind/cluster.yaml for 1.x.
        String dir = "/etc/containerd/certs.d/" + host(), hostsToml = "[host.\"http://" + name() + ":5000\"]\n";
        Path local = root.resolve("build/kind/" + host().replace(':', '_') + ".hosts.toml");
        Files.createDirectories(local.getParent());
        Files.writeString(local, hostsToml);
        var written = new ArrayList<String>();
        List<String> nodes = kind.nodes();
        for (String node : nodes) {
            if (run("exec", node, "cat", dir + "/hosts.toml").out().equals(hostsToml)) continue;
            String paths = run("exec", node, "containerd", "config", "dump").out();
            if (!paths.contains("/etc/containerd/certs.d")) {
                throw new Failure("containerd on " + node + " does not read /etc/containerd/certs.d (its registry config_path; the"
                        + " cluster was not made from manifests/kind/cluster.yaml as it is now): recreate it with"
                        + " `jbang deploy.java down" + kind.flag() + "`, then up");
            }
            run("exec", node, "mkdir", "-p", dir).orFail("mkdir " + dir + " on " + node);
            run("cp", local.toString(), node + ":" + dir + "/hosts.toml").orFail(engine + " cp hosts.toml to " + node);
            written.add(node);
        }
        notes.add(written.isEmpty() ? "hosts.toml already present on " + String.join(", ", nodes)
                : "hosts.toml written on " + String.join(", ", written));
        Path configMap = root.resolve("build/kind/local-registry-hosting.yaml");
        Files.writeString(configMap, """
                # Generated by deploy.java: where this cluster's local registry is (KEP-1755), for the tools that look.
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: local-registry-hosting
                  namespace: kube-public
                  labels:
                    %s: %s
                data:
                  localRegistryHosting.v1: |
                    host: "%s"
                    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
                """.formatted(Kustomization.OWNER_LABEL, Kustomization.OWNER, host()));
        String applied = kind.kubectl().run(Duration.ofMinutes(1), "apply", "-f", configMap.toString())
                .orFail("kubectl apply -f " + Step.shown(configMap)).out();
        notes.add("ConfigMap kube-public/local-registry-hosting" + (applied.contains("unchanged") ? " already present" : " applied"));
        return name() + ": " + String.join("; ", notes);
    }
}
