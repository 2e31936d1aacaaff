import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The record of the last apply of a kustomization to a context, build/applied/CONTEXT/KUSTOMIZATION.yaml: digests
 * of its inputs (manifests/, and the kustomization) and what the API server answered. When the inputs are the same
 * and one kubectl get finds every object as that apply left it (the same uid, and the same generation: no one changed
 * its spec; or, for kinds without one, the same resourceVersion: no one changed it at all), applying again would
 * change nothing. up skips it then: a no-change up gets one get (~0.2 s) instead of two applies (~2 s).
 * <p>
 * A record also says that these manifests passed kubectl's validation on this cluster, as long as its objects are
 * still there (the same uids: not a new cluster under the same context): a new image tag alone (the kustomization is
 * deploy.java's) needs none, and kubectl's validation costs ~0.7 s an apply (it reads the API server's OpenAPI).
 * <p>
 * Not seen: a label or annotation changed by hand on a Deployment or an Ingress (their status moves their
 * resourceVersion, so only their generation is compared), and files outside manifests/ that a kustomization names.
 * Deleting build/applied/ makes the next up apply everything.
 *
 * @param recorded the record's first line ("# inputs: MANIFESTS KUSTOMIZATION"), "" without a record
 */
record LastApply(Path file, String manifests, String kustomization, String recorded) {
    static final String HEADER = "# inputs: ", UNCHANGED = "unchanged since the last apply";

    /** Where the record of applying this kustomization (under root) to this context is kept, with today's inputs. */
    static LastApply of(Path root, String context, Path kustomization) throws IOException {
        String name = root.relativize(kustomization).toString().replace('/', '-');
        List<Path> manifests;
        try (Stream<Path> walk = Files.walk(root.resolve("manifests"))) {
            manifests = walk.filter(Files::isRegularFile).sorted().toList();
        }
        Path file = root.resolve("build/applied").resolve(context).resolve(name + ".yaml");
        String recorded = "";
        if (Files.exists(file)) {
            try (var lines = Files.lines(file)) {
                recorded = lines.findFirst().orElse("");
            }
        }
        return new LastApply(file, digest(root, manifests), digest(root, List.of(kustomization.resolve("kustomization.yaml"))), recorded);
    }

    /** SHA-256 of the files' paths and bytes. */
    static String digest(Path root, List<Path> files) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
        for (Path file : files) {
            sha.update(root.relativize(file).toString().getBytes(UTF_8));
            sha.update((byte) 0);
            if (Files.exists(file)) sha.update(Files.readAllBytes(file));
            sha.update((byte) 0);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** After an apply: what it answered, with the digests of what it applied. Written whole, then moved in place. */
    void record(String applied) throws IOException {
        Files.createDirectories(file.getParent());
        Path temp = Files.createTempFile(file.getParent(), "applied", ".tmp");
        Files.writeString(temp, HEADER + manifests + " " + kustomization + "\n" + applied);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * What the cluster holds now of the last apply of these manifests: its objects as get answers them, in the order
     * of the apply, and whether that apply was of these very inputs and no one changed an object since.
     */
    record Found(List<Object> now, boolean unchanged) {}

    /**
     * Asks the cluster, in one get per namespace, for the objects of the last apply recorded with these manifests.
     * null when there is none, or one of its objects is not there as the same object (its uid): gone, or another
     * cluster under the same context (a new kind cluster, say), whose API server has not validated these manifests.
     */
    @SuppressWarnings("unchecked")
    Found find(Kubectl kubectl) throws IOException {
        if (!recorded.startsWith(HEADER + manifests + " ")) return null;
        List<Object> before = Workload.objects(Files.readString(file));
        if (before.isEmpty()) return null;
        // One get per namespace; objects of no namespace (Namespace, ClusterRole, ...) go with the first.
        var groups = new LinkedHashMap<String, List<String>>();
        var clusterWide = new ArrayList<String>();
        for (Object object : before) {
            var m = (Map<String, Object>) object;
            var meta = (Map<String, Object>) m.get("metadata");
            String namespace = (String) meta.get("namespace");
            (namespace == null ? clusterWide : groups.computeIfAbsent(namespace, n -> new ArrayList<>())).add(resource(m));
        }
        if (groups.isEmpty()) groups.put("", new ArrayList<>());
        groups.values().iterator().next().addAll(clusterWide);
        var now = new LinkedHashMap<String, Map<String, Object>>();
        for (var group : groups.entrySet()) {
            var args = new ArrayList<String>();
            if (!group.getKey().isEmpty()) args.addAll(List.of("-n", group.getKey()));
            args.add("get");
            args.addAll(group.getValue());
            args.addAll(List.of("-o", "json"));
            var ran = kubectl.run(Duration.ofSeconds(30), args.toArray(String[]::new));
            if (ran.exit() != 0) return null; // one is gone (NotFound), or the cluster does not answer: apply will say
            for (Object object : Workload.objects(ran.out())) now.put(id((Map<String, Object>) object), (Map<String, Object>) object);
        }
        var items = new ArrayList<Object>();
        boolean unchanged = recorded.equals(HEADER + manifests + " " + kustomization);
        for (Object object : before) {
            var then = (Map<String, Object>) object;
            var current = now.get(id(then));
            if (current == null || !sameObject(then, current)) return null;
            unchanged &= sameSpec(then, current);
            items.add(current);
        }
        return new Found(items, unchanged);
    }

    /** kubectl get's name for an object: kind.version.group/name (deployment.v1.apps/hello), or kind/name in the core group. */
    static String resource(Map<String, Object> object) {
        String apiVersion = (String) object.get("apiVersion"), kind = ((String) object.get("kind")).toLowerCase();
        String name = (String) ((Map<?, ?>) object.get("metadata")).get("name");
        int slash = apiVersion.indexOf('/');
        return (slash < 0 ? kind : kind + "." + apiVersion.substring(slash + 1) + "." + apiVersion.substring(0, slash)) + "/" + name;
    }

    static String id(Map<String, Object> object) {
        var meta = (Map<?, ?>) object.get("metadata");
        return object.get("kind") + " " + meta.get("namespace") + "/" + meta.get("name");
    }

    /** The same object, not one made again with the same name: its uid. */
    static boolean sameObject(Map<String, Object> then, Map<String, Object> now) {
        Object uid = ((Map<?, ?>) then.get("metadata")).get("uid");
        return uid != null && uid.equals(((Map<?, ?>) now.get("metadata")).get("uid"));
    }

    /** Unchanged since: its generation where it has one (status does not move it), else its resourceVersion. */
    static boolean sameSpec(Map<String, Object> then, Map<String, Object> now) {
        var a = (Map<?, ?>) then.get("metadata");
        var b = (Map<?, ?>) now.get("metadata");
        String field = a.get("generation") != null ? "generation" : "resourceVersion";
        return a.get(field) != null && String.valueOf(a.get(field)).equals(String.valueOf(b.get(field)));
    }
}
