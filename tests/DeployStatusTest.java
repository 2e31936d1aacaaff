import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code jbang deploy.java down} and {@code status} against the fakes of Fakes.Plan. */
class DeployStatusTest extends Fakes.Plan {
    @Test
    void down_deletes_the_cluster_and_succeeds_when_it_is_already_gone() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        var first = deploy(List.of("down"));
        assertEquals(0, first.exit(), first.both());
        assertTrue(calls().contains("kind delete cluster --name hello-world"), calls().toString());
        var again = deploy(List.of("down"));
        assertEquals(0, again.exit(), again.both());
        assertTrue(again.err().contains("already gone"), again.err());
        assertEquals(1, calls().stream().filter(c -> c.startsWith("kind delete")).count(), calls().toString());
    }

    @Test
    void status_reports_each_deployment_the_versions_deployed_and_answering_and_the_answer_of_the_url() throws IOException {
        Files.writeString(state.resolve("clusters"), "hello-world\n");
        Files.writeString(state.resolve("host-port"), port + "\n");
        var deployed = new StringBuilder();
        for (String s : SERVICES) deployed.append(s).append(" ").append(s).append("1111aaaa2222bbbb\n");
        Files.writeString(state.resolve("deployed"), deployed);
        Files.writeString(state.resolve("body"), "Howdy World"); // the user's code: no failure
        var r = deploy(List.of("status"));
        assertEquals(0, r.exit(), r.both());
        for (String s : SERVICES) {
            assertTrue(r.out().lines().anyMatch(l -> l.contains("hello-world/" + s) && l.contains("1/1 ready")
                    && l.contains("deployed " + s + "1111aaaa2222bbbb") && l.contains("answering " + s + "1111aaaa2222bbbb")), r.out());
        }
        assertTrue(r.out().contains("http://localhost:" + port + "/ → Howdy World"), r.out());

        Files.writeString(state.resolve("answering"), deployed.toString().replace("hello1111aaaa2222bbbb", "hello0000old00000"));
        var stale = deploy(List.of("status"));
        assertEquals(1, stale.exit(), stale.both());
        assertTrue(stale.out().contains("answering hello0000old00000 (not what is deployed)"), stale.out());
        assertTrue(errorLines(stale).getFirst().contains("hello answers hello0000old00000 but hello1111aaaa2222bbbb is deployed"), stale.both());

        Files.delete(state.resolve("answering"));
        Files.writeString(state.resolve("not-ready"), "");
        var unhealthy = deploy(List.of("status"));
        assertEquals(1, unhealthy.exit(), unhealthy.both());
        assertTrue(errorLines(unhealthy).getFirst().contains("hello-world/world is 0/1 ready"), unhealthy.both());
    }
}
