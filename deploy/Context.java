import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * --context: any cluster of the kubeconfig instead of the local kind one. Nothing of kind's is done there (no create,
 * load or delete): the images come from --registry, the ingress controller is installed only where the cluster has
 * none for the `traefik` class, and the URL is the one the Ingress publishes (or --url). What deploy.java applies there
 * carries the label app.kubernetes.io/managed-by=deploy.java, and `down --context` deletes only that.
 */
record Context(String name, URI url) {
    static final String SELECTOR = Kustomization.OWNER_LABEL + "=" + Kustomization.OWNER;
    static final Duration PUBLISHED = Duration.ofMinutes(2);

    /** The options of up and status. */
    static final class Options {
        @Option(names = "--context", paramLabel = "NAME",
                description = "Deploy to this kubeconfig context instead of the local kind cluster (needs --registry; no kind step runs).")
        String context;

        @Option(names = "--url", paramLabel = "URL",
                description = "With --context: where the app answers, when the Ingress publishes no address (default: its status.loadBalancer).")
        URI url;

        /** null without --context; kind's options and a local registry make no sense with it. */
        Context context(CommandLine.Model.CommandSpec spec, Registry registry, String... kindOnly) {
            var line = spec.commandLine();
            if (context == null) {
                if (url != null) throw new CommandLine.ParameterException(line, "--url goes with --context (the kind cluster's URL is known)");
                return null;
            }
            if (spec.name().equals("up") && registry == null) {
                throw new CommandLine.ParameterException(line, "--context needs --registry: a cluster other than the local kind one"
                        + " pulls its images from a registry (e.g. --registry ghcr.io/acme/hello-world)");
            }
            if (registry != null && registry.local() > 0) {
                throw new CommandLine.ParameterException(line, "--registry local serves the local kind cluster only: with --context"
                        + " give a registry the cluster's nodes can pull from");
            }
            for (String option : kindOnly) {
                if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                    throw new CommandLine.ParameterException(line, option + " is for the local kind cluster, not for --context");
                }
            }
            if (url != null && (url.getScheme() == null || !url.getScheme().startsWith("http") || url.getHost() == null)) {
                throw new CommandLine.ParameterException(line, "--url takes an http(s) URL, e.g. http://203.0.113.7/, not " + url);
            }
            return new Context(context, url);
        }
    }

    Kubectl kubectl() {
        return new Kubectl(name);
    }

    /** up --context: the tools and the context checked, the images pushed, then what every cluster gets (Rollout.applyAndProve). */
    int up(deploy.Up up, Checkout checkout, Registry registry) throws Exception {
        Path root = checkout.root();
        // Docker or Podman only to read a docker:// base; a push needs no engine.
        Need[] needs = up.base.ref.startsWith("docker://") ? new Need[] {Need.ENGINE, Need.KUBECTL} : new Need[] {Need.KUBECTL};
        Step.run("Checking tools", () -> Tools.check(checkout.lacks(up.profile.name()), needs));
        Step.run("Checking context " + name, this::check);
        List<Push> pushes = Push.step(checkout, registry, up.base.ref);
        if (!up.skipIngress) {
            Step.run("Installing the ingress controller unless the cluster serves the traefik class (waiting ≤ " + Failure.format(up.timeout) + ")",
                    () -> ingressController(root, up.timeout));
        }
        Rollout.Proven proven = Rollout.applyAndProve(up.profile.name(), up.timeout, checkout, kubectl(), null, pushes, () -> url != null ? url
                : Step.run("Waiting ≤ " + Failure.format(PUBLISHED) + " for the Ingress's address", () -> {
                    URI published = url(PUBLISHED);
                    return new Step.Done<>(published, published + " (its status.loadBalancer)");
                }));
        URI at = proven.url();
        String flags = " --context " + name + (url != null ? " --url " + url : "");
        System.out.printf("""

                %s is served at %s

                Next:
                  curl %s
                  jbang deploy.java status%s
                  kubectl --context %s -n hello-world get pods
                  jbang deploy.java down --context %s
                """, proven.answer().body(), at, at, flags, name, name);
        return deploy.OK;
    }

    /** down --context: what up applied there, found by its label; never the cluster. */
    int down(Path root) throws Exception {
        Tools.check(Need.KUBECTL);
        Step.run("Checking context " + name, this::check);
        var profiles = Arrays.stream(deploy.ProfileOption.Profile.values()).map(Enum::name).toList();
        Step.run("Deleting what deploy.java applied on " + name + " (-l " + SELECTOR + ")", () -> delete(root, profiles, Duration.ofMinutes(5)));
        return deploy.OK;
    }

    /** The context is in the kubeconfig and its API server answers; checked before anything is built. */
    Step.Done<Void> check() {
        var names = Proc.run(Duration.ofSeconds(30), List.of("kubectl", "config", "get-contexts", "-o", "name")).orFail("kubectl config get-contexts");
        if (names.out().lines().noneMatch(name::equals)) {
            throw new Failure("there is no context " + name + " in your kubeconfig (`kubectl config get-contexts` lists them)");
        }
        var version = kubectl().run(Duration.ofSeconds(30), "version", "-o", "yaml");
        if (version.exit() != 0 || !version.out().contains("serverVersion")) {
            throw new Failure("the cluster of context " + name + " does not answer (kubectl --context " + name + " version)", version.both());
        }
        var m = java.util.regex.Pattern.compile("serverVersion:[\\s\\S]*?gitVersion: (\\S+)").matcher(version.out());
        return Step.note("Kubernetes " + (m.find() ? m.group(1) : "(version unknown)"));
    }

    /**
     * Installs manifests/ingress-load-balancer (Traefik behind a LoadBalancer Service) unless the cluster already serves
     * the `traefik` IngressClass with a controller of its own (k3s does, say); one deploy.java installed is kept current.
     */
    Step.Done<Void> ingressController(Path root, Duration timeout) throws IOException {
        var found = kubectl().run(Duration.ofSeconds(30), "get", "ingressclass", "traefik", "--ignore-not-found",
                "-o", "jsonpath={.spec.controller} {.metadata.labels.app\\.kubernetes\\.io/managed-by}").orFail("kubectl get ingressclass");
        String[] f = found.out().strip().split(" ");
        if (!f[0].isEmpty() && !(f.length > 1 && f[1].equals(Kustomization.OWNER))) {
            return Step.note("the cluster's own (" + f[0] + ") serves the traefik class: not installed");
        }
        Path dir = Kustomization.generate(root.resolve("build/kustomize/ingress"), "the ingress controller for --context",
                root.resolve("manifests/ingress-load-balancer"), "");
        String unchanged = kubectl().applyAndWait(root, dir, timeout);
        return Step.note((f[0].isEmpty() ? "Traefik behind a LoadBalancer Service" : "deploy.java's Traefik, kept current")
                + (unchanged == null ? "" : ", " + unchanged));
    }

    /** --url, or the address the app's Ingress publishes (its controller copies it from its LoadBalancer), waiting ≤ bound. */
    URI url(Duration bound) throws InterruptedException {
        if (url != null) return url;
        long deadline = System.nanoTime() + bound.toNanos();
        String where = "";
        while (true) {
            var ran = kubectl().run(Duration.ofSeconds(30), "get", "ingress", "--all-namespaces", "-l", SELECTOR, "-o",
                    "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.loadBalancer.ingress[0].ip}"
                            + "{.status.loadBalancer.ingress[0].hostname}{\"\\n\"}{end}").orFail("kubectl get ingress");
            for (String line : ran.out().lines().toList()) {
                String[] f = line.strip().split(" ");
                where = f[0];
                if (f.length > 1) return URI.create("http://" + (f[1].contains(":") ? "[" + f[1] + "]" : f[1]) + "/");
            }
            if (System.nanoTime() > deadline) {
                throw new Failure((where.isEmpty() ? "no Ingress of deploy.java's is there" : "the Ingress " + where + " has published no address")
                        + (bound.isZero() ? "" : " within " + Failure.format(bound)) + " (does the cluster give LoadBalancer Services an address?):"
                        + " give the app's address with --url http://HOST/");
            }
            Thread.sleep(2000);
        }
    }

    /** What `up --context` applied: every object with the label, by the kinds the manifests hold outside a namespace. */
    Step.Done<Void> delete(Path root, List<String> profiles, Duration timeout) {
        Set<String> kinds = new LinkedHashSet<>(List.of("namespace"));
        var sources = new ArrayList<>(List.of(root.resolve("manifests/ingress-load-balancer")));
        for (String p : profiles) sources.add(root.resolve("manifests/overlays/" + p));
        for (Path source : sources) {
            if (!Files.isDirectory(source)) continue;
            for (Object o : Workload.objects(Kubectl.kustomize(source))) {
                if (!(o instanceof Map<?, ?> m) || !(m.get("metadata") instanceof Map<?, ?> meta) || meta.containsKey("namespace")) continue;
                String api = String.valueOf(m.get("apiVersion")), kind = String.valueOf(m.get("kind")).toLowerCase();
                kinds.add(api.contains("/") ? kind + "." + api.substring(0, api.indexOf('/')) : kind);
            }
        }
        var ran = kubectl().run(timeout.plusSeconds(30), "delete", String.join(",", kinds), "-l", SELECTOR, "--ignore-not-found",
                "--wait=true", "--timeout=" + timeout.toSeconds() + "s").orFail("kubectl delete -l " + SELECTOR);
        var deleted = ran.out().lines().filter(l -> l.contains(" deleted")).map(l -> l.replaceAll("\"", "").replace(" deleted", "")).toList();
        return Step.note(deleted.isEmpty() ? "nothing of deploy.java's is left there" : "deleted " + String.join(", ", deleted));
    }
}
