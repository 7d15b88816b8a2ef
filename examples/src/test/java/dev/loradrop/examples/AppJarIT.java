package dev.loradrop.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged app, started as {@code ./loradrop} starts it: what the in-process tests cannot
 * see, such as resources the shaded jar lost.
 */
class AppJarIT {

    private static final Path JAR = Path.of("target", "loradrop.jar");

    @Test
    void backendsListsAllThreeAndPrintsNoWarnings(@TempDir Path dir) throws Exception {
        assertThat(JAR).as("the app jar (built in the package phase)").isRegularFile();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-modules");
        command.add("jdk.incubator.vector");
        if (Runtime.version().feature() >= 24) {
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        // ND4J's natives unpack under target/, as in the other tests, not into ~/.javacpp/cache.
        Path target = JAR.toAbsolutePath().getParent();
        command.add("-Dorg.bytedeco.javacpp.cachedir=" + target.resolve("javacpp-cache"));
        command.add("-Djava.io.tmpdir=" + target);
        command.add("-jar");
        command.add(JAR.toString());
        command.add("backends");
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("finished within 120 s").isTrue();
        String stdout = read(out);
        String stderr = read(err);

        assertThat(process.exitValue()).as(stderr).isZero();
        assertThat(stdout).contains("Compute backends found: 3").containsPattern("(?m)^  cpu ")
                .containsPattern("(?m)^  nd4j ").containsPattern("(?m)^  gpu ");
        // The JVM's own note on the incubator module is the only line on stderr: JavaCPP warned
        // "Version of org.bytedeco:openblas could not be found." when the jar lost its
        // pom.properties.
        assertThat(stderr.lines().filter(line -> !line.startsWith("WARNING: Using incubator modules")))
                .as("stderr of `loradrop backends`").isEmpty();
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }
}
