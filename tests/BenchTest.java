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
        // wrk when it is installed, the JDK generator otherwise (CI has no wrk): the same report either way.
        assertEquals(Support.which("wrk") != null ? "wrk" : "jdk", settings.get("tool"), settings.toString());
        var load = (List<Map<String, Object>>) json.get("load");
        assertEquals(List.of("hello", "joiner"), load.stream().map(l -> l.get("target")).toList(), load.toString());
        for (var l : load) {
            assertTrue(((Number) l.get("requests")).longValue() > 0, "no requests: " + l);
            assertEquals(0, ((Number) l.get("errors")).intValue(), "errors: " + l);
        }
        var memory = (Map<String, Object>) json.get("memory");
        assertEquals(List.of("hello", "world", "joiner"), List.copyOf(memory.keySet()), memory.toString());
        assertTrue(((Map<String, Object>) json.get("startup")).containsKey("java"), json.get("startup").toString());
        try (var files = Files.list(out)) {
            assertEquals(2, files.count(), "expected TIMESTAMP.json and latest.json in " + out);
        }
    }
}
