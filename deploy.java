///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Builds hello, world and joiner into images with Jib, runs them on a local kind cluster behind an ingress, and proves that http://localhost/ answers Hello World.
//JAVA 25+
//DEPS com.google.cloud.tools:jib-core:0.28.1
// SlimArchive reads and writes tars and JSON with what jib-core brings, at its versions; KindNode reads
// containerd's TOML config with Jackson's TOML format at the same version:
//DEPS org.apache.commons:commons-compress:1.26.0
//DEPS com.fasterxml.jackson.core:jackson-databind:2.15.2
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-toml:2.15.2
//DEPS info.picocli:picocli:4.7.7
//DEPS org.yaml:snakeyaml:2.5
//SOURCES deploy/*.java
// Jib's Guava reaches for sun.misc.Unsafe; say yes once instead of warning on every run.
//RUNTIME_OPTIONS --sun-misc-unsafe-memory-access=allow
// C1 only: a run is seconds of code run once, and C2 compiling it took cores from it (measured on 2 cores: a no-change
// up 0.5 s sooner, a first build 1 s sooner). The price, in dev's long-running loop: Jib hashes the 32 MB base layer
// as it writes each archive, 0.4 s a build without C2's SHA-256 intrinsic (javac is as fast after its first cycle).
//RUNTIME_OPTIONS -XX:TieredStopAtLevel=1

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The commands, and the order of their steps. What a step does is in deploy/, a file per part:
 * <pre>
 *   Checkout         the checkout, and its services (as manifests/base/kustomization.yaml lists them)
 *   Tools, Need      what this machine has, checked before anything changes
 *   Classes          a service compiled with javac, in-process
 *   Image            a service's image, built with Jib and tagged by its inputs;  Podman: a docker:// base from Podman
 *   Registry, Push   --registry: where images go, the login Jib finds there; each image pushed, named by digest
 *   Kind             the local kind cluster: create, load images, host port, delete;  KindNode: what a node holds, an import
 *   LocalRegistry    --registry local: kind's local-registry pattern (a registry container, hosts.toml on the nodes)
 *   Context          --context: any cluster of the kubeconfig (no kind step), and down/status there
 *   Kubectl          any cluster (a kubectl context): apply, wait for rollouts, say why one did not
 *   OldPods          after a rollout, the old pods awaited until none runs: only then does only new code answer
 *   Kustomization    the profile with the images' tags;  Workload: what apply answered, to wait for
 *   Rollout          what every cluster gets: the profile applied, rollouts awaited, the URL proven;  Served: what up leaves
 *   Http             the proof: what the URL answers, and which versions answered (X-Version)
 *   StatusReport     status: versions deployed beside versions answering
 *   Watch            saves of sources and manifests/ (debounced; content tells), and what a change asks for
 *   DevLoop          dev: a cycle per save;  PodLogs: the services' logs, prefixed, followed across rollouts
 *   LocalRun         the services as JVMs on this machine, no cluster;  LocalRestart: a saved one restarted
 *   Step, Failure    how steps and errors are printed;  Proc: commands run, bounded, output kept
 * </pre>
 */
@Command(name = "jbang deploy.java", mixinStandardHelpOptions = true, version = "deploy.java 1",
        description = {"Builds hello, world and joiner into images and runs them on a local kind cluster.",
                "Without a command: up."},
        subcommands = {deploy.Up.class, deploy.Dev.class, deploy.Down.class, deploy.Status.class, deploy.Logs.class,
                deploy.Render.class, deploy.Images.class, deploy.Local.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:a step failed (one ERROR line says which and why)", "2:a usage error"})
class deploy implements Callable<Integer> {
    static final int OK = 0, FAILED = 1, USAGE = 2;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show each command as it runs, and stack traces of failures.")
    void verbose(boolean on) {
        Step.verbose = on;
        Proc.verbose = on;
    }

    /** up's options that dev, which works on the local kind cluster, does not take. */
    static final List<String> UP_ONLY = List.of("--registry", "--insecure-registry", "--context", "--url", "--skip-ingress-controller");

    public static void main(String[] args) {
        // Step marks (• ✓ ✗) are UTF-8 whatever the locale says.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, UTF_8));
        var commandLine = new CommandLine(new deploy());
        // dev extends up on the kind cluster only: up's options for a registry or another cluster are not dev's.
        var dev = commandLine.getSubcommands().get("dev").getCommandSpec();
        for (String option : UP_ONLY) dev.remove(dev.findOption(option));
        System.exit(commandLine
                .setParameterExceptionHandler(Step::usageError)
                .setExecutionExceptionHandler(Step::failed)
                .execute(args));
    }

    @Override
    public Integer call() throws Exception {
        return new Up().call();
    }

    // ---- commands

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = {"Builds, loads and applies everything, then checks that the URL answers from the versions just deployed (the default).",
                    "%nThe kind cluster is created only when missing, images are loaded only when the node lacks their tag,"
                            + " the ingress controller and the profile are applied and waited for, and so are the old pods to stop;"
                            + " then " + Http.IN_A_ROW + " answers in a row must name, in X-Version, each service's new image tag. Safe to re-run.",
                    "%nWith --profile prod, a cluster it creates has a control plane and 2 workers (manifests/kind/cluster-prod.yaml),"
                            + " for the replicas to spread over; an existing cluster with fewer workers is refused, before anything changes.",
                    "%nWith --registry the images are pushed there and deployed by digest; with --context, to any cluster"
                            + " (docs/registry.md)."})
    static class Up implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();
        @Mixin ProfileOption profile = new ProfileOption();
        @Mixin BaseImageOption base = new BaseImageOption();
        @Mixin Registry.Options registry = new Registry.Options();
        @Mixin Context.Options remote = new Context.Options();

        @Option(names = "--skip-ingress-controller", description = "With --context: install no ingress controller (the cluster's own serves the traefik class).")
        boolean skipIngress;

        @Option(names = "--port", paramLabel = "N", description = "Host port of the ingress (default: ${DEFAULT-VALUE}).")
        int port = 80;

        @Option(names = "--node-image", paramLabel = "REF", description = "kind node image (kind create cluster --image); default: kind's own.")
        String nodeImage;

        @Option(names = "--timeout", paramLabel = "DURATION", converter = Step.DurationConverter.class, defaultValue = "5m",
                description = "Bound of each wait: cluster, ingress controller, rollouts, e.g. 90s, 5m (default: ${DEFAULT-VALUE}).")
        Duration timeout = Duration.ofMinutes(5);

        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            Rollout.Served served = deploy();
            if (served == null) return OK; // --context: Context.up said where
            served.printNext();
            return OK;
        }

        /** The options checked, then up's steps on the kind cluster (or, with --context, Context.up's there). */
        Rollout.Served deploy() throws Exception {
            if (spec != null && (port < 1 || port > 65535)) throw new ParameterException(spec.commandLine(), "--port must be 1-65535, not " + port);
            Registry to = spec == null ? null : registry.registry(spec);
            Context context = spec == null ? null : remote.context(spec, to, "--cluster", "--port", "--node-image");
            if (skipIngress && context == null) throw new ParameterException(spec.commandLine(), "--skip-ingress-controller goes with --context");
            Checkout checkout = Checkout.find();
            Path root = checkout.root();
            String bound = Failure.format(timeout);
            if (context != null) {
                context.up(this, checkout, to);
                return null;
            }
            // The build (javac and Jib, in-process) needs nothing that the checks below find out: it runs meanwhile.
            var building = to != null ? null : Step.ahead(() -> Image.buildAll(checkout, root.resolve("build/images"), base.ref));
            Tools tools = Step.run("Checking tools",
                    () -> Tools.check(checkout.lacks(profile.name()), Need.ENGINE, Need.KIND, Need.KUBECTL));
            Kind kind = new Kind(cluster.name, tools.engine());
            boolean exists = kind.exists();
            // A wrong port, or too few workers for the profile, fails here, before anything changes.
            String reuse = exists ? kind.checkHostPort(port) + "; " + kind.checkWorkers(root, profile.name()) : null;
            Kubectl kubectl = kind.kubectl();
            // The ingress controller needs no image: on a cluster that exists, it is checked (or applied) meanwhile too.
            Callable<Step.Done<Void>> ingress = () -> Step.note(kubectl.applyAndWait(root, root.resolve("manifests/ingress"), timeout));
            if (exists) ingress = Step.ahead(ingress);
            LocalRegistry local = LocalRegistry.start(tools.engine(), to);
            List<Image> images = to != null ? null : Step.run("Building images with Jib (" + base.ref + ")", building);
            List<Push> pushes = to == null ? null : Push.step(checkout, to, base.ref);

            if (exists) {
                Step.run("Reusing cluster " + kind.name(), () -> Step.note(reuse));
            } else {
                Step.run("Creating cluster " + kind.name() + " (waiting ≤ " + bound + " for its control plane)",
                        () -> Step.note(kind.create(root, profile.name(), port, nodeImage, timeout)));
            }
            if (local != null) Step.run("Connecting the local registry to " + kind.name(), () -> Step.note(local.wire(kind, root)));
            else if (images != null) {
                boolean expected = !exists || images.stream().anyMatch(Image::builtByThisRun);
                Step.run("Loading images into " + kind.name(), () -> Step.note(kind.load(images, expected)));
            }

            Step.run("Installing the ingress controller (waiting ≤ " + bound + ")", ingress);
            Rollout.Proven proven = Rollout.applyAndProve(profile.name(), timeout, checkout, kubectl, images, pushes, () -> Http.ingress(port));
            return new Rollout.Served(checkout, kind, proven.url(), proven.deployed(), proven.answer());
        }
    }

    @Command(name = "dev", mixinStandardHelpOptions = true,
            description = {"Does what up does, then redeploys on every save and streams the services' logs, until Ctrl+C.",
                    "%nWatches the services' sources and manifests/. A save rebuilds only the images whose inputs changed, loads and"
                            + " applies them, and waits until every answer comes from the new versions: one line a cycle, with its timings."
                            + " A compile or manifest error is printed, and the running version keeps serving. Ctrl+C stops watching;"
                            + " the cluster stays (down deletes it)."})
    static class Dev extends Up {
        @Override
        public Integer call() throws Exception {
            Instant since = Instant.now().truncatedTo(ChronoUnit.SECONDS); // the logs of the pods this run starts
            Thread warm = DevLoop.warmUp(Checkout.find(), base.ref);
            var served = deploy();
            warm.join(Duration.ofMinutes(1));
            new DevLoop(this, served).run(since);
            return OK;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = {"Deletes the kind cluster; succeeds when it is already gone.",
            "%nWith --context: deletes what up applied there (labelled app.kubernetes.io/managed-by=deploy.java), never the cluster."})
    static class Down implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();

        @Option(names = "--context", paramLabel = "NAME", description = "The kubeconfig context that up --context deployed to.")
        String context;

        @Override
        public Integer call() throws Exception {
            if (context != null) return new Context(context, null).down(Checkout.find().root());
            Tools tools = Tools.check(Need.ENGINE, Need.KIND).value();
            Kind kind = new Kind(cluster.name, tools.engine());
            if (!kind.exists()) {
                System.err.println(" ✓ Cluster " + kind.name() + " is already gone");
                return OK;
            }
            Step.run("Deleting cluster " + kind.name(), kind::delete);
            return OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Shows the cluster, each Deployment ready, the version (image tag) of each service deployed and the one"
                    + " answering through the URL.",
                    "%nExits 0 when all is well: every Deployment ready, and the URL answers 200 from the versions deployed; else 1."})
    static class Status implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();
        @Mixin Context.Options remote = new Context.Options();
        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            List<String> services = Checkout.find().services(); // first: outside a checkout, that is the error
            StatusReport.check(services, cluster.name, remote.context(spec, null, "--cluster"));
            return OK;
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = {"Prints the services' logs: every pod's, each line prefixed with its service and pod.",
                    "%nWith -f, keeps printing, from new pods too: across restarts and rollouts, until Ctrl+C. The probes that passed"
                            + " (GET /healthz, /readyz answered 200) are left out; kubectl logs shows them."})
    static class Logs implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();

        @Parameters(paramLabel = "SERVICE", arity = "0..*", description = "Services to show (default: all).")
        List<String> services = new ArrayList<>();

        @Option(names = {"-f", "--follow"}, description = "Keep printing what they log.")
        boolean follow;

        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            Checkout checkout = Checkout.find();
            for (String s : services) {
                if (!checkout.services().contains(s)) throw new ParameterException(spec.commandLine(),
                        "no service " + s + " (the services: " + String.join(", ", checkout.services()) + ")");
            }
            Kind kind = new Kind(cluster.name, Tools.check(Need.ENGINE, Need.KIND, Need.KUBECTL).value().engine());
            if (!kind.exists()) throw new Failure("there is no cluster " + kind.name() + "; create it with: jbang deploy.java up" + kind.flag());
            PodLogs.show(kind, services.isEmpty() ? checkout.services() : services, follow);
            return OK;
        }
    }

    @Command(name = "render", mixinStandardHelpOptions = true,
            description = {"Prints the YAML that up would apply, with the image tags resolved.",
                    "%nBuilds nothing: a tag is a hash of the image's inputs, so --base-image matters, being one of them."})
    static class Render implements Callable<Integer> {
        @Mixin ProfileOption profile = new ProfileOption();
        @Mixin BaseImageOption base = new BaseImageOption();

        @Override
        public Integer call() throws Exception {
            Checkout checkout = Checkout.find();
            Tools.check(checkout.lacks(profile.name()), Need.KUBECTL);
            System.out.print(Kubectl.kustomize(Kustomization.write(checkout.root(), profile.name(), Image.tags(checkout, base.ref))));
            return OK;
        }
    }

    @Command(name = "images", mixinStandardHelpOptions = true,
            description = {"Builds the three images as docker-format archives DIR/<name>.tar.",
                    "%nFor docker load or kind load image-archive. Prints one line per image: name, reference, archive."
                            + " DIR/<name>.ref holds the reference; an archive built from the same inputs is kept, not rebuilt."})
    static class Images implements Callable<Integer> {
        @Mixin BaseImageOption base = new BaseImageOption();
        @Mixin Registry.Options registry = new Registry.Options();
        @Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--out", paramLabel = "DIR", description = "Where the archives go (default: build/images in the checkout).")
        Path out;

        @Override
        public Integer call() throws Exception {
            Registry to = registry.registry(spec);
            Checkout checkout = Checkout.find();
            if (to != null) {
                if (out != null) throw new ParameterException(spec.commandLine(), "--out (archives) and --registry (a push) do not go together");
                if (to.local() > 0) LocalRegistry.start(Tools.check(Need.ENGINE).value().engine(), to);
                for (Push p : Push.step(checkout, to, base.ref)) System.out.printf("%-7s %s%n", p.name(), p.reference());
                return OK;
            }
            Path dir = out != null ? out.toAbsolutePath() : checkout.root().resolve("build/images");
            List<Image> images = Step.run("Building images with Jib (" + base.ref + ")", () -> Image.buildAll(checkout, dir, base.ref));
            for (Image i : images) System.out.printf("%-7s %s  %s%n", i.name(), i.ref(), Step.shown(i.tar()));
            return OK;
        }
    }

    @Command(name = "local", mixinStandardHelpOptions = true,
            description = {"Runs the three services on this machine, without containers or a cluster.",
                    "%nhello and world take free ports, joiner --port; they are wired by environment. A saved change to a service's"
                            + " source restarts it (a compile error leaves the running one serving). Ctrl+C or SIGTERM stops all three."})
    static class Local implements Callable<Integer> {
        @Option(names = "--port", paramLabel = "N", description = "joiner's port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
        int port = 3002;

        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (port < 0 || port > 65535) throw new ParameterException(spec.commandLine(), "--port must be 0-65535, not " + port);
            new LocalRun(Checkout.find(), port).run();
            return OK;
        }
    }

    // ---- options shared by several commands

    static class ClusterOption {
        @Option(names = "--cluster", paramLabel = "NAME", description = "kind cluster name (default: ${DEFAULT-VALUE}).")
        String name = Kind.DEFAULT;
    }

    static class ProfileOption {
        enum Profile { dev, prod }
        @Option(names = "--profile", paramLabel = "dev|prod", description = "Overlay in manifests/overlays (default: ${DEFAULT-VALUE}).")
        Profile value = Profile.dev;

        String name() {
            return value.name();
        }
    }

    static class BaseImageOption {
        @Option(names = "--base-image", paramLabel = "REF", converter = Image.BaseConverter.class,
                description = "Java runtime image to build on: a registry reference, or docker://NAME from the local"
                        + " engine, or tar://PATH of a docker save archive. Default: ${DEFAULT-VALUE}.")
        String ref = "eclipse-temurin:25-jre";
    }
}
