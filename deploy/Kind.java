import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * What only a local kind cluster needs: create it, load images into its nodes, find its host port, delete it.
 * The rest (apply, wait, diagnose) is any cluster's business: {@link #kubectl()}.
 */
record Kind(String name, String engine) {
    static final String DEFAULT = "hello-world";

    String context() {
        return "kind-" + name;
    }

    Kubectl kubectl() {
        return new Kubectl(context());
    }

    /** How a suggested command names this cluster: not at all when it is the default. */
    String flag() {
        return name.equals(DEFAULT) ? "" : " --cluster " + name;
    }

    Proc.Ran run(Duration timeout, String... args) {
        var command = new ArrayList<>(List.of("kind"));
        command.addAll(List.of(args));
        return Proc.run(timeout, command, engine.equals("podman") ? Map.of("KIND_EXPERIMENTAL_PROVIDER", "podman") : Map.of());
    }

    boolean exists() {
        return run(Duration.ofSeconds(30), "get", "clusters").orFail("kind get clusters").out().lines().anyMatch(name::equals);
    }

    /** Its nodes, asked of kind once per run (up needs them four times): only create and delete change them, and forget them. */
    List<String> nodes() {
        return NODES.computeIfAbsent(name, n -> run(Duration.ofSeconds(30), "get", "nodes", "--name", n).orFail("kind get nodes").out()
                .lines().filter(l -> !l.isBlank()).toList());
    }

    static final Map<String, List<String>> NODES = new ConcurrentHashMap<>();

    /** The worker nodes, as kind names them: NAME-worker, NAME-worker2, ... */
    List<String> workers() {
        return workers(nodes());
    }

    List<String> workers(List<String> nodes) {
        return nodes.stream().filter(n -> n.matches(Pattern.quote(name) + "-worker\\d*")).toList();
    }

    /**
     * The kind config a profile's cluster is created from: manifests/kind/cluster-PROFILE.yaml where there is one
     * (prod's adds two workers to spread its replicas over), else cluster.yaml, the single node dev needs.
     */
    static Path config(Path root, String profile) {
        Path own = root.resolve("manifests/kind/cluster-" + profile + ".yaml");
        return Files.exists(own) ? own : root.resolve("manifests/kind/cluster.yaml");
    }

    /** How many workers a kind config asks for. */
    @SuppressWarnings("unchecked")
    static long workers(Path config) throws IOException {
        Map<String, Object> yaml = new Yaml().load(Files.readString(config));
        return ((List<Map<String, Object>>) yaml.getOrDefault("nodes", List.of())).stream().filter(n -> "worker".equals(n.get("role"))).count();
    }

    static String shape(long workers) {
        return workers == 0 ? "one node" : "a control plane and " + workers + " worker" + (workers == 1 ? "" : "s");
    }

    /**
     * An existing cluster can take the profile: it has at least the workers that the profile's kind config asks
     * for. Without them prod's replicas would share one node (or stay pending), so it stops here, before anything
     * changes, rather than leave them silently unspread.
     */
    String checkWorkers(Path root, String profile) throws IOException {
        Path config = config(root, profile);
        long wanted = workers(config);
        long has = workers().size();
        if (has < wanted) throw new Failure("cluster " + name + " has " + shape(has) + ", and the " + profile + " profile spreads its replicas over "
                + wanted + " workers (" + root.relativize(config) + "): recreate it with `jbang deploy.java down" + flag()
                + "` and `jbang deploy.java up --profile " + profile + flag() + "`, or give another cluster with --cluster NAME");
        return shape(has);
    }

    /** Creates the cluster from the profile's kind config, its hostPort set from --port (written to build/kind/). */
    @SuppressWarnings("unchecked")
    String create(Path root, String profile, int port, String nodeImage, Duration timeout) throws IOException {
        Path source = config(root, profile);
        Map<String, Object> config = new Yaml().load(Files.readString(source));
        int mapped = 0;
        for (var node : (List<Map<String, Object>>) config.getOrDefault("nodes", List.of())) {
            for (var mapping : (List<Map<String, Object>>) node.getOrDefault("extraPortMappings", List.of())) {
                if (Integer.valueOf(80).equals(mapping.get("containerPort"))) {
                    mapping.put("hostPort", port);
                    mapped++;
                }
            }
        }
        if (mapped == 0) throw new Failure(root.relativize(source) + " maps no containerPort 80 (where the ingress listens) to the host");
        var options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        Path effective = root.resolve("build/kind/" + name + ".yaml");
        Files.createDirectories(effective.getParent());
        Files.writeString(effective, "# Generated by deploy.java from " + root.relativize(source) + ", hostPort " + port + ".\n"
                + new Yaml(options).dump(config));
        var args = new ArrayList<>(List.of("create", "cluster", "--name", name, "--config", effective.toString(),
                "--wait", timeout.toSeconds() + "s"));
        if (nodeImage != null) args.addAll(List.of("--image", nodeImage));
        try {
            run(timeout.plusMinutes(5), args.toArray(String[]::new)).orFail("kind create cluster");
        } finally {
            NODES.remove(name);
        }
        return shape(workers(source)) + (nodeImage == null ? "" : ", node image " + nodeImage);
    }

    void delete() {
        try {
            run(Duration.ofMinutes(3), "delete", "cluster", "--name", name).orFail("kind delete cluster");
        } finally {
            NODES.remove(name);
        }
    }

    /** The host port mapped to the node's port 80, where the ingress controller listens. */
    int hostPort() {
        for (String node : nodes()) {
            var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "port", node, "80/tcp"));
            Matcher m = Pattern.compile(":(\\d+)\\s*$", Pattern.MULTILINE).matcher(ran.out());
            if (ran.exit() == 0 && m.find()) return Integer.parseInt(m.group(1));
        }
        throw new Failure("cluster " + name + " maps no host port to port 80 of its nodes (not made by deploy.java?):"
                + " delete it with `jbang deploy.java down" + flag() + "` and run up again");
    }

    /** An existing cluster can be reused: its nodes run, and it was made with this host port. */
    String checkHostPort(int port) {
        for (String node : nodes()) {
            var running = Proc.run(Duration.ofSeconds(30), List.of(engine, "inspect", "-f", "{{.State.Running}}", node));
            if (!running.out().strip().equals("true")) throw new Failure("cluster " + name + " is there but its node " + node
                    + " is not running (after a restart?): start it with `" + engine + " start " + node + "`, or delete the cluster with"
                    + " `jbang deploy.java down" + flag() + "` and run up again");
        }
        int mapped = hostPort();
        if (mapped != port) throw new Failure("cluster " + name + " was created with host port " + mapped + ", not " + port
                + ": run with --port " + mapped + ", or `jbang deploy.java down` first to recreate it");
        return "created before; host port " + port;
    }

    /**
     * Loads only what some node lacks, asking each node's containerd for the exact tag (the kubelet's own list in the
     * node status would do too, but it stops at 50 images). Where there are workers, only they get the images: the
     * app's pods never run on the control plane, which keeps its taint. What is imported leaves out the layers every
     * node has (the Java base, once one image is there): see SlimArchive; how, and why not through kind: see KindNode.
     * {@code expected}: an image most likely goes in (a new cluster, or one just built), so the nodes are asked for
     * everything in one exec each; else (a run with nothing new) for their images alone, and for the rest if need be.
     */
    String load(List<Image> images, boolean expected) throws IOException, InterruptedException {
        var present = new ArrayList<String>();
        var loaded = new ArrayList<String>();
        var all = nodes();
        var nodes = workers(all).isEmpty() ? all : workers(all);
        // Where an image most likely goes in (expected), each node is asked for its images, blobs and config at once.
        List<KindNode> on = expected ? ask(nodes, true) : null;
        var onNodes = on != null ? on.stream().map(KindNode::images).toList()
                : Step.together(nodes.stream().<Callable<Set<String>>>map(n -> () -> KindNode.images(engine, n)).toList(), "asking the nodes");
        for (Image image : images) {
            // What kind load names hello:tag inside containerd, and so does the import here.
            String ref = "docker.io/library/" + image.ref();
            (onNodes.stream().allMatch(refs -> refs.contains(ref)) ? present : loaded).add(image.name());
        }
        if (loaded.isEmpty()) return "all " + present.size() + " already present on " + String.join(", ", nodes);
        long sent = 0, of = 0;
        SlimArchive.Sent last = null;
        for (Image image : images) {
            if (!loaded.contains(image.name())) continue;
            // Asked again after an image went whole: the next ones share its base (on a new cluster).
            if (on == null || last != null && last.bytes() == last.of()) on = ask(nodes, false);
            var slim = loadSlim(image, on, false);
            if (slim == null) slim = loadSlim(image, on, true); // a blob gone from a node meanwhile: send them all
            sent += slim.bytes();
            of += slim.of();
            last = slim;
        }
        String moved = sent == of ? Push.size(sent) : Push.size(sent) + " sent, " + Push.size(of - sent) + " already on the node" + (nodes.size() > 1 ? "s" : "");
        return "loaded " + String.join(", ", loaded) + " (" + moved + ")" + (present.isEmpty() ? "" : "; " + String.join(", ", present) + " already present");
    }

    /** The nodes' containerds, asked side by side for their blobs and config (and images). */
    List<KindNode> ask(List<String> nodes, boolean images) throws InterruptedException {
        return Step.together(nodes.stream().<Callable<KindNode>>map(n -> () -> KindNode.ask(engine, n, images)).toList(), "asking the nodes");
    }

    /**
     * Imports into every node what all of them lack of an image (side by side, as kind load does); null when a node
     * refused it and it is not the last try.
     */
    SlimArchive.Sent loadSlim(Image image, List<KindNode> nodes, boolean whole) throws IOException, InterruptedException {
        Set<String> common = new HashSet<>(whole ? Set.of() : nodes.getFirst().blobs());
        for (KindNode node : nodes) common.retainAll(node.blobs());
        Path slim = image.tar().resolveSibling(image.name() + ".slim.tar");
        try {
            SlimArchive.Sent sent;
            try {
                sent = SlimArchive.write(image.tar(), image.ref(), common, slim);
            } catch (IOException e) {
                throw new Failure("cannot read the image archive " + Step.shown(image.tar()) + ": " + e.getMessage()
                        + " (delete build/images/ and run up again: the archives are rebuilt)");
            }
            for (Proc.Ran ran : Step.together(nodes.stream().<Callable<Proc.Ran>>map(n -> () -> n.load(slim)).toList(), "importing " + image.name())) {
                if (ran.exit() != 0 && !whole) return null;
                ran.orFail("importing " + image.tar().getFileName() + " (as " + slim.getFileName() + ") into a node (ctr images import)");
            }
            return sent;
        } finally {
            Files.deleteIfExists(slim);
        }
    }
}
