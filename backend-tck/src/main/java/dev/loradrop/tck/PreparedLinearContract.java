package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code prepareLinear}: {@code y = f(x W^T + b)} against {@code gemm}, {@code addBias} and
 * {@code activate} on the same backend, for both types, every activation, with and without a bias,
 * at awkward sizes (including {@code in = 0} and more than 256 rows); weights read at preparation
 * only; concurrent calls; bad arguments. Tolerance: twice the GEMM tolerance, times 1.2 for the
 * activation's slope.
 */
public abstract class PreparedLinearContract extends ContractSupport {

    /** {rows, out, in}. */
    private static final int[][] SHAPES = {
        {0, 5, 4}, {1, 1, 1}, {7, 13, 31}, {64, 100, 257}, {300, 33, 64}, {3, 8, 0}, {2, 0, 3},
    };

    /**
     * @param kit the enclosing kit
     */
    protected PreparedLinearContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    @TestFactory
    @DisplayName("prepareLinear(...).apply matches gemm, addBias and activate")
    Stream<DynamicTest> matchesTheComposition() {
        List<DynamicTest> tests = new ArrayList<>();
        int variant = 0;
        for (NumericType<?> type : TYPES) {
            for (int[] s : SHAPES) {
                for (Activation f : Activation.values()) {
                    boolean bias = variant++ % 2 == 0;
                    long seed = 31L * variant;
                    tests.add(DynamicTest.dynamicTest(
                            describe(type, s[0], s[1], s[2], f, bias),
                            () -> compositionCase(type, s[0], s[1], s[2], f, bias, seed)));
                }
            }
        }
        return tests.stream();
    }

    private static String describe(NumericType<?> type, int rows, int out, int in, Activation f,
                                   boolean bias) {
        return "prepareLinear(out=" + out + ", in=" + in + ", " + f + (bias ? ", bias" : ", no bias")
                + ").apply(rows=" + rows + ") " + type;
    }

    private <T extends Number> void compositionCase(NumericType<T> type, int rows, int out, int in,
                                                    Activation f, boolean withBias, long seed) {
        double[] x = round(type, random(seed, rows * in, -1, 1));
        double[] w = round(type, random(seed + 1, out * in, -1, 1));
        double[] b = round(type, random(seed + 2, out, -1, 1));
        Tensor<T> tx = tensor(type, x, rows, in);
        Tensor<T> tw = tensor(type, w, out, in);
        Tensor<T> tb = withBias ? vector(type, b) : null;
        Tensor<T> expected = zeros(type, rows, out);
        backend().gemm(false, true, rows, out, in, 1.0, tx, tw, 0.0, expected);
        if (withBias && rows > 0) {
            backend().addBias(expected, tb);
        }
        backend().activate(f, expected, expected);
        Tensor<T> y = tensor(type, filled(rows * out, Double.NaN), rows, out);
        try (PreparedLinear<T> linear = backend().prepareLinear(tw, tb, f, out, in)) {
            assertThat(linear.inputSize()).isEqualTo(in);
            assertThat(linear.outputSize()).isEqualTo(out);
            assertThat(linear.activation()).isEqualTo(f);
            assertThat(linear.type()).isEqualTo(type);
            linear.apply(rows, tx, y);
        }
        double[] scale = new double[rows * out];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < out; j++) {
                double sum = withBias ? Math.abs(b[j]) : 0;
                for (int p = 0; p < in; p++) {
                    sum += Math.abs(x[i * in + p] * w[j * in + p]);
                }
                scale[i * out + j] = 1.2 * sum;
            }
        }
        assertClose(describe(type, rows, out, in, f, withBias), type, y.toDoubleArray(),
                expected.toDoubleArray(), scale, 2.0 * (in + 2), out);
        assertExactly("apply must not change x", tx.toDoubleArray(), x);
    }

    @Test
    @DisplayName("the weights are read when prepared: later writes to them change nothing")
    void weightsAreReadWhenPrepared() {
        for (NumericType<?> type : TYPES) {
            snapshotCase(type);
        }
    }

    private <T extends Number> void snapshotCase(NumericType<T> type) {
        Tensor<T> x = tensor(type, random(1, 5 * 9, -1, 1), 5, 9);
        Tensor<T> w = tensor(type, random(2, 11 * 9, -1, 1), 11, 9);
        Tensor<T> b = vector(type, random(3, 11, -1, 1));
        Tensor<T> before = zeros(type, 5, 11);
        Tensor<T> after = zeros(type, 5, 11);
        try (PreparedLinear<T> linear = backend().prepareLinear(w, b, Activation.TANH, 11, 9)) {
            linear.apply(5, x, before);
            backend().fill(w, 0.0);
            backend().fill(b, 7.0);
            linear.apply(5, x, after);
        }
        assertExactly("apply after the source weights changed " + type, after.toDoubleArray(),
                before.toDoubleArray());
    }

    @Test
    @DisplayName("apply from 4 threads at once gives exactly the single-thread results")
    void concurrentCallsGiveTheSingleThreadResults() throws Exception {
        NumericType<Float> type = NumericType.FLOAT32;
        int rows = 70;
        int out = 90;
        int in = 300;
        Tensor<Float> w = tensor(type, random(4, out * in, -1, 1), out, in);
        Tensor<Float> b = vector(type, random(5, out, -1, 1));
        List<Tensor<Float>> xs = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (PreparedLinear<Float> linear = backend().prepareLinear(w, b, Activation.GELU, out, in)) {
            for (int t = 0; t < 4; t++) {
                Tensor<Float> x = tensor(type, random(10 + t, rows * in, -1, 1), rows, in);
                Tensor<Float> y = zeros(type, rows, out);
                linear.apply(rows, x, y);
                xs.add(x);
                expected.add(y.toDoubleArray());
            }
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                Tensor<Float> y = zeros(type, rows, out);
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        linear.apply(rows, xs.get(id), y);
                        assertExactly("thread " + id + ", call " + i, y.toDoubleArray(),
                                expected.get(id));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @DisplayName("bad arguments are rejected, naming the argument, and leave y unchanged")
    void badArgumentsAreRejected() {
        NumericType<Double> type = NumericType.FLOAT64;
        Tensor<Double> w = tensor(type, random(6, 4 * 3, -1, 1), 4, 3);
        Tensor<Double> x = tensor(type, random(7, 2 * 3, -1, 1), 2, 3);
        Tensor<Double> y = zeros(type, 2, 4);
        assertRejected("prepareLinear(weight[4 x 3], out=5, in=3)", IllegalArgumentException.class,
                "weight", null, () -> backend().prepareLinear(w, null, Activation.RELU, 5, 3));
        assertRejected("prepareLinear(weight[4 x 3], bias[3], out=4, in=3)",
                IllegalArgumentException.class, "bias", null,
                () -> backend().prepareLinear(w, zeros(type, 3), Activation.RELU, 4, 3));
        assertRejected("prepareLinear(weight[4 x 3], out=-4, in=-3)", IllegalArgumentException.class,
                "out|in", null, () -> backend().prepareLinear(w, null, Activation.RELU, -4, -3));
        assertRejected("prepareLinear with a null activation", NullPointerException.class,
                "activation", null, () -> backend().prepareLinear(w, null, null, 4, 3));
        PreparedLinear<Double> linear = backend().prepareLinear(w, null, Activation.RELU, 4, 3);
        try {
            Tensor<Double> y3 = tensor(type, random(8, 3 * 4, -1, 1), 3, 4);
            assertRejected("apply(rows=3) with x[2 x 3]", IllegalArgumentException.class, "x", y3,
                    () -> linear.apply(3, x, y3));
            assertRejected("apply(rows=2) with y[2 x 5]", IllegalArgumentException.class, "y", null,
                    () -> linear.apply(2, x, zeros(type, 2, 5)));
            assertRejected("apply with FLOAT32 tensors", IllegalArgumentException.class, "x|y", null,
                    () -> applyUnchecked(linear, 2, zeros(NumericType.FLOAT32, 2, 3),
                            zeros(NumericType.FLOAT32, 2, 4)));
            assertRejected("apply with negative rows", IllegalArgumentException.class, "rows", y,
                    () -> linear.apply(-1, x, y));
            Tensor<Double> foreign = own(newBackend(kit.config()).upload(new double[6], 2, 3));
            assertRejected("apply with x of another backend instance",
                    IllegalArgumentException.class, "x", y, () -> linear.apply(2, foreign, y));
        } finally {
            linear.close();
        }
        linear.close(); // idempotent
        assertRejected("apply after close", IllegalStateException.class, null, y,
                () -> linear.apply(2, x, y));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void applyUnchecked(PreparedLinear linear, int rows, Tensor x, Tensor y) {
        linear.apply(rows, x, y);
    }
}
