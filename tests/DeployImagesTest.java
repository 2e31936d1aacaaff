import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jbang deploy.java images} for real: on a Java runtime image made here with no registry
 * (tests/java-base-image), then the services' images run on one Docker network and answer Hello World.
 */
class DeployImagesTest {
    static final String BASE = "docker://hello-world-lab/java-base:25";
    static final List<String> NAMES = Support.SERVICES;
    static final Pattern LINE = Pattern.compile("(" + String.join("|", NAMES) + ") +(\\1:[0-9a-f]{16}) +(\\S+/\\1\\.tar)");

    static Path first, second;
    static Support.Result built, rebuilt;

    @BeforeAll
    static void buildTwice() throws IOException {
        assumeTrue(Support.which("docker") != null, "docker is not on PATH");
        assumeTrue(docker("info").exit() == 0, "the Docker engine is not running (start it with ../shared/tools/start-docker)");
        var base = Support.run(List.of(Support.ROOT.resolve("tests/java-base-image").toString()), Map.of(), Duration.ofMinutes(5));
        assertEquals(0, base.exit(), "tests/java-base-image:\n" + base.both());
        first = Files.createTempDirectory("deploy-images-1");
        second = Files.createTempDirectory("deploy-images-2");
        built = deploy("images", "--base-image", BASE, "--out", first.toString());
        assertEquals(0, built.exit(), built.both());
        rebuilt = deploy("images", "--base-image", BASE, "--out", second.toString());
        assertEquals(0, rebuilt.exit(), rebuilt.both());
    }

    @Test
    void images_prints_name_reference_and_archive_of_each_image() {
        var refs = refs(built);
        assertEquals(NAMES, List.copyOf(refs.keySet()), built.out());
        for (String name : NAMES) assertTrue(Files.isRegularFile(first.resolve(name + ".tar")), name + ".tar in " + first);
    }

    @Test
    void building_twice_gives_the_same_tags_and_the_same_image_ids() throws Exception {
        assertEquals(refs(built), refs(rebuilt));
        for (String name : NAMES) {
            assertEquals(imageId(first.resolve(name + ".tar")), imageId(second.resolve(name + ".tar")), name);
        }
    }

    @Test
    void render_names_the_very_tags_that_images_builds() {
        assumeTrue(Support.which("kubectl") != null, "kubectl is not on PATH (render runs kubectl kustomize)");
        var r = deploy("render", "--base-image", BASE);
        assertEquals(0, r.exit(), r.both());
        for (String ref : refs(built).values()) assertTrue(r.out().contains("image: " + ref), ref + " in:\n" + r.out());
    }

    @Test
    void all_answer_Hello_World_on_one_network_as_user_65532() throws Exception {
        var refs = refs(built);
        for (String name : NAMES) {
            var load = docker("load", "-i", first.resolve(name + ".tar").toString());
            assertEquals(0, load.exit(), load.both());
            assertTrue(load.out().contains("Loaded image: " + refs.get(name)), load.out());
            assertEquals(imageId(first.resolve(name + ".tar")), docker("image", "inspect", "-f", "{{.Id}}", refs.get(name)).out().strip(),
                    "docker's image ID is the archive's config digest");
        }
        String prefix = "deploy-images-test-" + ProcessHandle.current().pid();
        var containers = new ArrayList<String>();
        assertEquals(0, docker("network", "create", prefix).exit());
        try {
            // Each listens on its Service's port (PORT, as in the cluster); joiner finds hello and world by name.
            for (String name : NAMES) {
                containers.add(prefix + "-" + name);
                var command = new ArrayList<>(List.of("run", "-d", "--name", prefix + "-" + name, "--network", prefix,
                        "--network-alias", name, "-e", "PORT=" + Support.port(name)));
                if (name.equals("joiner")) {
                    command.addAll(List.of("-e", "HELLO_SERVICE=hello:" + Support.port("hello"), "-e", "WORLD_SERVICE=world:" + Support.port("world"),
                            "-p", "127.0.0.1::" + Support.port("joiner")));
                }
                command.add(refs.get(name));
                var run = docker(command.toArray(String[]::new));
                assertEquals(0, run.exit(), run.both());
                // The image exposes the DEFAULT_PORT its source declares (deploy.java reads it there; it is not typed twice).
                Matcher declared = Pattern.compile("static final int DEFAULT_PORT = (\\d+);").matcher(Files.readString(Support.ROOT.resolve(name + ".java")));
                assertTrue(declared.find(), name + ".java declares DEFAULT_PORT");
                String exposed = docker("image", "inspect", "-f", "{{json .Config.ExposedPorts}}", refs.get(name)).out();
                assertEquals("{\"" + declared.group(1) + "/tcp\":{}}", exposed.strip(), name + " exposes");
            }
            String published = docker("port", prefix + "-joiner", Support.port("joiner") + "/tcp").out().lines().findFirst().orElseThrow();
            URI url = URI.create("http://" + published + "/");

            String answer = "";
            for (long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); System.nanoTime() < deadline; Thread.sleep(250)) {
                try {
                    var response = Support.get(url);
                    answer = response.statusCode() + " " + response.body().strip();
                    if (answer.equals("200 Hello World")) break;
                } catch (RuntimeException notYet) {
                    answer = notYet.toString();
                }
            }
            assertEquals("200 Hello World", answer, "GET " + url + "; joiner's log:\n" + docker("logs", prefix + "-joiner").both());

            for (String c : containers) {
                assertEquals("65532:65532", docker("inspect", "-f", "{{.Config.User}}", c).out().strip(), c);
                // The container JVM flags live in the image's entrypoint, and only there (the manifests set none).
                String entrypoint = docker("inspect", "-f", "{{json .Config.Entrypoint}}", c).out();
                for (String flag : List.of("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=", "-XX:+ExitOnOutOfMemoryError")) {
                    assertTrue(entrypoint.contains(flag), c + " entrypoint " + entrypoint + " lacks " + flag);
                }
                // docker top needs the pid column: "PID UID" lines after a header.
                var uids = docker("top", c, "-o", "pid,uid").out().lines().skip(1).map(l -> l.strip().split("\\s+")[1]).toList();
                assertEquals(List.of("65532"), uids, c + " runs its one process as 65532");
            }
        } finally {
            for (String c : containers) docker("rm", "-f", c);
            docker("network", "rm", prefix);
        }
    }

    // ---- helpers

    static Support.Result deploy(String... args) {
        return Support.run(Support.command(List.of("jbang", "deploy.java"), args), Map.of(), Duration.ofMinutes(5));
    }

    static Support.Result docker(String... args) {
        return Support.run(Support.command(List.of("docker"), args), Map.of(), Duration.ofMinutes(2));
    }

    /** name → reference, from the lines `images` prints. */
    static Map<String, String> refs(Support.Result r) {
        var refs = new LinkedHashMap<String, String>();
        for (String line : r.out().lines().toList()) {
            Matcher m = LINE.matcher(line);
            assertTrue(m.matches(), "a line of `images`: " + line);
            refs.put(m.group(1), m.group(2));
        }
        return refs;
    }

    /** The image ID a docker-format archive loads as: the sha256 of its config (manifest.json names it). */
    static String imageId(Path tar) throws Exception {
        String manifest = Support.run(List.of("tar", "-xOf", tar.toString(), "manifest.json"), Map.of(), Duration.ofSeconds(30)).out();
        Matcher m = Pattern.compile("\"Config\":\"([^\"]+)\"").matcher(manifest);
        assertTrue(m.find(), manifest);
        var p = new ProcessBuilder("tar", "-xOf", tar.toString(), m.group(1)).start();
        byte[] config = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(config));
    }
}
