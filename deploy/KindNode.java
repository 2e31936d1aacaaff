import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.Yaml;

/**
 * A kind node's containerd: which images it holds; and, when one must go in, its blobs and the snapshotter its CRI
 * unpacks images with, and the archive imported. The import is the very command `kind load image-archive` runs on each
 * node (ctr images import); running it here spares kind's own steps around it, which find the nodes again and ask
 * containerd for its whole config on every load (measured: a 32 MB archive 1.8-1.9 s by kind load, 1.35-1.45 s so;
 * the load step of a change to hello, 6.6 kB imported, 0.9-1.2 s before, 0.7-0.8 s so).
 *
 * @param images what its CRI names its images ("docker.io/library/hello:TAG"); empty when not asked
 * @param blobs  the digests ("sha256:…") of the layers and configs in its content store
 * @param config containerd's config (TOML), read for its snapshotter when an image goes in
 */
record KindNode(String engine, String name, Set<String> images, Set<String> blobs, String config) {
    static final String SEPARATOR = "--- deploy.java ---";
    static final String IMAGES = "crictl images -o json", BLOBS_AND_CONFIG = "ctr --namespace=k8s.io content ls --quiet && echo '"
            + SEPARATOR + "' && containerd config dump 2>/dev/null";

    /** What the node's CRI names its images: all a run that loads nothing asks (one exec, a short answer). */
    static Set<String> images(String engine, String node) {
        var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "exec", node, "crictl", "images", "-o", "json"))
                .orFail("crictl images on node " + node);
        return refs(ran.out());
    }

    /** The image names in what `crictl images -o json` answers. */
    static Set<String> refs(String json) {
        var refs = new HashSet<String>();
        // JSON is YAML: SnakeYAML, which deploy.java has loaded already, reads it.
        if (new Yaml().load(json) instanceof Map<?, ?> m && m.get("images") instanceof List<?> images) {
            for (Object image : images) {
                if (image instanceof Map<?, ?> i && i.get("repoTags") instanceof List<?> tags) tags.forEach(t -> refs.add(String.valueOf(t)));
            }
        }
        return refs;
    }

    /**
     * Asks the node, in one exec, for the blobs in its content store and its config; with {@code images}, for its
     * images too (a run that built an image, which will most likely go in: one exec instead of two, ~0.3 s).
     */
    static KindNode ask(String engine, String node, boolean images) {
        String script = images ? IMAGES + " && echo '" + SEPARATOR + "' && " + BLOBS_AND_CONFIG : BLOBS_AND_CONFIG;
        var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "exec", node, "sh", "-c", script))
                .orFail("asking node " + node + " which " + (images ? "images and " : "") + "layers its containerd holds");
        String[] parts = ran.out().split("(?m)^" + SEPARATOR + "$", images ? 3 : 2);
        if (parts.length != (images ? 3 : 2)) throw new Failure("node " + node + " answered what it holds in an unexpected shape (shown above): is it a kind node?"
                + " (kind get nodes lists them)", ran.both());
        int at = images ? 1 : 0;
        var blobs = new HashSet<>(parts[at].lines().map(String::strip).filter(l -> l.startsWith("sha256:")).toList());
        return new KindNode(engine, node, images ? refs(parts[0]) : Set.of(), blobs, parts[at + 1]);
    }

    /**
     * The snapshotter the node's CRI plugin unpacks images with (overlayfs, or native, fuse-overlayfs where kind chose
     * another): an image imported with another would be unpacked again, or not at all. Where kind looks: the images
     * plugin of a containerd 2 config, or the CRI plugin of a version 2 one.
     */
    String snapshotter() {
        try {
            JsonNode plugins = new TomlMapper().readTree(config).path("plugins"); // Jackson loads only when an image goes in
            for (JsonNode at : List.of(plugins.path("io.containerd.cri.v1.images").path("snapshotter"),
                    plugins.path("io.containerd.grpc.v1.cri").path("containerd").path("snapshotter"))) {
                if (at.isTextual() && !at.asText().isBlank()) return at.asText();
            }
        } catch (IOException e) {
            // said below
        }
        throw new Failure("cannot tell which snapshotter node " + name + "'s containerd unpacks images with (`containerd config dump`"
                + " names none): is it a kind node? (kind get nodes lists them)");
    }

    /** Imports an archive (docker or OCI) into the node's containerd, as kind load would: what ctr did (its exit says whether). */
    Proc.Ran load(Path archive) {
        return Proc.run(Duration.ofMinutes(5), List.of(engine, "exec", "-i", name, "ctr", "--namespace=k8s.io", "images", "import",
                "--all-platforms", "--digests", "--snapshotter=" + snapshotter(), "-"), Map.of(), archive);
    }
}
