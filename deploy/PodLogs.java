import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

/**
 * The services' logs, from every pod of theirs, each line prefixed with its service and pod ("hello x7k2p | ..."),
 * a colour per service on a terminal, as `docker compose up` shows its containers. print() shows what the pods
 * have logged, in time order across pods; follow() streams from every pod that runs or comes to run (a `kubectl
 * get pods --watch` finds them), so it follows restarts and rollouts, until close(). The probes that passed are
 * left out (see PROBE).
 */
final class PodLogs implements AutoCloseable {
    static final String[] COLOURS = {"36", "33", "32", "35", "34", "31"}; // cyan, yellow, green, magenta, blue, red
    static final String CONTAINER = "{.status.containerStatuses[0].containerID}";

    final Kubectl kubectl;
    final List<String> services;
    final boolean colour;
    final int width;
    final Set<String> followed = ConcurrentHashMap.newKeySet();
    final Proc.Streams streams = new Proc.Streams();

    /** @param services the services shown (manifests label their pods app.kubernetes.io/name=SERVICE) */
    PodLogs(Kubectl kubectl, List<String> services) {
        this.kubectl = kubectl;
        this.services = List.copyOf(services);
        this.colour = Step.TERMINAL && System.getenv("NO_COLOR") == null;
        this.width = services.stream().mapToInt(String::length).max().orElse(0) + " x7k2p".length();
    }

    /** The logs command: what the pods logged; or, following, all they log until Ctrl+C. */
    static void show(Kind kind, List<String> services, boolean follow) throws InterruptedException {
        var logs = new PodLogs(kind.kubectl(), services);
        if (follow) {
            Runtime.getRuntime().addShutdownHook(new Thread(logs::close));
            logs.follow(null);
            Thread.currentThread().join(); // until Ctrl+C or SIGTERM
        }
        if (logs.print() == 0) throw new Failure("no pod of " + String.join(", ", services) + " runs in " + kind.name()
                + ": deploy them with jbang deploy.java up" + kind.flag());
    }

    /** A pod of a service, and the container it runs now (empty until one started). */
    record Pod(String namespace, String name, String service, String container) {
        static Pod parse(String line) {
            String[] f = line.split(" ", -1);
            return f.length < 4 ? null : new Pod(f[0], f[1], f[2], f[3]);
        }
    }

    String selector() {
        return "app.kubernetes.io/name in (" + String.join(",", services) + ")";
    }

    /** The services' pods in all namespaces. */
    List<Pod> pods() {
        String out = Proc.run(Duration.ofSeconds(30), kubectl.command("get", "pods", "--all-namespaces", "-l", selector(), "-o",
                "jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name} {.metadata.labels.app\\.kubernetes\\.io/name} "
                        + CONTAINER + "{\"\\n\"}{end}")).orFail("kubectl get pods").out();
        return out.lines().map(Pod::parse).filter(p -> p != null).toList();
    }

    /** Prints what the pods have logged, in time order across pods; answers how many pods had started. */
    int print() throws InterruptedException {
        record Line(Instant at, int order, Pod pod, String text) {}
        var pods = pods().stream().filter(p -> !p.container().isEmpty()).toList();
        var lines = new ConcurrentHashMap<Pod, List<Line>>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Pod pod : pods) {
                pool.submit(() -> {
                    var ran = Proc.run(Duration.ofMinutes(1), kubectl.command("-n", pod.namespace(), "logs", pod.name(), "--timestamps"));
                    var mine = new ArrayList<Line>();
                    Instant at = Instant.EPOCH;
                    for (String line : ran.out().lines().toList()) {
                        int space = line.indexOf(' ');
                        try {
                            at = Instant.parse(space < 0 ? line : line.substring(0, space));
                            line = space < 0 ? "" : line.substring(space + 1);
                        } catch (DateTimeParseException e) {
                            // a line without a time: kept where it came
                        }
                        mine.add(new Line(at, mine.size(), pod, line));
                    }
                    lines.put(pod, mine);
                });
            }
        }
        lines.values().stream().flatMap(List::stream).sorted(Comparator.comparing(Line::at).thenComparing(Line::order))
                .forEachOrdered(l -> emit(l.pod(), l.text()));
        return pods.size();
    }

    /**
     * Streams every pod's lines from sinceTime on (null: all of each pod's log) in the background, until close().
     * Each container is followed once: a restarted container or a new pod is a new one to follow.
     */
    void follow(Instant sinceTime) {
        Thread.ofVirtual().start(() -> {
            while (!streams.closed) {
                // --watch lists the pods, then prints each one again whenever it changes.
                streams.stream(kubectl.command("get", "pods", "--all-namespaces", "-l", selector(), "--watch", "-o",
                        "jsonpath={.metadata.namespace} {.metadata.name} {.metadata.labels.app\\.kubernetes\\.io/name} " + CONTAINER + "{\"\\n\"}"),
                        line -> {
                            Pod pod = Pod.parse(line);
                            if (pod != null && !pod.container().isEmpty() && followed.add(pod.container())) {
                                var args = new ArrayList<>(kubectl.command("-n", pod.namespace(), "logs", "--follow", pod.name()));
                                if (sinceTime != null) args.add("--since-time=" + sinceTime);
                                Thread.ofVirtual().start(() -> streams.stream(args, text -> {
                                    emit(pod, text);
                                    return true;
                                }));
                            }
                            return true;
                        });
                sleep(); // the watch ended (the API server closes watches now and then): watch again
            }
        });
    }

    /**
     * The kubelet's probes that passed: a line a second per pod would bury the requests. A failed probe (503 while
     * shutting down) is shown; `kubectl logs` shows them all.
     */
    static final Pattern PROBE = Pattern.compile("\"GET /(healthz|readyz)\" 200 ");

    void emit(Pod pod, String text) {
        if (PROBE.matcher(text).find()) return;
        String name = pod.name();
        String prefix = String.format("%-" + width + "s |", pod.service() + " " + name.substring(name.lastIndexOf('-') + 1));
        int index = Math.max(0, services.indexOf(pod.service()));
        String shown = colour ? "\033[" + COLOURS[index % COLOURS.length] + "m" + prefix + "\033[0m " + text : prefix + " " + text;
        synchronized (System.out) {
            System.out.println(shown);
        }
    }

    private void sleep() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            streams.close();
        }
    }

    @Override
    public void close() {
        streams.close();
    }
}
