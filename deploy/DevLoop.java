import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * `dev` after `up`: watches the services' sources and manifests/, and on each save rebuilds the images whose
 * tag changed, loads them, applies the profile, and waits until every answer comes from the new versions (the old
 * pods gone, then IN_A_ROW answers). One line a cycle, with where its time went. What fails (javac, kubectl, a
 * rollout) is printed and the running version keeps serving until the next save. The services' logs stream
 * meanwhile. Ctrl+C stops watching and leaves the cluster as it is.
 */
final class DevLoop {
    /** Bound of a cycle's waits: a pod that does not start in this long will not start on the next try either. */
    static final Duration CYCLE = Duration.ofSeconds(90);

    final deploy.Up up;
    final Rollout.Served served;
    final Checkout checkout;
    final Path root;
    final Kubectl kubectl;
    final Duration bound;
    /** The tags last applied: what the ingress must answer from. */
    Map<String, String> applied;

    DevLoop(deploy.Up up, Rollout.Served served) {
        this.up = up;
        this.served = served;
        this.checkout = served.checkout();
        this.root = checkout.root();
        this.kubectl = served.kind().kubectl();
        this.bound = up.timeout.compareTo(CYCLE) < 0 ? up.timeout : CYCLE;
        this.applied = new LinkedHashMap<>(served.deployed());
    }

    /** Runs until Ctrl+C (or SIGTERM): the JVM then ends in the shutdown hook. */
    void run(Instant since) throws Exception {
        var sources = checkout.services().stream().map(s -> Path.of(s + ".java")).toList();
        try (var watch = new Watch(root, sources, List.of(Path.of("manifests")));
             var logs = new PodLogs(kubectl, checkout.services())) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(logs)));
            System.err.printf("%n%s is served at %s%n%nWatching %s and manifests/: save a change and it is served in seconds."
                            + " Ctrl+C stops watching (the cluster stays).%n%n",
                    served.answer().body(), served.url(), String.join(", ", sources.stream().map(Path::toString).toList()));
            logs.follow(since);
            while (true) cycle(watch.next());
        }
    }

    /**
     * The first save would also pay for javac's and Jib's first use in this JVM (measured: a first build of 10-24 s
     * where the next ones took 1-4 s, on a busy machine); a throwaway build pays it while up's steps run, and dev
     * watches once it is done (or after a minute), so that the first save is as quick as the next.
     */
    static Thread warmUp(Checkout checkout, String base) {
        Path root = checkout.root();
        return Thread.ofVirtual().start(() -> {
            try {
                Path dir = Files.createTempDirectory(Files.createDirectories(root.resolve("build")), "warm-up-");
                String name = checkout.services().getFirst();
                new Image(name, Image.defaultPort(root, name), "warm-up", dir.resolve(name + ".tar")).build(root, base);
                Classes.delete(dir);
            } catch (Exception e) {
                // only a warm-up: the save that needs a build will say what is wrong
            }
        });
    }

    /** One save (or burst of saves): what it asks for, done, and one line saying so. */
    void cycle(Set<Path> changed) {
        long start = System.nanoTime();
        var took = new LinkedHashMap<String, Long>();
        String files = String.join(", ", changed.stream().map(Path::toString).toList()), what = files + " changed";
        try {
            var wanted = new LinkedHashMap<String, String>();
            for (String name : checkout.services()) wanted.put(name, Image.tag(root, name, up.base.ref));
            Watch.Plan plan = Watch.plan(changed, up.profile.name(), applied, wanted);
            plan.notes().forEach(note -> System.err.println(" • " + note));
            if (plan.nothing()) {
                // A save back to what runs (after a failed cycle, say): nothing to do, and the user should see that.
                if (plan.notes().isEmpty()) System.err.println(" ✓ " + files + " as deployed: nothing to do");
                return;
            }
            what = describe(plan);
            Callable<List<Image>> build = () -> Image.buildAll(checkout, root.resolve("build/images"), up.base.ref).value();
            List<Image> images = plan.rebuild().isEmpty() ? build.call() : timed(took, "build", build); // the kept archives: quick
            if (!plan.rebuild().isEmpty()) timed(took, "load", () -> served.kind().load(images, true));
            if (plan.ingress()) timed(took, "ingress", () -> {
                kubectl.applyAndWait(root, root.resolve("manifests/ingress"), bound);
                return null;
            });
            if (plan.apply()) {
                // A change of sources alone changes image tags alone: kubectl validates manifests only when new on this cluster (LastApply).
                List<Workload> workloads = timed(took, "apply", () -> Rollout.applyProfile(up.profile.name(), root, kubectl, images, null).value());
                applied = Image.tags(images);
                // A new tag alone rolls its service's Deployment alone (named after it): the others need no kubectl to wait.
                var rolling = plan.manifests() ? workloads : workloads.stream().filter(w -> plan.rebuild().contains(w.name())).toList();
                var waits = rolling.isEmpty() ? workloads : rolling;
                timed(took, "rollout", () -> {
                    kubectl.rollout(waits, bound);
                    return null;
                });
                timed(took, "old pods", () -> OldPods.await(kubectl, waits, bound));
            }
            timed(took, "answers", () -> Http.expectVersions(served.url(), applied, checkout.services().getLast(), bound));
            System.err.printf(" ✓ %s and serving in %.1fs (%s)%n", what, seconds(System.nanoTime() - start), steps(took));
        } catch (Failure f) {
            if (!f.output.isBlank()) System.err.println(Step.indent(shortened(f.output)));
            System.err.println(" ✗ " + f.getMessage() + "; the running version keeps serving (save again to retry)");
        } catch (Exception e) {
            System.err.println(" ✗ " + what + ": " + e + " (unexpected); the running version keeps serving");
        }
    }

    /** kubectl may quote a whole object in one line of its message; the line's start and its end say what is wrong. */
    static String shortened(String output) {
        return String.join("\n", output.lines().map(l -> l.length() <= 400 ? l : l.substring(0, 120) + " … " + l.substring(l.length() - 240)).toList());
    }

    /** "hello rebuilt", "manifests applied", "hello, world rebuilt, ingress applied". */
    static String describe(Watch.Plan plan) {
        var parts = new ArrayList<String>();
        if (!plan.rebuild().isEmpty()) parts.add(String.join(", ", plan.rebuild()) + " rebuilt");
        else if (plan.apply()) parts.add("manifests applied");
        if (plan.ingress()) parts.add("ingress controller applied");
        return String.join(", ", parts);
    }

    static <T> T timed(Map<String, Long> took, String step, Callable<T> action) throws Exception {
        long start = System.nanoTime();
        try {
            return action.call();
        } finally {
            took.merge(step, System.nanoTime() - start, Long::sum);
        }
    }

    static String steps(Map<String, Long> took) {
        var parts = new ArrayList<String>();
        took.forEach((step, nanos) -> parts.add(String.format("%s %.1fs", step, seconds(nanos))));
        return String.join(", ", parts);
    }

    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    void stop(PodLogs logs) {
        logs.close();
        // What a cycle had running (a build's kubectl, a kind load) stops with this JVM, not minutes later.
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroy);
        System.err.printf("%n Stopped watching. %s keeps running at %s; delete it with: jbang deploy.java down%s%n",
                served.kind().name(), served.url(), served.kind().flag());
    }
}
