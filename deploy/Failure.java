import java.time.Duration;

/**
 * A step that could not be done: its message is the one ERROR line, its output the failing command's,
 * shown above that line (once: by the step that failed, or else by the handler).
 */
@SuppressWarnings("serial") // never serialized
final class Failure extends RuntimeException {
    final String output;
    boolean shown;

    Failure(String message) {
        this(message, "");
    }

    Failure(String message, String output) {
        super(message);
        this.output = output == null ? "" : output;
    }

    /** Bounds as kind and kubectl print them (90s → 1m30s, 300s → 5m0s): each wait names its bound, and so does its failure. */
    static String format(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? (s / 3600) + "h" + (s % 3600 / 60) + "m" + (s % 60) + "s"
                : s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }
}
