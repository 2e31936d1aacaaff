import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's "Add a service", done to the letter in a scratch copy of the repository: {@code bang.java} from
 * world.java, {@code manifests/base/bang.yaml} from world.yaml, listed before joiner.yaml, world's port replacement
 * copied, a NetworkPolicy and (prod) a PodDisruptionBudget like world's. Then the copy's own deploy.java must see four services, tag and render bang
 * wired like the others, and bang must run and answer. Nothing else is edited: if another place had to change, this fails.
 */
class AddServiceTest {
    static Path copy;

    @BeforeAll
    static void scratchCopy() throws IOException {
        assumeTrue(Support.which("kubectl") != null, "kubectl is not on PATH (render runs kubectl kustomize)");
        assumeTrue(Support.which("jbang") != null, "jbang is not on PATH");
        copy = Files.createTempDirectory("add-a-service");
        try (var files = Files.list(Support.ROOT)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        for (String dir : List.of("deploy", "manifests")) Support.copyTree(Support.ROOT.resolve(dir), copy.resolve(dir));

        // 1. copy world.java and change its class, NAME, DEFAULT_PORT and word.
        String world = Files.readString(copy.resolve("world.java"));
        Files.writeString(copy.resolve("bang.java"), replaceEach(world,
                "class world ", "class bang ", "world::", "bang::", "NAME = \"world\"", "NAME = \"bang\"",
                "DEFAULT_PORT = 3001", "DEFAULT_PORT = 3003", "bytes(\"World\")", "bytes(\"!\")"));

        // 2. copy manifests/base/world.yaml to bang.yaml with world renamed (and a port of its own), list it before
        //    joiner.yaml, copy world's replacement of its port (the container port and PORT).
        Path base = copy.resolve("manifests/base");
        Files.writeString(base.resolve("bang.yaml"), Files.readString(base.resolve("world.yaml"))
                .replace("world", "bang").replace("port: 3001", "port: 3003"));
        String kustomization = Files.readString(base.resolve("kustomization.yaml"));
        String worldPort = between(kustomization, "  - source:\n      kind: Service\n      name: world\n      fieldPath: spec.ports",
                "      - select:\n          kind: Deployment\n          name: joiner");
        kustomization = kustomization.replace("  - joiner.yaml\n", "  - bang.yaml\n  - joiner.yaml\n")
                .replace("replacements:\n", "replacements:\n" + worldPort.replace("world", "bang"));
        Files.writeString(base.resolve("kustomization.yaml"), kustomization);

        // 3. let its callers in: a NetworkPolicy like world's (joiner may reach it).
        String policies = Files.readString(base.resolve("network-policies.yaml"));
        String worldPolicy = between(policies, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: world-from-joiner", "---\n");
        Files.writeString(base.resolve("network-policies.yaml"), policies + "---\n" + worldPolicy.replace("world", "bang"));

        // 4. prod: a PodDisruptionBudget like world's.
        Path budgets = copy.resolve("manifests/overlays/prod/pod-disruption-budgets.yaml");
        String all = Files.readString(budgets);
        String worldBudget = between(all, "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: world", "---\n");
        Files.writeString(budgets, all + (all.endsWith("\n") ? "" : "\n") + "---\n" + worldBudget.replace("world", "bang"));
    }

    @AfterAll
    static void remove() throws IOException {
        if (copy != null) Support.deleteTree(copy);
    }

    @Test
    void the_copy_has_four_services_in_start_order() {
        assertEquals(List.of("hello", "world", "bang", "joiner"), Support.services(copy));
    }

    @Test
    void deploy_java_tags_and_renders_bang_wired_like_the_others() {
        var r = Support.run(List.of("jbang", "deploy.java", "render", "--profile", "prod"), Map.of(), Duration.ofMinutes(3), copy);
        assertEquals(0, r.exit(), r.both());
        var objects = Support.yaml(r.out()).stream().map(Manifests::map).toList();
        var deployment = Manifests.find(objects, "Deployment", "bang");
        var container = Manifests.map(Manifests.list(Manifests.at(deployment, "spec.template.spec.containers")).getFirst());
        assertTrue(String.valueOf(container.get("image")).matches("bang:[0-9a-f]{16}"), "tagged by content: " + container.get("image"));
        assertEquals(3003, Manifests.at(Manifests.map(Manifests.list(container.get("ports")).getFirst()), "containerPort"));
        assertTrue(Manifests.list(container.get("env")).contains(Map.of("name", "PORT", "value", "3003")), container.toString());
        assertEquals(2, Manifests.at(deployment, "spec.replicas"), "the prod overlay's patches reach it as they reach the others");
        assertEquals(3003, Manifests.at(Manifests.map(Manifests.list(Manifests.at(Manifests.find(objects, "Service", "bang"), "spec.ports")).getFirst()), "port"));
        Manifests.find(objects, "NetworkPolicy", "bang-from-joiner");
        Manifests.find(objects, "PodDisruptionBudget", "bang");
    }

    @Test
    void bang_runs_and_answers() {
        try (var bang = Support.Service.start(List.of(Support.JAVA, copy.resolve("bang.java").toString()), Map.of("PORT", "0"))) {
            var answer = Support.get(bang.url.resolve("/"));
            assertEquals(200, answer.statusCode());
            assertEquals("!", answer.body());
        }
    }

    static String replaceEach(String text, String... pairs) {
        for (int i = 0; i < pairs.length; i += 2) {
            assertTrue(text.contains(pairs[i]), "world.java has " + pairs[i]);
            text = text.replace(pairs[i], pairs[i + 1]);
        }
        return text;
    }

    /** From {@code start} (included) to {@code end} (excluded). */
    static String between(String text, String start, String end) {
        int from = text.indexOf(start);
        assertTrue(from >= 0, "no " + start);
        int to = text.indexOf(end, from + start.length());
        return to < 0 ? text.substring(from) : text.substring(from, to);
    }
}
