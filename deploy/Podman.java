import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

/**
 * --base-image docker://NAME when Podman is the engine. Jib reads a local image with `docker inspect -f {{json .}}`
 * and `docker save`; Podman answers the first with an array where Jib expects Docker's object ("Cannot deserialize
 * value of type CliDockerClient$DockerImageDetails from Array value"). So the image is saved once as a docker-format
 * archive, named by its image ID (a changed image, a new archive), and Jib builds from that, as from tar://PATH.
 */
final class Podman {
    /** One save at a time: the images build side by side, on the same base. */
    static synchronized Path save(Path root, String name) {
        var inspect = Proc.run(Duration.ofSeconds(30), List.of("podman", "image", "inspect", "--format", "{{.Id}}", name));
        if (inspect.exit() != 0) {
            throw new Failure("Podman has no image " + name + " (`podman images` lists them; `podman pull " + name + "` or"
                    + " `podman load -i FILE` brings it)", inspect.both());
        }
        String id = inspect.out().strip();
        Path dir = root.resolve("build/podman");
        Path archive = dir.resolve(id.substring(0, Math.min(16, id.length())) + ".tar");
        if (Files.isRegularFile(archive)) return archive;
        try {
            Files.createDirectories(dir);
            Path part = dir.resolve(archive.getFileName() + ".part");
            Files.deleteIfExists(part);
            Proc.run(Duration.ofMinutes(5), List.of("podman", "save", "--format", "docker-archive", "-o", part.toString(), name))
                    .orFail("podman save " + name);
            Files.move(part, archive, StandardCopyOption.ATOMIC_MOVE);
            return archive;
        } catch (IOException e) {
            throw new Failure("cannot keep the archive of " + name + " in " + dir + ": " + e.getMessage());
        }
    }
}
