import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import javax.tools.ToolProvider;

/** A service compiled in-process (the runtime image has no javac), for its image or for `local`. */
final class Classes {
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
