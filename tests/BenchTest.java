import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The benchmark runs and reports; it is never a measurement here (timings on a shared machine are noise),
 * so nothing below looks at a number beyond "there were requests and none failed".
 */
class BenchTest {
    @Test
    @SuppressWarnings("unchecked")
    void quick_run_prints_its_table_and_writes_its_json() throws Exception {
        Path jbang = Support.which("jbang");
        Assumptions.assumeTrue(jbang != null, "jbang is not on PATH, and the benchmark is a JBang script");
        Assumptions.assumeTrue(Support.which("wrk") != null, "wrk is not on PATH, and it is the benchmark's load generator (apt-get install wrk)");
        Path out = Support.ROOT.resolve("tests/out/bench");
        if (Files.exists(out)) {
            try (var files = Files.list(out)) {
                for (Path f : files.toList()) Files.delete(f);
            }
        }

        var run = Support.run(List.of(jbang.toString(), "bench/bench.java", "--quick", "--out", out.toString()),
                Map.of(), Duration.ofMinutes(4));

        assertEquals(0, run.exit(), run.both());
        for (String heading : List.of("Throughput and latency", "Start-up", "Memory", "Images", "Targets")) {
            assertTrue(run.out().contains(heading), "no '" + heading + "' in the table:\n" + run.out());
        }
        var json = (Map<String, Object>) new Yaml().load(Files.readString(out.resolve("latest.json")));
        var settings = (Map<String, Object>) json.get("settings");
        assertEquals("wrk", settings.get("tool"), settings.toString());
        var load = (List<Map<String, Object>>) json.get("load");
        assertEquals(List.of("hello", "joiner"), load.stream().map(l -> l.get("target")).toList(), load.toString());
        for (var l : load) {
            assertTrue(((Number) l.get("requests")).longValue() > 0, "no requests: " + l);
            assertEquals(0, ((Number) l.get("errors")).intValue(), "errors: " + l);
        }
        // Each run says how much of the services' CPU their JIT compilers took: a second after start they still compile,
        // and the warm-up says where it stopped.
        assertTrue(((Number) load.get(1).get("jit_cpu_percent")).doubleValue() > 0, "no JIT CPU counted for a joiner just started: " + load.get(1));
        assertTrue(run.out().contains("the JIT at "), "the warm-up does not say how busy the JIT was:\n" + run.out());
        // The joiner's load reaches all three services, and each one's CPU is counted.
        assertEquals(List.of("hello", "world", "joiner"), List.copyOf(((Map<String, Object>) load.get(1).get("cpu_us_per_request_by_service")).keySet()));
        var memory = (Map<String, Object>) json.get("memory");
        assertEquals(List.of("hello", "world", "joiner"), List.copyOf(memory.keySet()), memory.toString());
        assertTrue(((Map<String, Object>) json.get("startup")).containsKey("java"), json.get("startup").toString());
        try (var files = Files.list(out)) {
            assertEquals(2, files.count(), "expected TIMESTAMP.json and latest.json in " + out);
        }
    }

    /** The record files in bench/results stay readable: --compare of the two oldest works and shows each level. */
    @Test
    void compare_reads_the_committed_records() throws Exception {
        Path jbang = Support.which("jbang");
        Assumptions.assumeTrue(jbang != null, "jbang is not on PATH, and the benchmark is a JBang script");
        List<Path> records;
        try (var files = Files.list(Support.ROOT.resolve("bench/results"))) {
            records = files.filter(f -> f.getFileName().toString().matches("\\d.*\\.json")).sorted().limit(2).toList();
        }
        assertEquals(2, records.size(), "expected two record files in bench/results");

        var run = Support.run(List.of(jbang.toString(), "bench/bench.java", "--compare", records.get(0).toString(), records.get(1).toString()),
                Map.of(), Duration.ofMinutes(3));

        assertEquals(0, run.exit(), run.both());
        for (String row : List.of("hello c=50 req/s", "joiner c=50 p99 ms", "joiner c=256 CPU µs/req", "joiner c=50 JIT CPU %", "start-up java ms", "joiner idle RSS MiB")) {
            assertTrue(run.out().contains(row), "no '" + row + "' in:\n" + run.out());
        }
    }

    /** --redeploy's own options go with it: one ERROR line and exit 2 before anything starts, no cluster made. */
    @Test
    void redeploy_options_without_redeploy_are_a_usage_error() throws Exception {
        Path jbang = Support.which("jbang");
        Assumptions.assumeTrue(jbang != null, "jbang is not on PATH, and the benchmark is a JBang script");
        var run = Support.run(List.of(jbang.toString(), "bench/bench.java", "--node-image", "kindest/node:v1.37.0"), Map.of(), Duration.ofMinutes(3));
        assertEquals(2, run.exit(), run.both());
        assertEquals(List.of("ERROR: --node-image goes with --redeploy (it is kind's node image) (see --help)"),
                run.err().lines().filter(l -> l.startsWith("ERROR")).toList(), run.both());
    }
}
