import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The runner itself: it finds the repository and every test class. */
class RunnerTest {
    @Test
    void finds_the_repository_root_and_the_test_classes() throws Exception {
        assertTrue(Files.exists(Support.ROOT.resolve("tests/run.java")), Support.ROOT.toString());
        assertTrue(run.allTestClasses().contains("RunnerTest"), run.allTestClasses().toString());
    }
}
