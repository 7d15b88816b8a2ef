package dev.loradrop.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.io.SafetensorsDType;
import dev.loradrop.core.io.SafetensorsWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InspectCommandTest {

    @TempDir
    Path dir;

    private record Result(int exitCode, String out, String err) {
    }

    private static Result run(String... args) {
        CommandLine cli = LoradropCommand.commandLine(BackendRegistry::discover);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void showsTheConfigAndEveryTensorOfAnAdapterFolder() throws IOException {
        new SafetensorsWriter().metadata("format", "pt")
                .add("base_model.model.0.lora_A.weight", SafetensorsDType.F16, new int[] {2, 3},
                        new double[6])
                .add("base_model.model.0.lora_B.weight", SafetensorsDType.F32, new int[] {4, 2},
                        new float[8])
                .write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"0\"]}");
        Result r = run("inspect", dir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"peft_type\" : \"LORA\"", "\"lora_alpha\" : 4",
                "metadata format = pt");
        assertThat(r.out()).containsPattern("base_model.model.0.lora_A.weight +F16 +\\[2, 3\\]");
        assertThat(r.out()).containsPattern("base_model.model.0.lora_B.weight +F32 +\\[4, 2\\]");
    }

    @Test
    void aBrokenFileExitsNonZeroWithOneLineNamingFileTensorAndRule() throws IOException {
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}"
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path file = Files.write(dir.resolve("broken.safetensors"), b.array());
        Result r = run("inspect", file.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("Error: " + file)
                .contains("tensor 'w'", "byte count: shape [3] of F32 needs 12");
    }

    @Test
    void listsATensorWithAnEmptyName() throws IOException {
        byte[] header = "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).putFloat(1f);
        Path file = Files.write(dir.resolve("empty-name.safetensors"), b.array());

        Result r = run("inspect", file.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("1 tensors").containsPattern("\n   +F32 +\\[1\\]");
    }

    @Test
    void aMissingFileExitsNonZero() {
        Path missing = dir.resolve("nope.safetensors");
        Result r = run("inspect", missing.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        // As every command reports a failure (README): "Error: " and what was wrong, one line.
        assertThat(r.err().strip()).isEqualTo("Error: " + missing + ": no such file");
    }
}
