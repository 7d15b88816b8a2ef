package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worked example of the foundation issue, computed by hand. */
class WorkedExampleTest {

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        backend.close();
    }

    @Test
    void inferenceOutputAndInputGradientMatchTheHandComputation() {
        DenseLayer<Double> base = DenseLayer.fromWeights(backend, NumericType.FLOAT64,
                new double[6], new double[2], 2, 3, Activation.IDENTITY);
        try (LoRADropAdapter<Double> adapter = LoRADropAdapter.builder(base)
                .rank(2).alpha(4).dropoutRate(0.2).seed(1L).build();
             Tensor<Double> a = backend.upload(new double[] {1, 0, 1, 0, 1, 1}, 2, 3);
             Tensor<Double> b = backend.upload(new double[] {1, 3, 2, 4}, 2, 2)) {
            adapter.setWeight("lora_A.weight", a);
            adapter.setWeight("lora_B.weight", b);
            adapter.setTraining(false);
            try (Tensor<Double> x = backend.upload(new double[] {1, 2, 3}, 3);
                 Tensor<Double> y = adapter.forward(x)) {
                // s = alpha / r = 2; x A^T = [4, 5]; (x A^T) B^T = [19, 28]; y = 2 * that.
                assertThat(y.shape()).containsExactly(2);
                assertThat(y.toDoubleArray()).containsExactly(38, 56);
                try (Tensor<Double> dy = backend.upload(new double[] {1, 1}, 2);
                     Tensor<Double> dx = adapter.backward(dy)) {
                    // dh = s * dy B = [6, 14]; dx = dh A = [6, 14, 20] (W = 0 adds nothing).
                    assertThat(dx.toDoubleArray()).containsExactly(6, 14, 20);
                }
            }
        }
        assertThat(backend.liveAllocations()).isZero();
    }
}
