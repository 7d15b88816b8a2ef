package dev.loradrop.backend.cpu;

import static dev.loradrop.backend.cpu.Fixtures.assertClose;
import static dev.loradrop.backend.cpu.Fixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** axpby, bias add and column sums, activations and their derivatives, sum, allFinite. */
@SuppressWarnings({"unchecked", "rawtypes"})
class ElementwiseTest {

    private static final int[] SIZES = {0, 1, 3, 7, 8, 13, 64, 100};

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    static Stream<Arguments> activations() {
        return Fixtures.types().flatMap(t -> Stream.of(Activation.values())
                .map(a -> Arguments.of(t, a)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void axpby(NumericType<?> type) {
        Random rnd = new Random(1);
        double[][] coefficients = {{1, 0}, {2, 1}, {-0.5, 0.25}, {0, 3}};
        for (int n : SIZES) {
            for (double[] ab : coefficients) {
                double[] x = random(rnd, n, type);
                double[] y = random(rnd, n, type);
                double[] want = new double[n];
                double[] mag = new double[n];
                for (int i = 0; i < n; i++) {
                    want[i] = ab[0] * x[i] + ab[1] * y[i];
                    mag[i] = Math.abs(ab[0] * x[i]) + Math.abs(ab[1] * y[i]);
                }
                try (Tensor tx = backend.upload(type, x, n); Tensor ty = backend.upload(type, y, n)) {
                    backend.axpby(ab[0], tx, ab[1], ty);
                    assertClose("axpby n=" + n, ty.toDoubleArray(), want, mag, 3, type);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void axpbyWithBetaZeroIgnoresNaN(NumericType<?> type) {
        try (Tensor x = backend.upload(type, new double[] {1, 2}, 2);
             Tensor y = backend.upload(type, new double[] {Double.NaN, Double.NaN}, 2)) {
            backend.axpby(3.0, x, 0.0, y);
            assertThat(y.toDoubleArray()).containsExactly(3, 6);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void addBiasAndColumnSums(NumericType<?> type) {
        Random rnd = new Random(2);
        for (int rows : new int[] {0, 1, 3, 17}) {
            for (int cols : new int[] {0, 1, 5, 8}) {
                double[] y = random(rnd, rows * cols, type);
                double[] bias = random(rnd, cols, type);
                double[] old = random(rnd, cols, type);
                double[] plus = new double[rows * cols];
                double[] sums = new double[cols];
                double[] scaled = new double[cols];
                double[] mag = new double[cols];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        plus[r * cols + c] = y[r * cols + c] + bias[c];
                        sums[c] += y[r * cols + c];
                        mag[c] += Math.abs(y[r * cols + c]);
                    }
                }
                for (int c = 0; c < cols; c++) {
                    scaled[c] = sums[c] + 0.5 * old[c];
                    mag[c] += Math.abs(0.5 * old[c]);
                }
                try (Tensor ty = backend.upload(type, y, rows, cols);
                     Tensor tb = backend.upload(type, bias, cols);
                     Tensor dst = backend.upload(type, old, cols)) {
                    backend.columnSums(ty, 0.5, dst);
                    assertClose("columnSums beta=0.5", dst.toDoubleArray(), scaled, mag, rows + 2,
                            type);
                    backend.fill(dst, Double.NaN);
                    backend.columnSums(ty, 0.0, dst);
                    assertClose("columnSums beta=0", dst.toDoubleArray(), sums, mag, rows + 2,
                            type);
                    backend.addBias(ty, tb);
                    assertClose("addBias", ty.toDoubleArray(), plus, null, 1, type);
                }
            }
        }
    }

    /**
     * The bias gradient, run every training step: after warm-up a call allocates nothing in
     * proportion to the tensors (it allocated a double per column: 800 KB for 100,000 columns),
     * and its bits are those of one double accumulator per column, added to over the rows in
     * order, then mixed with beta; with more columns than one block of the kernel.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void columnSumsAllocatesNothingPerColumnAndKeepsItsBits(NumericType<?> type) {
        assumeTrue(Fixtures.allocatedBytes() >= 0, "the JVM measures a thread's allocation");
        int rows = 4;
        int cols = 20_003; // 40 blocks of the kernel and a piece
        Random rnd = new Random(12);
        double[] y = random(rnd, rows * cols, type);
        double[] old = random(rnd, cols, type);
        double[] want = new double[cols];
        for (int c = 0; c < cols; c++) {
            double acc = 0.0;
            for (int r = 0; r < rows; r++) {
                acc += y[r * cols + c];
            }
            want[c] = Fixtures.round(type, acc + 0.5 * old[c]);
        }
        try (Tensor ty = backend.upload(type, y, rows, cols);
             Tensor dst = backend.upload(type, old, cols)) {
            backend.columnSums(ty, 0.5, dst);
            assertThat(dst.toDoubleArray()).isEqualTo(want);
            for (int i = 0; i < 20; i++) {
                backend.columnSums(ty, 0.0, dst);
            }
            int calls = 10;
            long before = Fixtures.allocatedBytes();
            for (int i = 0; i < calls; i++) {
                backend.columnSums(ty, 0.0, dst);
            }
            long perCall = (Fixtures.allocatedBytes() - before) / calls;
            assertThat(perCall).as("bytes allocated per call").isLessThan(256);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("activations")
    void activationAndDerivativeMatchTheDefinition(NumericType<?> type, Activation activation) {
        Random rnd = new Random(3);
        double[] pre = random(rnd, 200, type);
        double[] specials = {0.0, -0.0, 1e-8, -1e-8, 5, -5, 30, -30, 400, -400};
        System.arraycopy(specials, 0, pre, 0, specials.length);
        for (int i = 0; i < pre.length; i++) {
            pre[i] = Fixtures.round(type, pre[i]);
        }
        double[] dOut = random(rnd, pre.length, type);
        double[] f = new double[pre.length];
        double[] df = new double[pre.length];
        for (int i = 0; i < pre.length; i++) {
            f[i] = activation.apply(pre[i]);
            df[i] = dOut[i] * activation.derivative(pre[i]);
        }
        try (Tensor tp = backend.upload(type, pre, 10, 20);
             Tensor to = backend.allocate(type, 10, 20);
             Tensor tg = backend.upload(type, dOut, 10, 20);
             Tensor td = backend.allocate(type, 10, 20)) {
            backend.activate(activation, tp, to);
            assertClose(activation + " f", to.toDoubleArray(), f, null, 1, type);
            backend.activationBackward(activation, tp, to, tg, td);
            assertClose(activation + " f'", td.toDoubleArray(), df, null, 2, type);
            // in place: out = pre, dPre = dOut
            backend.activationBackward(activation, tp, to, tg, tg);
            assertClose(activation + " f' in place", tg.toDoubleArray(), df, null, 2, type);
            backend.activate(activation, tp, tp);
            assertClose(activation + " f in place", tp.toDoubleArray(), f, null, 1, type);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void reluDerivativeAtZeroIsZero(NumericType<?> type) {
        try (Tensor pre = backend.upload(type, new double[] {0, -1, 2}, 3);
             Tensor out = backend.allocate(type, 3);
             Tensor g = backend.upload(type, new double[] {5, 5, 5}, 3);
             Tensor d = backend.allocate(type, 3)) {
            backend.activate(Activation.RELU, pre, out);
            backend.activationBackward(Activation.RELU, pre, out, g, d);
            assertThat(out.toDoubleArray()).containsExactly(0, 0, 2);
            assertThat(d.toDoubleArray()).containsExactly(0, 0, 5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void sumAccumulatesInDoubleAndAllFiniteSpotsNaNAndInfinity(NumericType<?> type) {
        Random rnd = new Random(4);
        for (int n : SIZES) {
            double[] x = random(rnd, n, type);
            double want = 0;
            double mag = 0;
            for (double v : x) {
                want += v;
                mag += Math.abs(v);
            }
            try (Tensor t = backend.upload(type, x, n)) {
                assertClose("sum", backend.sum(t), want, mag, 1, NumericType.FLOAT64);
                assertThat(backend.allFinite(t)).isTrue();
                if (n > 0) {
                    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY,
                            Double.NEGATIVE_INFINITY}) {
                        backend.write(t, n - 1, new double[] {bad}, 0, 1);
                        assertThat(backend.allFinite(t)).as("with %s", bad).isFalse();
                    }
                }
            }
        }
        // 2^24 + 1 ones: a float accumulator would stop at 2^24
        int n = (1 << 24) + 1;
        try (Tensor t = backend.allocate(type, n)) {
            backend.fill(t, 1.0);
            assertThat(backend.sum(t)).isEqualTo(n);
        }
    }
}
