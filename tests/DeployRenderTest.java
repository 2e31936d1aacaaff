import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code render} prints exactly what {@code kubectl kustomize} makes of the profile with the tags applied. */
class DeployRenderTest {
    static final Pattern IMAGE = Pattern.compile("image: (" + String.join("|", Support.SERVICES) + "):([0-9a-f]{16})");

    @BeforeAll
    static void kubectl() {
        assumeTrue(Support.which("kubectl") != null, "kubectl is not on PATH (render runs kubectl kustomize)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void render_equals_kubectl_kustomize_of_the_overlay_with_the_tags(String profile) throws IOException {
        var r = deploy("render", "--profile", profile);
        assertEquals(0, r.exit(), r.both());
        var tags = tags(r.out());
        assertEquals(Set.copyOf(Support.SERVICES), tags.keySet(), r.out());

        // Independently: a kustomization of our own over the overlay, setting the same tags.
        Path dir = Files.createDirectories(Support.ROOT.resolve("tests/out/render-" + profile + "-" + ProcessHandle.current().pid()));
        try {
            var text = new StringBuilder("resources:\n  - " + dir.relativize(Support.ROOT.resolve("manifests/overlays/" + profile)) + "\nimages:\n");
            tags.forEach((name, tag) -> text.append("  - name: ").append(name).append("\n    newTag: \"").append(tag).append("\"\n"));
            Files.writeString(dir.resolve("kustomization.yaml"), text);
            var expected = Support.run(List.of("kubectl", "kustomize", dir.toString()), Map.of(), Duration.ofMinutes(1));
            assertEquals(0, expected.exit(), expected.both());
            assertEquals(expected.out(), r.out());
        } finally {
            Files.deleteIfExists(dir.resolve("kustomization.yaml"));
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void the_tags_follow_the_base_image_and_need_no_docker_or_kind() {
        var a = deploy("render");
        var b = deploy("render", "--base-image", "docker://some/other:1");
        assertEquals(0, a.exit(), a.both());
        assertEquals(0, b.exit(), b.both());
        var before = tags(a.out());
        var after = tags(b.out());
        assertEquals(Set.copyOf(Support.SERVICES), before.keySet(), a.out());
        assertEquals(before.keySet(), after.keySet(), b.out());
        for (String name : before.keySet()) assertNotEquals(before.get(name), after.get(name), name);
    }

    static Map<String, String> tags(String yaml) {
        var tags = new LinkedHashMap<String, String>();
        Matcher m = IMAGE.matcher(yaml);
        while (m.find()) {
            String before = tags.put(m.group(1), m.group(2));
            if (before != null) assertEquals(before, m.group(2), "one tag per image");
        }
        return tags;
    }

    /** Runs deploy.java with kubectl and bash (for JBang's launcher) on PATH, and nothing else: no docker, no kind. */
    static Support.Result deploy(String... args) {
        var command = Support.command(List.of(Support.which("jbang").toString(), "deploy.java"), args);
        return Support.run(command, Map.of("PATH", bareBin().toString()), Duration.ofMinutes(2));
    }

    static synchronized Path bareBin() {
        if (bin == null) {
            try {
                bin = Files.createTempDirectory("deploy-render-path");
                for (String tool : List.of("kubectl", "bash")) Files.createSymbolicLink(bin.resolve(tool), Support.which(tool));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return bin;
    }
    static Path bin;
}
