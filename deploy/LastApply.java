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
import org.yaml.snakeyaml.Yaml;

/**
 * The record of the last apply of a kustomization to a context, build/applied/CONTEXT/KUSTOMIZATION.yaml: digests
 * of its inputs (manifests/, and the kustomization) and what the API server answered. When the inputs are the same
 * and one kubectl get finds every object as that apply left it (the same uid, and the same generation: no one changed
 * its spec; or, for kinds without one, the same resourceVersion: no one changed it at all), applying again would
 * change nothing. up skips it then: a no-change up gets one get (~0.2 s) instead of two applies (~2 s).
 * <p>
 * A record also says that these manifests passed kubectl's validation here (each apply either validated them or
 * found them in the record): a new image tag alone (the kustomization is deploy.java's) needs none, and kubectl's
 * validation costs ~0.7 s an apply (it reads the API server's OpenAPI).
 * <p>
 * Not seen: a label or annotation changed by hand on a Deployment or an Ingress (their status moves their
 * resourceVersion, so only their generation is compared), and files outside manifests/ that a kustomization names.
 * Deleting build/applied/ makes the next up apply everything.
 */
record LastApply(Path file, String manifests, String kustomization) {
    static final String HEADER = "# inputs: ", UNCHANGED = "unchanged since the last apply";

    /** Where the record of applying this kustomization (under root) to this context is kept, with today's inputs. */
    static LastApply of(Path root, String context, Path kustomization) throws IOException {
        String name = root.relativize(kustomization).toString().replace('/', '-');
        List<Path> manifests;
        try (Stream<Path> walk = Files.walk(root.resolve("manifests"))) {
            manifests = walk.filter(Files::isRegularFile).sorted().toList();
        }
        return new LastApply(root.resolve("build/applied").resolve(context).resolve(name + ".yaml"), digest(root, manifests),
                digest(root, List.of(kustomization.resolve("kustomization.yaml"))));
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

    /** The record's first line, or "" without one. */
    String header() throws IOException {
        if (!Files.exists(file)) return "";
        try (var lines = Files.lines(file)) {
            return lines.findFirst().orElse("");
        }
    }

    /** These very manifests were applied here, so validated (whatever the image tags were then). */
    boolean validated() throws IOException {
        return header().startsWith(HEADER + manifests + " ");
    }

    /**
     * The objects as get answers them now (a List, as apply answers), when the last apply was of these inputs and left every
     * object as it is; null when it must apply: no record, other inputs, an object gone or changed, or no answer.
     */
    @SuppressWarnings("unchecked")
    String unchanged(Kubectl kubectl) throws IOException {
        String header = header();
        if (!header.equals(HEADER + manifests + " " + kustomization)) return null;
        String text = Files.readString(file);
        List<Object> before = Workload.objects(text);
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
        for (Object object : before) {
            var then = (Map<String, Object>) object;
            var current = now.get(id(then));
            if (current == null || !same(then, current)) return null;
            items.add(current);
        }
        var list = new LinkedHashMap<String, Object>(); // in the order of the apply, as kubectl would answer it
        list.put("apiVersion", "v1");
        list.put("kind", "List");
        list.put("items", items);
        return new Yaml().dump(list);
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

    /** The same object (uid), unchanged: its generation where it has one, else its resourceVersion. */
    static boolean same(Map<String, Object> then, Map<String, Object> now) {
        var a = (Map<?, ?>) then.get("metadata");
        var b = (Map<?, ?>) now.get("metadata");
        if (a.get("uid") == null || !a.get("uid").equals(b.get("uid"))) return false;
        String field = a.get("generation") != null ? "generation" : "resourceVersion";
        return a.get(field) != null && String.valueOf(a.get(field)).equals(String.valueOf(b.get(field)));
    }
}
