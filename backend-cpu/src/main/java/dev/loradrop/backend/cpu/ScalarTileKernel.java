package dev.loradrop.backend.cpu;

import java.util.Arrays;

/**
 * The plain-Java micro-kernel: rows of 16 floats (8 doubles) accumulated in a scratch tile, inner
 * loops the JIT can vectorise on its own. Always available.
 */
final class ScalarTileKernel implements TileKernel {

    static final ScalarTileKernel INSTANCE = new ScalarTileKernel();

    private static final int MR = 4;
    private static final int NR_F = 16;
    private static final int NR_D = 8;

    private ScalarTileKernel() {
    }

    @Override
    public String path() {
        return "scalar";
    }

    @Override
    public int floatRows() {
        return MR;
    }

    @Override
    public int floatCols() {
        return NR_F;
    }

    @Override
    public int doubleRows() {
        return MR;
    }

    @Override
    public int doubleCols() {
        return NR_D;
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
        return NR_F;
    }

    @Override
    public int doubleStride() {
        return NR_D;
    }

    @Override
    public void copyRow(float[] src, int s, float[] dst, int d) {
        System.arraycopy(src, s, dst, d, NR_F);
    }

    @Override
    public void copyRow(double[] src, int s, double[] dst, int d) {
        System.arraycopy(src, s, dst, d, NR_D);
    }

    @Override
    public void tile(int kc, float[] pa, float[][] pbs, int pbi, int q0, float[] c, int c0,
                     int ldc, int rows, int cols, float alpha, float beta, boolean first,
                     float[] acc) {
        Arrays.fill(acc, 0, MR * NR_F, 0f);
        float[] pb = pbs[pbi];
        for (int p = 0; p < kc; p++) {
            int bp = q0 + p * NR_F;
            for (int r = 0; r < MR; r++) {
                float a = pa[bp + r];
                int ar = r * NR_F;
                for (int j = 0; j < NR_F; j++) {
                    acc[ar + j] += a * pb[bp + j];
                }
            }
        }
        TileKernel.merge(acc, NR_F, rows, cols, c, c0, ldc, alpha, beta, first);
    }

    @Override
    public void tile(int kc, double[] pa, double[][] pbs, int pbi, int q0, double[] c, int c0,
                     int ldc, int rows, int cols, double alpha, double beta, boolean first,
                     double[] acc) {
        Arrays.fill(acc, 0, MR * NR_D, 0.0);
        double[] pb = pbs[pbi];
        for (int p = 0; p < kc; p++) {
            int bp = q0 + p * NR_D;
            for (int r = 0; r < MR; r++) {
                double a = pa[bp + r];
                int ar = r * NR_D;
                for (int j = 0; j < NR_D; j++) {
                    acc[ar + j] += a * pb[bp + j];
                }
            }
        }
        TileKernel.merge(acc, NR_D, rows, cols, c, c0, ldc, alpha, beta, first);
    }
}
