import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * deploy/Watch.java, which `dev` and `local` follow saves with: a burst of events is one batch (played on a fake
 * clock: no test here waits for a debounce), a save that changes nothing is no change, and what a change asks
 * for (rebuild which services, apply the profile or the ingress, or nothing).
 */
class WatchTest {
    static final Duration QUIET = Duration.ofMillis(150), MOST = Duration.ofSeconds(2);

    /** Events at given times (ms), on a clock that moves only when a poll waits. */
    static final class Timeline implements Watch.Events {
        record Event(long at, Set<Path> paths) {}
        final ArrayDeque<Event> events = new ArrayDeque<>();
        final List<Long> waits = new ArrayList<>();
        long now;

        Timeline at(long ms, String... paths) {
            events.add(new Event(ms * 1_000_000, Set.of(List.of(paths).stream().map(Path::of).toArray(Path[]::new))));
            return this;
        }

        @Override
        public Set<Path> poll(long timeoutNanos) {
            waits.add(timeoutNanos);
            Event next = events.peek();
            if (next != null && (timeoutNanos < 0 || next.at() <= now + timeoutNanos)) {
                now = Math.max(now, next.at());
                return events.poll().paths();
            }
            if (timeoutNanos < 0) throw new AssertionError("would wait forever: no event left");
            now += timeoutNanos;
            return Set.of();
        }

        long ms() {
            return now / 1_000_000;
        }
    }

    static Set<Path> batch(Timeline t) throws InterruptedException {
        return Watch.batch(t, () -> t.now, QUIET, MOST);
    }

    @Test
    void an_editors_burst_of_events_is_one_batch_ended_by_a_quiet_moment() throws Exception {
        // An editor saving hello.java: backup, write test file, the file itself written, renamed, touched.
        var t = new Timeline().at(1000, "hello.java~").at(1010, "4913").at(1020, "hello.java").at(1090, "hello.java")
                .at(5000, "world.java");
        assertEquals(Set.of(Path.of("hello.java~"), Path.of("4913"), Path.of("hello.java")), batch(t));
        assertEquals(1090 + QUIET.toMillis(), t.ms(), "the batch ends QUIET after its last event, not before");
        assertEquals(Set.of(Path.of("world.java")), batch(t), "a save seconds later is a batch of its own");
    }

    @Test
    void events_that_never_stop_are_cut_into_batches_of_at_most_MOST() throws Exception {
        var t = new Timeline();
        for (long ms = 0; ms <= 5000; ms += 100) t.at(ms, "manifests/base/f" + ms + ".yaml");
        Set<Path> first = batch(t);
        assertEquals(MOST.toMillis(), t.ms(), "a burst holds a change back at most MOST");
        assertEquals(MOST.toMillis() / 100 + 1, first.size(), first.toString());
        assertFalse(batch(t).isEmpty());
    }

    @Test
    void the_first_event_is_awaited_without_a_bound_and_each_later_wait_is_bounded_by_the_quiet_time() throws Exception {
        var t = new Timeline().at(300, "hello.java");
        batch(t);
        assertEquals(-1L, t.waits.getFirst());
        assertTrue(t.waits.stream().skip(1).allMatch(w -> w > 0 && w <= QUIET.toNanos()), t.waits.toString());
    }

    @Test
    void a_file_saved_with_the_content_it_had_is_no_change_and_create_or_delete_is_one() throws IOException {
        Path root = Files.createTempDirectory("watch-test");
        Files.writeString(root.resolve("hello.java"), "class hello {}");
        Files.createDirectories(root.resolve("manifests/base"));
        Files.writeString(root.resolve("manifests/base/hello.yaml"), "kind: Service");
        try (var watch = new Watch(root, List.of(Path.of("hello.java")), List.of(Path.of("manifests")))) {
            Set<Path> both = Set.of(Path.of("hello.java"), Path.of("manifests/base/hello.yaml"));
            assertEquals(Set.of(), watch.changed(both), "touched, same content");
            Files.writeString(root.resolve("hello.java"), "class hello { }");
            assertEquals(Set.of(Path.of("hello.java")), watch.changed(both));
            assertEquals(Set.of(), watch.changed(both), "seen once, not twice");
            Files.delete(root.resolve("manifests/base/hello.yaml"));
            assertEquals(Set.of(Path.of("manifests/base/hello.yaml")), watch.changed(both));
            Files.writeString(root.resolve("manifests/base/hello.yaml"), "kind: Service");
            assertEquals(Set.of(Path.of("manifests/base/hello.yaml")), watch.changed(both));
        }
    }

    /** The real WatchService: a save as editors make it (write a temp file, rename it over) is one change, of that file alone. */
    @Test
    void a_save_by_rename_is_a_change_of_that_file_and_editor_files_are_none() throws Exception {
        Path root = Files.createTempDirectory("watch-test");
        Files.writeString(root.resolve("hello.java"), "class hello {}");
        Files.writeString(root.resolve("world.java"), "class world {}");
        Files.createDirectories(root.resolve("manifests/base"));
        try (var watch = new Watch(root, List.of(Path.of("hello.java"), Path.of("world.java")), List.of(Path.of("manifests")))) {
            var next = CompletableFuture.supplyAsync(() -> {
                try {
                    return watch.next();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Files.writeString(root.resolve("manifests/base/.hello.yaml.swp"), "swap");
            Files.writeString(root.resolve("notes.txt"), "not watched");
            Files.copy(root.resolve("hello.java"), root.resolve("hello.java~"));
            Path temp = Files.writeString(root.resolve(".hello.java.tmp"), "class hello { String s = \"Howdy\"; }");
            Files.move(temp, root.resolve("hello.java"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            // A new folder of manifests, and a file in it, is watched as well.
            Files.createDirectories(root.resolve("manifests/components/extra"));
            Files.writeString(root.resolve("manifests/components/extra/kustomization.yaml"), "kind: Component");
            Set<Path> changed = next.get(30, TimeUnit.SECONDS); // a bound for a hung watch, not a timing
            assertTrue(changed.contains(Path.of("hello.java")), changed.toString());
            assertTrue(changed.stream().allMatch(p -> p.equals(Path.of("hello.java")) || p.startsWith("manifests/components")), changed.toString());
        }
    }

    // ---- what a change asks for

    static final Map<String, String> RUNNING = Map.of("hello", "h1", "world", "w1", "joiner", "j1");

    @Test
    void a_changed_source_rebuilds_that_service_alone_and_applies() {
        var plan = Watch.plan(Set.of(Path.of("hello.java")), "dev", RUNNING, Map.of("hello", "h2", "world", "w1", "joiner", "j1"));
        assertEquals(List.of("hello"), plan.rebuild());
        assertTrue(plan.apply());
        assertFalse(plan.manifests(), "a new tag alone: the manifests as they were applied");
        assertFalse(plan.ingress());
    }

    @Test
    void a_source_saved_back_to_the_running_code_asks_for_nothing() {
        var plan = Watch.plan(Set.of(Path.of("hello.java")), "dev", RUNNING, RUNNING);
        assertTrue(plan.nothing(), plan.toString());
    }

    @Test
    void a_manifest_of_the_app_is_applied_without_a_rebuild() {
        for (String file : List.of("manifests/base/hello.yaml", "manifests/base/kustomization.yaml", "manifests/overlays/dev/kustomization.yaml")) {
            var plan = Watch.plan(Set.of(Path.of(file)), "dev", RUNNING, RUNNING);
            assertEquals(List.of(), plan.rebuild(), file);
            assertTrue(plan.apply() && plan.manifests(), file);
            assertFalse(plan.ingress(), file);
        }
    }

    @Test
    void the_ingress_controllers_manifests_apply_the_ingress_alone() {
        var plan = Watch.plan(Set.of(Path.of("manifests/ingress/traefik.yaml")), "dev", RUNNING, RUNNING);
        assertTrue(plan.ingress());
        assertFalse(plan.apply());
        assertEquals(List.of(), plan.rebuild());
    }

    @Test
    void another_profiles_overlay_and_the_kind_config_are_noted_not_applied() {
        var plan = Watch.plan(Set.of(Path.of("manifests/overlays/prod/kustomization.yaml"), Path.of("manifests/kind/cluster.yaml")),
                "dev", RUNNING, RUNNING);
        assertTrue(plan.nothing(), plan.toString());
        assertEquals(2, plan.notes().size(), plan.notes().toString());
        assertTrue(plan.notes().stream().anyMatch(n -> n.contains("down, then dev")), plan.notes().toString());
        assertTrue(Watch.plan(Set.of(Path.of("manifests/overlays/prod/kustomization.yaml")), "prod", RUNNING, RUNNING).apply());
    }

    @Test
    void editor_files_are_ignored() {
        for (String name : List.of(".hello.yaml.swp", "hello.yaml~", "4913", "#hello.yaml#", ".#hello.yaml", "x.tmp")) {
            assertTrue(Watch.ignored(Path.of("manifests/base", name)), name);
        }
        assertFalse(Watch.ignored(Path.of("manifests/base/hello.yaml")));
    }
}
