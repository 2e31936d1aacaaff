import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the manifest tests share: {@code kubectl kustomize} of a folder, rendered once per run,
 * and its objects read as plain maps by dotted paths ({@code at(d, "spec.template.spec")}).
 * The test classes extend it, so that the readers need no prefix.
 */
abstract class Manifests {
    static final Path MANIFESTS = Support.ROOT.resolve("manifests");
    static final String NAME = "app.kubernetes.io/name";
    static final String PART_OF = "app.kubernetes.io/part-of";
    static final String COMPONENT = "app.kubernetes.io/component";

    // ---- rendering ----

    private static final Map<Path, List<Map<String, Object>>> RENDERED = new ConcurrentHashMap<>();

    static List<Map<String, Object>> overlay(String profile) {
        return render(MANIFESTS.resolve("overlays/" + profile));
    }

    static List<Map<String, Object>> ingressController() {
        return render(MANIFESTS.resolve("ingress"));
    }

    /** {@code kubectl kustomize DIR}, parsed; each directory is rendered once per run. */
    static List<Map<String, Object>> render(Path dir) {
        assumeTrue(Support.which("kubectl") != null, "kubectl is not on PATH, and its built-in Kustomize renders the manifests");
        return RENDERED.computeIfAbsent(dir, d -> {
            var r = Support.run(List.of("kubectl", "kustomize", d.toString()), Map.of(), Duration.ofSeconds(60));
            assertEquals(0, r.exit(), "kubectl kustomize " + d + " failed:\n" + r.err());
            return Support.yaml(r.out()).stream().map(Manifests::map).toList();
        });
    }

    // ---- reading objects ----

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    /** The value at a dotted path of map keys ("spec.template.spec"), or null. */
    static Object at(Object node, String path) {
        for (String key : path.split("\\.")) {
            if (!(node instanceof Map<?, ?> m)) return null;
            node = m.get(key);
        }
        return node;
    }

    static String kind(Map<String, Object> o) {
        return (String) o.get("kind");
    }

    static String id(Map<String, Object> o) {
        return kind(o) + " " + at(o, "metadata.name");
    }

    static Map<String, Object> labels(Map<String, Object> o) {
        var labels = at(o, "metadata.labels");
        return labels == null ? Map.of() : map(labels);
    }

    static List<Map<String, Object>> all(List<Map<String, Object>> objects, String kind) {
        return objects.stream().filter(o -> kind.equals(kind(o))).toList();
    }

    static Map<String, Object> find(List<Map<String, Object>> objects, String kind, String name) {
        return all(objects, kind).stream().filter(o -> name.equals(at(o, "metadata.name"))).findFirst()
                .orElseGet(() -> fail("no " + kind + " " + name + " among " + objects.stream().map(Manifests::id).toList()));
    }

    static Map<String, Object> container(Map<String, Object> workload) {
        return map(list(at(workload, "spec.template.spec.containers")).get(0));
    }

    /** A resource quantity as Kubernetes reads it, in its base unit: "200m" is 0.2 (CPUs), "64Mi" is 67108864 (bytes). */
    static double quantity(Object value) {
        Matcher m = Pattern.compile("([0-9.]+)(m|[KMGT]i?)?").matcher(String.valueOf(value));
        assertTrue(m.matches(), "not a quantity: " + value);
        String unit = m.group(2) == null ? "" : m.group(2);
        double scale = unit.equals("m") ? 1e-3 : unit.isEmpty() ? 1 : Math.pow(unit.endsWith("i") ? 1024 : 1000, "KMGT".indexOf(unit.charAt(0)) + 1);
        return Double.parseDouble(m.group(1)) * scale;
    }

    /**
     * Every container is bounded: it requests and is limited in CPU, memory and ephemeral-storage (the node's
     * disk: its log and writable layer), each request at most its limit. Returns the container's resources.
     */
    static Map<String, Object> assertBounded(Map<String, Object> container, String where) {
        for (String resource : List.of("cpu", "memory", "ephemeral-storage")) {
            Object request = at(container, "resources.requests." + resource), limit = at(container, "resources.limits." + resource);
            assertNotNull(request, where + resource + " request");
            assertNotNull(limit, where + resource + " limit");
            assertTrue(quantity(request) <= quantity(limit), where + resource + " request " + request + " above its limit " + limit);
        }
        return map(container.get("resources"));
    }

    /** A container's environment as the kubelet builds it: envFrom ConfigMaps, then env. */
    static Map<String, String> environment(List<Map<String, Object>> objects, Map<String, Object> container) {
        var env = new LinkedHashMap<String, String>();
        for (var from : list(container.getOrDefault("envFrom", List.of()))) {
            var cm = find(objects, "ConfigMap", (String) at(from, "configMapRef.name"));
            map(cm.get("data")).forEach((k, v) -> env.put(k, (String) v));
        }
        for (var e : list(container.getOrDefault("env", List.of()))) {
            Object value = map(e).get("value");
            assertTrue(value instanceof String, "env " + map(e).get("name") + " must be text, is " + value);
            env.put((String) map(e).get("name"), (String) value);
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    static <T> T deepCopy(T node) {
        if (node instanceof Map<?, ?> m) {
            var copy = new LinkedHashMap<Object, Object>();
            m.forEach((k, v) -> copy.put(k, deepCopy(v)));
            return (T) copy;
        }
        if (node instanceof List<?> l) {
            var copy = new ArrayList<Object>();
            l.forEach(v -> copy.add(deepCopy(v)));
            return (T) copy;
        }
        return node;
    }

}
