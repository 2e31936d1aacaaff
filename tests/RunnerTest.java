import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** The runner itself: it finds the repository and every test class, and counts what CI reads. */
class RunnerTest {
    @Test
    void finds_the_repository_root_from_a_folder_inside_it_and_fails_outside() throws Exception {
        Path inside = Files.createTempDirectory(Files.createDirectories(Support.ROOT.resolve("tests/out")), "nested");
        try {
            assertEquals(Support.ROOT, Support.findRoot(inside));
        } finally {
            Files.delete(inside);
        }
        Path outside = Files.createTempDirectory("no-repository");
        try {
            var e = assertThrows(IllegalStateException.class, () -> Support.findRoot(outside));
            assertTrue(e.getMessage().contains("run the tests from inside the repository"), e.getMessage());
        } finally {
            Files.delete(outside);
        }
    }

    /** Every tests/*Test.java, and nothing else, is a class the runner can select; each has tests to run. */
    @Test
    void lists_each_test_file_as_a_loadable_class_with_tests() throws Exception {
        var classes = run.allTestClasses();
        assertTrue(classes.containsAll(List.of("ManifestsTest", "RunnerTest")), classes.toString());
        assertFalse(classes.stream().anyMatch(List.of("Support", "Lab", "Manifests", "run")::contains), classes.toString());
        for (String name : classes) {
            var plan = LauncherFactory.create().discover(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(Class.forName(name))).build());
            long tests = plan.getRoots().stream().flatMap(r -> plan.getDescendants(r).stream()).filter(TestIdentifier::isTest).count();
            assertTrue(tests > 0, name + " has no tests");
        }
    }

    @Test
    void counts_passed_failed_and_skipped_including_a_class_skipped_in_before_all() {
        var report = new run.Report(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        for (Class<?> fixture : new Class<?>[] {Mixed.class, SkippedWhole.class}) {
            LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(fixture)).build(), report);
        }
        assertEquals(1, report.passed.get(), "passed");
        assertEquals(1, report.failed.get(), "failed");
        assertEquals(1 + 2, report.skipped.get(), "skipped: one test, and both tests of a class whose @BeforeAll skipped");
    }

    // Fixtures: static member classes, so that running RunnerTest does not run them on its own.
    static class Mixed {
        @Test void passes() {}
        @Test void fails() { throw new AssertionError("on purpose"); }
        @Test void skips() { Assumptions.assumeTrue(false, "on purpose"); }
    }

    static class SkippedWhole {
        @BeforeAll static void nothingHere() { Assumptions.assumeTrue(false, "on purpose"); }
        @Test void a() {}
        @Test void b() {}
    }
}
