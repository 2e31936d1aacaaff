import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The checkout: the folder holding the services and manifests/, and the services it deploys.
 *
 * @param services in the order manifests/base/kustomization.yaml lists them, which is the start order: the last one
 *                 (joiner) is in front and calls the others
 */
record Checkout(Path root, List<String> services) {
    static final String BASE = "manifests/base/kustomization.yaml";

    /**
     * JBang does not tell a script where its source file is (jbangdev/jbang#2642 proposes the jbang.source property,
     * honored here when present), so otherwise it is the working directory or the nearest parent that has them.
     */
    static Checkout find() {
        var candidates = new ArrayList<Path>();
        String source = System.getProperty("jbang.source");
        if (source != null && !source.contains("://")) candidates.add(Path.of(source).toAbsolutePath().getParent());
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) candidates.add(p);
        for (Path p : candidates) {
            if (p != null && Files.isDirectory(p.resolve("manifests")) && Files.isRegularFile(p.resolve("joiner.java"))) {
                return new Checkout(p, services(p));
            }
        }
        throw new Failure("no checkout here: neither " + cwd + " nor a parent holds manifests/ and joiner.java;"
                + " cd into your clone of this repository and run it there (JBang does not tell a script where its file is)");
    }

    /** The resources X.yaml of the base kustomization that have a source X.java beside manifests/. */
    static List<String> services(Path root) {
        Path base = root.resolve(BASE);
        Object kustomization;
        try {
            kustomization = new Yaml().load(Files.readString(base));
        } catch (IOException | YAMLException e) {
            throw new Failure("cannot read " + base + ": " + e.getMessage());
        }
        var services = new ArrayList<String>();
        if (kustomization instanceof Map<?, ?> map && map.get("resources") instanceof List<?> resources) {
            for (Object resource : resources) {
                String file = String.valueOf(resource);
                if (!file.endsWith(".yaml") || file.contains("/")) continue;
                String name = file.substring(0, file.length() - ".yaml".length());
                if (Files.isRegularFile(root.resolve(name + ".java"))) services.add(name);
            }
        }
        if (services.isEmpty()) throw new Failure(BASE + " lists no service: list each service's X.yaml under its resources,"
                + " with the service's source X.java in " + root + " (as hello.yaml and hello.java are)");
        return List.copyOf(services);
    }

    /** What the checkout lacks for this profile, one problem a line; none when all is there. */
    List<String> lacks(String profile) {
        var problems = new ArrayList<String>();
        for (String need : List.of("manifests/kind/cluster.yaml", "manifests/ingress/kustomization.yaml",
                "manifests/overlays/" + profile + "/kustomization.yaml")) {
            if (!Files.isRegularFile(root.resolve(need))) problems.add("the checkout " + root + " lacks " + need);
        }
        return problems;
    }
}
