import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.ToolProvider;

/** The tools on this machine, checked before anything changes: every missing piece is one ERROR line with its fix. */
record Tools(String engine) {
    /** The kind releases the e2e runs with: the oldest, and today's (README: tested versions). */
    static final String KIND_OLDEST = "v0.30.0", KIND_NEWEST = "v0.33.0";
    static final String KIND_INSTALL = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation, e.g. go install sigs.k8s.io/kind@" + KIND_NEWEST;

    static Step.Done<Tools> check(Need... needs) {
        return check(List.of(), needs);
    }

    /** @param lacking what the checkout lacks (Checkout.lacks), reported with the tools' problems */
    static Step.Done<Tools> check(List<String> lacking, Need... needs) {
        var wanted = List.of(needs);
        // Side by side: each takes ~0.1 s, and one after another they were most of this step.
        if (wanted.contains(Need.ENGINE)) start(DOCKER_VERSION);
        if (wanted.contains(Need.KIND)) start(KIND_VERSION);
        if (wanted.contains(Need.KUBECTL)) start(KUBECTL_VERSION);
        var problems = new ArrayList<String>();
        var found = new ArrayList<String>();
        found.add("java " + Runtime.version().feature() + "." + Runtime.version().interim() + "." + Runtime.version().update());
        if (ToolProvider.getSystemJavaCompiler() == null) {
            problems.add("this Java (" + System.getProperty("java.home") + ") has no compiler: run deploy.java on a JDK 25 (jbang picks one with //JAVA 25+)");
        }
        String engine = wanted.contains(Need.ENGINE) ? engine(problems, found) : null;
        if (wanted.contains(Need.KIND)) {
            String kind = version(problems, found, "kind", KIND_VERSION, "kind (v\\S+)",
                    "kind is not on PATH: install it (" + KIND_INSTALL + ")");
            if (kind != null && older(kind, KIND_OLDEST)) {
                problems.add("kind " + kind + " is older than " + KIND_OLDEST + ", the oldest kind this project is tested with"
                        + " (README: tested versions): upgrade it (" + KIND_INSTALL + ")");
            }
        }
        if (wanted.contains(Need.KUBECTL)) version(problems, found, "kubectl", KUBECTL_VERSION, "Client Version: (v\\S+)",
                "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)");
        problems.addAll(lacking);
        if (!problems.isEmpty()) throw new Failure(String.join("\nERROR: ", problems));
        return new Step.Done<>(new Tools(engine), String.join(", ", found));
    }

    /** The first of docker and podman on PATH, if its engine answers. */
    static String engine(List<String> problems, List<String> found) {
        for (String candidate : List.of("docker", "podman")) {
            if (Proc.which(candidate) == null) continue;
            // Both answer only when their engine does (Docker's daemon, Podman's service or machine).
            var v = ask(candidate.equals("docker") ? DOCKER_VERSION : List.of("podman", "info", "--format", "{{.Version.Version}}"));
            if (v.exit() == 0 && !v.out().isBlank()) {
                found.add(candidate + " " + v.out().strip());
                return candidate;
            }
            problems.add(candidate + " is installed but its engine is not running: start it (e.g. sudo systemctl start "
                    + candidate + ", or Docker Desktop), then run this again");
            return "";
        }
        problems.add("no container engine: install Docker Engine (https://docs.docker.com/engine/install/)"
                + " or Podman; without one, `jbang deploy.java local` runs the services on this machine");
        return null;
    }

    /** Adds the tool's version to {@code found}, or why it cannot be used to {@code problems}; answers the version, or null. */
    static String version(List<String> problems, List<String> found, String tool, List<String> command, String pattern, String missing) {
        if (Proc.which(tool) == null) {
            problems.add(missing);
            return null;
        }
        var v = ask(command);
        Matcher m = Pattern.compile(pattern).matcher(v.out());
        if (v.exit() != 0) {
            problems.add("`" + String.join(" ", command) + "` failed (exit " + v.exit() + "): " + v.both().strip());
            return null;
        }
        String version = m.find() ? m.group(1) : null;
        found.add(tool + " " + (version != null ? version : "(version unknown)"));
        return version;
    }

    static final List<String> DOCKER_VERSION = List.of("docker", "version", "--format", "{{.Server.Version}}"),
            KIND_VERSION = List.of("kind", "version"), KUBECTL_VERSION = List.of("kubectl", "version", "--client");
    static final Map<List<String>, CompletableFuture<Proc.Ran>> STARTED = new ConcurrentHashMap<>();

    /** Starts a command whose tool is on PATH, for {@link #ask} to take its answer (-v: one after another, each shown with its output). */
    static void start(List<String> command) {
        if (Proc.verbose || Proc.which(command.getFirst()) == null) return;
        STARTED.put(command, CompletableFuture.supplyAsync(() -> Proc.run(Duration.ofSeconds(30), command), Thread::startVirtualThread));
    }

    /** What a command answers: the one started before, else run now. */
    static Proc.Ran ask(List<String> command) {
        var started = STARTED.remove(command);
        if (started == null) return Proc.run(Duration.ofSeconds(30), command);
        try {
            return started.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** Whether vA.B.C (a suffix such as -alpha aside) is below vX.Y.Z; an unreadable version is not judged. */
    static boolean older(String version, String than) {
        Matcher a = SEMVER.matcher(version), b = SEMVER.matcher(than);
        if (!a.lookingAt() || !b.lookingAt()) return false;
        for (int i = 1; i <= 3; i++) {
            int x = Integer.parseInt(a.group(i)), y = Integer.parseInt(b.group(i));
            if (x != y) return x < y;
        }
        return false;
    }

    static final Pattern SEMVER = Pattern.compile("v(\\d+)\\.(\\d+)\\.(\\d+)");
}
