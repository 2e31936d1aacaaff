import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * What status prints: each Deployment ready or not, each service's version deployed (its image tag) beside the
 * version answering through the URL (X-Version, over a few requests, as replicas take turns), and the answer.
 */
final class StatusReport {
    /**
     * status: the cluster (kind's {@code cluster}, or the --context one when given) and its report; a Failure that
     * names what is wrong unless all is well.
     */
    static void check(List<String> services, String cluster, Context context) throws Exception {
        Kubectl kubectl;
        Callable<URI> where;
        String name;
        if (context == null) {
            Tools tools = Tools.check(Need.ENGINE, Need.KIND, Need.KUBECTL).value();
            Kind kind = new Kind(cluster, tools.engine());
            if (!kind.exists()) throw new Failure("there is no cluster " + kind.name() + "; create it with: jbang deploy.java up" + kind.flag());
            System.out.println("cluster      " + kind.name() + " (kubectl context " + kind.context() + ")");
            kubectl = kind.kubectl();
            where = () -> Http.ingress(kind.hostPort());
            name = kind.name();
        } else {
            Tools.check(Need.KUBECTL);
            System.out.println("context      " + context.name() + " (" + context.check().note() + ")");
            kubectl = context.kubectl();
            where = () -> context.url(Duration.ZERO);
            name = context.name();
        }
        var problems = print(services, kubectl.deployments(), where.call());
        if (!problems.isEmpty()) throw new Failure(name + " is not healthy: " + String.join("; ", problems));
    }

    /** Prints the report; answers what is wrong, one problem a line, none when all is well. */
    static List<String> print(List<String> services, List<Kubectl.Readiness> deployments, URI url) {
        var problems = new ArrayList<String>();
        var answers = new ArrayList<Http.Answer>();
        for (int i = 0; i < Http.IN_A_ROW; i++) answers.add(Http.ask(url));
        var answering = new LinkedHashMap<String, Set<String>>();
        for (Http.Answer a : answers) a.versions().forEach((name, version) -> answering.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(version));

        for (Kubectl.Readiness d : deployments) {
            if (d.name().equals("traefik")) System.out.printf("deployment   %-22s %s/%s ready%n", d.id(), d.ready(), d.wanted());
        }
        for (String service : services) {
            Kubectl.Readiness d = deployments.stream().filter(r -> r.name().equals(service)).findFirst().orElse(null);
            if (d == null) {
                problems.add("there is no Deployment " + service + " (run up)");
                continue;
            }
            if (!d.ready().equals(d.wanted())) problems.add(d.id() + " is " + d.ready() + "/" + d.wanted() + " ready");
            Set<String> seen = answering.getOrDefault(service, Set.of());
            String answer = seen.isEmpty() ? "not named in X-Version" : String.join(" and ", seen);
            if (!seen.isEmpty() && !seen.equals(Set.of(d.version()))) {
                answer += " (not what is deployed)";
                problems.add(service + " answers " + String.join(" and ", seen) + " but " + d.version() + " is deployed (a rollout under way? ask again)");
            }
            System.out.printf("deployment   %-22s %s/%s ready   deployed %s   answering %s%n", d.id(), d.ready(), d.wanted(), d.version(), answer);
        }
        Http.Answer last = answers.getLast();
        System.out.println("url          " + url + " → " + last.shown());
        String entry = services.getLast();
        for (Http.Answer a : answers) {
            if (a.status() != 200) {
                problems.add(url + " " + (a.status() == 0 ? "gives " + a.body() : "answers " + a.shown()));
                break;
            }
            if (!a.versions().containsKey(entry)) {
                problems.add(url + " answers without " + entry + "'s version (X-Version: " + a.header() + ")");
                break;
            }
        }
        return problems;
    }
}
