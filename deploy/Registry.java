import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InsecureRegistryException;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.RegistryUnauthorizedException;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import com.google.cloud.tools.jib.registry.RegistryCredentialsNotSentException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Where --registry sends the images: a registry host with an optional path ({@code ghcr.io/acme/hello-world} makes
 * {@code ghcr.io/acme/hello-world/hello}), or {@code local[:PORT]}, the registry container beside kind
 * ({@link LocalRegistry}, {@code localhost:5001} by default).
 *
 * @param prefix   what each service's name is appended to, e.g. {@code localhost:5001} or {@code ghcr.io/acme/hello-world}
 * @param host     the registry's host[:port], the part a login names
 * @param local    the port of the local registry, or 0 when this is any other registry
 * @param insecure plain HTTP (and unverified TLS) allowed beyond loopback (--insecure-registry)
 */
record Registry(String prefix, String host, int local, boolean insecure) {
    static final int LOCAL_PORT = 5001;
    static final Pattern LOCAL = Pattern.compile("local(?::(\\d{1,5}))?");

    /** The options of up and images; {@link #registry()} is null without --registry. */
    static final class Options {
        @Option(names = "--registry", paramLabel = "REF",
                description = {"Push the images there with Jib (only the layers it lacks) and deploy them by digest:"
                        + " a registry and optional path (localhost:5001, ghcr.io/acme/hello-world → ghcr.io/acme/hello-world/hello),"
                        + " or `local`: a registry container beside kind on localhost:" + LOCAL_PORT + " (local:PORT for another port).",
                        "Logins are Docker's (docker login; credential helpers) or Podman's; never printed."})
        String ref;

        @Option(names = "--insecure-registry",
                description = "Allow plain HTTP (and unverified TLS) to the --registry; needed only beyond loopback (localhost is allowed).")
        boolean insecure;

        Registry registry(CommandLine.Model.CommandSpec spec) {
            if (ref == null) {
                if (insecure) throw new CommandLine.ParameterException(spec.commandLine(), "--insecure-registry needs --registry");
                return null;
            }
            try {
                return parse(ref, insecure);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
    }

    static Registry parse(String ref, boolean insecure) {
        var local = LOCAL.matcher(ref);
        if (local.matches()) {
            int port = local.group(1) == null ? LOCAL_PORT : Integer.parseInt(local.group(1));
            if (port < 1 || port > 65535) throw new IllegalArgumentException("--registry local:PORT takes a port 1-65535, not " + port);
            return new Registry("localhost:" + port, "localhost:" + port, port, insecure);
        }
        String prefix = ref.endsWith("/") ? ref.substring(0, ref.length() - 1) : ref;
        String host = prefix.split("/", 2)[0];
        String path = prefix.substring(host.length());
        // Docker's rule for a first part that is a registry; without one, "acme" would silently mean docker.io/acme.
        boolean named = host.contains(".") || host.contains(":") || host.equals("localhost");
        if (!named || path.contains(":") || path.contains("@")) {
            throw new IllegalArgumentException("--registry " + ref + " is not host[:port][/path] (no tag, no digest):"
                    + " e.g. localhost:5001, ghcr.io/acme/hello-world, docker.io/acme, or `local`");
        }
        try {
            ImageReference.parse(prefix + "/hello");
        } catch (InvalidImageReferenceException e) {
            throw new IllegalArgumentException("--registry " + ref + " is not a registry reference (e.g. localhost:5001, ghcr.io/acme/hello-world)");
        }
        return new Registry(prefix, host, 0, insecure);
    }

    /** The repository of a service's image, e.g. ghcr.io/acme/hello-world/hello. */
    String repository(String service) {
        return prefix + "/" + service;
    }

    /** Registries on this machine's loopback: plain HTTP never leaves it, so it needs no --insecure-registry. */
    boolean loopback() {
        String name = host.replaceFirst(":\\d+$", "");
        return name.equals("localhost") || name.startsWith("127.") || name.equals("[::1]");
    }

    boolean plainHttp() {
        return loopback() || insecure;
    }

    /** The login command the user knows, for their engine (Podman has its own store). */
    String login() {
        return (Proc.which("docker") == null && Proc.which("podman") != null ? "podman" : "docker") + " login " + host;
    }

    /**
     * The push target, with the credentials where users keep them: Docker's config.json (its auths, credsStore and
     * credHelpers; $DOCKER_CONFIG honoured), Podman's auth.json, and the helpers Jib knows for GCR and ECR.
     * Jib reads them; deploy.java never sees a password.
     */
    RegistryImage target(String reference, Consumer<LogEvent> log) throws InvalidImageReferenceException {
        var image = RegistryImage.named(reference);
        var credentials = CredentialRetrieverFactory.forImage(ImageReference.parse(reference), log);
        for (Path config : configs()) image.addCredentialRetriever(credentials.dockerConfig(config));
        return image.addCredentialRetriever(credentials.wellKnownCredentialHelpers());
    }

    static List<Path> configs() {
        var env = System.getenv();
        var files = new ArrayList<Path>();
        String docker = env.get("DOCKER_CONFIG");
        files.add(docker != null ? Path.of(docker, "config.json") : Path.of(System.getProperty("user.home"), ".docker", "config.json"));
        if (env.get("REGISTRY_AUTH_FILE") != null) files.add(Path.of(env.get("REGISTRY_AUTH_FILE")));
        if (env.get("XDG_RUNTIME_DIR") != null) files.add(Path.of(env.get("XDG_RUNTIME_DIR"), "containers", "auth.json"));
        files.add(Path.of(System.getProperty("user.home"), ".config", "containers", "auth.json"));
        return files.stream().filter(Files::isRegularFile).toList();
    }

    /** Plain HTTP only for loopback or --insecure-registry; credentials go over it only then too. */
    Containerizer allow(Containerizer containerizer) {
        if (plainHttp()) System.setProperty("sendCredentialsOverHttp", "true"); // read by Jib when the build starts
        return containerizer.setAllowInsecureRegistries(plainHttp());
    }

    /** Why a push failed, as one line that names the registry and the way out; null when it is not the registry's doing. */
    String refused(String service, Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String why = switch (t) {
                case RegistryUnauthorizedException u -> u.getHttpResponseException().getStatusCode() == 403
                        ? "403 Forbidden: the login has no right to push " + repository(service)
                        : "401 Unauthorized: " + (configs().isEmpty() ? "no login found" : "the login was refused or there is none for it");
                case RegistryCredentialsNotSentException c -> "it asks for a login, which is not sent over plain HTTP";
                case RegistryAuthenticationFailedException a -> "authentication failed (" + a.getMessage() + ")";
                // Jib's word for a failed handshake, and the JDK's (deploy.java asks first: Push.requireAnswer)
                case InsecureRegistryException _, SSLException _ when !plainHttp() -> "it does not answer HTTPS with a certificate this machine trusts";
                case UnknownHostException _, UnresolvedAddressException _ -> "the name does not resolve";
                case ConnectException c when c.getCause() instanceof ConnectException || c.getCause() instanceof UnresolvedAddressException
                        -> null; // its cause says which
                case ConnectException c -> "nothing answers there";
                default -> null;
            };
            if (why == null) continue;
            String fix = switch (t) {
                case InsecureRegistryException _, SSLException _ -> "if it speaks plain HTTP on a network you trust, add --insecure-registry";
                case ConnectException c when local > 0 -> "run up with --registry " + (local == LOCAL_PORT ? "local" : "local:" + local) + " again";
                case ConnectException c -> "check the address, and that the registry runs";
                case UnknownHostException _, UnresolvedAddressException _ -> "check the address";
                case RegistryCredentialsNotSentException c -> "use HTTPS, or --insecure-registry if the network is yours";
                default -> "log in with `" + login() + "` (or a credential helper), then run this again";
            };
            return host + " refused the push of " + service + " (" + why + "): " + fix;
        }
        return null;
    }
}
