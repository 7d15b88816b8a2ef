package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Elementwise and reduction contract against float64 references: axpby, addBias, columnSums (beta
 * 0 with a NaN-filled output, 1 and 0.5), activate and activationBackward for every
 * {@link Activation} (reference {@link Activation#apply} and {@link Activation#derivative}, in place
 * where allowed), maskedScaleAdd (null mask, broadcast and per-element masks, beta 0/1/0.5, in place
 * when beta is 0), sum (accumulated in double) and allFinite.
 *
 * <p>Activation tolerance: {@code c * eps * 8 * (|f(x)| + |x f'(x)|)}, plus for GELU
 * {@code c * eps * 8 * 0.5 |x| (1 + |tanh u|)} (see {@link #activationScale}), plus the smallest
 * normal: relative to the result, with room for ulp-level error of the transcendental functions.
 * For the derivative {@code c * eps * 8 * |dOut| * (1 + |x| + |f'(x)|)}.
 */
public abstract class ElementwiseContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected ElementwiseContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    private static final int[] SIZES = {0, 1, 3, 7, 8, 13, 31, 64, 100, 257, 1024, 4098};

    @Test
    @DisplayName("axpby: y = alpha x + beta y (beta = 0 ignores NaN in y)")
    void axpby() {
        for (NumericType<?> type : TYPES) {
            for (int n : SIZES) {
                for (double[] ab : new double[][] {{1, 0}, {1, 1}, {-0.3, 2}, {0, 1}, {2.5, -1}}) {
                    axpbyCase(type, n, ab[0], ab[1]);
                }
            }
        }
    }

    private <T extends Number> void axpbyCase(NumericType<T> type, int n, double alpha, double beta) {
        double[] x = round(type, random(n, n, -2, 2));
        double[] y = beta == 0 ? filled(n, Double.NaN) : round(type, random(n + 1, n, -2, 2));
        Tensor<T> tx = tensor(type, x, n);
        Tensor<T> ty = tensor(type, y, n);
        backend().axpby(alpha, tx, beta, ty);
        double al = round(type, alpha);
        double be = round(type, beta);
        double[] expected = new double[n];
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            double old = be == 0 ? 0 : be * y[i];
            expected[i] = al * x[i] + old;
            scale[i] = Math.abs(al * x[i]) + Math.abs(old);
        }
        assertClose("axpby(alpha=" + alpha + ", x[" + n + "], beta=" + beta + ", y)", type,
                ty.toDoubleArray(), expected, scale, 3, 0);
        assertExactly("axpby must not change x", tx.toDoubleArray(), x);
    }

    @Test
    @DisplayName("addBias: y[r, c] += bias[c]")
    void addBias() {
        for (NumericType<?> type : TYPES) {
            for (int rows : new int[] {0, 1, 3, 7}) {
                for (int cols : new int[] {1, 3, 8, 13, 100, 257}) {
                    addBiasCase(type, rows, cols);
                }
            }
        }
    }

    private <T extends Number> void addBiasCase(NumericType<T> type, int rows, int cols) {
        double[] y = round(type, random(rows * 31 + cols, rows * cols, -3, 3));
        double[] bias = round(type, random(cols, cols, -3, 3));
        Tensor<T> ty = tensor(type, y, rows, cols);
        Tensor<T> tb = tensor(type, bias, cols);
        backend().addBias(ty, tb);
        double[] expected = new double[rows * cols];
        double[] scale = new double[rows * cols];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = y[i] + bias[i % cols];
            scale[i] = Math.abs(y[i]) + Math.abs(bias[i % cols]);
        }
        assertClose("addBias(y[" + rows + " x " + cols + "], bias[" + cols + "])", type,
                ty.toDoubleArray(), expected, scale, 1, cols);
        assertExactly("addBias must not change bias", tb.toDoubleArray(), bias);
    }

    @Test
    @DisplayName("columnSums: dst[c] = sum_r src[r, c] + beta dst[c], beta 0 (NaN dst), 1, 0.5")
    void columnSums() {
        for (NumericType<?> type : TYPES) {
            for (int rows : new int[] {0, 1, 3, 13, 257, 1024}) {
                for (int cols : new int[] {1, 3, 8, 100}) {
                    for (double beta : new double[] {0, 1, 0.5}) {
                        columnSumsCase(type, rows, cols, beta);
                    }
                }
            }
        }
    }

    private <T extends Number> void columnSumsCase(NumericType<T> type, int rows, int cols,
                                                   double beta) {
        double[] src = round(type, random(rows + 7L * cols, rows * cols, -1, 1));
        double[] dst = beta == 0 ? filled(cols, Double.NaN) : round(type, random(cols, cols, -5, 5));
        Tensor<T> ts = tensor(type, src, rows, cols);
        Tensor<T> td = tensor(type, dst, cols);
        backend().columnSums(ts, beta, td);
        double be = round(type, beta);
        double[] expected = new double[cols];
        double[] scale = new double[cols];
        for (int c = 0; c < cols; c++) {
            double s = 0;
            double abs = 0;
            for (int r = 0; r < rows; r++) {
                s += src[r * cols + c];
                abs += Math.abs(src[r * cols + c]);
            }
            double old = be == 0 ? 0 : be * dst[c];
            expected[c] = s + old;
            scale[c] = abs + Math.abs(old);
        }
        assertClose("columnSums(src[" + rows + " x " + cols + "], beta=" + beta
                + (beta == 0 ? " with NaN-filled dst" : "") + ", dst[" + cols + "])", type,
                td.toDoubleArray(), expected, scale, rows + 2, 0);
        assertExactly("columnSums must not change src", ts.toDoubleArray(), src);
    }

    /** Inputs for activations: random in [-6, 6] plus special points. */
    private static double[] activationInputs(int n, long seed) {
        double[] special = {0.0, -0.0, 1e-3, -1e-3, 0.5, -0.5, 3, -3, 20, -20, 50, -50, 1e-30,
            -1e-30, 12, -12, 100, -100, 1e-6, -1e-6};
        double[] x = random(seed, n, -6, 6);
        System.arraycopy(special, 0, x, 0, Math.min(n, special.length));
        return x;
    }

    @Test
    @DisplayName("activate: every activation against Activation.apply, out of place and in place")
    void activate() {
        for (NumericType<?> type : TYPES) {
            for (Activation act : Activation.values()) {
                for (int n : new int[] {0, 1, 13, 100, 1024}) {
                    activateCase(type, act, n, false);
                    activateCase(type, act, n, true);
                }
            }
        }
    }

    private <T extends Number> void activateCase(NumericType<T> type, Activation act, int n,
                                                 boolean inPlace) {
        double[] x = round(type, activationInputs(n, n * 3L + act.ordinal()));
        Tensor<T> pre = tensor(type, x, n);
        Tensor<T> out = inPlace ? pre : tensor(type, filled(n, Double.NaN), n);
        backend().activate(act, pre, out);
        double[] expected = new double[n];
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            expected[i] = act.apply(x[i]);
            scale[i] = activationScale(act, x[i]);
        }
        assertClose("activate(" + act + ", pre[" + n + "], out" + (inPlace ? " = pre)" : ")"), type,
                out.toDoubleArray(), expected, scale, 8, 0);
        if (!inPlace) {
            assertExactly("activate must not change pre", pre.toDoubleArray(), x);
        }
    }

    /**
     * The scale of {@code activate}'s tolerance at {@code x}: relative to the reference, so that
     * a result near 0 must be near 0 relative to its own size (a sigmoid that returns 0 at
     * {@code x = -20}, where the reference is 2e-9, fails); only where the result underflows does
     * the absolute floor of {@link #tolerance} (the smallest normal) decide. The terms:
     * <ul>
     *   <li>{@code |f(x)|}: the rounding of the result itself;</li>
     *   <li>{@code |x f'(x)|}: the change of {@code f} when an implementation rounds its argument
     *       relatively, as {@code exp(-x)} computed as {@code exp2(-x log2 e)} does;</li>
     *   <li>GELU only, {@code 0.5 |x| (1 + |tanh u|)}: the magnitude of the terms of
     *       {@code 1 + tanh(u)} in its formula {@code 0.5 x (1 + tanh u)}, which cancel for
     *       {@code x << 0} when the formula is computed as written (in float, GELU(-6) = -5.6e-13
     *       comes out as 0); {@code 0.5 |x| |tanh u|} is {@code |f(x) - 0.5 x|}.</li>
     * </ul>
     *
     * @param f the activation
     * @param x its argument
     * @return the scale, in the units of {@link #tolerance}'s {@code scale}
     */
    static double activationScale(Activation f, double x) {
        double y = f.apply(x);
        double scale = Math.abs(y) + Math.abs(x * f.derivative(x));
        if (f == Activation.GELU) {
            scale += 0.5 * Math.abs(x) + Math.abs(y - 0.5 * x);
        }
        return scale;
    }

    @Test
    @DisplayName("activationBackward: dPre = dOut f'(pre) for every activation, also with dPre = dOut")
    void activationBackward() {
        for (NumericType<?> type : TYPES) {
            for (Activation act : Activation.values()) {
                for (int n : new int[] {0, 1, 13, 100, 1024}) {
                    activationBackwardCase(type, act, n, false);
                    activationBackwardCase(type, act, n, true);
                }
            }
        }
    }

    private <T extends Number> void activationBackwardCase(NumericType<T> type, Activation act,
                                                           int n, boolean inPlace) {
        double[] x = round(type, activationInputs(n, n * 5L + act.ordinal()));
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = round(type, act.apply(x[i]));
        }
        double[] dOut = round(type, random(n + 99, n, -2, 2));
        Tensor<T> pre = tensor(type, x, n);
        Tensor<T> out = tensor(type, y, n);
        Tensor<T> dOutT = tensor(type, dOut, n);
        Tensor<T> dPre = inPlace ? dOutT : tensor(type, filled(n, Double.NaN), n);
        backend().activationBackward(act, pre, out, dOutT, dPre);
        double[] expected = new double[n];
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            double d = act.derivative(x[i]);
            expected[i] = dOut[i] * d;
            scale[i] = Math.abs(dOut[i]) * (1 + Math.abs(x[i]) + Math.abs(d));
        }
        assertClose("activationBackward(" + act + ", n=" + n + (inPlace ? ", dPre = dOut)" : ")"),
                type, dPre.toDoubleArray(), expected, scale, 8, 0);
        assertExactly("activationBackward must not change pre", pre.toDoubleArray(), x);
        assertExactly("activationBackward must not change out", out.toDoubleArray(), y);
    }

    @Test
    @DisplayName("maskedScaleAdd: null, broadcast and per-element masks; beta 0 (NaN dst, in place), 1, 0.5")
    void maskedScaleAdd() {
        int[][] shapes = {{0, 5}, {1, 1}, {3, 7}, {13, 64}, {7, 100}, {2, 257}};
        for (NumericType<?> type : TYPES) {
            for (int[] rc : shapes) {
                for (String maskKind : new String[] {"null", "broadcast", "element"}) {
                    for (double beta : new double[] {0, 1, 0.5}) {
                        for (double scale : new double[] {1, 2.5}) {
                            maskedScaleAddCase(type, rc[0], rc[1], maskKind, beta, scale, false);
                            if (beta == 0) {
                                maskedScaleAddCase(type, rc[0], rc[1], maskKind, beta, scale, true);
                            }
                        }
                    }
                }
            }
        }
    }

    private <T extends Number> void maskedScaleAddCase(NumericType<T> type, int rows, int cols,
                                                       String maskKind, double beta, double scale,
                                                       boolean inPlace) {
        int n = rows * cols;
        double[] src = round(type, random(n + 17L * cols, n, -3, 3));
        double[] dst = beta == 0 ? filled(n, Double.NaN) : round(type, random(n + 5, n, -3, 3));
        boolean broadcast = maskKind.equals("broadcast");
        long seed = 42 + n;
        BitMask mask = null;
        long[] bits = null;
        if (!maskKind.equals("null")) {
            int size = broadcast ? cols : n;
            mask = mask(size);
            backend().generateMask(mask, seed, 1, 2, 0.4);
            bits = MaskStream.reference(seed, 1, 2, size, 0.4);
        }
        Tensor<T> ts = tensor(type, src, rows, cols);
        Tensor<T> td = inPlace ? ts : tensor(type, dst, rows, cols);
        // with a null mask, broadcastRows is irrelevant: alternate it
        boolean flag = maskKind.equals("null") ? (n % 2 == 0) : broadcast;
        backend().maskedScaleAdd(ts, mask, flag, scale, beta, td);
        double sc = round(type, scale);
        double be = round(type, beta);
        double[] expected = new double[n];
        double[] mag = new double[n];
        for (int i = 0; i < n; i++) {
            boolean keep = bits == null || BitMask.isSet(bits, broadcast ? i % cols : i);
            double kept = keep ? sc * src[i] : 0;
            double old = be == 0 ? 0 : be * dst[i];
            expected[i] = kept + old;
            mag[i] = Math.abs(kept) + Math.abs(old);
        }
        assertClose("maskedScaleAdd(src[" + rows + " x " + cols + "], mask=" + maskKind
                + ", broadcastRows=" + flag + ", scale=" + scale + ", beta=" + beta
                + (inPlace ? ", dst = src)" : beta == 0 ? ", NaN-filled dst)" : ")"), type,
                td.toDoubleArray(), expected, mag, 3, cols);
        if (!inPlace) {
            assertExactly("maskedScaleAdd must not change src", ts.toDoubleArray(), src);
        }
    }

    @Test
    @DisplayName("sum: accumulated in double precision, empty sum is 0")
    void sum() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            for (int n : SIZES) {
                double[] x = round(type, random(n * 13L, n, -100, 100));
                double s = 0;
                double abs = 0;
                for (double v : x) {
                    s += v;
                    abs += Math.abs(v);
                }
                Tensor<?> t = tensor(type, x, n);
                // the contract asks for double accumulation whatever the type
                assertClose("sum(" + type + "[" + n + "])", NumericType.FLOAT64, be.sum(t), s, abs,
                        n + 2);
            }
            Tensor<?> big = tensor(type, filled(4099, 1e8), 4099);
            assertClose("sum(" + type + "[4099] of 1e8): double accumulation", NumericType.FLOAT64,
                    be.sum(big), 4099 * 1e8, 4099 * 1e8, 4099);
            Tensor<?> cancel = tensor(type, new double[] {1e8, 1, -1e8, 1}, 4);
            assertThat(be.sum(cancel)).as("sum(%s [1e8, 1, -1e8, 1]) must accumulate in double", type)
                    .isEqualTo(2.0);
        }
    }

    @Test
    @DisplayName("allFinite: false for NaN, +Inf or -Inf anywhere; true for empty and finite")
    void allFinite() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            for (int n : new int[] {0, 1, 7, 64, 100, 4098}) {
                double[] x = random(n, n, -1e3, 1e3);
                if (n > 0) {
                    x[0] = type == NumericType.FLOAT32 ? Float.MAX_VALUE : Double.MAX_VALUE;
                }
                Tensor<?> t = tensor(type, x, n);
                assertThat(be.allFinite(t)).as("allFinite(%s[%d] finite)", type, n).isTrue();
                for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY,
                    Double.NEGATIVE_INFINITY}) {
                    for (int at : new int[] {0, n / 2, n - 1}) {
                        if (n == 0) {
                            continue;
                        }
                        be.write(t, at, new double[] {bad}, 0, 1);
                        assertThat(be.allFinite(t)).as("allFinite(%s[%d] with %s at %d)", type, n,
                                bad, at).isFalse();
                        be.write(t, at, x, at, 1);
                    }
                }
                assertThat(be.allFinite(t)).as("allFinite(%s[%d] restored)", type, n).isTrue();
            }
        }
    }
}
