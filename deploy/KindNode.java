import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A kind node's containerd: what it holds (image names, blobs) and the snapshotter its CRI unpacks images with, all
 * asked in one exec; and an image archive imported into it. The import is the very command `kind load image-archive`
 * runs on each node (ctr images import); running it here spares kind's own steps around it, which find the nodes
 * again and ask containerd for its whole config on every load (measured: a 32 MB archive 1.8-1.9 s by kind load,
 * 1.35-1.45 s so; a slim one 0.7 s against 0.25 s).
 *
 * @param images what the CRI names the images ("docker.io/library/hello:TAG")
 * @param blobs  the digests ("sha256:…") of the layers and configs in its content store
 * @param config containerd's config (TOML), read for its snapshotter only when an image goes in
 */
record KindNode(String engine, String name, Set<String> images, Set<String> blobs, String config) {
    static final ObjectMapper JSON = new ObjectMapper();
    static final TomlMapper TOML = new TomlMapper();
    static final String SEPARATOR = "--- deploy.java ---";

    /** Asks the node's containerd, in one exec: crictl's images, the content store's blobs, containerd's config. */
    static KindNode ask(String engine, String node) {
        String script = "crictl images -o json && echo '" + SEPARATOR + "' && ctr --namespace=k8s.io content ls --quiet && echo '"
                + SEPARATOR + "' && containerd config dump 2>/dev/null";
        var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "exec", node, "sh", "-c", script))
                .orFail("asking node " + node + " which images and layers its containerd holds");
        String[] parts = ran.out().split("(?m)^" + SEPARATOR + "$", 3);
        if (parts.length != 3) throw new Failure("node " + node + " answered what it holds in an unexpected shape", ran.both());
        var images = new HashSet<String>();
        try {
            for (JsonNode image : JSON.readTree(parts[0]).path("images")) image.path("repoTags").forEach(t -> images.add(t.asText()));
        } catch (IOException e) {
            throw new Failure("cannot read crictl images -o json of node " + node + ": " + e.getMessage(), parts[0]);
        }
        var blobs = new HashSet<>(parts[1].lines().map(String::strip).filter(l -> l.startsWith("sha256:")).toList());
        return new KindNode(engine, node, images, blobs, parts[2]);
    }

    /**
     * The snapshotter the node's CRI plugin unpacks images with (overlayfs, or native, fuse-overlayfs where kind chose
     * another): an image imported with another would be unpacked again, or not at all. Where kind looks: the images
     * plugin of a containerd 2 config, or the CRI plugin of a version 2 one.
     */
    String snapshotter() {
        try {
            JsonNode plugins = TOML.readTree(config).path("plugins");
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
