///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Builds hello, world and joiner into images with Jib, runs them on a local kind cluster behind an ingress, and proves that http://localhost/ answers Hello World.
//JAVA 25+
//DEPS com.google.cloud.tools:jib-core:0.28.1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.yaml:snakeyaml:2.5
//SOURCES deploy/*.java
// Jib's Guava reaches for sun.misc.Unsafe; say yes once instead of warning on every run.
//RUNTIME_OPTIONS --sun-misc-unsafe-memory-access=allow

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The commands, and the order of their steps. What a step does is in deploy/, a file per part:
 * <pre>
 *   Checkout         the checkout, and its services (as manifests/base/kustomization.yaml lists them)
 *   Tools, Need      what this machine has, checked before anything changes
 *   Classes          a service compiled with javac, in-process
 *   Image            a service's image, built with Jib and tagged by its inputs
 *   Kind             the local kind cluster: create, load images, host port, delete
 *   Kubectl          any cluster (a kubectl context): apply, wait for rollouts, say why one did not
 *   Kustomization    the profile with the images' tags;  Workload: what apply answered, to wait for
 *   Http             the proof: what the URL answers
 *   LocalRun         the services as JVMs on this machine, no cluster
 *   Step, Failure    how steps and errors are printed;  Proc: commands run, bounded, output kept
 * </pre>
 */
@Command(name = "jbang deploy.java", mixinStandardHelpOptions = true, version = "deploy.java 1",
        description = {"Builds hello, world and joiner into images and runs them on a local kind cluster.",
                "Without a command: up."},
        subcommands = {deploy.Up.class, deploy.Down.class, deploy.Status.class, deploy.Render.class,
                deploy.Images.class, deploy.Local.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:a step failed (one ERROR line says which and why)", "2:a usage error"})
class deploy implements Callable<Integer> {
    static final int OK = 0, FAILED = 1, USAGE = 2;

    /**
     * JVM flags for the containers, stated here once (the image's entrypoint carries them).
     * Serial GC: a small heap on a CPU or less gains nothing from a concurrent collector's threads.
     * MaxRAMPercentage=50: the heap follows the container's memory limit; half of it, because the JVM grows its heap
     * to the maximum before a full collection, and thread stacks, metaspace and code cache need the rest (at 75% a
     * joiner under load reached ~280 MB, past the manifests' 256Mi limit, and would be OOM-killed).
     * ExitOnOutOfMemoryError: a JVM out of memory should end and be restarted, not limp on.
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError");

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show each command as it runs, and stack traces of failures.")
    void verbose(boolean on) {
        Step.verbose = on;
        Proc.verbose = on;
    }

    public static void main(String[] args) {
        // Step marks (• ✓ ✗) are UTF-8 whatever the locale says.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, UTF_8));
        System.exit(new CommandLine(new deploy())
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
            description = {"Builds, loads and applies everything, then checks that the URL answers Hello World (the default).",
                    "%nThe kind cluster is created only when missing, images are loaded only when the node lacks their tag,"
                            + " the ingress controller and the profile are applied and waited for. Safe to re-run.",
                    "%nWith --profile prod, a cluster it creates has a control plane and 2 workers (manifests/kind/cluster-prod.yaml),"
                            + " for the replicas to spread over; an existing cluster with fewer workers is refused, before anything changes."})
    static class Up implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();
        @Mixin ProfileOption profile = new ProfileOption();
        @Mixin BaseImageOption base = new BaseImageOption();

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
            if (spec != null && (port < 1 || port > 65535)) throw new ParameterException(spec.commandLine(), "--port must be 1-65535, not " + port);
            Checkout checkout = Checkout.find();
            Path root = checkout.root();
            String bound = Failure.format(timeout);
            Tools tools = Step.run("Checking tools",
                    () -> Tools.check(checkout.lacks(profile.name()), Need.ENGINE, Need.KIND, Need.KUBECTL));
            Kind kind = new Kind(cluster.name, tools.engine());
            boolean exists = kind.exists();
            // A wrong port, or too few workers for the profile, fails here, before anything changes.
            String reuse = exists ? kind.checkHostPort(port) + "; " + kind.checkWorkers(root, profile.name()) : null;
            List<Image> images = Step.run("Building images with Jib (" + base.ref + ")",
                    () -> Image.buildAll(checkout, root.resolve("build/images"), base.ref));

            if (exists) {
                Step.run("Reusing cluster " + kind.name(), () -> Step.note(reuse));
            } else {
                Step.run("Creating cluster " + kind.name() + " (waiting ≤ " + bound + " for its control plane)",
                        () -> Step.note(kind.create(root, profile.name(), port, nodeImage, timeout)));
            }
            Step.run("Loading images into " + kind.name(), () -> Step.note(kind.load(images)));

            Kubectl kubectl = kind.kubectl();
            Step.run("Installing the ingress controller (waiting ≤ " + bound + ")",
                    () -> kubectl.applyAndWait(root.resolve("manifests/ingress"), timeout));
            List<Workload> workloads = Step.run("Applying the " + profile.name() + " profile (build/kustomize/" + profile.name() + ")",
                    () -> applyProfile(root, kubectl, images));
            Step.run("Waiting ≤ " + bound + " for " + String.join(", ", workloads.stream().map(Workload::name).toList()) + " to roll out",
                    () -> kubectl.rollout(workloads, timeout));

            URI url = Http.ingress(port);
            Duration smoke = Duration.ofSeconds(90); // a new route can take tens of seconds on a busy machine
            Step.run("Asking " + url + " for Hello World (retrying ≤ " + Failure.format(smoke) + ")", () -> Http.expectHelloWorld(url, smoke));

            System.out.printf("""

                    Hello World is served at %s

                    Next:
                      curl %s
                      jbang deploy.java status%s
                      kubectl --context %s get pods -A
                      jbang deploy.java down%s
                    """, url, url, kind.flag(), kind.context(), kind.flag());
            return OK;
        }

        /** The profile with the images' tags; what was applied is kept beside it (like the original, up shows what it deployed). */
        Step.Done<List<Workload>> applyProfile(Path root, Kubectl kubectl, List<Image> images) throws IOException {
            Path kustomization = Kustomization.write(root, profile.name(), Image.tags(images));
            String applied = kubectl.apply(kustomization);
            Path record = kustomization.resolve("applied.yaml");
            Files.writeString(record, applied);
            return new Step.Done<>(Workload.in(applied), Workload.summary(applied) + " (as applied: " + root.relativize(record) + ")");
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Deletes the kind cluster; succeeds when it is already gone.")
    static class Down implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();

        @Override
        public Integer call() throws Exception {
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
            description = {"Shows whether the cluster is there, each Deployment ready and the URL answering.",
                    "%nExits 0 when all is well, 1 otherwise."})
    static class Status implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();

        @Override
        public Integer call() throws Exception {
            List<String> services = Checkout.find().services();
            Tools tools = Tools.check(Need.ENGINE, Need.KIND, Need.KUBECTL).value();
            Kind kind = new Kind(cluster.name, tools.engine());
            if (!kind.exists()) throw new Failure("there is no cluster " + kind.name() + "; create it with: jbang deploy.java up" + kind.flag());
            System.out.println("cluster      " + kind.name() + " (kubectl context " + kind.context() + ")");
            var problems = new ArrayList<String>();
            for (var d : kind.kubectl().deployments()) {
                if (!services.contains(d.name()) && !d.name().equals("traefik")) continue;
                System.out.printf("deployment   %-22s %s/%s ready%n", d.id(), d.ready(), d.wanted());
                if (!d.ready().equals(d.wanted())) problems.add(d.id() + " is " + d.ready() + "/" + d.wanted() + " ready");
            }
            URI url = Http.ingress(kind.hostPort());
            String answer = Http.ask(url);
            System.out.println("url          " + url + " → " + answer);
            if (!answer.equals("Hello World")) problems.add(url + " does not answer Hello World");
            if (!problems.isEmpty()) throw new Failure(kind.name() + " is not healthy: " + String.join("; ", problems));
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
            var tags = new LinkedHashMap<String, String>();
            for (String name : checkout.services()) tags.put(name, Image.tag(checkout.root(), name, base.ref));
            System.out.print(Kubectl.kustomize(Kustomization.write(checkout.root(), profile.name(), tags)));
            return OK;
        }
    }

    @Command(name = "images", mixinStandardHelpOptions = true,
            description = {"Builds the three images as docker-format archives DIR/<name>.tar.",
                    "%nFor docker load or kind load image-archive. Prints one line per image: name, reference, archive."
                            + " DIR/<name>.ref holds the reference; an archive built from the same inputs is kept, not rebuilt."})
    static class Images implements Callable<Integer> {
        @Mixin BaseImageOption base = new BaseImageOption();

        @Option(names = "--out", paramLabel = "DIR", description = "Where the archives go (default: build/images in the checkout).")
        Path out;

        @Override
        public Integer call() throws Exception {
            Checkout checkout = Checkout.find();
            Path dir = out != null ? out.toAbsolutePath() : checkout.root().resolve("build/images");
            List<Image> images = Step.run("Building images with Jib (" + base.ref + ")", () -> Image.buildAll(checkout, dir, base.ref));
            for (Image i : images) System.out.printf("%-7s %s  %s%n", i.name(), i.ref(), Step.shown(i.tar()));
            return OK;
        }
    }

    @Command(name = "local", mixinStandardHelpOptions = true,
            description = {"Runs the three services on this machine, without containers or a cluster.",
                    "%nhello and world take free ports, joiner --port; they are wired by environment. Ctrl+C or SIGTERM stops all three."})
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
