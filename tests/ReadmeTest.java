import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The README cannot drift from the code: its commands, variables, options and aliases are checked
 * against the scripts. (The commands themselves run in the other tests: ServicesTest starts
 * `jbang hello.java`, DeployLocalTest `jbang deploy.java local`, E2eTest `jbang deploy.java` and curl.)
 */
class ReadmeTest {
    static String readme() throws IOException {
        return Files.readString(Support.ROOT.resolve("README.md"));
    }

    /** Lines of the README's ```sh blocks, comments cut off. */
    static List<String> shellLines() throws IOException {
        var lines = new java.util.ArrayList<String>();
        Matcher block = Pattern.compile("```sh\\n(.*?)```", Pattern.DOTALL).matcher(readme());
        while (block.find()) {
            for (String line : block.group(1).split("\n")) {
                String command = line.replaceAll("\\s+#.*$", "").strip();
                if (!command.isEmpty()) lines.add(command);
            }
        }
        return lines;
    }

    @Test
    void the_test_command_is_the_one_ci_runs() throws IOException {
        assertTrue(shellLines().contains("jbang tests/run.java"), "README names the test command");
        String ci = Files.readString(Support.ROOT.resolve(".ci/run"));
        assertTrue(ci.lines().anyMatch(l -> l.matches("\\s*(timeout \\S+ )?jbang tests/run\\.java\\s*")),
                ".ci/run runs the README's test command unchanged");
    }

    @Test
    void every_jbang_command_names_a_script_and_subcommand_that_exist() throws IOException {
        Set<String> deployCommands = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^  (\\w+)\\s{2,}").matcher(deployHelp());
        while (m.find()) deployCommands.add(m.group(1));
        assertTrue(deployCommands.containsAll(List.of("up", "dev", "down", "status", "logs", "render", "images", "local")), deployCommands.toString());

        for (String line : shellLines()) {
            if (!line.startsWith("jbang ")) continue;
            String[] words = line.split("\\s+");
            String script = words[1];
            assertTrue(Files.exists(Support.ROOT.resolve(script)), line + ": no " + script);
            if (script.equals("deploy.java") && words.length > 2 && !words[2].startsWith("-")) {
                assertTrue(deployCommands.contains(words[2]), line + ": deploy.java has no command " + words[2]);
            }
        }
    }

    @Test
    void every_variable_a_service_reads_is_in_the_readme_table_and_back() throws IOException {
        // The services read the environment through getenv, number("VAR", ...) and upstream("name", "VAR", ...).
        Pattern reads = Pattern.compile("(?:getenv|number|upstream)\\((?:\"[a-z]+\",\\s*)?\"([A-Z][A-Z_]+)\"");
        Set<String> read = new TreeSet<>();
        for (String s : Support.SERVICES) {
            Matcher m = reads.matcher(Files.readString(Support.ROOT.resolve(s + ".java")));
            while (m.find()) read.add(m.group(1));
        }
        Set<String> documented = new TreeSet<>();
        Matcher row = Pattern.compile("(?m)^\\| `([A-Z][A-Z_]+)` \\| (all|" + String.join("|", Support.SERVICES) + ")").matcher(readme());
        while (row.find()) documented.add(row.group(1));
        assertEquals(read, documented, "environment variables: read by the services vs. documented in README.md");
    }

    @Test
    void every_deploy_option_in_the_readme_exists_and_every_option_is_documented() throws IOException {
        Set<String> inHelp = new TreeSet<>();
        for (String command : List.of("up", "dev", "down", "status", "logs", "render", "images", "local")) {
            Matcher m = Pattern.compile("(?m)^\\s+(?:-\\w, )?--([a-z][a-z-]+)").matcher(deployHelp(command));
            while (m.find()) inHelp.add(m.group(1));
        }
        inHelp.removeAll(List.of("help", "version"));
        Set<String> inReadme = new TreeSet<>();
        Matcher row = Pattern.compile("(?m)^\\| `--([a-z-]+)`").matcher(readme());
        while (row.find()) inReadme.add(row.group(1));
        assertEquals(inHelp, inReadme, "deploy.java options: --help vs. README's option table");
    }

    @Test
    @SuppressWarnings("unchecked")
    void the_catalog_aliases_point_at_scripts_and_are_documented() throws IOException {
        Map<String, Object> catalog = new Yaml().load(Files.readString(Support.ROOT.resolve("jbang-catalog.json")));
        var aliases = (Map<String, Map<String, String>>) catalog.get("aliases");
        var expected = new TreeSet<>(Support.SERVICES);
        expected.addAll(List.of("deploy", "test"));
        assertEquals(expected, new TreeSet<>(aliases.keySet()));
        for (var alias : aliases.entrySet()) {
            String ref = alias.getValue().get("script-ref");
            assertTrue(Files.exists(Support.ROOT.resolve(ref)), alias.getKey() + " → " + ref);
            assertTrue(readme().contains("`jbang " + alias.getKey() + "`"), "README mentions `jbang " + alias.getKey() + "`");
        }
    }

    static String deployHelp(String... command) {
        var args = new java.util.ArrayList<>(List.of("jbang", "deploy.java"));
        args.addAll(List.of(command));
        args.add("--help");
        var result = Support.run(args, Map.of(), Duration.ofMinutes(3));
        assertEquals(0, result.exit(), String.join(" ", args) + "\n" + result.both());
        return result.out();
    }
}
