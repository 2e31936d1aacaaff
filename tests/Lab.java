import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The kind lab that {@code .ci/lab/build} makes, as the e2e classes use it: whether it is here,
 * the one-e2e-per-machine lock, and the tools run against one cluster. No registry is reachable
 * here, so the node image and the Java base image come from the lab, never from a pull.
 *
 * <pre>{@code
 * static final Lab LAB = new Lab("hello-world-e2e");   // or new Lab(name, "hello-world-lab/node:v1.34.4", "kind-v0.30.0")
 * String missing = LAB.missing(80);                     // null, or why the class must skip
 * LAB.up(Duration.ofMinutes(12), "--profile", "prod");  // jbang deploy.java up --node-image … --base-image … --profile prod --cluster …
 * LAB.kubectl("get", "pods", "-A");                     // kubectl --context kind-<cluster> …
 * }</pre>
 */
final class Lab {
    static final String NODE_IMAGE = "hello-world-lab/node:v1.37.2";
    static final String KIND = "kind";
    static final String BASE_IMAGE = "hello-world-lab/java-base:25";

    /** The cluster's name, the kind node image it is created from, the kind binary (a name on PATH or a path). */
    final String cluster, nodeImage, kind;

    Lab(String cluster) {
        this(cluster, NODE_IMAGE, KIND);
    }

    Lab(String cluster, String nodeImage, String kind) {
        this.cluster = cluster;
        this.nodeImage = nodeImage;
        this.kind = kind;
    }

    String context() {
        return "kind-" + cluster;
    }

    /** An image already on the node that has bash and curl: kube-proxy's, of the node's Kubernetes version. */
    String probeImage() {
        return "registry.k8s.io/kube-proxy:" + nodeImage.substring(nodeImage.lastIndexOf(':') + 1);
    }

    /**
     * Why the e2e cannot run here, or null: the lab was not built (LAB_UNAVAILABLE, set by .ci/run),
     * a tool or a lab image is missing, another e2e run holds the machine, or a host port is taken.
     * The first call takes the machine's e2e lock for the rest of this JVM, so that every e2e class
     * of one test run shares it.
     */
    String missing(int... freeHostPorts) {
        String unavailable = System.getenv("LAB_UNAVAILABLE");
        if (unavailable != null && !unavailable.isBlank()) return unavailable;
        for (String tool : List.of("docker", kind, "kubectl", "jbang")) {
            if (tool.contains("/") ? !Files.isExecutable(Path.of(tool)) : Support.which(tool) == null) {
                return tool + (tool.contains("/") ? " is not there" : " is not on PATH") + " (the lab: .ci/lab/build, see .ci/lab/README.md)";
            }
        }
        for (String image : List.of(nodeImage, BASE_IMAGE)) {
            if (docker("image", "inspect", image).exit() != 0) return "no image " + image + " in Docker: build the lab with .ci/lab/build";
        }
        if (!machineLock()) return "another e2e run holds " + LOCK.getFileName() + " in the temp folder (e2e runs share cluster names and port 80)";
        for (int port : freeHostPorts) {
            if (!portFree(port)) return "port " + port + " on 127.0.0.1 is taken: the cluster's ingress needs it";
        }
        return null;
    }

    /** {@code jbang deploy.java ARGS --cluster NAME}, with this lab's kind first on PATH. */
    Support.Result deploy(Duration timeout, String... args) {
        var command = Support.command(List.of("jbang", "deploy.java"), args);
        command.addAll(List.of("--cluster", cluster));
        return Support.run(command, kindOnPath(), timeout);
    }

    /** {@code deploy.java up ARGS} on the lab's node and base images. */
    Support.Result up(Duration timeout, String... args) {
        var command = new ArrayList<>(List.of("up", "--node-image", nodeImage, "--base-image", "docker://" + BASE_IMAGE));
        command.addAll(List.of(args));
        return deploy(timeout, command.toArray(String[]::new));
    }

    Support.Result kubectl(String... args) {
        return Support.run(Support.command(List.of("kubectl", "--context", context()), args), Map.of(), Duration.ofMinutes(4));
    }

    Support.Result kind(String... args) {
        return Support.run(Support.command(List.of(kind), args), Map.of(), Duration.ofMinutes(3));
    }

    /** Deletes this lab's cluster; a missing cluster is no error. */
    void deleteCluster() {
        kind("delete", "cluster", "--name", cluster);
    }

    static Support.Result docker(String... args) {
        return Support.run(Support.command(List.of("docker"), args), Map.of(), Duration.ofMinutes(1));
    }

    static boolean portFree(int port) {
        try (var s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // ---- the machine's one e2e run

    static final Path LOCK = Path.of(System.getProperty("java.io.tmpdir"), "hello-world-e2e.lock");
    private static FileLock lock;

    /** Takes the lock once; it is held until this JVM exits (the OS releases it even on a crash). */
    static synchronized boolean machineLock() {
        if (lock != null) return true;
        try {
            lock = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE).tryLock();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lock != null;
    }

    /** A PATH on which {@code kind} is this lab's kind binary: deploy.java runs the kind it finds there. */
    private synchronized Map<String, String> kindOnPath() {
        if (kind.equals(KIND)) return Map.of();
        if (path == null) {
            try {
                Path bin = Files.createTempDirectory("lab-kind");
                bin.toFile().deleteOnExit();
                Files.createSymbolicLink(bin.resolve("kind"), kind.contains("/") ? Path.of(kind) : Support.which(kind));
                bin.resolve("kind").toFile().deleteOnExit();
                path = Map.of("PATH", bin + ":" + System.getenv("PATH"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return path;
    }
    private Map<String, String> path;

    /**
     * Why pods cannot talk across this cluster's nodes, or null. A lab built before it went multi-node gives every
     * node the same pod range (a static CNI config), whatever podCIDR Kubernetes gave the node: a pod's IP outside its
     * node's podCIDR says so.
     */
    String podNetworkNotPerNode() {
        var cidrs = new TreeMap<String, String>();
        for (String line : kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{\"\\n\"}{end}").out().lines().toList()) {
            String[] f = line.split(" ");
            if (f.length == 2) cidrs.put(f[0], f[1]);
        }
        String pods = kubectl("get", "pods", "-A", "-o",
                "jsonpath={range .items[?(@.status.podIP)]}{.spec.nodeName} {.status.podIP} {.spec.hostNetwork}{\"\\n\"}{end}").out();
        for (String line : pods.lines().toList()) {
            String[] f = line.split(" ", -1);
            if (f[2].equals("true") || !cidrs.containsKey(f[0]) || inCidr(f[1], cidrs.get(f[0]))) continue;
            return "the lab's node image gives pods on " + f[0] + " addresses outside its podCIDR " + cidrs.get(f[0]) + " (" + f[1]
                    + "): no pod network between nodes; build the lab's multi-node node image (.ci/lab/build)";
        }
        return null;
    }

    private static boolean inCidr(String ip, String cidr) {
        String[] c = cidr.split("/");
        int bits = Integer.parseInt(c[1]);
        long mask = bits == 0 ? 0 : -1L << (32 - bits) & 0xffffffffL;
        return (ipv4(ip) & mask) == (ipv4(c[0]) & mask);
    }

    private static long ipv4(String ip) {
        long n = 0;
        for (String part : ip.split("\\.")) n = n << 8 | Integer.parseInt(part);
        return n;
    }
}
