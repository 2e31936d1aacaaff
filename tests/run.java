///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Runs every test in the repository; the last line is `N passed, N failed, N skipped`.
//JAVA 25+
//DEPS org.junit.jupiter:junit-jupiter:6.1.3
//DEPS org.junit.platform:junit-platform-launcher:6.1.3
//DEPS org.yaml:snakeyaml:2.5
// deploy.java's versions of what SlimArchive uses (with the codec its tar writer needs, there from Jib's HTTP client):
//DEPS org.apache.commons:commons-compress:1.26.0
//DEPS commons-codec:commons-codec:1.11
//DEPS com.fasterxml.jackson.core:jackson-databind:2.15.2
//SOURCES Support.java Lab.java Manifests.java Upstreams.java Fakes.java RegistryFakes.java FakeRegistry.java IngressLoad.java *Test.java
// What unit tests check of deploy.java's parts (they compile here alone: the JDK, and the libraries above).
//SOURCES ../deploy/Watch.java ../deploy/SlimArchive.java

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The one test command: {@code jbang tests/run.java [Class | Class#method ...]}.
 *
 * Every {@code tests/*Test.java} is a test class (JBang compiles them in through
 * {@code //SOURCES}); with arguments, only those classes or methods run. Tests run
 * one after another: this is a 2-core machine and most tests start real processes.
 */
class run {

    public static void main(String[] args) throws IOException {
        var selectors = new ArrayList<DiscoverySelector>();
        for (String arg : args.length > 0 ? List.of(args) : allTestClasses()) {
            try {
                selectors.add(arg.contains("#") ? selectMethod(arg) : selectClass(Class.forName(arg)));
            } catch (ClassNotFoundException e) {
                System.err.println("ERROR: no test class " + arg + " (expected tests/" + arg + ".java)");
                System.exit(2);
            }
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectors)
                // One line per test; JUnit's own console output is not used.
                .configurationParameter("junit.jupiter.displayname.generator.default",
                        "org.junit.jupiter.api.DisplayNameGenerator$ReplaceUnderscores")
                .build();
        var report = new Report();
        LauncherFactory.create().execute(request, report);
        System.out.println();
        report.failures.forEach(System.out::println);
        System.out.printf("%d passed, %d failed, %d skipped%n",
                report.passed.get(), report.failed.get(), report.skipped.get());
        System.exit(report.failed.get() == 0 && report.passed.get() > 0 ? 0 : 1);
    }

    /** Class names of tests/*Test.java, found next to the runner. */
    static List<String> allTestClasses() throws IOException {
        try (Stream<Path> files = Files.list(Support.ROOT.resolve("tests"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith("Test.java"))
                    .map(n -> n.substring(0, n.length() - ".java".length()))
                    .sorted()
                    .toList();
        }
    }

    /** Prints one line per test as it finishes and counts the outcomes. */
    static final class Report implements TestExecutionListener {
        final AtomicInteger passed = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
        final List<String> failures = new ArrayList<>();
        final ConcurrentHashMap<String, Long> started = new ConcurrentHashMap<>();
        final java.io.PrintStream out;

        Report() {
            this(System.out);
        }

        /** A report that prints elsewhere: RunnerTest counts its fixtures' outcomes without showing them in CI's log. */
        Report(java.io.PrintStream out) {
            this.out = out;
        }

        TestPlan plan;

        @Override
        public void testPlanExecutionStarted(TestPlan testPlan) {
            plan = testPlan;
        }

        @Override
        public void executionStarted(TestIdentifier id) {
            started.put(id.getUniqueId(), System.nanoTime());
            if (id.getSource().filter(s -> s instanceof ClassSource).isPresent()) {
                out.println(id.getDisplayName());
            }
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            skipped.incrementAndGet();
            out.printf("  - %s: skipped: %s%n", id.getDisplayName(), reason);
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            long nanos = System.nanoTime() - started.getOrDefault(id.getUniqueId(), System.nanoTime());
            String took = String.format("%.1fs", Duration.ofNanos(nanos).toMillis() / 1000.0);
            boolean ok = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL;
            if (id.isTest()) {
                if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                    // An assumption that did not hold: a skip, and it says why.
                    skipped.incrementAndGet();
                    out.printf("  - %s: skipped: %s%n", id.getDisplayName(),
                            result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
                    return;
                }
                (ok ? passed : failed).incrementAndGet();
                out.printf("  %s %s (%s)%n", ok ? "✓" : "✗", id.getDisplayName(), took);
            } else if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                // An assumption in @BeforeAll: every test of the class is skipped, for the reason it gives.
                long tests = plan == null ? 1 : Math.max(1, plan.getDescendants(id).stream().filter(TestIdentifier::isTest).count());
                skipped.addAndGet((int) tests);
                out.printf("  - %s: %d skipped: %s%n", id.getDisplayName(), tests,
                        result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
            } else if (!ok && result.getStatus() == TestExecutionResult.Status.FAILED) {
                // A class whose @BeforeAll/@AfterAll failed: count it, or the failure would vanish.
                failed.incrementAndGet();
                out.printf("  ✗ %s: setup or teardown failed (%s)%n", id.getDisplayName(), took);
            }
            if (result.getStatus() == TestExecutionResult.Status.FAILED) {
                result.getThrowable().ifPresent(t -> failures.add(describe(id, t)));
            }
        }

        static String describe(TestIdentifier id, Throwable t) {
            var sb = new StringBuilder("FAILED " + id.getDisplayName() + " [" + id.getUniqueId() + "]\n  " + t + "\n");
            int shown = 0;
            for (StackTraceElement e : t.getStackTrace()) {
                String c = e.getClassName();
                if (c.startsWith("org.junit") || c.startsWith("java.") || c.startsWith("jdk.")) continue;
                sb.append("    at ").append(e).append('\n');
                if (++shown == 6) break;
            }
            return sb.toString();
        }
    }
}
