package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.MaskStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential tests of the elementwise kernels' paths: {@link ScalarKernels} and, when the
 * incubator module is present, {@link VectorKernels} must give the same bits as the formula
 * evaluated element by element (the masked scale-add, ReLU) or as the scalar path (every
 * activation, Adam), on awkward sizes and special values. The suite runs with and
 * without the module.
 */
class KernelPathsTest {

    private static final int[] SIZES = {0, 1, 3, 7, 8, 13, 31, 64, 100, 257, 1024, 4098};

    private static List<Kernels> paths() {
        List<Kernels> paths = new ArrayList<>(List.of(ScalarKernels.INSTANCE));
        if (CpuPaths.vectorUnavailableReason() == null) {
            paths.add(CpuPaths.vectorKernels());
        }
        return paths;
    }

    /** ELEMENT masks over n elements, and FEATURE masks over n columns of 1 and 3 rows. */
    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (int n : SIZES) {
            out.add(Arguments.of(n, 1, false));
            out.add(Arguments.of(3, n, true));
            out.add(Arguments.of(1, n, true));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "rows={0} cols={1} broadcastRows={2}")
    @MethodSource("shapes")
    void maskedScaleAddGivesTheFormulasBitsOnEveryPath(int rows, int cols, boolean broadcastRows) {
        int n = rows * cols;
        SplittableRandom r = new SplittableRandom(n * 31L + cols);
        double[] src = new double[n];
        double[] old = new double[n];
        for (int i = 0; i < n; i++) {
            src[i] = r.nextDouble(-2, 2);
            old[i] = r.nextDouble(-2, 2);
        }
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0,
            0.0};
        for (int i = 0; i < n && i < 40; i += 3) {
            src[i] = specials[(i / 3) % specials.length];
        }
        int bits = broadcastRows ? cols : n;
        long[] mask = new long[(bits + 63) / 64];
        for (int w = 0; w < mask.length; w++) {
            mask[w] = r.nextLong();
        }
        for (long[] m : new long[][] {mask, null}) {
            for (double scale : new double[] {1.25, -0.75}) {
                for (double beta : new double[] {0.0, 1.0, -0.5}) {
                    double[] dstOld = old.clone();
                    if (beta == 0.0 && n > 1) {
                        dstOld[1] = Double.NaN; // ignored when beta is 0
                    }
                    check(m, broadcastRows, cols, src, dstOld, scale, beta);
                }
            }
        }
    }

    private static void check(long[] mask, boolean broadcastRows, int cols, double[] src,
                              double[] old, double scale, double beta) {
        int n = src.length;
        float[] fsrc = new float[n];
        float[] fold = new float[n];
        float[] fexp = new float[n];
        double[] dexp = new double[n];
        float fs = (float) scale;
        float fb = (float) beta;
        for (int i = 0; i < n; i++) {
            fsrc[i] = (float) src[i];
            fold[i] = (float) old[i];
            int bit = broadcastRows ? i % cols : i;
            boolean kept = mask == null || (mask[bit >>> 6] >>> bit & 1L) != 0;
            float ff = kept ? fs : 0f;
            fexp[i] = fb == 0f ? ff * fsrc[i] : ff * fsrc[i] + fb * fold[i];
            double df = kept ? scale : 0.0;
            dexp[i] = beta == 0.0 ? df * src[i] : df * src[i] + beta * old[i];
        }
        for (Kernels path : paths()) {
            String what = path.path() + " mask=" + (mask != null) + " scale=" + scale + " beta="
                    + beta;
            float[] f = fold.clone();
            path.maskedScaleAdd(fsrc, mask, broadcastRows, cols, scale, beta, f);
            assertSameBits(what + " float", f, fexp);
            double[] d = old.clone();
            path.maskedScaleAdd(src, mask, broadcastRows, cols, scale, beta, d);
            assertSameBits(what + " double", d, dexp);
        }
    }

    /**
     * Masks of every size in {@link #SIZES} (and the benchmark's [64, 4096] plus a tail), whole and
     * as a range of words with the words around it left alone: the reference stream's bits on every
     * path, for seeds, streams and steps whose bits reach the Philox words' extremes.
     */
    @ParameterizedTest(name = "n={0}")
    @MethodSource("maskSizes")
    void masksGiveTheReferenceStreamsBitsOnEveryPath(int n) {
        int count = (n + 63) / 64;
        for (Kernels path : paths()) {
            for (long seed : new long[] {0L, -1L, 0x0123456789ABCDEFL}) {
                for (int stream : new int[] {0, 3, -1}) {
                    for (int step : new int[] {0, 7, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
                        for (double p : new double[] {0.0, 0.1, 0.5, 0.999}) {
                            String what = path.path() + " n=" + n + " seed=" + seed + " stream="
                                    + stream + " step=" + step + " p=" + p;
                            long[] want = MaskStream.reference(seed, stream, step, n, p);
                            long threshold = MaskStream.keepThreshold(p);
                            long[] whole = new long[count];
                            Arrays.fill(whole, 0x5A5A5A5A5A5A5A5AL);
                            path.fillMask(whole, 0, count, seed, stream, step, n, threshold);
                            assertThat(whole).as(what).containsExactly(want);
                            if (count >= 3) {
                                long[] part = new long[count];
                                Arrays.fill(part, 7L);
                                path.fillMask(part, 1, count - 1, seed, stream, step, n, threshold);
                                long[] partWant = want.clone();
                                partWant[0] = 7L;
                                partWant[count - 1] = 7L;
                                assertThat(part).as(what + " words [1, count - 1)")
                                        .containsExactly(partWant);
                            }
                        }
                    }
                }
            }
        }
    }

    static Stream<Arguments> maskSizes() {
        return Stream.concat(Arrays.stream(SIZES).boxed(),
                Stream.of(64 * 4096, 64 * 4096 + 37)).map(Arguments::of);
    }

    static Stream<Arguments> sizes() {
        return Arrays.stream(SIZES).mapToObj(Arguments::of);
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("sizes")
    void activationsGiveTheScalarBitsOnEveryPath(int n) {
        SplittableRandom r = new SplittableRandom(n);
        double[] pre = new double[n];
        double[] dOut = new double[n];
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0,
            0.0, Double.MIN_VALUE, -Double.MIN_VALUE};
        for (int i = 0; i < n; i++) {
            pre[i] = i % 5 == 0 ? specials[(i / 5) % specials.length] : r.nextDouble(-2, 2);
            dOut[i] = i % 7 == 3 ? specials[(i / 7) % specials.length] : r.nextDouble(-2, 2);
        }
        float[] fpre = new float[n];
        float[] fdOut = new float[n];
        for (int i = 0; i < n; i++) {
            fpre[i] = (float) pre[i];
            fdOut[i] = (float) dOut[i];
        }
        for (Activation a : Activation.values()) {
            float[] fOut = new float[n];
            float[] fdPre = new float[n];
            double[] out = new double[n];
            double[] dPre = new double[n];
            ScalarKernels.INSTANCE.activate(a, fpre, fOut);
            ScalarKernels.INSTANCE.activationBackward(a, fpre, fOut, fdOut, fdPre);
            ScalarKernels.INSTANCE.activate(a, pre, out);
            ScalarKernels.INSTANCE.activationBackward(a, pre, out, dOut, dPre);
            if (a == Activation.RELU) {
                for (int i = 0; i < n; i++) {
                    assertThat(fOut[i]).isEqualTo(fpre[i] > 0f ? fpre[i] : 0f);
                    assertThat(Float.floatToIntBits(fdPre[i])).isEqualTo(
                            Float.floatToIntBits(fdOut[i] * (fpre[i] > 0f ? 1f : 0f)));
                }
            }
            for (Kernels path : paths()) {
                String what = path.path() + " " + a;
                float[] f = new float[n];
                float[] fd = new float[n];
                double[] d = new double[n];
                double[] dd = new double[n];
                path.activate(a, fpre, f);
                path.activationBackward(a, fpre, f, fdOut, fd);
                path.activate(a, pre, d);
                path.activationBackward(a, pre, d, dOut, dd);
                assertSameBits(what + " float forward", f, fOut);
                assertSameBits(what + " float backward", fd, fdPre);
                assertSameBits(what + " double forward", d, out);
                assertSameBits(what + " double backward", dd, dPre);
                // in place: out over pre, dPre over dOut
                float[] inPlace = fpre.clone();
                path.activate(a, inPlace, inPlace);
                assertSameBits(what + " float forward in place", inPlace, fOut);
                float[] inPlaceGrad = fdOut.clone();
                path.activationBackward(a, fpre, fOut, inPlaceGrad, inPlaceGrad);
                assertSameBits(what + " float backward in place", inPlaceGrad, fdPre);
            }
        }
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("sizes")
    void adamGivesTheScalarBitsOnEveryPath(int n) {
        double[][] configs = {
            // lr, beta1, beta2, epsilon, weightDecay, decoupled
            {1e-3, 0.9, 0.999, 1e-8, 0, 0}, {1e-2, 0.9, 0.999, 1e-8, 0.01, 0},
            {1e-3, 0.8, 0.99, 1e-6, 0.05, 1}, {0.1, 0.5, 0.7, 1e-3, 0, 1},
        };
        for (double[] c : configs) {
            SplittableRandom r = new SplittableRandom(n * 7L + (long) (c[0] * 1e4));
            double[] param = new double[n];
            for (int i = 0; i < n; i++) {
                param[i] = r.nextDouble(-1, 1);
            }
            float[] fparam = toFloats(param);
            double[] m = new double[n];
            double[] v = new double[n];
            float[] fm = new float[n];
            float[] fv = new float[n];
            for (int step = 1; step <= 3; step++) {
                double[] grad = new double[n];
                for (int i = 0; i < n; i++) {
                    grad[i] = i % 11 == 0 ? 0.0 : r.nextDouble(-1, 1);
                }
                float[] fgrad = toFloats(grad);
                // the reference: the scalar path, from the state both paths share
                double[] param1 = param.clone();
                double[] m1 = m.clone();
                double[] v1 = v.clone();
                float[] fparam1 = fparam.clone();
                float[] fm1 = fm.clone();
                float[] fv1 = fv.clone();
                ScalarKernels.INSTANCE.adamStep(param1, grad, m1, v1, c[0], c[1], c[2], c[3],
                        c[4], c[5] != 0, step);
                ScalarKernels.INSTANCE.adamStep(fparam1, fgrad, fm1, fv1, c[0], c[1], c[2], c[3],
                        c[4], c[5] != 0, step);
                for (Kernels path : paths()) {
                    String what = path.path() + " Adam " + Arrays.toString(c) + " step "
                            + step;
                    double[] p2 = param.clone();
                    double[] m2 = m.clone();
                    double[] v2 = v.clone();
                    path.adamStep(p2, grad, m2, v2, c[0], c[1], c[2], c[3], c[4], c[5] != 0, step);
                    assertSameBits(what + " double param", p2, param1);
                    assertSameBits(what + " double m", m2, m1);
                    assertSameBits(what + " double v", v2, v1);
                    float[] fp2 = fparam.clone();
                    float[] fm2 = fm.clone();
                    float[] fv2 = fv.clone();
                    path.adamStep(fp2, fgrad, fm2, fv2, c[0], c[1], c[2], c[3], c[4], c[5] != 0,
                            step);
                    assertSameBits(what + " float param", fp2, fparam1);
                    assertSameBits(what + " float m", fm2, fm1);
                    assertSameBits(what + " float v", fv2, fv1);
                }
                param = param1;
                m = m1;
                v = v1;
                fparam = fparam1;
                fm = fm1;
                fv = fv1;
            }
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /**
     * The same bits, zeros' signs included; any NaN matches any NaN, because Java leaves a NaN's
     * sign and payload unspecified (x86 takes them from one operand, and the JIT may swap the
     * operands of a multiplication: the scalar path itself gave two NaNs for one GELU element).
     */
    private static void assertSameBits(String what, float[] actual, float[] expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToIntBits(actual[i])).as("%s element %d: %s, expected %s",
                    what, i, actual[i], expected[i])
                    .isEqualTo(Float.floatToIntBits(expected[i]));
        }
    }

    /** The double twin of {@link #assertSameBits(String, float[], float[])}. */
    private static void assertSameBits(String what, double[] actual, double[] expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(Double.doubleToLongBits(actual[i])).as("%s element %d: %s, expected %s",
                    what, i, actual[i], expected[i])
                    .isEqualTo(Double.doubleToLongBits(expected[i]));
        }
    }

    @Test
    void theDefaultKernelsFollowTheGemmPath() {
        boolean vector = CpuPaths.defaultKernel() instanceof ScalarTileKernel;
        assertThat(CpuPaths.defaultKernels().path()).startsWith(vector ? "scalar" : "vector");
    }
}
