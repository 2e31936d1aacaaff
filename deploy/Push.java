import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.event.events.ProgressEvent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's image pushed to a registry by Jib, which sends only the blobs the registry lacks: after the first push,
 * a code change moves the classes layer and the image's config, a few kB. The manifests then name it by digest.
 *
 * @param reference the pushed image by digest, e.g. localhost:5001/hello@sha256:…, which is what the cluster runs
 * @param bytes     what went over the wire: the blobs the registry lacked (the manifest itself aside)
 * @param upToDate  pushed before from the same inputs (its record says so) and the registry still has it: not rebuilt
 */
record Push(String name, String tag, String reference, int pushed, int present, long bytes, boolean upToDate) {
    static final Pattern PUSHING = Pattern.compile("pushing blob (sha256:[0-9a-f]{64})");
    static final Pattern SKIPPED = Pattern.compile("Skipping push; BLOB already exists.*digest: (sha256:[0-9a-f]{64})");

    /** Each image as repository:tag@digest, for Kustomization: the digest is what runs, the tag names the code. */
    static Map<String, String> references(List<Push> pushes) {
        var refs = new LinkedHashMap<String, String>();
        pushes.forEach(p -> refs.put(p.name(), p.reference().replace("@", ":" + p.tag() + "@")));
        return refs;
    }

    /** Each image's tag: the version its service answers in X-Version. */
    static Map<String, String> tags(List<Push> pushes) {
        var tags = new LinkedHashMap<String, String>();
        pushes.forEach(p -> tags.put(p.name(), p.tag()));
        return tags;
    }

    static List<Push> step(Checkout checkout, Registry registry, String base) throws Exception {
        return Step.run("Pushing images with Jib to " + registry.prefix() + " (" + base + ")", () -> all(checkout, registry, base));
    }

    /** All at once, as Image.buildAll builds: each compiles in-process, then Jib pushes what the registry lacks. */
    static Step.Done<List<Push>> all(Checkout checkout, Registry registry, String base) throws Exception {
        Path root = checkout.root();
        Image.requireRegistry(base);
        requireAnswer(registry, checkout.services());
        var tasks = new ArrayList<Callable<Push>>();
        for (String name : checkout.services()) {
            var image = new Image(name, Image.defaultPort(root, name), Image.tag(root, name, base), null);
            tasks.add(() -> {
                Push kept = upToDate(root, image, registry);
                return kept != null ? kept : push(root, image, registry, base);
            });
        }
        List<Push> done = Step.together(tasks, "pushing images");
        return new Step.Done<>(done, summary(done));
    }

    static Push push(Path root, Image image, Registry registry, String base) throws Exception {
        var log = new CopyOnWriteArrayList<String>();
        var sizes = new ConcurrentHashMap<String, Long>(); // every blob Jib considered pushing
        Set<String> skipped = ConcurrentHashMap.newKeySet(); // those the registry had
        String tagged = registry.repository(image.name()) + ":" + image.tag();
        var containerizer = registry.allow(Containerizer.to(registry.target(tagged, e -> {})))
                .setBaseImageLayersCache(root.resolve("build/jib-cache/base"))
                .setApplicationLayersCache(root.resolve("build/jib-cache/application"))
                .setToolName("deploy.java")
                .addEventHandler(ProgressEvent.class, e -> {
                    Matcher m = PUSHING.matcher(e.getAllocation().getDescription());
                    if (m.find()) sizes.put(m.group(1), e.getAllocation().getAllocationUnits());
                })
                .addEventHandler(LogEvent.class, e -> {
                    Matcher m = SKIPPED.matcher(e.getMessage());
                    if (m.find()) skipped.add(m.group(1));
                    else if (e.getLevel().ordinal() <= LogEvent.Level.WARN.ordinal()) log.add(e.getLevel() + ": " + e.getMessage());
                });
        Path classes = Classes.compile(root, image.name());
        JibContainer pushed;
        try {
            pushed = image.jib(root, base, classes).containerize(containerizer);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw e;
        } catch (Exception e) {
            String refused = registry.refused(image.name(), e);
            throw refused != null ? new Failure(refused) : image.failed(base, e, log);
        } finally {
            Classes.delete(classes);
        }
        long bytes = 0;
        for (var blob : sizes.entrySet()) if (!skipped.contains(blob.getKey())) bytes += blob.getValue();
        Files.writeString(Files.createDirectories(record(root, registry, image.name()).getParent()).resolve(image.name() + ".ref"),
                image.tag() + " " + pushed.getDigest() + "\n");
        return new Push(image.name(), image.tag(), registry.repository(image.name()) + "@" + pushed.getDigest(),
                sizes.size() - skipped.size(), skipped.size(), bytes, false);
    }

    /**
     * Jib retries a request that fails to connect or to shake hands for a minute and more (its back-off, not ours to
     * set); the registry is asked once first, so a wrong address or a plain-HTTP registry fails at once. Any HTTP
     * answer will do (a login is Jib's to ask for); a slow one is left to Jib.
     */
    static void requireAnswer(Registry registry, List<String> services) throws InterruptedException {
        if (registry.local() > 0 || System.getProperty("https.proxyHost") != null) return; // up starts it; a proxy answers for it
        URI v2 = URI.create((registry.plainHttp() ? "http://" : "https://") + registry.host() + "/v2/");
        try {
            Registries.CLIENT.send(HttpRequest.newBuilder(v2).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            String refused = registry.refused(String.join(", ", services), e);
            if (refused != null) throw new Failure(refused);
        }
    }

    /** Where the last push of a service to this registry is recorded: its tag and digest. */
    static Path record(Path root, Registry registry, String name) {
        return root.resolve("build/images/pushed/" + registry.prefix().replaceAll("[^A-Za-z0-9._-]", "_") + "/" + name + ".ref");
    }

    /**
     * The same inputs were pushed before, and the registry still answers for that digest: nothing to compile or push.
     * Asked without a login, so only registries that answer anonymously (a local one) take this path; any other
     * answer means Jib pushes, which finds what is there by itself.
     */
    static Push upToDate(Path root, Image image, Registry registry) throws IOException, InterruptedException {
        Path record = record(root, registry, image.name());
        if (!Files.isRegularFile(record)) return null;
        String[] f = Files.readString(record).strip().split(" ");
        if (f.length != 2 || !f[0].equals(image.tag())) return null;
        String repository = registry.repository(image.name());
        URI manifest = URI.create((registry.plainHttp() ? "http://" : "https://") + registry.host() + "/v2/"
                + repository.substring(registry.host().length() + 1) + "/manifests/" + f[1]);
        var head = HttpRequest.newBuilder(manifest).method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json").build();
        try {
            if (Registries.CLIENT.send(head, HttpResponse.BodyHandlers.discarding()).statusCode() != 200) return null;
        } catch (IOException e) {
            return null;
        }
        return new Push(image.name(), image.tag(), repository + "@" + f[1], 0, 0, 0, true);
    }

    /** Made on first use only: the JDK's HttpClient takes ~0.5 s to make (its TLS context). */
    static final class Registries {
        static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    }

    /** "hello 2 blobs (5.9 kB); 5.9 kB sent (world, joiner up to date)" */
    static String summary(List<Push> pushes) {
        var parts = new ArrayList<String>();
        var unchanged = new ArrayList<String>();
        var kept = new ArrayList<String>();
        long total = 0;
        for (Push p : pushes) {
            total += p.bytes();
            if (p.upToDate()) kept.add(p.name());
            else if (p.pushed() == 0) unchanged.add(p.name());
            else parts.add(p.name() + " " + p.pushed() + (p.pushed() == 1 ? " blob" : " blobs") + " (" + size(p.bytes()) + ")");
        }
        if (!unchanged.isEmpty()) parts.add(String.join(", ", unchanged) + " had all their blobs there");
        return String.join("; ", parts) + (parts.isEmpty() ? "" : "; ") + size(total) + " sent"
                + (kept.isEmpty() ? "" : " (" + String.join(", ", kept) + " up to date)");
    }

    static String size(long bytes) {
        return bytes < 1000 ? bytes + " B" : bytes < 1_000_000 ? String.format("%.1f kB", bytes / 1e3) : String.format("%.1f MB", bytes / 1e6);
    }
}
