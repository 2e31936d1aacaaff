import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The proof: what the URL answers, asked as a user would, and which code answered it. Every answer carries
 * X-Version (TEAM.md "Versions"): joiner's is "joiner=V, hello=V, world=V", so one request names all three.
 */
final class Http {
    /** Answers in a row that must come from exactly what was deployed: one could be luck, five on one connection pool are not. */
    static final int IN_A_ROW = 5;

    /** The ingress as a user types it: no port when it is 80. */
    static URI ingress(int port) {
        return URI.create(port == 80 ? "http://localhost/" : "http://localhost:" + port + "/");
    }

    /**
     * One answer: its status (0 when none came), its body in a few words (or what went wrong), and the versions
     * its X-Version header names, in the order named.
     */
    record Answer(int status, String body, Map<String, String> versions) {
        /** The body, and the status when it is not 200: what status prints after the URL. */
        String shown() {
            return status == 200 ? body : status == 0 ? body : "HTTP " + status + " " + body;
        }

        /**
         * Null when this answer comes from exactly the deployed versions: 200, the entry service named, and every
         * service named that was deployed has its deployed tag; else what differs, in a few words.
         */
        String differs(Map<String, String> deployed, String entry) {
            if (status != 200) return "answered " + shown();
            if (!versions.containsKey(entry)) return "answered without " + entry + "'s version (X-Version: " + header() + ")";
            var stale = new ArrayList<String>();
            versions.forEach((name, version) -> {
                String want = deployed.get(name);
                if (want != null && !want.equals(version)) stale.add(name + "=" + version + " (deployed: " + want + ")");
            });
            return stale.isEmpty() ? null : "answered from " + String.join(", ", stale);
        }

        String header() {
            var parts = new ArrayList<String>();
            versions.forEach((name, version) -> parts.add(name + "=" + version));
            return parts.isEmpty() ? "none" : String.join(", ", parts);
        }
    }

    /**
     * GET url, as it answers; a failure to connect or read is an answer with status 0. With the JDK's URLConnection,
     * not its HttpClient: that one costs this short-lived JVM ~0.5 s to make, ~0.3 s more for its first request and
     * ~0.3 s more to exit (measured), for five GETs that take 0.2 s here.
     */
    static Answer ask(URI url) {
        HttpURLConnection connection = null;
        try {
            connection = (HttpURLConnection) url.toURL().openConnection();
            connection.setConnectTimeout(3000);
            connection.setReadTimeout(5000);
            connection.setInstanceFollowRedirects(false);
            int status = connection.getResponseCode();
            String body;
            try (InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
                body = in == null ? "" : new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8).strip();
            }
            if (body.length() > 80) body = body.substring(0, 80) + "…";
            String header = connection.getHeaderField("X-Version");
            return new Answer(status, body, versions(header == null ? "" : header));
        } catch (IOException | IllegalArgumentException e) {
            if (connection != null) connection.disconnect();
            return new Answer(0, "no answer (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", Map.of());
        }
    }

    /** "joiner=a, hello=b, world=c" → {joiner=a, hello=b, world=c}; a part without "=" is skipped, the first of a name wins. */
    static Map<String, String> versions(String header) {
        var versions = new LinkedHashMap<String, String>();
        for (String part : header.split(",")) {
            int eq = part.indexOf('=');
            if (eq > 0) versions.putIfAbsent(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
        }
        return versions;
    }

    /**
     * Asks until IN_A_ROW answers in a row come from exactly the deployed versions, within the bound; answers the
     * last, and its versions as a note. A changed body is no failure: the code is the user's to change, and the versions say which code answered.
     */
    static Step.Done<Answer> expectVersions(URI url, Map<String, String> deployed, String entry, Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        Answer last;
        String why;
        int inARow = 0;
        do {
            last = ask(url);
            why = last.differs(deployed, entry);
            if (why == null && ++inARow == IN_A_ROW) return new Step.Done<>(last, last.header());
            if (why != null) {
                inARow = 0;
                Thread.sleep(200);
            }
        } while (System.nanoTime() < deadline);
        throw new Failure(url + " did not answer from the versions just deployed within " + Failure.format(bound) + "; it "
                + (why != null ? why : "answered so only " + inARow + " times in a row"));
    }

    static boolean ready(URI url) {
        return ask(url.resolve("/readyz")).body().equals("ready");
    }
}
