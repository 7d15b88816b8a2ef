package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
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
 * evaluated element by element, on awkward sizes and special values. The suite runs with and
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
            for (int i = 0; i < n; i++) {
                assertThat(Float.floatToRawIntBits(f[i])).as("%s float element %d: %s, expected %s",
                        what, i, f[i], fexp[i]).isEqualTo(Float.floatToRawIntBits(fexp[i]));
            }
            double[] d = old.clone();
            path.maskedScaleAdd(src, mask, broadcastRows, cols, scale, beta, d);
            for (int i = 0; i < n; i++) {
                assertThat(Double.doubleToRawLongBits(d[i])).as("%s double element %d: %s, "
                        + "expected %s", what, i, d[i], dexp[i])
                        .isEqualTo(Double.doubleToRawLongBits(dexp[i]));
            }
        }
    }

    @Test
    void theDefaultKernelsFollowTheGemmPath() {
        boolean vector = CpuPaths.defaultKernel() instanceof ScalarTileKernel;
        assertThat(CpuPaths.defaultKernels().path()).startsWith(vector ? "scalar" : "vector");
    }
}
