import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The wait after a rollout. A rollout is done when the new pods are ready, but an old pod serves on during its
 * preStop pause and its shutdown, and keep-alive connections (joiner's to hello and world, Traefik's to joiner) still
 * reach it: only once it stopped does every answer come from the new code. The kubelet reports that (its containers
 * terminated) 0.2-0.6 s before it deletes the pod, which is what `kubectl wait --for=delete` would wait for; so this
 * lists the pods, then follows them with the API's own watch from that list's resourceVersion (both with kubectl get
 * --raw), which misses no change after it, until each old pod has no container running or is gone. Sooner still, a
 * service says it stopped: its last line, "NAME stopped" (hello.java's stop()), comes once its listener closed and its
 * answers are out. The kubelet sees a container end only at its next relist, up to a second later; so each old pod's
 * log is followed too, and whichever tells first ends its wait.
 */
final class OldPods {
    private OldPods() {}

    /** A service's last line, printed once no answer can come from it any more. */
    static String stoppedLine(String container) {
        return container + " stopped";
    }

    /** Waits until no pod of these workloads is terminating with a container running; says how many it waited for. */
    static String await(Kubectl kubectl, List<Workload> workloads, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int waited = 0;
        for (String namespace : workloads.stream().map(Workload::namespace).distinct().toList()) {
            var ours = workloads.stream().filter(w -> w.namespace().equals(namespace)).map(Workload::selector).toList();
            var running = new ConcurrentSkipListSet<String>();
            var containers = new HashMap<String, String>();
            String version = list(kubectl, namespace, ours, running, containers, Set.of());
            waited += running.size();
            var watch = new AtomicReference<Process>();
            try (var lastLines = new LastLines(kubectl, namespace, containers, running, watch)) {
                while (!running.isEmpty()) {
                    long left = TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime());
                    if (left <= 0) {
                        throw new Failure("the old pods " + String.join(", ", running) + " in " + namespace + " did not stop within "
                                + Failure.format(timeout) + " (kubectl --context " + kubectl.context() + " -n " + namespace + " describe pod NAME says why)");
                    }
                    version = follow(kubectl, namespace, version, left, running, watch);
                    // A version the API server forgot: list again (without the pods that said they stopped).
                    if (version == null) version = list(kubectl, namespace, ours, running, new HashMap<>(), lastLines.stopped);
                }
            }
        }
        return waited == 0 ? "none left" : waited == 1 ? "1 stopped" : waited + " stopped";
    }

    /**
     * Follows each old pod's log (kubectl logs -f) from its last line, until it says it stopped: then the pod is taken
     * out of running, and when none is left, the watch is ended. A pod with several containers is left to the watch.
     */
    static final class LastLines implements AutoCloseable {
        final Set<String> stopped = ConcurrentHashMap.newKeySet();
        final Proc.Streams streams = new Proc.Streams(); // only a shortcut: when one ends early, the watch tells as well

        LastLines(Kubectl kubectl, String namespace, Map<String, String> containers, Set<String> running, AtomicReference<Process> watch) {
            containers.forEach((pod, container) -> Thread.ofVirtual().start(() -> streams.stream(
                    kubectl.command("-n", namespace, "logs", "-f", "--tail=1", pod), line -> {
                        if (!line.strip().equals(stoppedLine(container))) return true;
                        stopped.add(pod);
                        running.remove(pod);
                        if (running.isEmpty() && watch.get() != null) watch.get().destroy();
                        return false;
                    })));
        }

        @Override
        public void close() {
            streams.close();
        }
    }

    /**
     * Puts the namespace's old pods of these selectors that still run a container in running (but those that said they
     * stopped), and the container of each that has one in containers; answers the list's version. The API's own list:
     * `kubectl get -o json` answers a List of its own making, without that version.
     */
    static String list(Kubectl kubectl, String namespace, List<String> selectors, Set<String> running, Map<String, String> containers,
                       Set<String> stopped) {
        String out = kubectl.run(Duration.ofSeconds(30), "get", "--raw", "/api/v1/namespaces/" + namespace + "/pods")
                .orFail("kubectl get --raw (the pods of " + namespace + ")").out();
        Map<?, ?> list = parse(out, "kubectl get --raw (the pods of " + namespace + ")");
        running.clear();
        for (Object item : list.get("items") instanceof List<?> items ? items : List.of()) {
            Map<?, ?> pod = map(item), meta = map(pod.get("metadata"));
            String name = String.valueOf(meta.get("name"));
            if (!serving(pod) || stopped.contains(name) || selectors.stream().noneMatch(s -> selects(s, map(meta.get("labels"))))) continue;
            running.add(name);
            if (map(pod.get("spec")).get("containers") instanceof List<?> one && one.size() == 1) {
                containers.put(name, String.valueOf(map(one.getFirst()).get("name")));
            }
        }
        String version = String.valueOf(map(list.get("metadata")).get("resourceVersion"));
        if (version.isEmpty() || version.equals("null")) throw new Failure("the API server listed the pods of " + namespace + " without a resourceVersion", out);
        return version;
    }

    /**
     * Follows the namespace's pods from a version until none in running still runs a container, or the watch ends (the
     * API server ends it at timeoutSeconds, or sooner now and then; LastLines, when the last one said it stopped).
     * Answers the last version seen, or null when the API server no longer has the version asked for (an ERROR event:
     * 410 Gone).
     */
    static String follow(Kubectl kubectl, String namespace, String version, long seconds, Set<String> running, AtomicReference<Process> watch) {
        var command = kubectl.command("get", "--raw",
                "/api/v1/namespaces/" + namespace + "/pods?watch=1&resourceVersion=" + version + "&timeoutSeconds=" + seconds);
        if (Proc.verbose) System.err.println("   $ " + String.join(" ", command));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            watch.set(p);
            if (running.isEmpty()) p.destroy(); // the last one said it stopped meanwhile (LastLines ends the watch it sees)
            // A watch the API server does not end in time (it should, at timeoutSeconds) is ended here.
            Thread.ofVirtual().start(() -> {
                try {
                    if (!p.waitFor(seconds + 10, TimeUnit.SECONDS)) p.destroy();
                } catch (InterruptedException e) {
                    p.destroy();
                }
            });
            var lines = new StringBuilder();
            try (var reader = p.inputReader(UTF_8)) {
                for (String line; (line = reader.readLine()) != null; ) {
                    if (!line.startsWith("{")) { // kubectl's own words (an error): kept for the failure
                        lines.append(line).append('\n');
                        continue;
                    }
                    Map<?, ?> event = parse(line, "a watch event of kubectl get --raw");
                    if ("ERROR".equals(event.get("type"))) return null;
                    Map<?, ?> pod = map(event.get("object")), meta = map(pod.get("metadata"));
                    if (meta.get("resourceVersion") != null) version = String.valueOf(meta.get("resourceVersion"));
                    String name = String.valueOf(meta.get("name"));
                    if (running.contains(name) && ("DELETED".equals(event.get("type")) || !serving(pod))) running.remove(name);
                    if (running.isEmpty()) return version;
                }
            } finally {
                p.destroy();
            }
            if (running.isEmpty()) return version; // ended here: the last one said it stopped
            if (p.waitFor() != 0) throw new Failure("kubectl get --raw (a watch of the pods) failed (exit " + p.exitValue() + "): "
                    + String.join(" ", command), lines.toString());
            return version;
        } catch (IOException e) {
            if (running.isEmpty()) return version; // its output closed by LastLines' destroy (a Process's streams go with it)
            throw new Failure("cannot run kubectl: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while waiting for the old pods");
        }
    }

    /** A terminating pod with a container still running: it may still answer. */
    static boolean serving(Map<?, ?> pod) {
        if (map(pod.get("metadata")).get("deletionTimestamp") == null) return false;
        for (Object container : map(pod.get("status")).get("containerStatuses") instanceof List<?> l ? l : List.of()) {
            if (map(map(container).get("state")).get("running") != null) return true;
        }
        return false;
    }

    /** Whether labels match a selector "k=v,k2=v2". */
    static boolean selects(String selector, Map<?, ?> labels) {
        for (String term : selector.split(",")) {
            String[] kv = term.split("=", 2);
            if (kv.length != 2 || !kv[1].equals(labels.get(kv[0]))) return false;
        }
        return true;
    }

    static Map<?, ?> map(Object value) {
        return value instanceof Map<?, ?> m ? m : Map.of();
    }

    /** JSON is YAML: SnakeYAML, which deploy.java has loaded already, reads what the API server answers. */
    static Map<?, ?> parse(String json, String what) {
        try {
            if (new Yaml().load(json) instanceof Map<?, ?> m) return m;
        } catch (YAMLException e) {
            throw new Failure("cannot read what " + what + " answered: " + e.getMessage(), json);
        }
        throw new Failure("cannot read what " + what + " answered: not an object", json);
    }
}
