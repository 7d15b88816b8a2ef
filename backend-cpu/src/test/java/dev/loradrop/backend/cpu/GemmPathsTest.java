package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loradrop.api.spi.BackendConfig;
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
 * Differential tests of the GEMM paths: the Vector API micro-kernel and the scalar one, each
 * against a float64 reference, at the awkward sizes 0, 1, 3, 7, 8, 13, 31, 64, 100, 257, 1024 and
 * 4098 in each dimension, every transpose; and bit-identical results for any thread count.
 * The vector cases are skipped (not failed) when the JVM lacks {@code jdk.incubator.vector}, as in
 * this module's second surefire execution.
 */
class GemmPathsTest {

    private static final int[] SIZES = {0, 1, 3, 7, 8, 13, 31, 64, 100, 257, 1024, 4098};

    /** Each size in each dimension, with the other two dimensions small and awkward. */
    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        int[][] others = {{13, 31}, {7, 64}, {33, 5}};
        for (int s : SIZES) {
            for (int dim = 0; dim < 3; dim++) {
                int[] mnk = new int[3];
                mnk[dim] = s;
                mnk[(dim + 1) % 3] = others[dim][0];
                mnk[(dim + 2) % 3] = others[dim][1];
                for (int t = 0; t < 4; t++) {
                    out.add(Arguments.of(mnk[0], mnk[1], mnk[2], (t & 1) != 0, (t & 2) != 0));
                }
            }
        }
        // Shapes that cross the blocking boundaries: KC 512; column blocks of 16 strips (512
        // floats or 256 doubles of the vector kernel with AVX-512, 256 or 128 with AVX2, 1024 or
        // 512 of the scalar one), cut into chunks of rows when there are fewer than 8; row blocks
        // of 8 MiB of packed A (3072 float or 1536 double rows of the vector kernel with AVX-512,
        // 3072 or 1536 with AVX2, 4096 or 2048 of the scalar one).
        out.add(Arguments.of(257, 2100, 1030, false, false));
        out.add(Arguments.of(100, 1100, 1025, true, true));
        out.add(Arguments.of(800, 130, 2060, false, true));
        out.add(Arguments.of(9, 4200, 1040, true, false));
        out.add(Arguments.of(3100, 140, 530, false, false));
        out.add(Arguments.of(1600, 40, 1030, true, true));
        return out.stream();
    }

    private static TileKernel[] paths() {
        return CpuPaths.vectorUnavailableReason() == null
                ? new TileKernel[] {ScalarTileKernel.INSTANCE, CpuPaths.vector()}
                : new TileKernel[] {ScalarTileKernel.INSTANCE};
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("shapes")
    void everyPathMatchesTheFloat64Reference(int m, int n, int k, boolean transA, boolean transB) {
        SplittableRandom r = new SplittableRandom(31L * m + 7L * n + k);
        double[] a = random(r, m * k);
        double[] b = random(r, k * n);
        double[] c0 = random(r, m * n);
        double alpha = 0.75;
        double beta = -0.5;
        double[] ref = reference(transA, transB, m, n, k, alpha, a, b, beta, c0);
        for (TileKernel path : paths()) {
            try (GemmEngine engine = new GemmEngine(2, path)) {
                double[] cd = c0.clone();
                engine.gemm(transA, transB, m, n, k, alpha, a, b, beta, cd);
                float[] cf = toFloat(c0);
                engine.gemm(transA, transB, m, n, k, (float) alpha, toFloat(a), toFloat(b),
                        (float) beta, cf);
                for (int i = 0; i < ref.length; i++) {
                    // |error| <= c * eps * (k + 2) * (sum of |terms|); terms are at most 1 here.
                    double scale = Math.abs(alpha) * k + Math.abs(beta) + 1;
                    assertThat(Math.abs(cd[i] - ref[i])).as("%s double element %d", path.path(), i)
                            .isLessThanOrEqualTo(4 * 0x1p-53 * (k + 2) * scale);
                    assertThat(Math.abs(cf[i] - ref[i])).as("%s float element %d", path.path(), i)
                            .isLessThanOrEqualTo(4 * 0x1p-24 * (k + 2) * scale);
                }
            }
        }
    }

    /**
     * A transposed B with at most 256 float (128 double) rows of A takes the streamed-B loop order;
     * one row more takes the panel order. Both accumulate each element in the same order, so the
     * shared rows are bit-identical.
     */
    @Test
    void theStreamedAndPanelLoopOrdersGiveTheSameBits() {
        SplittableRandom r = new SplittableRandom(11);
        int n = 300;
        int k = 1100; // more than one depth block of either type
        double[] a = random(r, 257 * k);
        double[] b = random(r, n * k);
        for (TileKernel path : paths()) {
            try (GemmEngine engine = new GemmEngine(2, path)) {
                float[] streamed = new float[256 * n];
                float[] panel = new float[257 * n];
                engine.gemm(false, true, 256, n, k, 0.5f, toFloat(a), toFloat(b), 0f, streamed);
                engine.gemm(false, true, 257, n, k, 0.5f, toFloat(a), toFloat(b), 0f, panel);
                assertThat(Arrays.copyOf(panel, 256 * n)).as(path.path()).containsExactly(streamed);
                double[] streamedD = new double[128 * n];
                double[] panelD = new double[129 * n];
                engine.gemm(false, true, 128, n, k, 0.5, a, b, 0.0, streamedD);
                engine.gemm(false, true, 129, n, k, 0.5, a, b, 0.0, panelD);
                assertThat(Arrays.copyOf(panelD, 128 * n)).as(path.path())
                        .containsExactly(streamedD);
            }
        }
    }

    @Test
    void resultsAreBitIdenticalForAnyThreadCount() {
        SplittableRandom r = new SplittableRandom(5);
        int m = 67;
        int n = 1000;
        int k = 300;
        float[] a = toFloat(random(r, m * k));
        float[] b = toFloat(random(r, k * n));
        for (TileKernel path : paths()) {
            float[] expected = null;
            for (int threads : new int[] {1, 2, 3, 5}) {
                try (GemmEngine engine = new GemmEngine(threads, path)) {
                    float[] c = new float[m * n];
                    engine.gemm(false, true, m, n, k, 1f, a, toFloat(random(new SplittableRandom(1),
                            k * n)), 0f, c);
                    engine.gemm(true, false, m, n, k, 1f, transpose(a, m, k), b, 1f, c);
                    if (expected == null) {
                        expected = c;
                    } else {
                        assertThat(c).as("%s with %d threads", path.path(), threads)
                                .containsExactly(expected);
                    }
                }
            }
        }
    }

    @Test
    void concurrentCallersGetCorrectResults() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        int m = 40;
        int n = 300;
        int k = 200;
        double[] a = random(r, m * k);
        double[] b = random(r, k * n);
        double[] ref = reference(false, false, m, n, k, 1, a, b, 0, new double[m * n]);
        try (GemmEngine engine = new GemmEngine(2, CpuPaths.defaultKernel())) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < 20; i++) {
                            double[] c = new double[m * n];
                            engine.gemm(false, false, m, n, k, 1, a, b, 0, c);
                            for (int e = 0; e < c.length; e++) {
                                assertThat(c[e]).isCloseTo(ref[e],
                                        org.assertj.core.data.Offset.offset(1e-12));
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            assertThat(failures).isEmpty();
        }
    }

    @Test
    void theProviderUsesTheVectorPathExactlyWhenTheModuleIsPresent() {
        boolean present = ModuleLayer.boot().findModule(CpuPaths.MODULE).isPresent();
        try (CpuBackend backend = (CpuBackend) new CpuBackendProvider()
                .create(BackendConfig.defaults())) {
            assertThat(backend.describe().get("path")).startsWith(present ? "vector" : "scalar");
        }
        if (!present) {
            assertThat(CpuPaths.vectorUnavailableReason()).contains("--add-modules");
        }
    }

    @Test
    void forcingTheVectorPathWithoutTheModuleFailsWithTheReason() {
        assumeTrue(ModuleLayer.boot().findModule(CpuPaths.MODULE).isEmpty(),
                "runs in the execution without the module");
        org.assertj.core.api.Assertions.assertThatThrownBy(CpuPaths::vector)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("jdk.incubator.vector");
    }

    @Test
    void theVectorWidthIsTheOneAskedForAndABadWidthIsRejectedByName() {
        String asked = System.getProperty(CpuPaths.BITS_PROPERTY);
        if (CpuPaths.vectorUnavailableReason() == null) {
            // The surefire executions at 128 and 512 bits set the property; the default one not.
            assertThat(CpuPaths.vector().path())
                    .contains(asked == null ? "-bit" : asked + "-bit");
        }
        try {
            for (String bad : new String[] {"100", "1024", "wide"}) {
                System.setProperty(CpuPaths.BITS_PROPERTY, bad);
                org.assertj.core.api.Assertions.assertThatThrownBy(CpuPaths::vectorBits)
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining(CpuPaths.BITS_PROPERTY)
                        .hasMessageContaining("'" + bad + "'");
            }
            System.setProperty(CpuPaths.BITS_PROPERTY, " 256 ");
            assertThat(CpuPaths.vectorBits()).isEqualTo(256);
        } finally {
            if (asked == null) {
                System.clearProperty(CpuPaths.BITS_PROPERTY);
            } else {
                System.setProperty(CpuPaths.BITS_PROPERTY, asked);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    static double[] reference(boolean transA, boolean transB, int m, int n, int k, double alpha,
                              double[] a, double[] b, double beta, double[] c0) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = transA ? a[p * m + i] : a[i * k + p];
                    double bv = transB ? b[j * k + p] : b[p * n + j];
                    s += av * bv;
                }
                c[i * n + j] = alpha * s + beta * c0[i * n + j];
            }
        }
        return c;
    }

    private static double[] random(SplittableRandom r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble(-1, 1);
        }
        return v;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }
}
