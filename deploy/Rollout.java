import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What every cluster gets, kind or --context: the profile applied with the images' tags (or digests), its rollouts
 * and old pods awaited, then the URL asked until it answers from the versions just deployed. up, dev and up --context
 * share it; so does each dev cycle's apply.
 */
final class Rollout {
    private Rollout() {}

    /** What up leaves behind: the cluster, the URL, the version (tag) deployed of each service, and the answer. */
    record Served(Checkout checkout, Kind kind, URI url, Map<String, String> deployed, Http.Answer answer) {
        /** What up prints last: where it is served, and what to run next. */
        void printNext() {
            System.out.printf("""

                    %s is served at %s

                    Next:
                      curl %s
                      jbang deploy.java status%s
                      kubectl --context %s get pods -A
                      jbang deploy.java down%s
                    """, answer.body(), url, url, kind.flag(), kind.context(), kind.flag());
        }
    }

    /** What the URL answered, once it answered from the versions (tags, or digests' tags) deployed. */
    record Proven(URI url, Map<String, String> deployed, Http.Answer answer) {}

    /** The profile applied, its rollouts and old pods awaited (each wait ≤ timeout), then the URL asked for the new versions. */
    static Proven applyAndProve(String profile, Duration timeout, Checkout checkout, Kubectl kubectl,
                                List<Image> images, List<Push> pushes, Callable<URI> where) throws Exception {
        Path root = checkout.root();
        String bound = Failure.format(timeout);
        List<Workload> workloads = Step.run("Applying the " + profile + " profile (build/kustomize/" + profile + ")",
                () -> applyProfile(profile, root, kubectl, images, pushes));
        Step.run("Waiting ≤ " + bound + " for " + String.join(", ", workloads.stream().map(Workload::name).toList()) + " to roll out",
                () -> Step.note(kubectl.rollout(workloads, timeout)));
        Step.run("Waiting ≤ " + bound + " for the old pods to stop, so that only new ones answer",
                () -> Step.note(OldPods.await(kubectl, workloads, timeout)));
        URI url = where.call();
        Map<String, String> deployed = images != null ? Image.tags(images) : Push.tags(pushes);
        Duration smoke = Duration.ofSeconds(90); // a new route can take tens of seconds on a busy machine
        Http.Answer answer = Step.run("Asking " + url + " for the versions just deployed (" + Http.IN_A_ROW + " answers in a row, retrying ≤ "
                + Failure.format(smoke) + ")", () -> Http.expectVersions(url, deployed, checkout.services().getLast(), smoke));
        return new Proven(url, deployed, answer);
    }

    /** The profile with the images' tags (or digests); what was applied is kept beside it (like the original, up shows what it deployed). */
    static Step.Done<List<Workload>> applyProfile(String profile, Path root, Kubectl kubectl, List<Image> images, List<Push> pushes)
            throws IOException {
        Path kustomization = pushes != null ? Kustomization.writePulled(root, profile, Push.references(pushes))
                : Kustomization.write(root, profile, Image.tags(images));
        Kubectl.Applied applied = kubectl.applyChanged(root, kustomization);
        Path record = kustomization.resolve("applied.yaml");
        if (!applied.unchanged()) Files.writeString(record, applied.answered());
        return new Step.Done<>(Workload.in(applied.objects()), Workload.summary(applied.objects()) + (applied.unchanged() ? ", " + LastApply.UNCHANGED : "")
                + " (as applied: " + root.relativize(record) + ")");
    }
}
