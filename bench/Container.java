import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a service's JVM runs in its pod, read from the files that decide it, so nothing is typed twice:
 * the image's java flags (deploy.java), JAVA_TOOL_OPTIONS (manifests/base/kustomization.yaml) and the
 * container's memory limit (manifests/base/NAME.yaml).
 *
 * A JVM sizes itself from the memory it sees. In a pod that is the limit, here it is the whole host,
 * so the limit is handed over as -XX:MaxRAM; and below 1792 MiB the JVM picks the Serial collector
 * instead of G1 (a pod with a 256 MiB limit does, see {@link #emulation}), which MaxRAM alone does not do.
 */
record Container(List<String> imageFlags, String javaToolOptions, Map<String, Long> memoryLimits, List<String> sources) {

    static Container read(Path root) throws IOException {
        var sources = new ArrayList<String>();
        List<String> flags = deployFlags(root.resolve("deploy.java"));
        if (flags != null) sources.add("deploy.java");
        String jto = null;
        Path kustomization = root.resolve("manifests/base/kustomization.yaml");
        if (Files.exists(kustomization)) {
            Matcher m = Pattern.compile("JAVA_TOOL_OPTIONS=(.*?)\\s*(#.*)?$", Pattern.MULTILINE).matcher(Files.readString(kustomization));
            if (m.find()) {
                jto = m.group(1).replaceAll("^[\"']|[\"']$", "");
                sources.add("manifests/base/kustomization.yaml");
            }
        }
        var limits = new LinkedHashMap<String, Long>();
        for (String s : List.of("hello", "world", "joiner")) {
            Path manifest = root.resolve("manifests/base/" + s + ".yaml");
            Long limit = Files.exists(manifest) ? memoryLimit(Files.readString(manifest)) : null;
            if (limit != null) limits.put(s, limit);
        }
        if (!limits.isEmpty()) sources.add("manifests/base/{hello,world,joiner}.yaml");
        return new Container(flags == null ? List.of() : flags, jto, limits, sources);
    }

    /** The flags the service's JVM gets here: the image's, then what makes this host look like the pod. */
    List<String> flags(String service) {
        var all = new ArrayList<>(imageFlags);
        all.addAll(emulation(service));
        return all;
    }

    /** What the pod's cgroup would tell the JVM: its memory, and the collector it then picks. */
    List<String> emulation(String service) {
        Long limit = memoryLimits.get(service);
        if (limit == null) return List.of();
        var flags = new ArrayList<>(List.of("-XX:MaxRAM=" + limit / (1024 * 1024) + "m"));
        String chosen = String.join(" ", imageFlags) + " " + (javaToolOptions == null ? "" : javaToolOptions);
        // HotSpot treats a machine with under 1792 MiB as not "server class" and then uses Serial GC.
        if (limit < 1792L * 1024 * 1024 && !chosen.matches(".*-XX:\\+Use\\w+GC.*")) flags.add("-XX:+UseSerialGC");
        return flags;
    }

    Map<String, String> env() {
        return javaToolOptions == null ? Map.of() : Map.of("JAVA_TOOL_OPTIONS", javaToolOptions);
    }

    String describe() {
        var parts = new ArrayList<String>();
        parts.add(sources.contains("deploy.java") ? String.join(" ", imageFlags) + " (deploy.java JVM_FLAGS)" : "no image flags (no JVM_FLAGS in deploy.java)");
        if (javaToolOptions != null) parts.add("JAVA_TOOL_OPTIONS=" + javaToolOptions + " (manifests/base/kustomization.yaml)");
        List<String> e = emulation("hello");
        if (!e.isEmpty()) parts.add(String.join(" ", e) + " (the pod's " + memoryLimits.get("hello") / (1024 * 1024) + " MiB memory limit)");
        return String.join("; ", parts);
    }

    /** resources.limits.memory of the first container, in bytes; Kubernetes quantities such as 256Mi or 1G. */
    static Long memoryLimit(String yaml) {
        Matcher m = Pattern.compile("^(\\s*)limits:\\s*\\n\\1\\s+memory:\\s*\"?(\\d+)([KMGT]i?)?\"?", Pattern.MULTILINE).matcher(yaml);
        if (!m.find()) return null;
        long n = Long.parseLong(m.group(2));
        String unit = m.group(3) == null ? "" : m.group(3);
        int power = "KMGT".indexOf(unit.isEmpty() ? 'x' : unit.charAt(0)) + 1;
        long base = unit.endsWith("i") ? 1024 : 1000;
        for (int i = 0; i < power; i++) n *= base;
        return n;
    }

    /** deploy.java's {@code JVM_FLAGS = List.of(...)}, which its image entrypoint carries; null when it has none. */
    static List<String> deployFlags(Path deploy) throws IOException {
        if (!Files.exists(deploy)) return null;
        Matcher list = Pattern.compile("JVM_FLAGS\\s*=\\s*List\\.of\\(([^)]*)\\)").matcher(Files.readString(deploy));
        if (!list.find()) return null;
        var flags = new ArrayList<String>();
        Matcher literal = Pattern.compile("\"([^\"]*)\"").matcher(list.group(1));
        while (literal.find()) flags.add(literal.group(1));
        return flags;
    }
}
