import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.Yaml;

/**
 * A Deployment (or DaemonSet, StatefulSet) in applied YAML: what to wait for, and how to find its pods.
 *
 * @param settled the object as answered was a Deployment already rolled out: nothing to wait for
 */
record Workload(String kind, String namespace, String name, String selector, boolean settled) {
    static final Set<String> KINDS = Set.of("Deployment", "DaemonSet", "StatefulSet");

    /** The objects of kubectl apply -o yaml, which answers a List of what it applied. */
    @SuppressWarnings("unchecked")
    static List<Object> objects(String yaml) {
        var objects = new ArrayList<Object>();
        for (Object doc : new Yaml().loadAll(yaml)) {
            if (doc instanceof Map<?, ?> m && "List".equals(m.get("kind"))) objects.addAll((List<Object>) m.get("items"));
            else if (doc != null) objects.add(doc);
        }
        return objects;
    }

    /** "13 objects: 1 Namespace, 3 Deployment, ..." in the order kubectl applied them. */
    static String summary(List<Object> objects) {
        var kinds = new LinkedHashMap<String, Integer>();
        for (Object o : objects) if (o instanceof Map<?, ?> m) kinds.merge(String.valueOf(m.get("kind")), 1, Integer::sum);
        var parts = new ArrayList<String>();
        kinds.forEach((kind, n) -> parts.add(n + " " + kind));
        return objects.size() + " objects: " + String.join(", ", parts);
    }

    @SuppressWarnings("unchecked")
    static List<Workload> in(List<Object> objects) {
        var found = new ArrayList<Workload>();
        for (Object object : objects) {
            if (!(object instanceof Map<?, ?> m) || !KINDS.contains(m.get("kind"))) continue;
            var meta = (Map<String, Object>) m.get("metadata");
            var spec = (Map<String, Object>) m.get("spec");
            var labels = (Map<String, Object>) ((Map<String, Object>) spec.get("selector")).get("matchLabels");
            var selector = new StringBuilder();
            labels.forEach((k, v) -> selector.append(selector.isEmpty() ? "" : ",").append(k).append('=').append(v));
            found.add(new Workload(((String) m.get("kind")).toLowerCase(), (String) meta.getOrDefault("namespace", "default"),
                    (String) meta.get("name"), selector.toString(), settled((Map<String, Object>) m)));
        }
        return found;
    }

    /**
     * Whether a Deployment as the API server answered it has rolled out, by kubectl rollout status's own test: its
     * controller saw this generation, and every replica wanted is updated and available, with no old one left. An
     * unchanged Deployment is (up skips its kubectl rollout status); a changed one is not, until its controller acts.
     */
    @SuppressWarnings("unchecked")
    static boolean settled(Map<String, Object> object) {
        if (!"Deployment".equals(object.get("kind")) || !(object.get("status") instanceof Map<?, ?> s)) return false;
        var status = (Map<String, Object>) s;
        var spec = (Map<String, Object>) object.get("spec");
        long generation = number(((Map<String, Object>) object.get("metadata")).get("generation"));
        long wanted = spec.get("replicas") == null ? 1 : number(spec.get("replicas"));
        long updated = number(status.get("updatedReplicas")), available = number(status.get("availableReplicas"));
        boolean stuck = status.get("conditions") instanceof List<?> conditions && conditions.stream()
                .anyMatch(c -> c instanceof Map<?, ?> m && "ProgressDeadlineExceeded".equals(m.get("reason")));
        return generation > 0 && number(status.get("observedGeneration")) >= generation && !stuck
                && updated >= wanted && number(status.get("replicas")) <= updated && available >= updated;
    }

    static long number(Object value) {
        return value instanceof Number n ? n.longValue() : 0;
    }
}
