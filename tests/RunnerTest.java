import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** The runner itself: it finds the repository and every test class, and counts what CI reads. */
class RunnerTest {
    @Test
    void finds_the_repository_root_and_the_test_classes() throws Exception {
        assertTrue(Files.exists(Support.ROOT.resolve("tests/run.java")), Support.ROOT.toString());
        assertTrue(run.allTestClasses().contains("RunnerTest"), run.allTestClasses().toString());
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
