import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What works on any cluster: kubectl, always with its context, so no other cluster is ever touched. Applies a
 * kustomization, waits for its workloads to roll out and, when one does not, tells why from its pods.
 */
record Kubectl(String context) {
    Proc.Ran run(Duration timeout, String... args) {
        var command = new ArrayList<>(List.of("kubectl", "--context", context));
        command.addAll(List.of(args));
        return Proc.run(timeout, command);
    }

    /** kubectl kustomize: the YAML a kustomization makes, with no cluster. */
    static String kustomize(Path dir) {
        return Proc.run(Duration.ofMinutes(1), List.of("kubectl", "kustomize", dir.toString())).orFail("kubectl kustomize " + dir).out();
    }

    /** Applies a kustomization and answers what was applied (-o yaml: the workloads to wait for need no second kustomize). */
    String apply(Path kustomization) {
        return run(Duration.ofMinutes(2), "apply", "-k", kustomization.toString(), "-o", "yaml")
                .orFail("kubectl apply -k " + Step.shown(kustomization)).out();
    }

    void applyAndWait(Path kustomization, Duration timeout) {
        rollout(Workload.in(apply(kustomization)), timeout);
    }

    /** Waits for every rollout under one deadline; on failure shows the unready pods' events and logs. */
    void rollout(List<Workload> workloads, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Workload w : workloads) {
            long left = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
            var ran = run(Duration.ofSeconds(left + 30), "-n", w.namespace(), "rollout", "status", w.kind() + "/" + w.name(),
                    "--timeout=" + left + "s");
            if (ran.exit() != 0) {
                throw new Failure(w.namespace() + "/" + w.name() + " did not roll out within " + Failure.format(timeout)
                        + " (its unready pods' events and logs are above)", ran.both() + "\n" + diagnose(w));
            }
        }
    }

    /** The unready pods' events and last log lines; with no pod at all, the namespace's warnings. */
    String diagnose(Workload w) {
        var text = new StringBuilder();
        String pods = run(Duration.ofSeconds(30), "-n", w.namespace(), "get", "pods", "-l", w.selector(), "-o",
                "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}").out();
        for (String line : pods.lines().toList()) {
            String[] f = line.split(" ");
            if (f.length > 1 && f[1].equals("True")) continue;
            String events = run(Duration.ofSeconds(30), "-n", w.namespace(), "get", "events",
                    "--field-selector", "involvedObject.name=" + f[0], "--sort-by=.lastTimestamp").both();
            String logs = run(Duration.ofSeconds(30), "-n", w.namespace(), "logs", f[0], "--all-containers", "--tail=20").both();
            text.append("--- pod ").append(f[0]).append(": events\n").append(events.strip()).append('\n')
                    .append("--- pod ").append(f[0]).append(": last log lines\n").append(logs.isBlank() ? "(none yet)" : logs.strip()).append('\n');
        }
        if (!text.isEmpty()) return text.toString();
        // No pod at all (refused by admission, say): the warnings say why.
        return "--- no unready pods of " + w.name() + "; warnings in " + w.namespace() + ":\n"
                + run(Duration.ofSeconds(30), "-n", w.namespace(), "get", "events", "--field-selector", "type=Warning",
                        "--sort-by=.lastTimestamp").both().strip();
    }

    /** A Deployment as status shows it: "namespace/name", its ready and wanted replicas. */
    record Readiness(String id, String ready, String wanted) {
        String name() {
            return id.substring(id.indexOf('/') + 1);
        }
    }

    List<Readiness> deployments() {
        String table = run(Duration.ofSeconds(30), "get", "deployments", "--all-namespaces", "-o",
                "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.readyReplicas} {.spec.replicas}{\"\\n\"}{end}")
                .orFail("kubectl get deployments").out();
        var deployments = new ArrayList<Readiness>();
        for (String line : table.lines().toList()) {
            String[] f = line.split(" ", -1);
            deployments.add(new Readiness(f[0], f[1].isEmpty() ? "0" : f[1], f[2]));
        }
        return deployments;
    }
}
