package dev.loradrop.core.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.SequentialModel;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Adam counts each parameter's steps, as PyTorch's {@code state['step']} does. */
class AdamTest {

    private final ComputeBackend backend = new CpuBackendProvider().create(BackendConfig.defaults());

    @AfterEach
    void close() {
        backend.close();
    }

    /** Two adapters "0" and "1" (6 -> 5, rank 2) with random B, gradients set. */
    private SequentialModel<Double> model() {
        Random r = new Random(9);
        SequentialModel<Double> m = SequentialModel.of(adapter(1), adapter(2));
        for (Parameter<Double> p : m.parameters()) {
            double[] v = new double[p.value().size()];
            double[] g = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextGaussian();
                g[i] = r.nextGaussian();
            }
            backend.write(p.value(), 0, v, 0, v.length);
            backend.write(p.gradient(), 0, g, 0, g.length);
        }
        return m;
    }

    private LoRADropAdapter<Double> adapter(long seed) {
        return LoRADropAdapter.builder(DenseLayer.create(backend, NumericType.FLOAT64, 6, 6,
                Activation.TANH, seed)).rank(2).seed(seed).build();
    }

    private static List<Parameter<Double>> of(SequentialModel<Double> m, String prefix) {
        return m.parameters().stream().filter(p -> p.name().startsWith(prefix)).toList();
    }

    private static double[] values(List<Parameter<Double>> ps) {
        return ps.stream().flatMapToDouble(p -> java.util.Arrays.stream(p.value().toDoubleArray()))
                .toArray();
    }

    @Test
    void aParametersFirstStepIsAFirstStepWhateverTheOptimiserDidBefore() {
        try (SequentialModel<Double> shared = model(); SequentialModel<Double> alone = model();
             Adam adam = Adam.adam(0.1); Adam fresh = Adam.adam(0.1)) {
            for (int i = 0; i < 3; i++) {
                adam.step(of(shared, "0."));
            }
            adam.step(of(shared, "1."));
            fresh.step(of(alone, "1."));
            assertThat(values(of(shared, "1."))).containsExactly(values(of(alone, "1.")));
            assertThat(adam.stepCount()).isEqualTo(4);
            assertThat(adam.exportState(shared.parameters()).parameterSteps()).containsExactly(
                    Map.entry("0.lora_A.weight", 3L), Map.entry("0.lora_B.weight", 3L),
                    Map.entry("1.lora_A.weight", 1L), Map.entry("1.lora_B.weight", 1L));
        }
    }

    @Test
    void perParameterCountsSurviveExportAndImport() {
        try (SequentialModel<Double> a = model(); SequentialModel<Double> b = model();
             Adam first = Adam.adam(0.1); Adam second = Adam.adam(0.1)) {
            for (int i = 0; i < 3; i++) {
                first.step(of(a, "0."));
                second.step(of(b, "0."));
            }
            first.step(a);
            second.step(b);
            OptimizerState state = first.exportState(a.parameters());
            try (Adam resumed = Adam.adam(0.1)) {
                resumed.importState(b.parameters(), state);
                for (int i = 0; i < 3; i++) {
                    first.step(a);
                    resumed.step(b);
                }
            }
            assertThat(values(b.parameters())).containsExactly(values(a.parameters()));
        }
    }

    @Test
    void aStateWithoutPerParameterCountsGivesEachParameterTheOptimisersCount() {
        try (SequentialModel<Double> a = model(); SequentialModel<Double> b = model();
             Adam first = Adam.adam(0.1); Adam twin = Adam.adam(0.1)) {
            for (int i = 0; i < 2; i++) {
                first.step(a);
                twin.step(b);
            }
            OptimizerState state = first.exportState(a.parameters());
            OptimizerState old = new OptimizerState(state.optimizer(), state.step(),
                    state.buffers());
            try (Adam resumed = Adam.adam(0.1)) {
                resumed.importState(b.parameters(), old);
                assertThat(resumed.exportState(b.parameters()).parameterSteps().values())
                        .containsOnly(2L);
                first.step(a);
                resumed.step(b);
            }
            assertThat(values(b.parameters())).containsExactly(values(a.parameters()));
        }
    }

    @Test
    void countsForUnknownParametersOrWithoutBuffersAreRefusedChangingNothing() {
        try (SequentialModel<Double> a = model(); Adam adam = Adam.adam(0.1)) {
            adam.step(of(a, "0."));
            OptimizerState state = adam.exportState(a.parameters());
            assertThatThrownBy(() -> adam.importState(a.parameters(), new OptimizerState("Adam",
                    1, state.buffers(), Map.of("nope", 1L))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("step counts of unknown parameters [nope]");
            assertThatThrownBy(() -> adam.importState(a.parameters(), new OptimizerState("Adam",
                    1, state.buffers(), Map.of("1.lora_A.weight", 1L))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'1.lora_A.weight' has a step count but no buffers");
            assertThatThrownBy(() -> new OptimizerState("Adam", 1, Map.of(),
                    Map.of("x", -1L))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("parameterSteps: 'x' expected >= 0, got -1");
            assertThat(adam.exportState(a.parameters()).parameterSteps()).isEqualTo(
                    state.parameterSteps());
        }
    }
}
