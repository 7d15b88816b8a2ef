package dev.loradrop.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.core.backend.BackendRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class QuickStartTest {

    @Test
    void theReadmeExampleLearnsTheShiftAndMergesExactly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        double ratio = QuickStart.run(BackendRegistry.discover().withLookups(name -> null, name -> null),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(ratio).as(out).isLessThan(0.25);
        assertThat(out).contains("backend: cpu").contains("merged layer");
        String diff = out.substring(out.indexOf("adapter ") + 8).trim();
        assertThat(Double.parseDouble(diff)).as("merged vs adapter").isLessThan(1e-5);
    }
}
