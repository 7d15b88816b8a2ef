package dev.loradrop.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.WeightValidation;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.SequentialModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdaptersTest {

    @TempDir
    Path dir;
    private final ComputeBackend backend = IoFixtures.cpu();

    @AfterEach
    void close() {
        backend.close();
    }

    private static <T extends Number> double[] infer(SequentialModel<T> model, Tensor<T> x) {
        model.setTrainingMode(false);
        try (Tensor<T> y = model.forward(x)) {
            return y.toDoubleArray();
        }
    }

    @Test
    void anExportedAdapterReimportedIntoAFreshModelGivesTheSameOutputs() throws IOException {
        for (NumericType<?> type : new NumericType<?>[] {NumericType.FLOAT32, NumericType.FLOAT64}) {
            roundTrip(type);
        }
    }

    private <T extends Number> void roundTrip(NumericType<T> type) throws IOException {
        Path out = dir.resolve(type.name());
        try (SequentialModel<T> trained = IoFixtures.model(backend, type, 1, 100);
             SequentialModel<T> fresh = IoFixtures.model(backend, type, 1, 999);
             Tensor<T> x = backend.upload(type, IoFixtures.input(7, 6, 3), 7, 6)) {
            IoFixtures.randomiseAdapters(trained, 5);
            PeftAdapters.save(trained, out);
            assertThat(infer(fresh, x)).isNotEqualTo(infer(trained, x));
            WeightValidation v = PeftAdapters.load(fresh, out, true);
            assertThat(v.matched()).containsExactly("0.lora_A.weight", "0.lora_B.weight",
                    "2.0.lora_A.weight", "2.0.lora_B.weight");
            assertThat(IoFixtures.bits(infer(fresh, x))).isEqualTo(IoFixtures.bits(infer(trained, x)));
        }
    }

    @Test
    void writesPeftKeysShapesAndConfig() throws IOException {
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 2)) {
            PeftAdapters.save(model, dir);
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(f.names()).containsExactly("base_model.model.0.lora_A.weight",
                    "base_model.model.0.lora_B.weight", "base_model.model.2.0.lora_A.weight",
                    "base_model.model.2.0.lora_B.weight");
            assertThat(f.info("base_model.model.0.lora_A.weight").shape()).containsExactly(3, 6);
            assertThat(f.info("base_model.model.0.lora_B.weight").shape()).containsExactly(5, 3);
            assertThat(f.info("base_model.model.2.0.lora_B.weight").shape()).containsExactly(4, 2);
            assertThat(f.info("base_model.model.0.lora_A.weight").dtype())
                    .isEqualTo(SafetensorsDType.F32);
            assertThat(f.metadata()).containsEntry("format", "pt");
        }
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("r").asInt()).isEqualTo(3);
        assertThat(config.get("lora_alpha").asDouble()).isEqualTo(6.0);
        assertThat(config.get("lora_dropout").asDouble()).isEqualTo(0.3);
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"0\",\"2.0\"]");
        assertThat(config.get("fan_in_fan_out").asBoolean()).isFalse();
        assertThat(config.get("bias").asText()).isEqualTo("none");
        assertThat(config.get("use_rslora").asBoolean()).isFalse();
        assertThat(config.get("rank_pattern").get("2.0").asInt()).isEqualTo(2);
        assertThat(config.get("alpha_pattern").get("2.0").asDouble()).isEqualTo(2.0);
        assertThat(config.get("loradrop_granularity").asText()).isEqualTo("FEATURE");
        assertThat(config.get("loradrop_dropout_scaling").asText()).isEqualTo("INVERTED");
        assertThat(config.get("loradrop_modules").get("2.0").get("granularity").asText())
                .isEqualTo("ELEMENT");
    }

    @Test
    void importToleratesPrefixVariantsAdapterNamesAndUnknownConfigKeys() throws IOException {
        try (SequentialModel<Double> source = IoFixtures.model(backend, NumericType.FLOAT64, 1, 2);
             SequentialModel<Double> target = IoFixtures.model(backend, NumericType.FLOAT64, 1, 3)) {
            IoFixtures.randomiseAdapters(source, 9);
            Map<String, double[]> expected = IoFixtures.snapshot(source);
            String[] keys = {"0.lora_A.weight", "base_model.0.lora_B.weight",
                "base_model.model.2.0.lora_A.default.weight", "2.0.lora_B.weight"};
            String[] names = {"0.lora_A.weight", "0.lora_B.weight", "2.0.lora_A.weight",
                "2.0.lora_B.weight"};
            SafetensorsWriter w = new SafetensorsWriter();
            for (int i = 0; i < keys.length; i++) {
                try (Tensor<Double> t = source.getWeight(names[i])) {
                    w.add(keys[i], t, SafetensorsDType.F64);
                }
            }
            w.write(dir.resolve("adapter_model.safetensors"));
            Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", "
                    + "\"r\": 3, \"lora_alpha\": 6, \"alpha_pattern\": {\"2.0\": 2.0}, "
                    + "\"task_type\": \"CAUSAL_LM\", \"some_future_key\": {\"x\": [1, 2]}}");
            PeftAdapters.load(target, dir, true);
            Map<String, double[]> loaded = IoFixtures.snapshot(target);
            for (String name : names) {
                assertThat(loaded.get(name)).as(name).isEqualTo(expected.get(name));
            }
        }
    }

    @Test
    void halfPrecisionExportRoundsAndReloads() throws IOException {
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 2);
             SequentialModel<Float> fresh = IoFixtures.model(backend, NumericType.FLOAT32, 1, 4)) {
            IoFixtures.randomiseAdapters(model, 3);
            PeftAdapters.save(model, dir, SafetensorsDType.BF16);
            PeftAdapters.load(fresh, dir, true);
            double[] a = IoFixtures.snapshot(model).get("0.lora_B.weight");
            double[] b = IoFixtures.snapshot(fresh).get("0.lora_B.weight");
            for (int i = 0; i < a.length; i++) {
                assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(
                        Math.abs(a[i]) * 0x1p-8));
                assertThat(Float.floatToRawIntBits((float) b[i]) & 0xffff).isZero();
            }
        }
    }

    @Test
    void strictLoadRefusesAnInexactMatchAndLenientLoadReportsIt() throws IOException {
        try (SequentialModel<Double> source = IoFixtures.model(backend, NumericType.FLOAT64, 1, 2);
             SequentialModel<Double> target = IoFixtures.model(backend, NumericType.FLOAT64, 1, 3);
             Tensor<Double> extra = backend.upload(new double[] {1, 2}, 2)) {
            IoFixtures.randomiseAdapters(source, 9);
            PeftAdapters.save(source, dir);
            // Add an unknown tensor and drop one of the model's.
            SafetensorsWriter w = new SafetensorsWriter().add("base_model.model.0.lora_A.weight",
                    source.getWeight("0.lora_A.weight"), SafetensorsDType.F64)
                    .add("base_model.model.7.lora_A.weight", extra, SafetensorsDType.F64);
            w.write(dir.resolve("adapter_model.safetensors"));
            Map<String, double[]> before = IoFixtures.snapshot(target);
            assertThatThrownBy(() -> PeftAdapters.load(target, dir, true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("unknown [7.lora_A.weight]")
                    .hasMessageContaining("missing [0.lora_B.weight, 2.0.lora_A.weight");
            assertThat(IoFixtures.snapshot(target)).containsExactlyEntriesOf(before);

            WeightValidation v = PeftAdapters.load(target, dir, false);
            assertThat(v.matched()).containsExactly("0.lora_A.weight");
            assertThat(v.unmatched()).containsExactly("7.lora_A.weight");
            assertThat(IoFixtures.snapshot(target).get("0.lora_A.weight"))
                    .isEqualTo(IoFixtures.snapshot(source).get("0.lora_A.weight"));
        }
    }

    @Test
    void aDifferentScalingIsRefusedAndNothingChanges() throws IOException {
        try (SequentialModel<Double> source = IoFixtures.model(backend, NumericType.FLOAT64, 1, 2);
             SequentialModel<Double> target = IoFixtures.model(backend, NumericType.FLOAT64, 1, 3)) {
            PeftAdapters.save(source, dir);
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode config = (ObjectNode) mapper.readTree(dir.resolve("adapter_config.json")
                    .toFile());
            config.put("use_rslora", true);
            mapper.writeValue(dir.resolve("adapter_config.json").toFile(), config);
            Map<String, double[]> before = IoFixtures.snapshot(target);
            assertThatThrownBy(() -> PeftAdapters.load(target, dir, true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("adapter '0' has scaling 2.0")
                    .hasMessageContaining("expects " + 6 / Math.sqrt(3));
            assertThat(IoFixtures.snapshot(target)).containsExactlyEntriesOf(before);
        }
    }

    @Test
    void aConfigOfAnotherPeftTypeIsRefused() throws IOException {
        try (SequentialModel<Double> source = IoFixtures.model(backend, NumericType.FLOAT64, 1, 2)) {
            PeftAdapters.save(source, dir);
            Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"IA3\"}");
            assertThatThrownBy(() -> PeftAdapters.load(source, dir, true))
                    .isInstanceOf(SafetensorsFormatException.class)
                    .hasMessageContaining("adapter_config.json: peft_type: expected \"LORA\"");
        }
    }

    @Test
    void normalisesKeys() {
        assertThat(PeftAdapters.normalise("base_model.model.model.layers.0.q_proj.lora_A.weight"))
                .isEqualTo("model.layers.0.q_proj.lora_A.weight");
        assertThat(PeftAdapters.normalise("base_model.model.lora_B.default.weight"))
                .isEqualTo("lora_B.weight");
        assertThat(PeftAdapters.normalise("3.lora_B.weight")).isEqualTo("3.lora_B.weight");
    }
}
