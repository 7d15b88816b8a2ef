package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CPU backend's {@code prepareLinear} gives exactly the bits of {@code gemm}, {@code addBias}
 * and {@code activate}: the same products in the same order (prepacked weights, streamed strips,
 * rows in blocks of 240), then the same bias and activation operations.
 */
class PreparedLinearTest {

    @ParameterizedTest
    @EnumSource(Activation.class)
    void givesTheBitsOfGemmAddBiasActivate(Activation f) {
        try (CpuBackend backend = Fixtures.newBackend()) {
            for (NumericType<?> type : new NumericType<?>[] {NumericType.FLOAT32, NumericType.FLOAT64}) {
                for (int[] s : new int[][] {{64, 100, 257}, {500, 33, 600}, {1, 40, 1100}}) {
                    check(backend, type, s[0], s[1], s[2], f);
                }
            }
        }
    }

    private static <T extends Number> void check(CpuBackend backend, NumericType<T> type, int rows,
                                                 int out, int in, Activation f) {
        Random r = new Random(31L * rows + out + in);
        try (Tensor<T> x = backend.upload(type, Fixtures.random(r, rows * in, type), rows, in);
             Tensor<T> w = backend.upload(type, Fixtures.random(r, out * in, type), out, in);
             Tensor<T> b = backend.upload(type, Fixtures.random(r, out, type), out);
             Tensor<T> expected = backend.allocate(type, rows, out);
             Tensor<T> y = backend.allocate(type, rows, out);
             PreparedLinear<T> linear = backend.prepareLinear(w, b, f, out, in)) {
            backend.gemm(false, true, rows, out, in, 1.0, x, w, 0.0, expected);
            backend.addBias(expected, b);
            backend.activate(f, expected, expected);
            linear.apply(rows, x, y);
            assertThat(y.toDoubleArray()).as("%s %d x %d x %d %s", type, rows, out, in, f)
                    .containsExactly(expected.toDoubleArray());
        }
    }
}
