///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Builds hello, world and joiner into images with Jib, runs them on a local kind cluster behind an ingress, and proves that http://localhost/ answers Hello World.
//JAVA 25+
//DEPS com.google.cloud.tools:jib-core:0.28.1
//DEPS info.picocli:picocli:4.7.7
//DEPS org.yaml:snakeyaml:2.5
// Jib's Guava reaches for sun.misc.Unsafe; say yes once instead of warning on every run.
//RUNTIME_OPTIONS --sun-misc-unsafe-memory-access=allow

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.Platform;
import com.google.cloud.tools.jib.api.buildplan.Port;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

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
     * The services, in start order. Their ports are not typed here: an image exposes the DEFAULT_PORT its source
     * declares (and the service listens there unless PORT says otherwise); in the cluster, the manifests' Service
     * ports decide, through PORT.
     */
    static final List<String> SERVICES = List.of("hello", "world", "joiner");

    /**
     * JVM flags for the containers, stated here once (the image's entrypoint carries them).
     * Serial GC: a small heap on a CPU or less gains nothing from a concurrent collector's threads.
     * MaxRAMPercentage=50: the heap follows the container's memory limit; half of it, because the JVM grows its heap
     * to the maximum before a full collection, and thread stacks, metaspace and code cache need the rest (at 75% a
     * joiner under load reached ~280 MB, past the manifests' 256Mi limit, and would be OOM-killed).
     * ExitOnOutOfMemoryError: a JVM out of memory should end and be restarted, not limp on.
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError");
    static final String USER = "65532:65532";
    /** Changes whenever the way an image is put together changes, so that every tag changes with it. */
    static final String IMAGE_RECIPE = "jib-core 0.28.1; javac --release 25; classes in /app; docker format; v1";

    static boolean verbose;
    static final boolean TERMINAL = System.console() != null && System.console().isTerminal();

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show each command as it runs, and stack traces of failures.")
    void verbose(boolean on) {
        verbose = on;
    }

    public static void main(String[] args) {
        // Step marks (• ✓ ✗) are UTF-8 whatever the locale says.
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, UTF_8));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, UTF_8));
        System.exit(new CommandLine(new deploy())
                .setParameterExceptionHandler(deploy::usageError)
                .setExecutionExceptionHandler(deploy::failed)
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
                            + " the ingress controller and the profile are applied and waited for. Safe to re-run."})
    static class Up implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();
        @Mixin ProfileOption profile = new ProfileOption();
        @Mixin BaseImageOption base = new BaseImageOption();

        @Option(names = "--port", paramLabel = "N", description = "Host port of the ingress (default: ${DEFAULT-VALUE}).")
        int port = 80;

        @Option(names = "--node-image", paramLabel = "REF", description = "kind node image (kind create cluster --image); default: kind's own.")
        String nodeImage;

        @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "5m",
                description = "Bound of each wait: cluster, ingress controller, rollouts, e.g. 90s, 5m (default: ${DEFAULT-VALUE}).")
        Duration timeout = Duration.ofMinutes(5);

        @Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (spec != null && (port < 1 || port > 65535)) throw new ParameterException(spec.commandLine(), "--port must be 1-65535, not " + port);
            Path root = checkout();
            Tools tools = step("Checking tools", () -> Tools.check(root, true, true, true, profile.name()));
            Kind kind = new Kind(cluster.name, tools.engine());
            boolean exists = kind.exists();
            String reuse = exists ? kind.checkHostPort(port) : null; // a wrong port fails here, before anything changes
            List<Image> images = step("Building images with Jib (" + base.ref + ")",
                    () -> Image.buildAll(root, root.resolve("build/images"), base.ref));

            if (exists) {
                step("Reusing cluster " + kind.name, () -> note(reuse));
            } else {
                step("Creating cluster " + kind.name + " (waiting ≤ " + format(timeout) + " for its control plane)",
                        () -> note(kind.create(root, port, nodeImage, timeout)));
            }
            step("Loading images into " + kind.name, () -> note(kind.load(images)));
            Path ingress = root.resolve("manifests/ingress");
            step("Installing the ingress controller (waiting ≤ " + format(timeout) + ")", () -> {
                // -o yaml: the applied objects come back, so the workloads to wait for need no second kustomize.
                var applied = kind.kubectl(Duration.ofMinutes(2), "apply", "-k", ingress.toString(), "-o", "yaml").orFail("kubectl apply -k manifests/ingress");
                kind.rollout(Workload.in(applied.out()), timeout);
                return note(null);
            });
            List<Workload> workloads = step("Applying the " + profile.name() + " profile (build/kustomize/" + profile.name() + ")", () -> {
                Path kustomization = Kustomization.write(root, profile.name(), Image.tags(images));
                var applied = kind.kubectl(Duration.ofMinutes(2), "apply", "-k", kustomization.toString(), "-o", "yaml")
                        .orFail("kubectl apply -k build/kustomize/" + profile.name());
                // What was applied, kept beside the kustomization: like the original, up shows what it deployed.
                Path record = kustomization.resolve("applied.yaml");
                Files.writeString(record, applied.out());
                return new Done<>(Workload.in(applied.out()), Workload.summary(applied.out()) + " (as applied: " + root.relativize(record) + ")");
            });
            step("Waiting ≤ " + format(timeout) + " for " + String.join(", ", workloads.stream().map(Workload::name).toList()) + " to roll out",
                    () -> note(kind.rollout(workloads, timeout)));
            URI url = Http.ingress(port);
            Duration smoke = Duration.ofSeconds(90); // a new route can take tens of seconds on a busy machine
            step("Asking " + url + " for Hello World (retrying ≤ " + format(smoke) + ")",
                    () -> note(Http.expectHelloWorld(url, smoke)));

            String flags = ClusterOption.flag(cluster.name);
            System.out.printf("""

                    Hello World is served at %s

                    Next:
                      curl %s
                      jbang deploy.java status%s
                      kubectl --context %s get pods -A
                      jbang deploy.java down%s
                    """, url, url, flags, kind.context(), flags);
            return OK;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Deletes the kind cluster; succeeds when it is already gone.")
    static class Down implements Callable<Integer> {
        @Mixin ClusterOption cluster = new ClusterOption();

        @Override
        public Integer call() throws Exception {
            Tools tools = Tools.check(null, true, true, false, null).value();
            Kind kind = new Kind(cluster.name, tools.engine());
            if (!kind.exists()) {
                System.err.println(" ✓ Cluster " + kind.name + " is already gone");
                return OK;
            }
            step("Deleting cluster " + kind.name, () -> {
                kind.run(Duration.ofMinutes(3), "delete", "cluster", "--name", kind.name).orFail("kind delete cluster");
                return note(null);
            });
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
            Tools tools = Tools.check(null, true, true, true, null).value();
            Kind kind = new Kind(cluster.name, tools.engine());
            if (!kind.exists()) throw new Failure("there is no cluster " + kind.name + "; create it with: jbang deploy.java up"
                    + ClusterOption.flag(cluster.name));
            System.out.println("cluster      " + kind.name + " (kubectl context " + kind.context() + ")");
            var problems = new ArrayList<String>();
            String table = kind.kubectl(Duration.ofSeconds(30), "get", "deployments", "--all-namespaces", "-o",
                    "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.readyReplicas} {.spec.replicas}{\"\\n\"}{end}")
                    .orFail("kubectl get deployments").out();
            for (String line : table.lines().toList()) {
                String[] f = line.split(" ", -1);
                String name = f[0].substring(f[0].indexOf('/') + 1);
                if (!SERVICES.contains(name) && !name.equals("traefik")) continue;
                String ready = f[1].isEmpty() ? "0" : f[1];
                System.out.printf("deployment   %-22s %s/%s ready%n", f[0], ready, f[2]);
                if (!ready.equals(f[2])) problems.add(f[0] + " is " + ready + "/" + f[2] + " ready");
            }
            int port = kind.hostPort();
            URI url = Http.ingress(port);
            String answer = Http.ask(url);
            System.out.println("url          " + url + " → " + answer);
            if (!answer.equals("Hello World")) problems.add(url + " does not answer Hello World");
            if (!problems.isEmpty()) throw new Failure(kind.name + " is not healthy: " + String.join("; ", problems));
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
            Path root = checkout();
            Tools.check(root, false, false, true, profile.name());
            var tags = new LinkedHashMap<String, String>();
            for (String name : SERVICES) tags.put(name, Image.tag(root, name, base.ref));
            System.out.print(Kubectl.kustomize(Kustomization.write(root, profile.name(), tags)));
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
            Path root = checkout();
            Path dir = out != null ? out.toAbsolutePath() : root.resolve("build/images");
            List<Image> images = step("Building images with Jib (" + base.ref + ")", () -> Image.buildAll(root, dir, base.ref));
            Path here = Path.of("").toAbsolutePath();
            for (Image i : images) {
                Path shown = i.tar().startsWith(here) ? here.relativize(i.tar()) : i.tar();
                System.out.printf("%-7s %s  %s%n", i.name(), i.ref(), shown);
            }
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
            Path root = checkout();
            return new LocalRun(root, port).run();
        }
    }

    // ---- options shared by several commands

    static class ClusterOption {
        static final String DEFAULT = "hello-world";
        @Option(names = "--cluster", paramLabel = "NAME", description = "kind cluster name (default: ${DEFAULT-VALUE}).")
        String name = DEFAULT;

        /** How a suggested command names this cluster: not at all when it is the default. */
        static String flag(String name) {
            return name.equals(DEFAULT) ? "" : " --cluster " + name;
        }
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
        @Option(names = "--base-image", paramLabel = "REF", converter = BaseImageConverter.class,
                description = "Java runtime image to build on: a registry reference, or docker://NAME from the local"
                        + " engine, or tar://PATH of a docker save archive. Default: ${DEFAULT-VALUE}.")
        String ref = "eclipse-temurin:25-jre";
    }

    // ---- error handling: one ERROR line, a stack trace only with --verbose

    /** A step that could not be done: its message is the ERROR line, its output the failing command's. */
    static final class Failure extends RuntimeException {
        final String output;
        boolean shown;

        Failure(String message) {
            this(message, "");
        }

        Failure(String message, String output) {
            super(message);
            this.output = output == null ? "" : output;
        }
    }

    static int usageError(ParameterException e, String[] args) {
        var err = System.err;
        err.println("ERROR: " + e.getMessage());
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            err.println("Did you mean: " + String.join(", ", u.getSuggestions()) + "?");
        }
        err.println("See '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
        if (verbose) e.printStackTrace();
        return USAGE;
    }

    static int failed(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        var err = System.err;
        if (e instanceof Failure f) {
            if (!f.shown && !f.output.isBlank()) err.println(indent(f.output));
            err.println("ERROR: " + f.getMessage());
        } else {
            err.println("ERROR: " + e + (verbose ? "" : " (unexpected: rerun with --verbose for the stack trace)"));
        }
        if (verbose) e.printStackTrace();
        return FAILED;
    }

    // ---- steps, printed as kind prints them

    /** What a step gives back: a value for the caller and a note for the ✓ line (either may be null). */
    record Done<T>(T value, String note) {}

    static Done<Void> note(String note) {
        return new Done<>(null, note);
    }

    /** Runs one named step: " • title ..." then " ✓ title: note (1.2s)" or " ✗ title" and the failing output. */
    static <T> T step(String title, Callable<Done<T>> action) throws Exception {
        long start = System.nanoTime();
        boolean live = TERMINAL && !verbose; // on a terminal the ✓ line replaces the • line
        var err = System.err;
        if (live) err.print(" • " + title + " ...");
        else err.println(" • " + title + " ...");
        String clear = live ? "\r\033[K" : "";
        try {
            Done<T> done = action.call();
            String took = String.format("%.1fs", (System.nanoTime() - start) / 1e9);
            err.println(clear + " ✓ " + title + (done.note() == null ? "" : ": " + done.note()) + " (" + took + ")");
            return done.value();
        } catch (Exception e) {
            err.println(clear + " ✗ " + title);
            if (e instanceof Failure f && !f.output.isBlank()) {
                err.println(indent(f.output));
                f.shown = true;
            }
            throw e;
        }
    }

    static String indent(String text) {
        return text.strip().lines().map(l -> "   " + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }

    /** Durations as kind and kubectl print them: 90s → 1m30s, 300s → 5m0s. */
    static String format(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? (s / 3600) + "h" + (s % 3600 / 60) + "m" + (s % 60) + "s"
                : s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }

    // ---- where the checkout is

    /**
     * The checkout: the folder holding the services and manifests/. JBang does not tell a script where its
     * source file is (jbangdev/jbang#2642 proposes the jbang.source property, honored here when present),
     * so otherwise it is the working directory or the nearest parent that has them.
     */
    static Path checkout() {
        var candidates = new ArrayList<Path>();
        String source = System.getProperty("jbang.source");
        if (source != null && !source.contains("://")) candidates.add(Path.of(source).toAbsolutePath().getParent());
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) candidates.add(p);
        for (Path p : candidates) {
            if (p != null && Files.isDirectory(p.resolve("manifests")) && Files.isRegularFile(p.resolve("joiner.java"))) return p;
        }
        throw new Failure("no checkout here: neither " + cwd + " nor a parent holds manifests/ and joiner.java;"
                + " cd into your clone of this repository and run it there (JBang does not tell a script where its file is)");
    }

    // ---- tools on this machine

    record Tools(String engine) {
        /** Checks what the command needs, changing nothing: every missing piece is one ERROR line with its fix. */
        static Done<Tools> check(Path root, boolean engine, boolean kind, boolean kubectl, String profile) {
            var problems = new ArrayList<String>();
            var found = new ArrayList<String>();
            found.add("java " + Runtime.version().feature() + "." + Runtime.version().interim() + "." + Runtime.version().update());
            if (ToolProvider.getSystemJavaCompiler() == null) {
                problems.add("this Java (" + System.getProperty("java.home") + ") has no compiler: run deploy.java on a JDK 25 (jbang picks one with //JAVA 25+)");
            }
            String engineName = null;
            if (engine) {
                for (String candidate : List.of("docker", "podman")) {
                    if (Proc.which(candidate) == null) continue;
                    // Both answer only when their engine does (Docker's daemon, Podman's service or machine).
                    var v = Proc.run(Duration.ofSeconds(30), candidate.equals("docker")
                            ? List.of("docker", "version", "--format", "{{.Server.Version}}")
                            : List.of("podman", "info", "--format", "{{.Version.Version}}"));
                    if (v.exit() == 0 && !v.out().isBlank()) {
                        engineName = candidate;
                        found.add(candidate + " " + v.out().strip());
                        break;
                    }
                    problems.add(candidate + " is installed but its engine is not running: start it (e.g. sudo systemctl start "
                            + candidate + ", or Docker Desktop), then run this again");
                    engineName = "";
                    break;
                }
                if (engineName == null) {
                    problems.add("no container engine: install Docker Engine (https://docs.docker.com/engine/install/)"
                            + " or Podman; without one, `jbang deploy.java local` runs the services on this machine");
                }
            }
            if (kind) version(problems, found, "kind", List.of("kind", "version"), "kind (v\\S+)",
                    "kind is not on PATH: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation,"
                            + " e.g. go install sigs.k8s.io/kind@v0.30.0)");
            if (kubectl) version(problems, found, "kubectl", List.of("kubectl", "version", "--client"), "Client Version: (v\\S+)",
                    "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)");
            if (root != null && profile != null) {
                for (String need : List.of("manifests/kind/cluster.yaml", "manifests/ingress/kustomization.yaml",
                        "manifests/overlays/" + profile + "/kustomization.yaml")) {
                    if (!Files.isRegularFile(root.resolve(need))) problems.add("the checkout " + root + " lacks " + need);
                }
            }
            if (!problems.isEmpty()) throw new Failure(String.join("\nERROR: ", problems));
            return new Done<>(new Tools(engineName), String.join(", ", found));
        }

        static void version(List<String> problems, List<String> found, String tool, List<String> command, String pattern, String missing) {
            if (Proc.which(tool) == null) {
                problems.add(missing);
                return;
            }
            var v = Proc.run(Duration.ofSeconds(30), command);
            Matcher m = Pattern.compile(pattern).matcher(v.out());
            if (v.exit() != 0) problems.add("`" + String.join(" ", command) + "` failed (exit " + v.exit() + "): " + v.both().strip());
            else found.add(tool + " " + (m.find() ? m.group(1) : "(version unknown)"));
        }
    }

    // ---- images

    record Image(String name, int port, String tag, Path tar) {
        String ref() {
            return name + ":" + tag;
        }

        static Map<String, String> tags(List<Image> images) {
            var tags = new LinkedHashMap<String, String>();
            images.forEach(i -> tags.put(i.name(), i.tag()));
            return tags;
        }

        static List<String> entrypoint(String name) {
            var command = new ArrayList<String>();
            command.add("java");
            command.addAll(JVM_FLAGS);
            command.addAll(List.of("-cp", "/app", name));
            return command;
        }

        /** No PORT: the service's own default holds, so the port is written once, in its source. */
        static Map<String, String> environment(String name) {
            var env = new LinkedHashMap<String, String>(); // ordered: it is hashed into the tag
            env.put("HOST", "0.0.0.0");
            return env;
        }

        /** The port a service listens on by default, read from its `static final int DEFAULT_PORT = N;`. */
        static int defaultPort(Path root, String name) {
            Path source = root.resolve(name + ".java");
            try {
                Matcher m = Pattern.compile("static final int DEFAULT_PORT = (\\d+);").matcher(Files.readString(source));
                if (m.find()) return Integer.parseInt(m.group(1));
                throw new Failure(source.getFileName() + " declares no `static final int DEFAULT_PORT = N;` (the port its image exposes)");
            } catch (IOException e) {
                throw new Failure("cannot read " + source + ": " + e.getMessage());
            }
        }

        /**
         * The tag: a hash of everything that goes into the image (the source, the base image reference, the
         * compiling JDK, entrypoint, environment, user, platform, the recipe). Same inputs, same tag; and since
         * Jib builds reproducibly, same image ID. Computing it needs no build, so render needs no Docker.
         */
        static String tag(Path root, String name, String base) {
            try {
                var sha = MessageDigest.getInstance("SHA-256");
                for (String part : List.of(IMAGE_RECIPE, name, base, Runtime.version().toString(), platform().getArchitecture() + "/" + platform().getOs(),
                        String.join(" ", entrypoint(name)), environment(name).toString(), USER)) {
                    sha.update((part + "\n").getBytes(UTF_8));
                }
                sha.update(Files.readAllBytes(root.resolve(name + ".java")));
                return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
            } catch (IOException e) {
                throw new Failure("cannot read " + root.resolve(name + ".java") + ": " + e.getMessage());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        static Platform platform() {
            String arch = System.getProperty("os.arch");
            return new Platform(arch.equals("aarch64") || arch.equals("arm64") ? "arm64" : "amd64", "linux");
        }

        /**
         * The three at once: each compiles in-process (the runtime image has no javac) and builds with Jib.
         * An archive already built from the same inputs (its DIR/name.ref holds the same tag) is kept as is.
         */
        static Done<List<Image>> buildAll(Path root, Path out, String base) throws Exception {
            Files.createDirectories(out);
            var wanted = new ArrayList<Image>();
            for (String name : SERVICES) wanted.add(new Image(name, defaultPort(root, name), tag(root, name, base), out.resolve(name + ".tar")));
            var kept = new ArrayList<String>();
            for (Image image : wanted) if (image.upToDate()) kept.add(image.name());
            if (kept.size() < wanted.size()) requireRegistry(base);
            var builds = new ArrayList<Future<Image>>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (Image image : wanted) {
                    builds.add(kept.contains(image.name()) ? CompletableFuture.completedFuture(image) : pool.submit(() -> build(root, image, base)));
                }
            }
            var images = new ArrayList<Image>();
            for (var b : builds) {
                try {
                    images.add(b.get());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Failure f) throw f;
                    throw new Failure("building images failed: " + e.getCause(), "");
                }
            }
            String refs = String.join(", ", images.stream().map(Image::ref).toList());
            return new Done<>(images, kept.isEmpty() ? refs : refs + " (" + String.join(", ", kept) + " up to date)");
        }

        /** The archive is there, and was finished from these very inputs (the .ref file is written last). */
        boolean upToDate() throws IOException {
            Path ref = refFile();
            return Files.isRegularFile(tar) && Files.isRegularFile(ref) && Files.readString(ref).strip().equals(ref());
        }

        Path refFile() {
            return tar.resolveSibling(name + ".ref");
        }

        static Image build(Path root, Image image, String base) throws Exception {
            Files.deleteIfExists(image.refFile()); // from now on the archive is not trusted until it is whole
            Path classes = compile(root, image.name());
            try {
                build(root, image, base, classes);
            } finally {
                delete(classes);
            }
            Files.writeString(image.refFile(), image.ref() + "\n");
            return image;
        }

        static void build(Path root, Image image, String base, Path classes) throws Exception {
            String name = image.name();
            var log = new CopyOnWriteArrayList<String>();
            Path cache = root.resolve("build/jib-cache");
            var containerizer = Containerizer.to(TarImage.at(image.tar()).named(image.ref()))
                    .setBaseImageLayersCache(cache.resolve("base"))
                    .setApplicationLayersCache(cache.resolve("application"))
                    .setToolName("deploy.java")
                    .addEventHandler(LogEvent.class, e -> {
                        if (e.getLevel().ordinal() <= LogEvent.Level.WARN.ordinal()) log.add(e.getLevel() + ": " + e.getMessage());
                    });
            try {
                from(base)
                        .setFileEntriesLayers(FileEntriesLayer.builder().setName("classes")
                                .addEntryRecursive(classes, AbsoluteUnixPath.get("/app")).build())
                        .setEntrypoint(entrypoint(name))
                        .setEnvironment(environment(name))
                        .setExposedPorts(Port.tcp(image.port()))
                        .setUser(USER)
                        .containerize(containerizer);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw e;
            } catch (Exception e) {
                Throwable cause = e;
                while (cause.getCause() != null && cause.getCause() != cause) cause = cause.getCause();
                String hint = base.contains("://") ? "" : " (no registry reachable? build on a local image: --base-image docker://NAME or tar://PATH)";
                throw new Failure("building " + name + " on " + base + " failed: " + cause.getMessage() + hint, tidy(log));
            }
        }

        /** Offline, Jib would retry its pull for a minute and more; a name that does not resolve fails at once. */
        static void requireRegistry(String base) throws InvalidImageReferenceException {
            if (base.contains("://") || System.getProperty("https.proxyHost") != null) return;
            String registry = ImageReference.parse(base).getRegistry();
            try {
                InetAddress.getByName(registry);
            } catch (UnknownHostException e) {
                throw new Failure("cannot resolve " + registry + " to pull " + base + " (offline?): build on an image this machine has,"
                        + " with --base-image docker://NAME (Docker's) or tar://PATH (a docker save archive)");
            }
        }

        /** Jib's log lines as a person wants them: no colour codes, a retried request once with its count. */
        static String tidy(List<String> log) {
            var counts = new LinkedHashMap<String, Integer>();
            for (String line : log) counts.merge(line.replaceAll("\u001B\\[[;\\d]*m", ""), 1, Integer::sum);
            var text = new StringBuilder();
            counts.forEach((line, n) -> text.append(line).append(n > 1 ? " (×" + n + ")" : "").append('\n'));
            return text.toString();
        }

        static JibContainerBuilder from(String base) throws InvalidImageReferenceException {
            if (base.startsWith("docker://")) {
                var image = DockerDaemonImage.named(base.substring("docker://".length()));
                // Jib asks the engine with `docker save`; Podman answers the same command.
                if (Proc.which("docker") == null && Proc.which("podman") != null) image.setDockerExecutable(Proc.which("podman"));
                return Jib.from(image);
            }
            if (base.startsWith("tar://")) return Jib.from(TarImage.at(Path.of(base.substring("tar://".length())).toAbsolutePath()));
            return Jib.from(RegistryImage.named(base)).setPlatforms(Set.of(platform()));
        }

        /**
         * Compiles one service into a folder of its own under build/ (a fresh one each time, so that builds
         * running side by side, or `local` running from its classes, never see each other's files).
         */
        static Path compile(Path root, String name) throws IOException {
            Path classes = Files.createTempDirectory(Files.createDirectories(root.resolve("build/classes")), name + "-");
            var javac = ToolProvider.getSystemJavaCompiler();
            var output = new ByteArrayOutputStream();
            int rc = javac.run(null, output, output, "--release", "25", "-proc:none", "-implicit:none",
                    "--class-path", classes.toString(), "-d", classes.toString(), root.resolve(name + ".java").toString());
            if (rc != 0) {
                delete(classes);
                throw new Failure("javac failed on " + name + ".java", output.toString(UTF_8));
            }
            return classes;
        }

        static void delete(Path dir) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            } catch (IOException e) {
                // a leftover under build/ is harmless
            }
        }
    }

    static class BaseImageConverter implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                if (value.startsWith("docker://")) ImageReference.parse(value.substring("docker://".length()));
                else if (value.startsWith("tar://")) {
                    Path tar = Path.of(value.substring("tar://".length()));
                    if (!Files.isRegularFile(tar)) throw new CommandLine.TypeConversionException("no file " + tar.toAbsolutePath() + " (tar://PATH takes a `docker save` archive)");
                } else ImageReference.parse(value);
                return value;
            } catch (InvalidImageReferenceException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an image reference (e.g. eclipse-temurin:25-jre, docker://NAME, tar://PATH)");
            }
        }
    }

    static class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        static final Pattern GO = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

        @Override
        public Duration convert(String value) {
            Matcher m = GO.matcher(value);
            if (value.isEmpty() || !m.matches()) throw new CommandLine.TypeConversionException("'" + value + "' is not a duration (e.g. 90s, 5m, 1m30s)");
            long s = 0;
            for (int g = 1; g <= 3; g++) if (m.group(g) != null) s += Long.parseLong(m.group(g)) * new long[] {3600, 60, 1}[g - 1];
            if (s == 0) throw new CommandLine.TypeConversionException("the timeout must be above 0s");
            return Duration.ofSeconds(s);
        }
    }

    // ---- the generated kustomization: the profile's overlay plus the content tags

    static final class Kustomization {
        static Path write(Path root, String profile, Map<String, String> tags) throws IOException {
            Path dir = root.resolve("build/kustomize/" + profile);
            Files.createDirectories(dir);
            var text = new StringBuilder("""
                    # Generated by deploy.java (rewritten on every run): the %s overlay with this checkout's image tags.
                    apiVersion: kustomize.config.k8s.io/v1beta1
                    kind: Kustomization
                    resources:
                      - %s
                    images:
                    """.formatted(profile, dir.relativize(root.resolve("manifests/overlays/" + profile))));
            // Quoted: an all-digit hash would otherwise be read as a number.
            tags.forEach((name, tag) -> text.append("  - name: ").append(name).append("\n    newTag: \"").append(tag).append("\"\n"));
            // Written whole, then moved in place: a kubectl reading it never sees half a file.
            Path temp = Files.createTempFile(dir, "kustomization", ".tmp");
            Files.writeString(temp, text);
            Files.move(temp, dir.resolve("kustomization.yaml"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return dir;
        }
    }

    static final class Kubectl {
        static String kustomize(Path dir) {
            return Proc.run(Duration.ofMinutes(1), List.of("kubectl", "kustomize", dir.toString())).orFail("kubectl kustomize " + dir).out();
        }
    }

    /** A Deployment (or DaemonSet, StatefulSet) in applied YAML: what to wait for, and how to find its pods. */
    record Workload(String kind, String namespace, String name, String selector) {
        static final Set<String> KINDS = Set.of("Deployment", "DaemonSet", "StatefulSet");

        @SuppressWarnings("unchecked")
        /** The objects of kubectl apply -o yaml, which answers a List of what it applied. */
        static List<Object> objects(String yaml) {
            var objects = new ArrayList<Object>();
            for (Object doc : new Yaml().loadAll(yaml)) {
                if (doc instanceof Map<?, ?> m && "List".equals(m.get("kind"))) objects.addAll((List<Object>) m.get("items"));
                else if (doc != null) objects.add(doc);
            }
            return objects;
        }

        /** "13 objects: 1 Namespace, 3 Deployment, ..." in the order kubectl applied them. */
        static String summary(String yaml) {
            var kinds = new LinkedHashMap<String, Integer>();
            List<Object> objects = objects(yaml);
            for (Object o : objects) if (o instanceof Map<?, ?> m) kinds.merge(String.valueOf(m.get("kind")), 1, Integer::sum);
            var parts = new ArrayList<String>();
            kinds.forEach((kind, n) -> parts.add(n + " " + kind));
            return objects.size() + " objects: " + String.join(", ", parts);
        }

        @SuppressWarnings("unchecked")
        static List<Workload> in(String yaml) {
            var found = new ArrayList<Workload>();
            for (Object object : objects(yaml)) {
                if (!(object instanceof Map<?, ?> m) || !KINDS.contains(m.get("kind"))) continue;
                var meta = (Map<String, Object>) m.get("metadata");
                var spec = (Map<String, Object>) m.get("spec");
                var labels = (Map<String, Object>) ((Map<String, Object>) spec.get("selector")).get("matchLabels");
                var selector = new StringBuilder();
                labels.forEach((k, v) -> selector.append(selector.isEmpty() ? "" : ",").append(k).append('=').append(v));
                found.add(new Workload(((String) m.get("kind")).toLowerCase(), (String) meta.getOrDefault("namespace", "default"),
                        (String) meta.get("name"), selector.toString()));
            }
            return found;
        }
    }

    // ---- the kind cluster; kubectl always with its context, so no other cluster is ever touched

    record Kind(String name, String engine) {
        String context() {
            return "kind-" + name;
        }

        Map<String, String> env() {
            return engine.equals("podman") ? Map.of("KIND_EXPERIMENTAL_PROVIDER", "podman") : Map.of();
        }

        Proc.Ran run(Duration timeout, String... args) {
            var command = new ArrayList<String>(List.of("kind"));
            command.addAll(List.of(args));
            return Proc.run(timeout, command, env());
        }

        Proc.Ran kubectl(Duration timeout, String... args) {
            var command = new ArrayList<String>(List.of("kubectl", "--context", context()));
            command.addAll(List.of(args));
            return Proc.run(timeout, command);
        }

        boolean exists() {
            return run(Duration.ofSeconds(30), "get", "clusters").orFail("kind get clusters").out().lines().anyMatch(name::equals);
        }

        List<String> nodes() {
            return run(Duration.ofSeconds(30), "get", "nodes", "--name", name).orFail("kind get nodes").out().lines().filter(l -> !l.isBlank()).toList();
        }

        /** The kind config from manifests/ with its hostPort set from --port, written to build/kind/. */
        @SuppressWarnings("unchecked")
        String create(Path root, int port, String nodeImage, Duration timeout) throws IOException {
            Path source = root.resolve("manifests/kind/cluster.yaml");
            Map<String, Object> config = new Yaml().load(Files.readString(source));
            int mapped = 0;
            for (var node : (List<Map<String, Object>>) config.getOrDefault("nodes", List.of())) {
                for (var mapping : (List<Map<String, Object>>) node.getOrDefault("extraPortMappings", List.of())) {
                    if (Integer.valueOf(80).equals(mapping.get("containerPort"))) {
                        mapping.put("hostPort", port);
                        mapped++;
                    }
                }
            }
            if (mapped == 0) throw new Failure(root.relativize(source) + " maps no containerPort 80 (where the ingress listens) to the host");
            var options = new DumperOptions();
            options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
            Path effective = root.resolve("build/kind/" + name + ".yaml");
            Files.createDirectories(effective.getParent());
            Files.writeString(effective, "# Generated by deploy.java from manifests/kind/cluster.yaml, hostPort " + port + ".\n"
                    + new Yaml(options).dump(config));
            var args = new ArrayList<>(List.of("create", "cluster", "--name", name, "--config", effective.toString(),
                    "--wait", timeout.toSeconds() + "s"));
            if (nodeImage != null) args.addAll(List.of("--image", nodeImage));
            run(timeout.plusMinutes(5), args.toArray(String[]::new)).orFail("kind create cluster");
            return nodeImage == null ? null : "node image " + nodeImage;
        }

        /** The host port mapped to the node's port 80, where the ingress controller listens. */
        int hostPort() {
            for (String node : nodes()) {
                var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "port", node, "80/tcp"));
                Matcher m = Pattern.compile(":(\\d+)\\s*$", Pattern.MULTILINE).matcher(ran.out());
                if (ran.exit() == 0 && m.find()) return Integer.parseInt(m.group(1));
            }
            throw new Failure("cluster " + name + " maps no host port to port 80 of its nodes (not made by deploy.java?):"
                    + " delete it with `jbang deploy.java down" + ClusterOption.flag(name) + "` and run up again");
        }

        String checkHostPort(int port) {
            for (String node : nodes()) {
                var running = Proc.run(Duration.ofSeconds(30), List.of(engine, "inspect", "-f", "{{.State.Running}}", node));
                if (!running.out().strip().equals("true")) throw new Failure("cluster " + name + " is there but its node " + node
                        + " is not running (after a restart?): start it with `" + engine + " start " + node + "`, or delete the cluster with"
                        + " `jbang deploy.java down" + ClusterOption.flag(name) + "` and run up again");
            }
            int mapped = hostPort();
            if (mapped != port) throw new Failure("cluster " + name + " was created with host port " + mapped + ", not " + port
                    + ": run with --port " + mapped + ", or `jbang deploy.java down` first to recreate it");
            return "created before; host port " + port;
        }

        /**
         * Loads only what some node lacks, asking each node's containerd (crictl) for the exact tag; the
         * kubelet's own list in the node status would do too, but it stops at 50 images.
         */
        String load(List<Image> images) {
            var present = new ArrayList<String>();
            var loaded = new ArrayList<String>();
            var nodes = nodes();
            var onNodes = nodes.stream().map(this::imagesOn).toList();
            for (Image image : images) {
                // What `kind load` names hello:tag inside containerd.
                String ref = "docker.io/library/" + image.ref();
                if (onNodes.stream().allMatch(refs -> refs.contains(ref))) {
                    present.add(image.name());
                } else {
                    run(Duration.ofMinutes(5), "load", "image-archive", image.tar().toString(), "--name", name)
                            .orFail("kind load image-archive " + image.tar().getFileName());
                    loaded.add(image.name());
                }
            }
            if (loaded.isEmpty()) return "all " + present.size() + " already present on " + String.join(", ", nodes);
            return "loaded " + String.join(", ", loaded) + (present.isEmpty() ? "" : "; " + String.join(", ", present) + " already present");
        }

        @SuppressWarnings("unchecked")
        Set<String> imagesOn(String node) {
            var ran = Proc.run(Duration.ofSeconds(30), List.of(engine, "exec", node, "crictl", "images", "-o", "json"))
                    .orFail("crictl images on node " + node);
            var refs = new HashSet<String>();
            Map<String, Object> json = new Yaml().load(ran.out());
            for (var image : (List<Map<String, Object>>) json.getOrDefault("images", List.of())) {
                refs.addAll((List<String>) image.getOrDefault("repoTags", List.of()));
            }
            return refs;
        }

        /** Waits for every rollout under one deadline; on failure shows the unready pods' events and logs. */
        String rollout(List<Workload> workloads, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Workload w : workloads) {
                long left = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
                var ran = kubectl(Duration.ofSeconds(left + 30), "-n", w.namespace(), "rollout", "status", w.kind() + "/" + w.name(),
                        "--timeout=" + left + "s");
                if (ran.exit() != 0) {
                    throw new Failure(w.namespace() + "/" + w.name() + " did not roll out within " + format(timeout)
                            + " (its unready pods' events and logs are above)", ran.both() + "\n" + diagnose(w));
                }
            }
            return null;
        }

        static String orNone(String text) {
            return text.isBlank() ? "(none yet)" : text.strip();
        }

        String diagnose(Workload w) {
            var text = new StringBuilder();
            String pods = kubectl(Duration.ofSeconds(30), "-n", w.namespace(), "get", "pods", "-l", w.selector(), "-o",
                    "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}").out();
            for (String line : pods.lines().toList()) {
                String[] f = line.split(" ");
                if (f.length > 1 && f[1].equals("True")) continue;
                text.append("--- pod ").append(f[0]).append(": events\n")
                        .append(kubectl(Duration.ofSeconds(30), "-n", w.namespace(), "get", "events",
                                "--field-selector", "involvedObject.name=" + f[0], "--sort-by=.lastTimestamp").both().strip()).append('\n')
                        .append("--- pod ").append(f[0]).append(": last log lines\n")
                        .append(orNone(kubectl(Duration.ofSeconds(30), "-n", w.namespace(), "logs", f[0], "--all-containers", "--tail=20").both())).append('\n');
            }
            if (!text.isEmpty()) return text.toString();
            // No pod at all (refused by admission, say): the warnings say why.
            return "--- no unready pods of " + w.name() + "; warnings in " + w.namespace() + ":\n"
                    + kubectl(Duration.ofSeconds(30), "-n", w.namespace(), "get", "events", "--field-selector", "type=Warning",
                            "--sort-by=.lastTimestamp").both().strip();
        }
    }

    // ---- HTTP

    static final class Http {
        /** The ingress as a user types it: no port when it is 80. */
        static URI ingress(int port) {
            return URI.create(port == 80 ? "http://localhost/" : "http://localhost:" + port + "/");
        }

        static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(3)).build();

        /** The body of GET url, or what went wrong, in a few words. */
        static String ask(URI url) {
            try {
                var response = CLIENT.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                String body = response.body().strip();
                if (body.length() > 80) body = body.substring(0, 80) + "…";
                return response.statusCode() == 200 ? body : "HTTP " + response.statusCode() + " " + body;
            } catch (IOException e) {
                return "no answer (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }

        static String expectHelloWorld(URI url, Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            String last;
            do {
                last = ask(url);
                if (last.equals("Hello World")) return null;
                Thread.sleep(1000);
            } while (System.nanoTime() < deadline);
            throw new Failure(url + " did not answer Hello World within " + format(bound) + "; last answer: " + last);
        }

        static boolean ready(URI url) {
            return ask(url.resolve("/readyz")).equals("ready");
        }
    }

    // ---- local: the three services as child JVMs

    /** The three services as child JVMs of this one, on classes compiled here; SIGTERM or Ctrl+C stops them. */
    static final class LocalRun {
        static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");
        static final Duration READY = Duration.ofSeconds(30);

        final Path root;
        final int port;
        final Map<String, Path> classes = new ConcurrentHashMap<>();
        final List<Child> children = new CopyOnWriteArrayList<>();
        final AtomicBoolean stopping = new AtomicBoolean();

        LocalRun(Path root, int port) {
            this.root = root;
            this.port = port;
        }

        int run() throws Exception {
            // The JVM runs this on SIGTERM and Ctrl+C (SIGINT), and on its way out after an ERROR.
            Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
            try {
                step("Compiling hello, world, joiner", () -> {
                    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                        var compiles = SERVICES.stream().map(n -> pool.submit(() -> classes.put(n, Image.compile(root, n)))).toList();
                        for (var c : compiles) {
                            try {
                                c.get();
                            } catch (ExecutionException e) {
                                throw e.getCause() instanceof Failure f ? f : new Failure("compiling failed: " + e.getCause());
                            }
                        }
                    }
                    return note(null);
                });
                var urls = new LinkedHashMap<String, URI>();
                step("Starting hello, world, joiner (waiting ≤ " + format(READY) + " until each is ready)", () -> {
                    // Only joiner's port is the product's; hello and world take free ports, so they clash with nothing.
                    for (String name : List.of("hello", "world")) urls.put(name, start(name, Map.of("PORT", "0")));
                    urls.put("joiner", start("joiner", Map.of("PORT", Integer.toString(port),
                            "HELLO_SERVICE", urls.get("hello").getAuthority(), "WORLD_SERVICE", urls.get("world").getAuthority())));
                    long deadline = System.nanoTime() + READY.toNanos();
                    for (var e : urls.entrySet()) {
                        while (!Http.ready(e.getValue())) {
                            if (System.nanoTime() > deadline) throw new Failure(e.getKey() + " was not ready within " + format(READY));
                            Thread.sleep(100);
                        }
                    }
                    return note("hello on " + urls.get("hello").getAuthority() + ", world on " + urls.get("world").getAuthority());
                });
                System.out.println("http://localhost:" + urls.get("joiner").getPort() + "/");
                System.err.println("Press Ctrl+C to stop all three.");
                var first = (Process) CompletableFuture.anyOf(children.stream().map(c -> c.process.onExit()).toArray(CompletableFuture[]::new)).get();
                if (stopping.get()) Thread.currentThread().join(); // the shutdown hook is stopping them, then the JVM ends
                Child dead = children.stream().filter(c -> c.process == first).findFirst().orElseThrow();
                throw new Failure(dead.name + " stopped by itself (exit " + first.exitValue() + ")", dead.lastLines());
            } catch (Failure f) {
                stop(); // before the ERROR line, so that it is the last one
                throw f;
            }
        }

        URI start(String name, Map<String, String> env) throws Exception {
            Child child = Child.start(name, classes.get(name), env);
            children.add(child);
            return child.url(READY);
        }

        /** Once: SIGTERM to each child (each finishes its requests in flight), then their exit, bounded. */
        void stop() {
            if (!stopping.compareAndSet(false, true)) return;
            children.forEach(c -> c.process.destroy());
            for (Child c : children) {
                try {
                    if (!c.process.waitFor(20, TimeUnit.SECONDS)) c.process.destroyForcibly();
                } catch (InterruptedException e) {
                    c.process.destroyForcibly();
                }
            }
            classes.values().forEach(Image::delete);
            if (!children.isEmpty()) System.err.println(" ✓ Stopped " + String.join(", ", children.stream().map(c -> c.name).toList()));
        }
    }

    static final class Child {
        final String name;
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final CompletableFuture<URI> listening = new CompletableFuture<>();

        private Child(String name, Process process) {
            this.name = name;
            this.process = process;
        }

        static Child start(String name, Path classes, Map<String, String> env) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            var pb = new ProcessBuilder(java, "-cp", classes.toString(), name).redirectErrorStream(true);
            pb.environment().remove("HOST"); // loopback only: this is for the person at this machine
            pb.environment().putAll(env);
            var child = new Child(name, pb.start());
            Thread.ofVirtual().start(() -> {
                try (var reader = child.process.inputReader(UTF_8)) {
                    for (String line; (line = reader.readLine()) != null; ) {
                        child.lines.add(line);
                        if (child.lines.size() > 40) child.lines.removeFirst();
                        Matcher m = LocalRun.LISTENING.matcher(line);
                        if (m.find()) child.listening.complete(URI.create(m.group(1)));
                    }
                } catch (IOException ignored) {
                    // the child is gone; its exit code tells
                }
                child.listening.completeExceptionally(new Failure(name + " ended before it listened (a port taken? "
                        + (name.equals("joiner") ? "choose another with --port" : "its output is above") + ")", child.lastLines()));
            });
            return child;
        }

        URI url(Duration bound) throws InterruptedException {
            try {
                return listening.get(bound.toSeconds(), TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw (Failure) e.getCause();
            } catch (TimeoutException e) {
                throw new Failure(name + " did not say where it listens within " + format(bound), lastLines());
            }
        }

        String lastLines() {
            return String.join("\n", lines);
        }
    }

    // ---- subprocesses: argument lists, output captured, shown only when they fail

    static final class Proc {
        record Ran(List<String> command, int exit, String out, String err) {
            String both() {
                return (out + (out.isEmpty() || out.endsWith("\n") ? "" : "\n") + err).strip();
            }

            Ran orFail(String what) {
                if (exit != 0) throw new Failure(what + " failed (exit " + exit + "): " + String.join(" ", command), both());
                return this;
            }
        }

        static Path which(String tool) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
                if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
            }
            return null;
        }

        static Ran run(Duration timeout, List<String> command) {
            return run(timeout, command, Map.of());
        }

        static Ran run(Duration timeout, List<String> command, Map<String, String> env) {
            if (verbose) System.err.println("   $ " + String.join(" ", command));
            var pb = new ProcessBuilder(command);
            pb.environment().putAll(env);
            try {
                Process p = pb.start();
                p.getOutputStream().close();
                var out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
                var err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroy);
                    p.destroy();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
                    throw new Failure("`" + String.join(" ", command) + "` did not finish within " + format(timeout), out.join() + err.join());
                }
                var ran = new Ran(command, p.exitValue(), out.join(), err.join());
                if (verbose && !ran.both().isEmpty()) System.err.println(indent(ran.both()));
                return ran;
            } catch (IOException e) {
                throw new Failure("cannot run " + command.getFirst() + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("interrupted while running " + command.getFirst());
            }
        }

        /** All a stream gives; what came before an error too (Process.destroy closes this end of the pipe). */
        static String drain(InputStream in) {
            var bytes = new ByteArrayOutputStream();
            try (in) {
                in.transferTo(bytes);
            } catch (IOException e) {
                // keep what was read
            }
            return bytes.toString(UTF_8);
        }
    }
}
