import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/SlimArchive.java: a docker archive, as Jib writes it, becomes an OCI layout holding the image whole but for
 * the layers the node has. That containerd imports it and runs the image is E2eDevTest's (every edit loads one).
 */
class SlimArchiveTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] CONFIG = "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    static final byte[] BASE = new byte[300_000], APP = "the service's classes".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void leaves_out_the_layers_the_node_has_and_keeps_everything_else() throws Exception {
        Path docker = dockerArchive();
        Path slim = dir.resolve("hello.slim.tar");
        var sent = SlimArchive.write(docker, "hello:0123456789abcdef", Set.of(SlimArchive.digest(BASE)), slim);
        assertEquals(new SlimArchive.Sent(CONFIG.length + APP.length, CONFIG.length + BASE.length + APP.length), sent);

        var entries = entries(slim);
        var index = JSON.readValue(entries.get("index.json"), Map.class);
        var descriptor = (Map<?, ?>) ((List<?>) index.get("manifests")).getFirst();
        assertEquals(Map.of("io.containerd.image.name", "docker.io/library/hello:0123456789abcdef",
                "org.opencontainers.image.ref.name", "0123456789abcdef"), descriptor.get("annotations"), "kind load's name for it");
        byte[] manifest = entries.get(SlimArchive.path((String) descriptor.get("digest")));
        assertEquals(descriptor.get("digest"), SlimArchive.digest(manifest));
        var m = JSON.readValue(manifest, Map.class);
        assertEquals(SlimArchive.digest(CONFIG), ((Map<?, ?>) m.get("config")).get("digest"), "the same config: the same image id");
        assertEquals(List.of(SlimArchive.digest(BASE), SlimArchive.digest(APP)),
                ((List<?>) m.get("layers")).stream().map(l -> ((Map<?, ?>) l).get("digest")).toList(), "every layer, in order");
        assertEquals(List.of(BASE.length, APP.length), ((List<?>) m.get("layers")).stream().map(l -> ((Map<?, ?>) l).get("size")).toList());

        assertEquals(Set.of("oci-layout", "index.json", SlimArchive.path(SlimArchive.digest(manifest)),
                SlimArchive.path(SlimArchive.digest(CONFIG)), SlimArchive.path(SlimArchive.digest(APP))), entries.keySet(),
                "the base layer is left out");
        assertEquals(new String(APP, StandardCharsets.UTF_8), new String(entries.get(SlimArchive.path(SlimArchive.digest(APP))), StandardCharsets.UTF_8));
    }

    @Test
    void with_nothing_on_the_node_every_blob_goes() throws Exception {
        Path slim = dir.resolve("hello.slim.tar");
        var sent = SlimArchive.write(dockerArchive(), "hello:t", Set.of(), slim);
        assertEquals(sent.of(), sent.bytes());
        assertEquals(BASE.length, entries(slim).get(SlimArchive.path(SlimArchive.digest(BASE))).length);
    }

    @Test
    void a_layer_left_out_is_named_as_jib_named_it_and_one_sent_by_its_bytes() throws Exception {
        // This copy's base layer does not hold what its name says (a damaged archive, say).
        byte[] named = "what the node has".getBytes(StandardCharsets.UTF_8), damaged = "damaged".getBytes(StandardCharsets.UTF_8);
        String name = SlimArchive.digest(named).substring(7) + ".tar.gz", app = SlimArchive.digest(APP).substring(7) + ".tar.gz";
        var files = new LinkedHashMap<String, byte[]>();
        files.put(name, damaged);
        files.put(app, APP);
        files.put("config.json", CONFIG);
        files.put("manifest.json", JSON.writeValueAsBytes(List.of(Map.of("Config", "config.json", "Layers", List.of(name, app)))));
        Path docker = dir.resolve("hello.tar");
        write(docker, files);

        // The node has the named blob: it is not read, not sent, and the image gets the node's own (checked when stored).
        Path slim = dir.resolve("left-out.tar");
        SlimArchive.write(docker, "hello:t", Set.of(SlimArchive.digest(named)), slim);
        assertEquals(List.of(SlimArchive.digest(named), SlimArchive.digest(APP)), layers(entries(slim)));
        // It has not: what is sent is named by its bytes, never by a name they do not match.
        slim = dir.resolve("sent.tar");
        SlimArchive.write(docker, "hello:t", Set.of(), slim);
        var entries = entries(slim);
        assertEquals(List.of(SlimArchive.digest(damaged), SlimArchive.digest(APP)), layers(entries));
        assertEquals("damaged", new String(entries.get(SlimArchive.path(SlimArchive.digest(damaged))), StandardCharsets.UTF_8));
    }

    /** The layers' digests in an OCI layout's one manifest. */
    static List<Object> layers(Map<String, byte[]> entries) throws IOException {
        var index = JSON.readValue(entries.get("index.json"), Map.class);
        var descriptor = (Map<?, ?>) ((List<?>) index.get("manifests")).getFirst();
        var manifest = JSON.readValue(entries.get(SlimArchive.path((String) descriptor.get("digest"))), Map.class);
        return ((List<?>) manifest.get("layers")).stream().map(l -> (Object) ((Map<?, ?>) l).get("digest")).toList();
    }

    @Test
    void an_archive_that_is_not_docker_s_is_an_error_not_a_half_image() throws Exception {
        Path other = dir.resolve("other.tar");
        write(other, Map.of("something.txt", APP));
        var e = assertThrows(IOException.class, () -> SlimArchive.write(other, "hello:t", Set.of(), dir.resolve("out.tar")));
        assertEquals("no manifest.json in the archive: not a docker archive", e.getMessage());
    }

    /** What Jib's TarImage writes: manifest.json naming the config and the layers, each a file of the archive. */
    Path dockerArchive() throws IOException {
        String base = SlimArchive.digest(BASE).substring(7) + ".tar.gz", app = SlimArchive.digest(APP).substring(7) + ".tar.gz";
        byte[] manifest = JSON.writeValueAsBytes(List.of(Map.of("Config", "config.json", "RepoTags", List.of("hello:t"), "Layers", List.of(base, app))));
        var files = new LinkedHashMap<String, byte[]>();
        files.put(base, BASE);
        files.put(app, APP);
        files.put("config.json", CONFIG);
        files.put("manifest.json", manifest);
        Path tar = dir.resolve("hello.tar");
        write(tar, files);
        return tar;
    }

    static void write(Path tar, Map<String, byte[]> files) throws IOException {
        try (var out = new TarArchiveOutputStream(Files.newOutputStream(tar))) {
            for (var file : files.entrySet()) {
                var entry = new TarArchiveEntry(file.getKey());
                entry.setSize(file.getValue().length);
                out.putArchiveEntry(entry);
                out.write(file.getValue());
                out.closeArchiveEntry();
            }
        }
    }

    static Map<String, byte[]> entries(Path tar) throws IOException {
        var entries = new LinkedHashMap<String, byte[]>();
        try (var file = new TarFile(tar)) {
            for (var entry : file.getEntries()) {
                try (var in = file.getInputStream(entry)) {
                    entries.put(entry.getName(), in.readAllBytes());
                }
            }
        }
        return entries;
    }
}
