import java.io.IOException;
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
        return Proc.run(timeout, command(args));
    }

    /** kubectl with this context and these arguments, for a command run otherwise (followed, say). */
    List<String> command(String... args) {
        var command = new ArrayList<>(List.of("kubectl", "--context", context));
        command.addAll(List.of(args));
        return command;
    }

    /** kubectl kustomize: the YAML a kustomization makes, with no cluster. */
    static String kustomize(Path dir) {
        return Proc.run(Duration.ofMinutes(1), List.of("kubectl", "kustomize", dir.toString())).orFail("kubectl kustomize " + dir).out();
    }

    /**
     * Applies a kustomization and answers what was applied (-o yaml: the workloads to wait for need no second
     * kustomize). Server-side: the API server merges, where a client-side apply spent about half a second of CPU per
     * object on this 2-core machine when busy (an unchanged profile: 10-24 s against 3-4 s). --force-conflicts: the
     * manifests win over a change made by hand (kubectl scale, edit), as a client-side apply's would.
     *
     * @param validate false spares kubectl its check that the API server validates each kind's fields (it parses the
     *                 server's OpenAPI: seconds of CPU); only for objects as they were applied with it, but for image tags
     */
    String apply(Path kustomization, boolean validate) {
        var args = new ArrayList<>(List.of("apply", "-k", kustomization.toString(), "--server-side", "--force-conflicts"));
        if (!validate) args.add("--validate=false");
        args.addAll(List.of("-o", "yaml"));
        return run(Duration.ofMinutes(2), args.toArray(String[]::new)).orFail("kubectl apply -k " + Step.shown(kustomization)).out();
    }

    /**
     * The objects as apply answered them; or, when the last apply of the same inputs left every object as it is
     * ({@link LastApply}), as get answers them, and nothing was applied.
     *
     * @param answered what apply answered (-o yaml), null when it did not run
     */
    record Applied(List<Object> objects, String answered) {
        boolean unchanged() {
            return answered == null;
        }
    }

    /**
     * Applies a kustomization of the checkout at root, unless that would change nothing ({@link LastApply}); with
     * kubectl's validation unless these manifests were applied to this very cluster before (a new image tag alone needs none).
     */
    Applied applyChanged(Path root, Path kustomization) throws IOException {
        var last = LastApply.of(root, context, kustomization);
        LastApply.Found found = last.find(this);
        if (found != null && found.unchanged()) return new Applied(found.now(), null);
        String applied = apply(kustomization, found == null); // found: these manifests were applied to this very cluster
        last.record(applied);
        return new Applied(Workload.objects(applied), applied);
    }

    /** Applies (unless unchanged) and waits for the rollouts: what the ✓ line says, or null. */
    String applyAndWait(Path root, Path kustomization, Duration timeout) throws IOException {
        Applied applied = applyChanged(root, kustomization);
        rollout(Workload.in(applied.objects()), timeout);
        return applied.unchanged() ? LastApply.UNCHANGED : null;
    }

    /**
     * Waits for every rollout under one deadline; on failure shows the unready pods' events and logs. A Deployment
     * that apply (or get) answered rolled out already needs no kubectl: it says which (null: none).
     */
    String rollout(List<Workload> workloads, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        var settled = workloads.stream().filter(Workload::settled).map(Workload::name).toList();
        for (Workload w : workloads) {
            if (w.settled()) continue;
            long left = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
            var ran = run(Duration.ofSeconds(left + 30), "-n", w.namespace(), "rollout", "status", w.kind() + "/" + w.name(),
                    "--timeout=" + left + "s");
            if (ran.exit() != 0) {
                throw new Failure(w.namespace() + "/" + w.name() + " did not roll out within " + Failure.format(timeout)
                        + " (its unready pods' events and logs are above)", ran.both() + "\n" + diagnose(w));
            }
        }
        return settled.isEmpty() ? null : settled.size() == workloads.size() ? "rolled out already"
                : String.join(", ", settled) + " rolled out already";
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

    /** A Deployment as status shows it: "namespace/name", its ready and wanted replicas, its (first) container's image. */
    record Readiness(String id, String ready, String wanted, String image) {
        String name() {
            return id.substring(id.indexOf('/') + 1);
        }

        /** The image's tag: deploy.java tags by content, so the tag names the code (what X-Version answers). */
        String version() { // repository:tag, or repository:tag@digest (up --registry)
            String tagged = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
            int colon = tagged.lastIndexOf(':');
            return colon > tagged.lastIndexOf('/') ? tagged.substring(colon + 1) : "(untagged)";
        }
    }

    List<Readiness> deployments() {
        String table = run(Duration.ofSeconds(30), "get", "deployments", "--all-namespaces", "-o",
                "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.readyReplicas} {.spec.replicas}"
                        + " {.spec.template.spec.containers[0].image}{\"\\n\"}{end}")
                .orFail("kubectl get deployments").out();
        var deployments = new ArrayList<Readiness>();
        for (String line : table.lines().toList()) {
            String[] f = line.split(" ", -1);
            deployments.add(new Readiness(f[0], f[1].isEmpty() ? "0" : f[1], f[2], f.length > 3 ? f[3] : ""));
        }
        return deployments;
    }
}
