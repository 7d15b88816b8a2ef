package dev.loradrop.backend.cpu;

import java.util.Arrays;

/**
 * The plain-Java micro-kernel, always available: a tile of 64 x 64 floats (32 x 32 doubles),
 * updated four rows at a time by a loop over the columns that C2 vectorises on its own.
 *
 * <p>C2 (JDK 17 and 25) vectorises {@code x[j] += a * b[j]} only when both arrays are indexed from
 * 0: at other offsets it cannot rule out that they overlap. So each depth's row of B is copied to
 * an array of its own, and each row of accumulators is an array of its own, kept per thread. The
 * tile is square because A's stride is B's (see {@link TileKernel}), so A's rows fill each depth.
 * On two threads of this project's AVX2 machine, against the 4 x 16 tile before, whose 16-column
 * loops C2 unrolled into scalar code: sgemm 2048^3 went from 6 to 26 GFLOP/s, 1024^3 from 4-6 to
 * 18-21, dgemm 1024^3 from 8 to 18-20, a layer's forward pass (64 x 4096 times 4096 x 4096
 * transposed) from 7 to 21-24 and its input gradient from 6 to 16-20. One row per loop instead
 * of four was about 0.6 times as fast.
 */
final class ScalarTileKernel implements TileKernel {

    static final ScalarTileKernel INSTANCE = new ScalarTileKernel();

    private static final int T_F = 64;
    private static final int T_D = 32;

    /** Accumulator rows and the copied row of B, per thread. */
    private static final ThreadLocal<Rows> ROWS = ThreadLocal.withInitial(Rows::new);

    private ScalarTileKernel() {
    }

    @Override
    public String path() {
        return "scalar";
    }

    @Override
    public int floatRows() {
        return T_F;
    }

    @Override
    public int floatCols() {
        return T_F;
    }

    @Override
    public int doubleRows() {
        return T_D;
    }

    @Override
    public int doubleCols() {
        return T_D;
    }

    @Override
    public int floatGroups() {
        return 1;
    }

    @Override
    public int doubleGroups() {
        return 1;
    }

    @Override
    public int floatStride() {
        return T_F;
    }

    @Override
    public int doubleStride() {
        return T_D;
    }

    @Override
    public void copyRow(float[] src, int s, float[] dst, int d) {
        System.arraycopy(src, s, dst, d, T_F);
    }

    @Override
    public void copyRow(double[] src, int s, double[] dst, int d) {
        System.arraycopy(src, s, dst, d, T_D);
    }

    @Override
    public void tile(int kc, float[] pa, float[][] pbs, int pbi, int q0, float[] c, int c0,
                     int ldc, int rows, int cols, float alpha, float beta, boolean first,
                     float[] scratch) {
        Rows t = ROWS.get();
        float[][] acc = t.f;
        float[] b = t.fb;
        for (int r = 0; r < rows; r++) {
            Arrays.fill(acc[r], 0, cols, 0f);
        }
        float[] pb = pbs[pbi];
        for (int p = 0, q = q0; p < kc; p++, q += T_F) {
            System.arraycopy(pb, q, b, 0, cols);
            int r = 0;
            for (; r + 3 < rows; r += 4) {
                float a0 = pa[q + r];
                float a1 = pa[q + r + 1];
                float a2 = pa[q + r + 2];
                float a3 = pa[q + r + 3];
                float[] x0 = acc[r];
                float[] x1 = acc[r + 1];
                float[] x2 = acc[r + 2];
                float[] x3 = acc[r + 3];
                for (int j = 0; j < cols; j++) {
                    float bj = b[j];
                    x0[j] += a0 * bj;
                    x1[j] += a1 * bj;
                    x2[j] += a2 * bj;
                    x3[j] += a3 * bj;
                }
            }
            for (; r < rows; r++) {
                float a = pa[q + r];
                float[] x = acc[r];
                for (int j = 0; j < cols; j++) {
                    x[j] += a * b[j];
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            System.arraycopy(acc[r], 0, scratch, r * T_F, cols);
        }
        TileKernel.merge(scratch, T_F, rows, cols, c, c0, ldc, alpha, beta, first);
    }

    @Override
    public void tile(int kc, double[] pa, double[][] pbs, int pbi, int q0, double[] c, int c0,
                     int ldc, int rows, int cols, double alpha, double beta, boolean first,
                     double[] scratch) {
        Rows t = ROWS.get();
        double[][] acc = t.d;
        double[] b = t.db;
        for (int r = 0; r < rows; r++) {
            Arrays.fill(acc[r], 0, cols, 0.0);
        }
        double[] pb = pbs[pbi];
        for (int p = 0, q = q0; p < kc; p++, q += T_D) {
            System.arraycopy(pb, q, b, 0, cols);
            int r = 0;
            for (; r + 3 < rows; r += 4) {
                double a0 = pa[q + r];
                double a1 = pa[q + r + 1];
                double a2 = pa[q + r + 2];
                double a3 = pa[q + r + 3];
                double[] x0 = acc[r];
                double[] x1 = acc[r + 1];
                double[] x2 = acc[r + 2];
                double[] x3 = acc[r + 3];
                for (int j = 0; j < cols; j++) {
                    double bj = b[j];
                    x0[j] += a0 * bj;
                    x1[j] += a1 * bj;
                    x2[j] += a2 * bj;
                    x3[j] += a3 * bj;
                }
            }
            for (; r < rows; r++) {
                double a = pa[q + r];
                double[] x = acc[r];
                for (int j = 0; j < cols; j++) {
                    x[j] += a * b[j];
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            System.arraycopy(acc[r], 0, scratch, r * T_D, cols);
        }
        TileKernel.merge(scratch, T_D, rows, cols, c, c0, ldc, alpha, beta, first);
    }

    /** One thread's accumulator rows and row of B. */
    private static final class Rows {
        final float[][] f = new float[T_F][T_F];
        final float[] fb = new float[T_F];
        final double[][] d = new double[T_D][T_D];
        final double[] db = new double[T_D];
    }
}
