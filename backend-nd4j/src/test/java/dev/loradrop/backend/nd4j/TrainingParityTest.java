package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.loss.MeanSquaredError;
import dev.loradrop.core.optim.Adam;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A LoRA-drop adapter trained for 100 steps from one seed on the CPU backend and on the ND4J
 * backend ends with the same parameters: the masks are identical by design (Philox), so only
 * rounding differs (BLAS summation order).
 */
class TrainingParityTest {

    private static final int STEPS = 100;
    private static final int BATCH = 16;
    private static final int IN = 24;
    private static final int OUT = 10;

    /*
     * FLOAT64: every parameter within 1e-10 relative (to its magnitude, floored at 1e-3 so that
     * parameters near zero are compared absolutely). FLOAT32: the largest difference within 1e-5
     * of the largest parameter (about 170 float ulps; Adam divides by sqrt(v), so parameters with
     * tiny gradients carry more relative rounding noise than float's 6e-8).
     */
    static Stream<Arguments> cases() {
        return Stream.of(MaskGranularity.values()).flatMap(g -> Stream.of(
                Arguments.of(NumericType.FLOAT32, g), Arguments.of(NumericType.FLOAT64, g)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    <T extends Number> void parametersAgreeAfterTraining(NumericType<T> type,
                                                         MaskGranularity granularity) {
        double[] cpu = train(new CpuBackendProvider(), type, granularity, STEPS);
        double[] nd4j = train(new Nd4jBackendProvider(), type, granularity, STEPS);
        double[] initial = train(new CpuBackendProvider(), type, granularity, 0);

        assertThat(nd4j).hasSameSizeAs(cpu);
        double largest = 0;
        double worstAbsolute = 0;
        double worstRelative = 0;
        int at = 0;
        for (int i = 0; i < cpu.length; i++) {
            largest = Math.max(largest, Math.abs(cpu[i]));
            double diff = Math.abs(nd4j[i] - cpu[i]);
            worstAbsolute = Math.max(worstAbsolute, diff);
            double rel = diff / Math.max(Math.abs(cpu[i]), 1e-3);
            if (rel > worstRelative) {
                worstRelative = rel;
                at = i;
            }
        }
        String where = String.format("%d parameters; worst relative at %d: cpu %s, nd4j %s",
                cpu.length, at, cpu[at], nd4j[at]);
        if (type == NumericType.FLOAT64) {
            assertThat(worstRelative).as("largest relative difference, " + where)
                    .isLessThanOrEqualTo(1e-10);
        } else {
            assertThat(worstAbsolute / largest)
                    .as("largest difference / largest parameter (%s), %s", largest, where)
                    .isLessThanOrEqualTo(1e-5);
        }
        // the run really trained: the parameters moved far more than the backends disagree
        double moved = 0;
        for (int i = 0; i < cpu.length; i++) {
            moved = Math.max(moved, Math.abs(cpu[i] - initial[i]));
        }
        assertThat(moved).isGreaterThan(1e-2);
    }

    private static <T extends Number> double[] train(ComputeBackendProvider provider,
                                                     NumericType<T> type,
                                                     MaskGranularity granularity, int steps) {
        SplittableRandom random = new SplittableRandom(7);
        double[] x = new double[BATCH * IN];
        double[] t = new double[BATCH * OUT];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextDouble(-1, 1);
        }
        for (int i = 0; i < t.length; i++) {
            t[i] = random.nextDouble(-0.8, 0.8);
        }
        MeanSquaredError loss = new MeanSquaredError();
        try (ComputeBackend backend = provider.create(BackendConfig.defaults())) {
            DenseLayer<T> dense = DenseLayer.create(backend, type, IN, OUT, Activation.TANH, 1);
            try (LoRADropAdapter<T> adapter = LoRADropAdapter.builder(dense)
                         .rank(4).alpha(8).dropoutRate(0.3).seed(42L)
                         .granularity(granularity).freezeBaseLayer(false).build();
                 Adam adam = Adam.adamW(1e-2, 0.01);
                 Tensor<T> input = backend.upload(type, x, BATCH, IN);
                 Tensor<T> target = backend.upload(type, t, BATCH, OUT);
                 Tensor<T> gradient = backend.allocate(type, BATCH, OUT)) {
                adapter.setTraining(true);
                for (int step = 0; step < steps; step++) {
                    try (Tensor<T> y = adapter.forward(input)) {
                        loss.compute(y, target, gradient);
                    }
                    adapter.backward(gradient).close();
                    adam.step(adapter);
                }
                try (Tensor<T> parameters = adapter.getParameters()) {
                    return parameters.toDoubleArray();
                }
            }
        }
    }
}
