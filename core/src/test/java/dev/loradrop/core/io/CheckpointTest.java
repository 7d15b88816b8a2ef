package dev.loradrop.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.SequentialModel;
import dev.loradrop.core.loss.MeanSquaredError;
import dev.loradrop.core.optim.Adam;
import dev.loradrop.core.optim.Optimizer;
import dev.loradrop.core.optim.OptimizerState;
import dev.loradrop.core.optim.Sgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointTest {

    @TempDir
    Path dir;
    private final ComputeBackend backend = IoFixtures.cpu();

    @AfterEach
    void close() {
        backend.close();
    }

    private static Supplier<Optimizer> optimizer(String kind) {
        return kind.equals("adamw") ? () -> Adam.adamW(0.01, 0.01)
                : () -> new Sgd(0.05, 0.9, 0.001);
    }

    /** Trains with a different batch each step, so that a replayed step would show. */
    private void train(SequentialModel<Float> model, Optimizer opt, int from, int to) {
        model.setTrainingMode(true);
        MeanSquaredError mse = new MeanSquaredError();
        for (int step = from; step < to; step++) {
            try (Tensor<Float> x = backend.upload(NumericType.FLOAT32,
                         IoFixtures.input(8, 6, 1000 + step), 8, 6);
                 Tensor<Float> t = backend.upload(NumericType.FLOAT32,
                         IoFixtures.input(8, 4, 2000 + step), 8, 4);
                 Tensor<Float> g = backend.allocate(NumericType.FLOAT32, 8, 4);
                 Tensor<Float> y = model.forward(x)) {
                mse.compute(y, t, g);
                model.backward(g).close();
                opt.step(model);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"adamw", "sgd-momentum"})
    void fiftyStepsCheckpointAndFiftyMoreEqualAHundredStepsBitForBit(String kind)
            throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        Map<String, double[]> uninterrupted;
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = optimizer(kind).get()) {
            train(model, opt, 0, 100);
            uninterrupted = IoFixtures.snapshot(model);
        }
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = optimizer(kind).get()) {
            train(model, opt, 0, 50);
            Checkpoint.save(file, model, opt, 50);
        }
        // A fresh process: other base weights and A initialisation, a new optimiser.
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 77, 10);
             Optimizer opt = optimizer(kind).get()) {
            long step = Checkpoint.load(file, model, opt);
            assertThat(step).isEqualTo(50);
            assertThat(((LoRADropAdapter<Float>) model.layers().get(0)).maskStep()).isEqualTo(50);
            train(model, opt, (int) step, 100);
            Map<String, double[]> resumed = IoFixtures.snapshot(model);
            assertThat(resumed.keySet()).isEqualTo(uninterrupted.keySet());
            for (String name : resumed.keySet()) {
                assertThat(IoFixtures.bits(resumed.get(name))).as(name)
                        .isEqualTo(IoFixtures.bits(uninterrupted.get(name)));
            }
        }
    }

    @Test
    void withoutTheOptimiserStateResumingDiverges() throws IOException {
        // Proves the test above depends on the optimiser state the checkpoint carries.
        Path file = dir.resolve("ckpt.safetensors");
        Map<String, double[]> uninterrupted;
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = Adam.adam(0.01)) {
            train(model, opt, 0, 4);
            uninterrupted = IoFixtures.snapshot(model);
        }
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = Adam.adam(0.01)) {
            train(model, opt, 0, 2);
            Checkpoint.save(file, model, null, 2);
        }
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = Adam.adam(0.01)) {
            Checkpoint.load(file, model, null);
            train(model, opt, 2, 4);
            assertThat(IoFixtures.snapshot(model).get("0.lora_B.weight"))
                    .isNotEqualTo(uninterrupted.get("0.lora_B.weight"));
        }
    }

    @Test
    void aCheckpointThatDoesNotFitChangesNothing() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Optimizer opt = Adam.adam(0.01)) {
            train(model, opt, 0, 3);
            Checkpoint.save(file, model, opt, 3);
        }
        try (SequentialModel<Float> other = IoFixtures.model(backend, NumericType.FLOAT32, 1, 11);
             Adam opt = Adam.adam(0.01)) {
            train(other, opt, 0, 1);
            Map<String, double[]> before = IoFixtures.snapshot(other);
            OptimizerState state = opt.exportState(other.parameters());
            assertThatThrownBy(() -> Checkpoint.load(file, other, opt))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("adapter '0' has seed 11 and stream 0, the checkpoint 10");
            assertThat(IoFixtures.snapshot(other)).containsExactlyEntriesOf(before);
            assertThat(opt.stepCount()).isEqualTo(1);
            assertThat(opt.exportState(other.parameters()).buffers().get("0.lora_B.weight.exp_avg"))
                    .isEqualTo(state.buffers().get("0.lora_B.weight.exp_avg"));
            assertThatThrownBy(() -> Checkpoint.load(file, other, new Sgd(0.1, 0.5, 0)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void optimiserStateImportIsAllOrNothingAndNamesTheProblem() {
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Adam opt = Adam.adam(0.01)) {
            train(model, opt, 0, 2);
            OptimizerState state = opt.exportState(model.parameters());
            assertThat(state.optimizer()).isEqualTo("Adam");
            assertThat(state.step()).isEqualTo(2);
            assertThat(state.buffers()).containsKeys("0.lora_A.weight.exp_avg",
                    "0.lora_A.weight.exp_avg_sq", "1.weight.exp_avg", "2.0.lora_B.weight.exp_avg_sq");
            Map<String, double[]> bad = new java.util.LinkedHashMap<>(state.buffers());
            bad.put("0.lora_A.weight.exp_avg", new double[3]);
            assertThatThrownBy(() -> opt.importState(model.parameters(),
                    new OptimizerState("Adam", 9, bad)))
                    .hasMessageContaining("buffer '0.lora_A.weight.exp_avg' expected 18 values, got 3");
            assertThat(opt.stepCount()).isEqualTo(2);
            assertThatThrownBy(() -> opt.importState(model.parameters(),
                    new OptimizerState("Sgd", 0, Map.of())))
                    .hasMessageContaining("expected the state of Adam, got Sgd");
            assertThatThrownBy(() -> opt.importState(model.parameters(),
                    new OptimizerState("Adam", 0, Map.of("nope.exp_avg", new double[1]))))
                    .hasMessageContaining("unknown buffers [nope.exp_avg]");
            opt.importState(model.parameters(), new OptimizerState("Adam", 0, Map.of()));
            assertThat(opt.stepCount()).isZero();
            assertThat(opt.exportState(model.parameters()).buffers()).isEmpty();
        }
    }

    @Test
    void adamsPerParameterStepCountsAreSavedAndLoaded() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        Map<String, Long> counts;
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Adam opt = Adam.adam(0.01)) {
            train(model, opt, 0, 2);
            opt.step(model.parameters().subList(0, 2));
            counts = opt.exportState(model.parameters()).parameterSteps();
            assertThat(counts.values()).contains(2L, 3L);
            Checkpoint.save(file, model, opt, 2);
        }
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10);
             Adam opt = Adam.adam(0.01)) {
            Checkpoint.load(file, model, opt);
            assertThat(opt.exportState(model.parameters()).parameterSteps())
                    .containsExactlyEntriesOf(counts);
            assertThat(opt.stepCount()).isEqualTo(3);
        }
    }

    /**
     * Seeds are 64-bit (an unseeded adapter's is random, so negative half the time); streams and
     * mask steps are 32-bit, any sign.
     */
    @Test
    void negativeSeedsStreamsAndMaskStepsRoundTrip() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (LoRADropAdapter<Float> a = adapter(-42L, -1)) {
            a.setMaskStep(Integer.MIN_VALUE + 5);
            Checkpoint.save(file, a, null, 0);
        }
        try (LoRADropAdapter<Float> a = adapter(-42L, -1)) {
            assertThat(Checkpoint.load(file, a, null)).isZero();
            assertThat(a.maskStep()).isEqualTo(Integer.MIN_VALUE + 5);
        }
        try (LoRADropAdapter<Float> a = adapter(Long.MIN_VALUE, Integer.MIN_VALUE)) {
            a.setMaskStep(-1);
            Checkpoint.save(file, a, null, 0);
            a.setMaskStep(0);
            Checkpoint.load(file, a, null);
            assertThat(a.maskStep()).isEqualTo(-1);
        }
        try (LoRADropAdapter<Float> a = adapter(-42L, 1)) {
            assertThatThrownBy(() -> Checkpoint.load(file, a, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the checkpoint " + Long.MIN_VALUE + " and " + Integer.MIN_VALUE);
        }
    }

    private LoRADropAdapter<Float> adapter(long seed, int stream) {
        return LoRADropAdapter.builder(DenseLayer.create(backend, NumericType.FLOAT32, 4, 3,
                        Activation.TANH, 1))
                .rank(2).dropoutRate(0.2).seed(seed).stream(stream).build();
    }

    @Test
    void saveIsAtomic() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        try (SequentialModel<Float> model = IoFixtures.model(backend, NumericType.FLOAT32, 1, 10)) {
            Checkpoint.save(file, model, null, 0);
            byte[] first = Files.readAllBytes(file);
            Files.createDirectory(dir.resolve("blocker.safetensors"));
            Files.writeString(dir.resolve("blocker.safetensors").resolve("x"), "x");
            assertThatThrownBy(() -> Checkpoint.save(dir.resolve("blocker.safetensors"), model,
                    null, 1)).isInstanceOf(IOException.class);
            assertThat(Files.readAllBytes(file)).isEqualTo(first);
            try (var files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("ckpt.safetensors", "blocker.safetensors");
            }
        }
    }
}
