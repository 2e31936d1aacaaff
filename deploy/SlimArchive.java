import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * An image archive for `kind load` holding only what a node lacks. Jib writes the whole image as a docker archive,
 * and ~30 MiB of it is the Java base, which a node that ran the service before has already; streaming it again is
 * most of a `kind load` (measured: 1.3-2.4 s a load, 0.2 s without it). Written as an OCI layout (index.json,
 * blobs/sha256/...), which `ctr images import` (what kind load runs) takes as it takes docker's: the blobs left out
 * are found in the node's content store, so the image is whole there, with the same id.
 */
final class SlimArchive {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A blob of the image: its digest ("sha256:…"), size, media type, and the entry holding it in the docker archive. */
    record Blob(String digest, long size, String mediaType, String entry) {}

    /** What an archive holds of an image: bytes of blobs sent, of all its blobs. */
    record Sent(long bytes, long of) {}

    private SlimArchive() {}

    /**
     * Writes {@code out} from the docker archive {@code docker} (one image, as Jib writes it), named {@code ref}
     * ("hello:tag", as kind load names it: docker.io/library/hello:tag), without the layers in {@code present}.
     *
     * @return the bytes of the blobs written, and of all the image's blobs
     */
    static Sent write(Path docker, String ref, Set<String> present, Path out) throws IOException {
        try (var tar = new TarFile(docker)) {
            var entries = new LinkedHashMap<String, TarArchiveEntry>();
            for (var entry : tar.getEntries()) entries.put(entry.getName(), entry);
            var manifests = JSON.readValue(read(tar, entries, "manifest.json"), List.class);
            if (manifests.size() != 1) throw new IOException(docker + " holds " + manifests.size() + " images, not 1");
            var image = (Map<?, ?>) manifests.getFirst();
            Blob config = blob(tar, entries, (String) image.get("Config"), "application/vnd.oci.image.config.v1+json", Set.of());
            var layers = new ArrayList<Blob>();
            for (Object layer : (List<?>) image.get("Layers")) {
                layers.add(blob(tar, entries, (String) layer, "application/vnd.oci.image.layer.v1.tar+gzip", present));
            }

            byte[] manifest = JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "mediaType", "application/vnd.oci.image.manifest.v1+json",
                    "config", descriptor(config), "layers", layers.stream().map(SlimArchive::descriptor).toList()));
            byte[] index = JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "mediaType", "application/vnd.oci.image.index.v1+json",
                    "manifests", List.of(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json",
                            "digest", digest(manifest), "size", manifest.length,
                            "annotations", Map.of("io.containerd.image.name", "docker.io/library/" + ref,
                                    "org.opencontainers.image.ref.name", ref.substring(ref.indexOf(':') + 1))))));

            long sent = 0, of = 0;
            try (var slim = new TarArchiveOutputStream(Files.newOutputStream(out))) {
                slim.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                add(slim, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
                add(slim, "index.json", index);
                add(slim, path(digest(manifest)), manifest);
                for (Blob blob : concat(config, layers)) {
                    of += blob.size();
                    if (blob != config && present.contains(blob.digest())) continue;
                    var entry = new TarArchiveEntry(path(blob.digest()));
                    entry.setSize(blob.size());
                    slim.putArchiveEntry(entry);
                    try (InputStream in = tar.getInputStream(entries.get(blob.entry()))) {
                        in.transferTo(slim);
                    }
                    slim.closeArchiveEntry();
                    sent += blob.size();
                }
            }
            return new Sent(sent, of);
        }
    }

    static List<Blob> concat(Blob config, List<Blob> layers) {
        var all = new ArrayList<Blob>(layers.size() + 1);
        all.add(config);
        all.addAll(layers);
        return all;
    }

    /**
     * A blob of the archive, hashed: what is sent must be named by its bytes. But a layer that Jib named by a digest
     * the node has (HEX.tar.gz) is not read: it is left out, and the node supplies its own blob of that digest, checked
     * by containerd when it was stored, so the image is right whatever this copy holds (hashing the 32 MB base costs
     * 30 ms with C2's SHA intrinsic, 0.4 s without: deploy.java runs on C1).
     */
    static Blob blob(TarFile tar, Map<String, TarArchiveEntry> entries, String name, String mediaType, Set<String> present) throws IOException {
        var entry = entries.get(name);
        if (entry == null) throw new IOException("no " + name + " in the archive its manifest.json describes");
        String named = "sha256:" + name.replaceFirst("\\.tar\\.gz$", "");
        if (named.matches("sha256:[0-9a-f]{64}") && present.contains(named)) return new Blob(named, entry.getSize(), mediaType, name);
        var sha = sha256();
        try (InputStream in = new DigestInputStream(tar.getInputStream(entry), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return new Blob("sha256:" + HexFormat.of().formatHex(sha.digest()), entry.getSize(), mediaType, name);
    }

    static Map<String, Object> descriptor(Blob blob) {
        return Map.of("mediaType", blob.mediaType(), "digest", blob.digest(), "size", blob.size());
    }

    static byte[] read(TarFile tar, Map<String, TarArchiveEntry> entries, String name) throws IOException {
        var entry = entries.get(name);
        if (entry == null) throw new IOException("no " + name + " in the archive: not a docker archive");
        try (InputStream in = tar.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }

    static void add(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        var entry = new TarArchiveEntry(name);
        entry.setSize(content.length);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
    }

    static String path(String digest) {
        return "blobs/sha256/" + digest.substring("sha256:".length());
    }

    static String digest(byte[] content) {
        return "sha256:" + HexFormat.of().formatHex(sha256().digest(content));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }
}
