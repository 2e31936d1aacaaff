import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.ToolProvider;

/** The tools on this machine, checked before anything changes: every missing piece is one ERROR line with its fix. */
record Tools(String engine) {
    static Step.Done<Tools> check(Need... needs) {
        return check(List.of(), needs);
    }

    /** @param lacking what the checkout lacks (Checkout.lacks), reported with the tools' problems */
    static Step.Done<Tools> check(List<String> lacking, Need... needs) {
        var wanted = List.of(needs);
        var problems = new ArrayList<String>();
        var found = new ArrayList<String>();
        found.add("java " + Runtime.version().feature() + "." + Runtime.version().interim() + "." + Runtime.version().update());
        if (ToolProvider.getSystemJavaCompiler() == null) {
            problems.add("this Java (" + System.getProperty("java.home") + ") has no compiler: run deploy.java on a JDK 25 (jbang picks one with //JAVA 25+)");
        }
        String engine = wanted.contains(Need.ENGINE) ? engine(problems, found) : null;
        if (wanted.contains(Need.KIND)) version(problems, found, "kind", List.of("kind", "version"), "kind (v\\S+)",
                "kind is not on PATH: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation,"
                        + " e.g. go install sigs.k8s.io/kind@v0.30.0)");
        if (wanted.contains(Need.KUBECTL)) version(problems, found, "kubectl", List.of("kubectl", "version", "--client"), "Client Version: (v\\S+)",
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
            var v = Proc.run(Duration.ofSeconds(30), candidate.equals("docker")
                    ? List.of("docker", "version", "--format", "{{.Server.Version}}")
                    : List.of("podman", "info", "--format", "{{.Version.Version}}"));
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
