import java.io.*;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.regex.*;
import java.util.stream.*;
import java.util.zip.*;
import org.apache.commons.compress.archivers.tar.*;

/**
 * How a service's JVM runs in its pod, read where that is decided: the image's flags ({@code JVM_FLAGS = List.of(...)} in
 * deploy.java or deploy/*.java) and the memory limit (manifests/base/NAME.yaml). Here the JVM would size itself from the
 * whole host, so the limit goes in as -XX:MaxRAM, plus Serial GC below 1792 MiB as HotSpot picks in a pod.
 */
record Pod(List<String> imageFlags, Map<String, Long> limits, List<String> sources) {
    static Pod read(Path root) throws IOException {
        var sources = new ArrayList<String>();
        List<String> flags = List.of();
        for (Path f : Stream.concat(Stream.of(root.resolve("deploy.java")), files(root.resolve("deploy"), ".java").stream()).filter(Files::exists).toList()) {
            Matcher list = Pattern.compile("JVM_FLAGS\\s*=\\s*List\\.of\\(([^)]*)\\)").matcher(Files.readString(f));
            if (!list.find()) continue;
            flags = Pattern.compile("\"([^\"]*)\"").matcher(list.group(1)).results().map(m -> m.group(1)).toList();
            sources.add(root.relativize(f) + " JVM_FLAGS");
            break;
        }
        var limits = new LinkedHashMap<String, Long>();
        for (String s : bench.SERVICES) {
            Path manifest = root.resolve("manifests/base/" + s + ".yaml");
            // resources.limits.memory, a Kubernetes quantity such as 256Mi or 1G
            Matcher m = Pattern.compile("limits:\\s*\\n(?:\\s+\\w+:.*\\n)*?\\s+memory:\\s*\"?(\\d+)([KMGT]i?)?").matcher(Files.exists(manifest) ? Files.readString(manifest) : "");
            if (!m.find()) continue;
            String unit = m.group(2) == null ? "" : m.group(2);
            limits.put(s, Long.parseLong(m.group(1)) * (long) Math.pow(unit.endsWith("i") ? 1024 : 1000, "KMGT".indexOf(unit.isEmpty() ? 'x' : unit.charAt(0)) + 1));
        }
        if (!limits.isEmpty()) sources.add("manifests/base/{hello,world,joiner}.yaml memory limits");
        return new Pod(flags, limits, sources);
    }

    static List<Path> files(Path dir, String suffix) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** The flags of a service's JVM here: the image's, then what makes this host look like its pod. */
    List<String> flags(String service) {
        var all = new ArrayList<>(imageFlags);
        if (limits.get(service) instanceof Long limit) {
            all.add("-XX:MaxRAM=" + limit / 1048576 + "m");
            if (limit < 1792L * 1048576 && imageFlags.stream().noneMatch(f -> f.matches("-XX:\\+Use\\w+GC"))) all.add("-XX:+UseSerialGC");
        }
        return all;
    }
}

/** What the benchmark builds before it measures: the services' classes, the actix-web peers, the images, a jlink'd runtime. */
final class Build {
    static Path compile(Path scratch) {
        bench.step("Compiling hello, world, joiner with javac");
        Path dir = scratch.resolve("classes");
        tool("javac", bench.concat(List.of("-d", dir.toString(), "--release", "25", "-nowarn"),
                bench.SERVICES.stream().map(s -> bench.ROOT.resolve(s + ".java").toString()).toList()).toArray(String[]::new));
        bench.done("✓");
        return dir;
    }

    /** The actix-web services of bench/peers, built with cargo; without cargo, null and one line saying so. */
    static Path peers() throws Exception {
        Path cargo = Procs.which("cargo"), dir = bench.ROOT.resolve("bench/peers");
        if (cargo == null) {
            System.out.println(" • Peers: cargo is not on PATH, so actix-web is left out (install Rust: https://rustup.rs); the rest runs");
            return null;
        }
        bench.step("Building the actix-web peers: cargo build --release in bench/peers (minutes the first time)");
        Procs.check(List.of("nice", "-n", "10", cargo.toString(), "build", "--release", "--locked", "--manifest-path", dir.resolve("Cargo.toml").toString(),
                "--target-dir", dir.resolve("target").toString()), bench.ROOT, Duration.ofMinutes(30));
        bench.done("✓");
        return dir.resolve("target/release");
    }

    /** Sizes of build/images/*.tar; with build, of the images `jbang deploy.java images` builds into scratch (build/ left alone). */
    static Images images(Path root, boolean build, String base, Path scratch) throws Exception {
        Path dir = build ? scratch.resolve("images") : root.resolve("build/images");
        if (build) {
            Path jbang = Procs.which("jbang");
            if (jbang == null) return new Images(null, null, null, "not measured: --images needs jbang on PATH");
            var cmd = new ArrayList<>(List.of(jbang.toString(), "deploy.java", "images", "--out", dir.toString()));
            if (base != null) cmd.addAll(List.of("--base-image", base));
            bench.step("Building images: jbang deploy.java images" + (base == null ? "" : " --base-image " + base));
            Procs.check(cmd, root, Duration.ofMinutes(15));
            bench.done("✓");
        }
        List<Path> tars = Pod.files(dir, ".tar");
        if (tars.isEmpty()) return new Images(null, null, null, "not measured: no build/images/*.tar (build them with `jbang deploy.java images`, or pass --images)");
        var list = new ArrayList<Image>();
        for (Path tar : tars) {
            bench.step("Measuring " + (tar.startsWith(root) ? root.relativize(tar) : tar.getFileName()));
            list.add(read(tar));
            bench.done("%.1f MiB compressed".formatted(list.getLast().compressedMib()));
        }
        return new Images(base != null ? base : build ? "deploy.java's default" : "as built in build/images", list, null, null);
    }

    /** A docker-format archive as Jib writes it: manifest.json names the layers, each a gzipped tar whose unpacked size gunzip counts. */
    static Image read(Path tar) throws IOException {
        var layers = new ArrayList<List<Double>>();
        try (var archive = new TarFile(tar)) {
            var entries = archive.getEntries().stream().collect(Collectors.toMap(TarArchiveEntry::getName, e -> e));
            if (!entries.containsKey("manifest.json")) throw new bench.Failure(tar + " has no manifest.json: not a docker-format image archive");
            for (var name : Result.JSON.readTree(archive.getInputStream(entries.get("manifest.json"))).get(0).get("Layers")) {
                var layer = name.asText().endsWith(".tar.gz") ? entries.get(name.asText()) : null;
                if (layer == null) throw new bench.Failure(tar + ": layer " + name.asText() + " is listed but not a .tar.gz in the archive");
                long unpacked = new GZIPInputStream(archive.getInputStream(layer)).transferTo(OutputStream.nullOutputStream());
                layers.add(List.of(mib(layer.getSize()), mib(unpacked)));
            }
        }
        return new Image(tar.getFileName().toString().replaceAll("\\.tar$", ""),
                Files.getLastModifiedTime(tar).toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString(), layers.size(),
                Result.round(layers.stream().mapToDouble(List::getFirst).sum(), 3), Result.round(layers.stream().mapToDouble(List::getLast).sum(), 3), layers,
                layers.size() < 2 ? "no base image layers: not an image that can run Java" : null);
    }

    static Jlink jlink(Path classes, Path scratch) throws IOException {
        bench.step("Linking a runtime of only the modules the services use (jdeps, jlink)");
        String modules = tool("jdeps", "--print-module-deps", "--ignore-missing-deps", classes.toString()).strip();
        Path runtime = scratch.resolve("runtime");
        tool("jlink", "--add-modules", modules, "--strip-debug", "--no-man-pages", "--no-header-files", "--output", runtime.toString()); // no compression of its own: the layer's gzip does it once
        long disk = 0;
        Path gzipped = scratch.resolve("runtime.gz");
        try (var files = Files.walk(runtime); var gz = new GZIPOutputStream(Files.newOutputStream(gzipped), 1 << 16)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) disk += Files.copy(f, gz);
        }
        bench.done("%s: %.1f MiB, %.1f MiB gzipped".formatted(modules, mib(disk), mib(Files.size(gzipped))));
        return new Jlink(modules, mib(Files.size(gzipped)), mib(disk));
    }

    private static String tool(String name, String... args) {
        var out = new StringWriter();
        var print = new PrintWriter(out);
        if (java.util.spi.ToolProvider.findFirst(name).orElseThrow().run(print, print, args) != 0) throw new bench.Failure(name + " failed: " + out.toString().strip());
        return out.toString();
    }

    /** MiB to three decimals, so that a layer of a few KiB of classes does not read as 0. */
    private static double mib(long bytes) { return Result.round(bytes / 1048576.0, 3); }
}
