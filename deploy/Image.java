import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.Platform;
import com.google.cloud.tools.jib.api.buildplan.Port;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** A service's image, built with Jib into a docker-format archive DIR/name.tar and tagged by its inputs. */
record Image(String name, int port, String tag, Path tar) {
    static final String USER = "65532:65532";
    /** Changes whenever the way an image is put together changes, so that every tag changes with it. */
    static final String RECIPE = "jib-core 0.28.1; javac --release 25; classes in /app; docker format; VERSION=tag; archives labelled; v3";

    /**
     * A label on each archive for kind load, so that what kind loads is never the image a registry delivered. A kubelet
     * >= 1.35 that pulled an image (up --registry local) lets pods use it only under the name it pulled it by (KEP-2535's
     * pulled-image records): the same image loaded as hello:TAG would then be refused (ErrImageNeverPull) after a
     * switch back from --registry local to kind load. Measured: all three pods refused, until this label.
     */
    static final String SHIPPED_BY = "deploy.java.shipped-by";
    /** No PORT: the service's own default holds, so the port is written once, in its source. Sorted: it is hashed into the tag. */
    static final SortedMap<String, String> ENVIRONMENT = Collections.unmodifiableSortedMap(new TreeMap<>(Map.of("HOST", "0.0.0.0")));

    String ref() {
        return name + ":" + tag;
    }

    static Map<String, String> tags(List<Image> images) {
        var tags = new LinkedHashMap<String, String>();
        images.forEach(i -> tags.put(i.name(), i.tag()));
        return tags;
    }

    /** The tags the services' images would have on {@code base}, none built: a tag is a hash of the inputs (render). */
    static Map<String, String> tags(Checkout checkout, String base) {
        var tags = new LinkedHashMap<String, String>();
        for (String name : checkout.services()) tags.put(name, tag(checkout.root(), name, base));
        return tags;
    }

    /**
     * ENVIRONMENT and VERSION=tag, so the service names the code it runs (X-Version). VERSION stays out of the hash:
     * the tag is made from the inputs, and then names them.
     */
    Map<String, String> environment() {
        var environment = new TreeMap<>(ENVIRONMENT);
        environment.put("VERSION", tag);
        return environment;
    }

    /**
     * JVM flags for the containers, stated here once (the image's entrypoint carries them).
     * Serial GC: a small heap on a CPU or less gains nothing from a concurrent collector's threads.
     * MaxRAMPercentage=50: the heap follows the container's memory limit; half of it, because the JVM grows its heap
     * to the maximum before a full collection, and thread stacks, metaspace and code cache need the rest (at 75% a
     * joiner under load reached ~280 MB, past the manifests' 256Mi limit, and would be OOM-killed).
     * ExitOnOutOfMemoryError: a JVM out of memory should end and be restarted, not limp on.
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError");

    static List<String> entrypoint(String name) {
        var command = new ArrayList<String>();
        command.add("java");
        command.addAll(JVM_FLAGS);
        command.addAll(List.of("-cp", "/app", name));
        return command;
    }

    /** The port a service listens on by default, read from its `static final int DEFAULT_PORT = N;`. */
    static int defaultPort(Path root, String name) {
        Path source = root.resolve(name + ".java");
        try {
            Matcher m = Pattern.compile("static final int DEFAULT_PORT = (\\d+);").matcher(Files.readString(source));
            if (m.find()) return Integer.parseInt(m.group(1));
            throw new Failure(source.getFileName() + " declares no `static final int DEFAULT_PORT = N;` (the port its image exposes)");
        } catch (IOException e) {
            throw new Failure("cannot read " + source + ": " + e.getMessage());
        }
    }

    /**
     * The tag: a hash of everything that goes into the image (the source, the base image reference, the
     * compiling JDK, entrypoint, environment, user, platform, the recipe). Same inputs, same tag; and since
     * Jib builds reproducibly, same image ID. Computing it needs no build, so render needs no Docker.
     */
    static String tag(Path root, String name, String base) {
        try {
            var sha = MessageDigest.getInstance("SHA-256");
            for (String part : List.of(RECIPE, name, base, Runtime.version().toString(), platform().getArchitecture() + "/" + platform().getOs(),
                    String.join(" ", entrypoint(name)), ENVIRONMENT.toString(), USER)) {
                sha.update((part + "\n").getBytes(UTF_8));
            }
            sha.update(Files.readAllBytes(root.resolve(name + ".java")));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new Failure("cannot read " + root.resolve(name + ".java") + ": " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Platform platform() {
        String arch = System.getProperty("os.arch");
        return new Platform(arch.equals("aarch64") || arch.equals("arm64") ? "arm64" : "amd64", "linux");
    }

    /**
     * All at once: each compiles in-process and builds with Jib. An archive already built from the same
     * inputs (its DIR/name.ref holds the same tag) is kept as is.
     */
    static Step.Done<List<Image>> buildAll(Checkout checkout, Path out, String base) throws Exception {
        Path root = checkout.root();
        Files.createDirectories(out);
        var wanted = new ArrayList<Image>();
        for (String name : checkout.services()) wanted.add(new Image(name, defaultPort(root, name), tag(root, name, base), out.resolve(name + ".tar")));
        var kept = new ArrayList<String>();
        for (Image image : wanted) if (image.upToDate()) kept.add(image.name());
        if (kept.size() < wanted.size()) requireRegistry(base);
        var tasks = new ArrayList<Callable<Image>>();
        for (Image image : wanted) tasks.add(kept.contains(image.name()) ? () -> image : () -> image.build(root, base));
        List<Image> images = Step.together(tasks, "building images");
        String refs = String.join(", ", images.stream().map(Image::ref).toList());
        return new Step.Done<>(images, kept.isEmpty() ? refs : refs + " (" + String.join(", ", kept) + " up to date)");
    }

    /** The archive is there, and was finished from these very inputs (the .ref file is written last). */
    boolean upToDate() throws IOException {
        Path ref = refFile();
        return Files.isRegularFile(tar) && Files.isRegularFile(ref) && Files.readString(ref).strip().equals(ref());
    }

    Path refFile() {
        return tar.resolveSibling(name + ".ref");
    }

    Image build(Path root, String base) throws Exception {
        Files.deleteIfExists(refFile()); // from now on the archive is not trusted until it is whole
        Path classes = Classes.compile(root, name);
        try {
            containerize(root, base, classes);
        } finally {
            Classes.delete(classes);
        }
        Files.writeString(refFile(), ref() + "\n");
        BUILT.add(tar);
        return this;
    }

    /** The archives this run wrote (not kept from an earlier one). */
    static final Set<Path> BUILT = ConcurrentHashMap.newKeySet();

    /** Whether this run wrote the archive: then no node has this image yet, most likely. */
    boolean builtByThisRun() {
        return BUILT.contains(tar);
    }

    void containerize(Path root, String base, Path classes) throws Exception {
        Path cache = root.resolve("build/jib-cache");
        var log = new CopyOnWriteArrayList<String>();
        var containerizer = Containerizer.to(TarImage.at(tar).named(ref()))
                .setBaseImageLayersCache(cache.resolve("base"))
                .setApplicationLayersCache(cache.resolve("application"))
                .setToolName("deploy.java")
                .addEventHandler(LogEvent.class, e -> {
                    if (e.getLevel().ordinal() <= LogEvent.Level.WARN.ordinal()) log.add(e.getLevel() + ": " + e.getMessage());
                });
        try {
            jib(root, base, classes).addLabel(SHIPPED_BY, "kind load").containerize(containerizer);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw e;
        } catch (Exception e) {
            throw failed(base, e, log);
        }
    }

    /** The image as Jib builds it: the base, the classes in /app, the entrypoint; where it goes is the caller's. */
    JibContainerBuilder jib(Path root, String base, Path classes) throws InvalidImageReferenceException, IOException {
        return from(root, base)
                .setFileEntriesLayers(FileEntriesLayer.builder().setName("classes")
                        .addEntryRecursive(classes, AbsoluteUnixPath.get("/app")).build())
                .setEntrypoint(entrypoint(name))
                .setEnvironment(environment())
                .setExposedPorts(Port.tcp(port))
                .setUser(USER);
    }

    /** A failed build as one line: the deepest cause, and the way out when the base was to come from a registry. */
    Failure failed(String base, Exception e, List<String> log) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) cause = cause.getCause();
        String hint = base.contains("://") ? "" : " (no registry reachable? build on a local image: --base-image docker://NAME or tar://PATH)";
        return new Failure("building " + name + " on " + base + " failed: " + cause.getMessage() + hint, tidy(log));
    }

    /** Offline, Jib would retry its pull for a minute and more; a name that does not resolve fails at once. */
    static void requireRegistry(String base) throws InvalidImageReferenceException {
        if (base.contains("://") || System.getProperty("https.proxyHost") != null) return;
        String registry = ImageReference.parse(base).getRegistry();
        try {
            InetAddress.getByName(registry);
        } catch (UnknownHostException e) {
            throw new Failure("cannot resolve " + registry + " to pull " + base + " (offline?): build on an image this machine has,"
                    + " with --base-image docker://NAME (Docker's) or tar://PATH (a docker save archive)");
        }
    }

    /** Jib's log lines as a person wants them: no colour codes, a retried request once with its count. */
    static String tidy(List<String> log) {
        var counts = new LinkedHashMap<String, Integer>();
        for (String line : log) counts.merge(line.replaceAll("\u001B\\[[;\\d]*m", ""), 1, Integer::sum);
        var text = new StringBuilder();
        counts.forEach((line, n) -> text.append(line).append(n > 1 ? " (×" + n + ")" : "").append('\n'));
        return text.toString();
    }

    static JibContainerBuilder from(Path root, String base) throws InvalidImageReferenceException {
        if (base.startsWith("docker://")) {
            String name = base.substring("docker://".length());
            // Jib reads the JSON of `docker inspect`, which Podman writes in another shape: its image comes as an archive.
            if (Proc.which("docker") == null && Proc.which("podman") != null) return Jib.from(TarImage.at(Podman.save(root, name)));
            return Jib.from(DockerDaemonImage.named(name));
        }
        if (base.startsWith("tar://")) return Jib.from(TarImage.at(Path.of(base.substring("tar://".length())).toAbsolutePath()));
        return Jib.from(RegistryImage.named(base)).setPlatforms(Set.of(platform()));
    }

    /** --base-image: a registry reference, docker://NAME or tar://PATH, checked before anything runs. */
    static class BaseConverter implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                if (value.startsWith("docker://")) ImageReference.parse(value.substring("docker://".length()));
                else if (value.startsWith("tar://")) {
                    Path tar = Path.of(value.substring("tar://".length()));
                    if (!Files.isRegularFile(tar)) throw new CommandLine.TypeConversionException("no file " + tar.toAbsolutePath() + " (tar://PATH takes a `docker save` archive)");
                } else ImageReference.parse(value);
                return value;
            } catch (InvalidImageReferenceException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an image reference (e.g. eclipse-temurin:25-jre, docker://NAME, tar://PATH)");
            }
        }
    }
}
