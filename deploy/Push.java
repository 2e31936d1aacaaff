import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.event.events.ProgressEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's image pushed to a registry by Jib, which sends only the blobs the registry lacks: after the first push,
 * a code change moves the classes layer and the image's config, a few kB. The manifests then name it by digest.
 *
 * @param reference the pushed image by digest, e.g. localhost:5001/hello@sha256:…, which is what the cluster runs
 * @param bytes     what went over the wire: the blobs the registry lacked (the manifest itself aside)
 */
record Push(String name, String tag, String reference, int pushed, int present, long bytes) {
    static final Pattern PUSHING = Pattern.compile("pushing blob (sha256:[0-9a-f]{64})");
    static final Pattern SKIPPED = Pattern.compile("Skipping push; BLOB already exists.*digest: (sha256:[0-9a-f]{64})");

    /** Each image's repository and digest, for Kustomization. */
    static Map<String, String> references(List<Push> pushes) {
        var refs = new LinkedHashMap<String, String>();
        pushes.forEach(p -> refs.put(p.name(), p.reference()));
        return refs;
    }

    static List<Push> step(Checkout checkout, Registry registry, String base) throws Exception {
        return Step.run("Pushing images with Jib to " + registry.prefix() + " (" + base + ")", () -> all(checkout, registry, base));
    }

    /** All at once, as Image.buildAll builds: each compiles in-process, then Jib pushes what the registry lacks. */
    static Step.Done<List<Push>> all(Checkout checkout, Registry registry, String base) throws Exception {
        Path root = checkout.root();
        Image.requireRegistry(base);
        var pushes = new ArrayList<Future<Push>>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String name : checkout.services()) {
                var image = new Image(name, Image.defaultPort(root, name), Image.tag(root, name, base), null);
                pushes.add(pool.submit(() -> push(root, image, registry, base)));
            }
        }
        var done = new ArrayList<Push>();
        for (var p : pushes) {
            try {
                done.add(p.get());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Failure f) throw f;
                throw new Failure("pushing images failed: " + e.getCause(), "");
            }
        }
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
        return new Push(image.name(), image.tag(), registry.repository(image.name()) + "@" + pushed.getDigest(),
                sizes.size() - skipped.size(), skipped.size(), bytes);
    }

    /** "hello: 2 blobs pushed (3.1 kB); world, joiner: nothing new (to localhost:5001)" */
    static String summary(List<Push> pushes) {
        var parts = new ArrayList<String>();
        var unchanged = new ArrayList<String>();
        long total = 0;
        for (Push p : pushes) {
            total += p.bytes();
            if (p.pushed() == 0) unchanged.add(p.name());
            else parts.add(p.name() + " " + p.pushed() + (p.pushed() == 1 ? " blob" : " blobs") + " (" + size(p.bytes()) + ")");
        }
        if (!unchanged.isEmpty()) parts.add(String.join(", ", unchanged) + " had all their blobs there");
        return String.join("; ", parts) + "; " + size(total) + " sent";
    }

    static String size(long bytes) {
        return bytes < 1000 ? bytes + " B" : bytes < 1_000_000 ? String.format("%.1f kB", bytes / 1e3) : String.format("%.1f MB", bytes / 1e6);
    }
}
