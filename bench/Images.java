import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Sizes of image tarballs as {@code jbang deploy.java images} writes them: Docker's
 * {@code docker save} layout (manifest.json) or an OCI layout (index.json, blobs/).
 * Compressed is what a registry stores and a node pulls; uncompressed is what it unpacks.
 */
final class Images {
    private Images() {}

    record Layer(String name, long compressed, long uncompressed) {}

    record Image(String file, List<Layer> layers) {
        long compressed() { return layers.stream().mapToLong(Layer::compressed).sum(); }
        long uncompressed() { return layers.stream().mapToLong(Layer::uncompressed).sum(); }
    }

    /** One tar entry, measured while streaming past it; small JSON files are kept to find the layers. */
    private record Entry(long size, long compressed, long uncompressed, String text) {}

    /**
     * Sizes of build/images/*.tar, or with {@code build} of images built for the purpose by
     * {@code jbang deploy.java images} into a scratch folder (the checkout's build/ is left alone).
     * Where no image can be had (no deploy.java, no base image offline), a note says why instead.
     */
    static Map<String, Object> measure(Path root, boolean build, String baseImage, Path scratch) {
        var result = new LinkedHashMap<String, Object>();
        Path dir = root.resolve("build/images");
        if (build) {
            Path jbang = bench.which("jbang");
            if (!Files.exists(root.resolve("deploy.java"))) {
                return note(result, "not measured: --images needs deploy.java, which this checkout does not have");
            }
            if (jbang == null) return note(result, "not measured: --images needs jbang on PATH");
            dir = scratch.resolve("images");
            var cmd = new ArrayList<>(List.of(jbang.toString(), "deploy.java", "images", "--out", dir.toString()));
            if (baseImage != null) cmd.addAll(List.of("--base-image", baseImage));
            bench.step("Building images: jbang deploy.java images" + (baseImage == null ? "" : " --base-image " + baseImage));
            try {
                bench.check(cmd, 900);
                bench.done();
            } catch (Exception e) {
                bench.done("✗");
                String why = e.getMessage().lines().filter(l -> l.startsWith("ERROR")).reduce((x, y) -> y)
                        .orElse(e.getMessage().lines().reduce((x, y) -> y).orElse(""));
                return note(result, "not measured: jbang deploy.java images failed (no base image here?): " + why);
            }
        }
        result.put("base_image", baseImage != null ? baseImage : build ? "deploy.java's default" : "as built in build/images");
        List<Path> tars;
        try (var files = Files.list(dir)) {
            tars = files.filter(f -> f.toString().endsWith(".tar")).sorted().toList();
        } catch (IOException e) {
            tars = List.of();
        }
        if (tars.isEmpty()) {
            return note(result, "not measured: no build/images/*.tar (build them with `jbang deploy.java images`, or pass --images)");
        }
        var list = new ArrayList<Map<String, Object>>();
        for (Path tar : tars) {
            bench.step("Measuring " + (tar.startsWith(root) ? root.relativize(tar) : tar.getFileName()));
            try {
                Image image = read(tar);
                var m = new LinkedHashMap<String, Object>();
                m.put("name", image.file().replaceAll("\\.tar$", ""));
                m.put("built", Files.getLastModifiedTime(tar).toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
                m.put("layers", image.layers().size());
                m.put("compressed_mib", mib(image.compressed()));
                m.put("uncompressed_mib", mib(image.uncompressed()));
                if (image.layers().size() < 2) m.put("warning", "no base image layers: not an image that can run Java");
                m.put("layers_compressed_uncompressed_mib", image.layers().stream().map(l -> List.of(mib(l.compressed()), mib(l.uncompressed()))).toList());
                list.add(m);
                bench.done(String.format("%.1f MiB compressed", mib(image.compressed())));
            } catch (IOException | RuntimeException e) {
                bench.done("✗ " + e.getMessage());
            }
        }
        result.put("images", list);
        return result;
    }

    /**
     * What a runtime of only the modules the services use would weigh: jdeps finds them, jlink links them
     * (no compression of its own, so that the layer's gzip does it once). Gzipped as a layer would be.
     */
    static Map<String, Object> jlinkRuntime(Path classes, Path scratch) {
        var result = new LinkedHashMap<String, Object>();
        var jdeps = java.util.spi.ToolProvider.findFirst("jdeps");
        var jlink = java.util.spi.ToolProvider.findFirst("jlink");
        if (jdeps.isEmpty() || jlink.isEmpty()) return note(result, "not measured: this JDK has no jdeps or jlink");
        bench.step("Linking a runtime of only the modules the services use (jdeps, jlink)");
        var out = new java.io.StringWriter();
        var print = new java.io.PrintWriter(out);
        if (jdeps.get().run(print, print, "--print-module-deps", "--ignore-missing-deps", classes.toString()) != 0) {
            bench.done("✗");
            return note(result, "not measured: jdeps failed: " + out.toString().strip());
        }
        String modules = out.toString().strip();
        Path runtime = scratch.resolve("runtime");
        out.getBuffer().setLength(0);
        if (jlink.get().run(print, print, "--add-modules", modules, "--strip-debug", "--no-man-pages",
                "--no-header-files", "--output", runtime.toString()) != 0) {
            bench.done("✗");
            return note(result, "not measured: jlink failed: " + out.toString().strip());
        }
        long disk = 0;
        var counter = new Counter();
        try (var files = Files.walk(runtime); var gz = new GZIPOutputStream(counter, 1 << 16)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                disk += Files.size(f);
                Files.copy(f, gz);
            }
        } catch (IOException e) {
            bench.done("✗");
            return note(result, "not measured: " + e.getMessage());
        }
        result.put("modules", modules);
        result.put("compressed_mib", mib(counter.count));
        result.put("uncompressed_mib", mib(disk));
        bench.done(String.format("%s: %.1f MiB, %.1f MiB gzipped", modules, mib(disk), mib(counter.count)));
        return result;
    }

    private static Map<String, Object> note(Map<String, Object> result, String note) {
        result.put("note", note);
        return result;
    }

    /** MiB to three decimals, so that a layer of a few KiB of classes does not read as 0. */
    private static double mib(long bytes) {
        return Math.round(bytes / 1048576.0 * 1000) / 1000.0;
    }

    static Image read(Path tar) throws IOException {
        var entries = new HashMap<String, Entry>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tar), 1 << 16)) {
            String longName = null;
            byte[] header = new byte[512];
            while (in.readNBytes(header, 0, 512) == 512 && header[0] != 0) {
                String name = longName != null ? longName : field(header, 345, 155).isEmpty()
                        ? field(header, 0, 100) : field(header, 345, 155) + "/" + field(header, 0, 100);
                longName = null;
                long size = size(header);
                char type = (char) header[156];
                var data = new Bounded(in, size);
                if (type == 'L') {
                    longName = new String(data.readAllBytes(), StandardCharsets.UTF_8).trim();
                } else if (type == 'x') {
                    longName = paxPath(new String(data.readAllBytes(), StandardCharsets.UTF_8));
                } else if (type == '0' || type == 0) {
                    entries.put(strip(name), measure(data, size));
                }
                data.skipRest();
                in.skipNBytes((512 - size % 512) % 512);
            }
        }
        var layers = new ArrayList<Layer>();
        for (String name : layerNames(entries, tar)) {
            Entry e = entries.get(strip(name));
            if (e == null) throw new IOException(tar + ": layer " + name + " is listed but not in the tar");
            layers.add(new Layer(name, e.compressed, e.uncompressed));
        }
        return new Image(tar.getFileName().toString(), layers);
    }

    /** Layer file names in order, from manifest.json (Docker) or index.json → manifest blob (OCI). */
    @SuppressWarnings("unchecked")
    private static List<String> layerNames(Map<String, Entry> entries, Path tar) throws IOException {
        if (entries.containsKey("manifest.json")) {
            var manifests = (List<Map<String, Object>>) Json.parse(entries.get("manifest.json").text);
            return (List<String>) manifests.getFirst().get("Layers");
        }
        if (entries.containsKey("index.json")) {
            var index = (Map<String, Object>) Json.parse(entries.get("index.json").text);
            var first = ((List<Map<String, Object>>) index.get("manifests")).getFirst();
            Entry m = entries.get(blob((String) first.get("digest")));
            var manifest = (Map<String, Object>) Json.parse(m.text);
            return ((List<Map<String, Object>>) manifest.get("layers")).stream()
                    .map(l -> blob((String) l.get("digest"))).toList();
        }
        throw new IOException(tar + " has neither manifest.json nor index.json: not an image tarball");
    }

    private static String blob(String digest) {
        return "blobs/" + digest.replace(':', '/');
    }

    private static Entry measure(InputStream data, long size) throws IOException {
        byte[] head = data.readNBytes(2);
        InputStream whole = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(head), data);
        boolean gzip = head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
        if (gzip) {
            return new Entry(size, size, count(new GZIPInputStream(whole, 1 << 16)), null);
        }
        if (size < (1 << 20)) {
            byte[] bytes = whole.readAllBytes();
            return new Entry(size, gzipSize(bytes), size, new String(bytes, StandardCharsets.UTF_8));
        }
        // An uncompressed layer (docker save writes them so): gzip it to learn what a registry would hold.
        var counter = new Counter();
        try (var gz = new GZIPOutputStream(counter, 1 << 16)) {
            whole.transferTo(gz);
        }
        return new Entry(size, counter.count, size, null);
    }

    private static long gzipSize(byte[] bytes) throws IOException {
        var counter = new Counter();
        try (var gz = new GZIPOutputStream(counter)) {
            gz.write(bytes);
        }
        return counter.count;
    }

    private static long count(InputStream in) throws IOException {
        long n = 0;
        byte[] buf = new byte[1 << 16];
        for (int r; (r = in.read(buf)) > 0; ) n += r;
        return n;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) end++;
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    private static long size(byte[] h) {
        if ((h[124] & 0x80) != 0) { // base-256, for entries over 8 GiB
            long v = 0;
            for (int i = 125; i < 136; i++) v = (v << 8) | (h[i] & 0xff);
            return v;
        }
        String octal = field(h, 124, 12).trim();
        return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
    }

    private static String paxPath(String records) {
        for (String r : records.split("\n")) {
            int eq = r.indexOf(" path=");
            if (eq >= 0) return r.substring(eq + 6);
        }
        return null;
    }

    private static String strip(String name) {
        return name.startsWith("./") ? name.substring(2) : name;
    }

    /** The data of one tar entry, so that reading it never runs into the next header. */
    private static final class Bounded extends InputStream {
        final InputStream in;
        long left;

        Bounded(InputStream in, long size) { this.in = in; this.left = size; }

        @Override public int read() throws IOException {
            if (left <= 0) return -1;
            int b = in.read();
            if (b < 0) throw new EOFException("tar ends inside an entry");
            left--;
            return b;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) return -1;
            int r = in.read(b, off, (int) Math.min(len, left));
            if (r < 0) throw new EOFException("tar ends inside an entry");
            left -= r;
            return r;
        }

        @Override public void close() {} // the tar stream stays open for the next entry

        void skipRest() throws IOException {
            in.skipNBytes(left);
            left = 0;
        }
    }

    private static final class Counter extends OutputStream {
        long count;
        @Override public void write(int b) { count++; }
        @Override public void write(byte[] b, int off, int len) { count += len; }
    }
}
