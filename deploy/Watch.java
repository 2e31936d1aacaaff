import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * Saves, as the JDK's WatchService reports them: some files in a folder (the services' sources) and whole trees
 * (manifests/). An editor's save is a burst of events (write, rename, touch, a backup file); the burst becomes one
 * batch once the files have been quiet for a moment, and a file whose content is what it was is no change, so one
 * save never gives two rebuilds. JDK only (the unit tests compile it alone).
 */
final class Watch implements AutoCloseable {
    /** Quiet this long after the last event ends a burst; a burst never holds a change back longer than MOST. */
    static final Duration QUIET = Duration.ofMillis(150), MOST = Duration.ofSeconds(2);

    final Path root;
    final Set<Path> files;
    final List<Path> trees;
    final WatchService service;
    final Map<WatchKey, Path> folders = new HashMap<>();
    /** Each watched file's content digest, as last seen; a file that is not there has none. */
    final Map<Path, String> digests = new HashMap<>();

    /**
     * @param files single files to watch, relative to root (their folders are watched, other entries ignored)
     * @param trees folders to watch with all that is, or comes to be, below them, relative to root
     */
    Watch(Path root, List<Path> files, List<Path> trees) throws IOException {
        this.root = root;
        this.files = Set.copyOf(files);
        this.trees = List.copyOf(trees);
        this.service = root.getFileSystem().newWatchService();
        for (Path file : files) register(root.resolve(file).getParent());
        for (Path tree : trees) registerTree(root.resolve(tree));
        for (Path file : watched()) digests.put(file, digest(file));
    }

    /** Blocks until a burst of events ends with some watched file changed; answers those files, relative to root, sorted. */
    Set<Path> next() throws InterruptedException {
        while (true) {
            Set<Path> changed = changed(batch(this::poll, System::nanoTime, QUIET, MOST));
            if (!changed.isEmpty()) return changed;
        }
    }

    /** Of the files touched, those whose content is not what it was when last seen (created and deleted count). */
    Set<Path> changed(Set<Path> touched) {
        var changed = new TreeSet<Path>();
        for (Path file : touched) {
            String now = digest(file);
            if (!Objects.equals(now, digests.get(file))) changed.add(file);
            if (now == null) digests.remove(file);
            else digests.put(file, now);
        }
        return changed;
    }

    @Override
    public void close() throws IOException {
        service.close();
    }

    // ---- debouncing

    /** Where events come from: the paths touched, waiting at most timeoutNanos (forever when negative); empty when none came. */
    interface Events {
        Set<Path> poll(long timeoutNanos) throws InterruptedException;
    }

    /**
     * One burst: waits for a first event, then takes more until none has come for `quiet`, or `most` has passed since
     * the first. The clock is a parameter so that the unit test can play a burst without waiting for it.
     */
    static Set<Path> batch(Events events, LongSupplier clock, Duration quiet, Duration most) throws InterruptedException {
        var touched = new LinkedHashSet<Path>();
        while (touched.isEmpty()) touched.addAll(events.poll(-1));
        long first = clock.getAsLong(), last = first;
        while (true) {
            long wait = Math.min(last + quiet.toNanos(), first + most.toNanos()) - clock.getAsLong();
            if (wait <= 0) return touched;
            Set<Path> more = events.poll(wait);
            if (!more.isEmpty()) {
                touched.addAll(more);
                last = clock.getAsLong();
            }
        }
    }

    // ---- what a change asks for

    /**
     * What one batch of changes asks of a running deployment: rebuild the services whose tag changed (the tag is a
     * hash of the image's inputs: tags tell), apply the profile when a service was rebuilt or a manifest it uses
     * changed (manifests: one did), apply the ingress controller when its manifests changed. manifests/kind/ takes effect only in a new
     * cluster, and another profile's overlay is not this one's business: both are noted, not acted on.
     */
    record Plan(List<String> rebuild, boolean apply, boolean manifests, boolean ingress, List<String> notes) {
        boolean nothing() {
            return rebuild.isEmpty() && !apply && !ingress;
        }
    }

    static Plan plan(Set<Path> changed, String profile, Map<String, String> running, Map<String, String> wanted) {
        var rebuild = new ArrayList<String>();
        wanted.forEach((service, tag) -> {
            if (!tag.equals(running.get(service))) rebuild.add(service);
        });
        boolean app = false, ingress = false;
        var notes = new ArrayList<String>();
        Path manifests = Path.of("manifests"), overlays = manifests.resolve("overlays");
        for (Path file : changed) {
            if (!file.startsWith(manifests)) continue;
            if (file.startsWith(manifests.resolve("ingress"))) ingress = true;
            else if (file.startsWith(manifests.resolve("kind"))) {
                notes.add(file + " takes effect when the cluster is made: jbang deploy.java down, then dev again");
            } else if (file.startsWith(overlays) && file.getNameCount() > 3 && !file.startsWith(overlays.resolve(profile))) {
                notes.add(file + " is not in the " + profile + " profile: nothing to apply");
            } else app = true;
        }
        return new Plan(List.copyOf(rebuild), app || !rebuild.isEmpty(), app, ingress, List.copyOf(notes));
    }

    // ---- the WatchService

    private Set<Path> poll(long timeoutNanos) throws InterruptedException {
        WatchKey key = timeoutNanos < 0 ? service.take() : service.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        var touched = new LinkedHashSet<Path>();
        for (; key != null; key = service.poll()) {
            Path folder = folders.get(key);
            for (var event : key.pollEvents()) {
                if (event.kind() == OVERFLOW || folder == null) {
                    touched.addAll(watched()); // events were lost: look at everything
                    continue;
                }
                Path path = folder.resolve((Path) event.context());
                if (event.kind() == ENTRY_CREATE && Files.isDirectory(path) && inTree(path)) {
                    try {
                        registerTree(path);
                        touched.addAll(filesUnder(path));
                    } catch (IOException e) {
                        // gone again already
                    }
                }
                Path relative = root.relativize(path);
                if (files.contains(relative) || (inTree(path) && !ignored(path) && !Files.isDirectory(path))) touched.add(relative);
            }
            if (!key.reset()) folders.remove(key);
        }
        return touched;
    }

    private boolean inTree(Path path) {
        return trees.stream().anyMatch(tree -> path.startsWith(root.resolve(tree)));
    }

    /** An editor's own files: backups (x~), swap files (.x.swp), lock and autosave files (.#x, #x#), vim's write test (4913). */
    static boolean ignored(Path path) {
        String name = path.getFileName().toString();
        return name.startsWith(".") || name.startsWith("#") || name.endsWith("~") || name.matches("\\d+")
                || name.endsWith(".swp") || name.endsWith(".swx") || name.endsWith(".tmp");
    }

    private void register(Path folder) throws IOException {
        folders.put(folder.register(service, ENTRY_CREATE, ENTRY_MODIFY, ENTRY_DELETE), folder);
    }

    private void registerTree(Path tree) throws IOException {
        try (Stream<Path> all = Files.walk(tree)) {
            for (Path folder : all.filter(Files::isDirectory).toList()) register(folder);
        }
    }

    private List<Path> filesUnder(Path folder) {
        try (Stream<Path> all = Files.walk(folder)) {
            return all.filter(Files::isRegularFile).filter(p -> !ignored(p)).map(root::relativize).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private Set<Path> watched() {
        var all = new TreeSet<>(files);
        for (Path tree : trees) all.addAll(filesUnder(root.resolve(tree)));
        return all;
    }

    /** SHA-256 of the file's bytes, or null when it is not there (mid-rename, or deleted). */
    private String digest(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(root.resolve(file))));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
