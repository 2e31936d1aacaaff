import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The proof: what the URL answers, asked as a user would. */
final class Http {
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3)).build();

    /** The ingress as a user types it: no port when it is 80. */
    static URI ingress(int port) {
        return URI.create(port == 80 ? "http://localhost/" : "http://localhost:" + port + "/");
    }

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

    /** Asks until the answer is Hello World, once a second, within the bound. */
    static void expectHelloWorld(URI url, Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        String last;
        do {
            last = ask(url);
            if (last.equals("Hello World")) return;
            Thread.sleep(1000);
        } while (System.nanoTime() < deadline);
        throw new Failure(url + " did not answer Hello World within " + Failure.format(bound) + "; last answer: " + last);
    }

    static boolean ready(URI url) {
        return ask(url.resolve("/readyz")).equals("ready");
    }
}
