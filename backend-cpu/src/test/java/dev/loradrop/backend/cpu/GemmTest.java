package dev.loradrop.backend.cpu;

import static dev.loradrop.backend.cpu.Fixtures.assertClose;
import static dev.loradrop.backend.cpu.Fixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GemmTest {

    private static final int[] SIZES = {0, 1, 2, 3, 7};

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    static Stream<Arguments> cases() {
        return Fixtures.types().flatMap(t -> Stream.of(
                Arguments.of(t, false, false), Arguments.of(t, false, true),
                Arguments.of(t, true, false), Arguments.of(t, true, true)));
    }

    /** The float64 reference; also returns, in {@code mag}, the sum of absolute terms. */
    static double[] reference(boolean transA, boolean transB, int m, int n, int k, double alpha,
                              double[] a, double[] b, double beta, double[] c, double[] mag) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double abs = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? a[p * m + i] : a[i * k + p];
                    double y = transB ? b[j * k + p] : b[p * n + j];
                    s += x * y;
                    abs += Math.abs(x * y);
                }
                double old = beta == 0 ? 0 : beta * c[i * n + j];
                out[i * n + j] = alpha * s + old;
                mag[i * n + j] = Math.abs(alpha) * abs + Math.abs(old);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("cases")
    void matchesTheReferenceOnSmallAwkwardSizes(NumericType<?> type, boolean transA,
                                                boolean transB) {
        Random rnd = new Random(42);
        double[][] alphaBeta = {{1, 0}, {1, 1}, {-0.5, 2}, {1.5, -1}};
        for (int m : SIZES) {
            for (int n : SIZES) {
                for (int k : SIZES) {
                    for (double[] ab : alphaBeta) {
                        check(type, transA, transB, m, n, k, ab[0], ab[1], rnd);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("cases")
    void matchesTheReferenceOnALargerOddShape(NumericType<?> type, boolean transA,
                                              boolean transB) {
        check(type, transA, transB, 17, 33, 65, 0.75, 0.25, new Random(7));
    }

    private void check(NumericType<?> type, boolean transA, boolean transB, int m, int n, int k,
                       double alpha, double beta, Random rnd) {
        double[] a = random(rnd, m * k, type);
        double[] b = random(rnd, k * n, type);
        double[] c = random(rnd, m * n, type);
        double[] mag = new double[m * n];
        double[] want = reference(transA, transB, m, n, k, alpha, a, b, beta, c, mag);
        try (Tensor<?> ta = backend.upload(type, a, transA ? new int[] {k, m} : new int[] {m, k});
             Tensor<?> tb = backend.upload(type, b, transB ? new int[] {n, k} : new int[] {k, n});
             Tensor<?> tc = backend.upload(type, c, m, n)) {
            gemm(transA, transB, m, n, k, alpha, ta, tb, beta, tc);
            assertClose("gemm m=" + m + " n=" + n + " k=" + k + " alpha=" + alpha + " beta="
                    + beta + " transA=" + transA + " transB=" + transB, tc.toDoubleArray(), want,
                    mag, k + 2, type);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                      Tensor a, Tensor b, double beta, Tensor c) {
        backend.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("cases")
    void betaZeroIgnoresNaNInC(NumericType<?> type, boolean transA, boolean transB) {
        double[] ones = new double[6];
        Arrays.fill(ones, 1.0);
        try (Tensor<?> ta = backend.upload(type, ones, transA ? new int[] {3, 2} : new int[] {2, 3});
             Tensor<?> tb = backend.upload(type, new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3);
             Tensor<?> tc = backend.allocate(type, 2, 3)) {
            // op(A) is 2 x 3 of ones, op(B) 3 x 3: column sums of op(B)
            backend.fill(tc, Double.NaN);
            gemm(transA, transB, 2, 3, 3, 1.0, ta, tb, 0.0, tc);
            double[] colSums = transB ? new double[] {6, 15, 24} : new double[] {12, 15, 18};
            assertThat(tc.toDoubleArray()).containsExactly(
                    colSums[0], colSums[1], colSums[2], colSums[0], colSums[1], colSums[2]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void zeroInnerDimensionScalesC(NumericType<?> type) {
        try (Tensor<?> a = backend.allocate(type, 2, 0);
             Tensor<?> b = backend.allocate(type, 0, 3);
             Tensor<?> c = backend.upload(type, new double[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            gemm(false, false, 2, 3, 0, 1.0, a, b, 2.0, c);
            assertThat(c.toDoubleArray()).containsExactly(2, 4, 6, 8, 10, 12);
            backend.fill(c, Double.NaN);
            gemm(false, false, 2, 3, 0, 1.0, a, b, 0.0, c);
            assertThat(c.toDoubleArray()).containsOnly(0.0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void alphaZeroDoesNotReadAOrB(NumericType<?> type) {
        try (Tensor<?> a = backend.upload(type, new double[] {Double.NaN, 1}, 1, 2);
             Tensor<?> b = backend.upload(type, new double[] {1, Double.POSITIVE_INFINITY}, 2, 1);
             Tensor<?> c = backend.upload(type, new double[] {3}, 1, 1)) {
            gemm(false, false, 1, 1, 2, 0.0, a, b, 1.0, c);
            assertThat(c.toDoubleArray()).containsExactly(3.0);
        }
    }

    @Test
    void knownProduct() {
        try (Tensor<Double> a = backend.upload(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
             Tensor<Double> b = backend.upload(new double[] {7, 8, 9, 10, 11, 12}, 3, 2);
             Tensor<Double> c = backend.allocate(NumericType.FLOAT64, 2, 2)) {
            backend.gemm(false, false, 2, 2, 3, 1.0, a, b, 0.0, c);
            assertThat(c.toDoubleArray()).containsExactly(58, 64, 139, 154);
            // A * A^T
            try (Tensor<Double> d = backend.allocate(NumericType.FLOAT64, 2, 2)) {
                backend.gemm(false, true, 2, 2, 3, 1.0, a, a, 0.0, d);
                assertThat(d.toDoubleArray()).containsExactly(14, 32, 32, 77);
            }
        }
    }

    @Test
    void rejectsAnOutputThatAliasesAnInput() {
        try (Tensor<Float> a = backend.upload(new float[] {1, 2, 3, 4}, 2, 2)) {
            assertThatThrownBy(() -> backend.gemm(false, false, 2, 2, 2, 1.0, a, a, 0.0, a))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("c: ")
                    .hasMessageContaining("alias");
            assertThat(a.toFloatArray()).containsExactly(1, 2, 3, 4);
        }
    }
}
