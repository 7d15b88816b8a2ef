package dev.loradrop.backend.cpu;

/**
 * The micro-kernel of {@link GemmEngine}: multiplies a packed {@code MR x kc} strip of A by a packed
 * {@code kc x NR} strip of B and merges the {@code MR x NR} product into C.
 *
 * <p>Packed layouts. A strip of B is split into {@code G} groups of {@code NR / G} adjacent
 * columns, each group in an array of its own with a stride of {@code S} elements per depth:
 * element {@code (p, j)} at {@code pb[pbi + j / (NR / G)][q0 + p * S + j % (NR / G)]}. A strip of A
 * has the same stride, in an array of its own: element {@code (r, p)} at
 * {@code pa[q0 + p * S + r]} ({@code S >= MR} and {@code S >= NR / G}; the other elements of each
 * depth are never read). So one index walks all the arrays, and the JIT checks none of it inside
 * the loop. Zero-padded past the valid rows and columns. Each C element's products are accumulated
 * in order {@code p = 0, 1, ...} whatever the
 * tile's position, and merged by {@link #merge}; so a GEMM's result does not depend on how its
 * columns are split between threads.
 */
interface TileKernel {

    /** @return the code path, for {@code describe()} and logs */
    String path();

    /** @return MR for float */
    int floatRows();

    /** @return NR for float */
    int floatCols();

    /** @return MR for double */
    int doubleRows();

    /** @return NR for double */
    int doubleCols();

    /** @return G for float: the arrays a packed strip of B is split into, 1 or 2 */
    int floatGroups();

    /** @return G for double */
    int doubleGroups();

    /** @return S for float: the elements per depth in each packed array, A's and B's */
    int floatStride();

    /** @return S for double */
    int doubleStride();

    /**
     * @param kc depth
     * @param pa the packed strip of A
     * @param pb packed strips of B, {@code G} arrays each
     * @param pbi index in {@code pb} of the strip's first array
     * @param q0 offset of depth 0 of the tile in the strips' arrays, the same for A and B
     * @param c C, row-major with row stride {@code ldc}
     * @param c0 offset of the tile's first element in {@code c}
     * @param ldc row stride of C
     * @param rows valid rows, {@code <= MR}
     * @param cols valid columns, {@code <= NR}
     * @param alpha scale of the product
     * @param beta scale of the old C, used only when {@code first}
     * @param first whether this is the first depth block (C is then overwritten or scaled)
     * @param scratch at least {@code MR * NR} elements the kernel may use
     */
    void tile(int kc, float[] pa, float[][] pb, int pbi, int q0, float[] c, int c0, int ldc,
              int rows, int cols, float alpha, float beta, boolean first, float[] scratch);

    /** The double-precision twin of the float tile. */
    void tile(int kc, double[] pa, double[][] pb, int pbi, int q0, double[] c, int c0, int ldc,
              int rows, int cols, double alpha, double beta, boolean first, double[] scratch);

    /**
     * Copies {@link #floatCols()} / {@link #floatGroups()} adjacent elements,
     * {@code src[s ...]} to {@code dst[d ...]}: one depth of one group of a packed strip of B,
     * which {@link GemmEngine} packs from an untransposed B with this.
     */
    void copyRow(float[] src, int s, float[] dst, int d);

    /** The double twin of {@link #copyRow(float[], int, float[], int)}. */
    void copyRow(double[] src, int s, double[] dst, int d);

    /**
     * Merges accumulated products into C: on the first depth block {@code C = alpha * acc} (beta
     * 0, old C ignored) or {@code C = alpha * acc + beta * C}; on later blocks
     * {@code C = C + alpha * acc}. Every path merges with exactly these operations.
     *
     * @param acc products, row {@code r} at {@code acc[r * nr]}
     * @param nr row stride of {@code acc}
     * @param rows rows to merge
     * @param cols columns to merge
     * @param c C
     * @param c0 first element
     * @param ldc row stride of C
     * @param alpha product scale
     * @param beta old-C scale
     * @param first whether this is the first depth block
     */
    static void merge(float[] acc, int nr, int rows, int cols, float[] c, int c0, int ldc,
                      float alpha, float beta, boolean first) {
        for (int r = 0; r < rows; r++) {
            int ci = c0 + r * ldc;
            int ai = r * nr;
            for (int j = 0; j < cols; j++) {
                float t = alpha * acc[ai + j];
                c[ci + j] = !first ? c[ci + j] + t : beta == 0f ? t : t + c[ci + j] * beta;
            }
        }
    }

    /** The double-precision twin of {@link #merge(float[], int, int, int, float[], int, int, float, float, boolean)}. */
    static void merge(double[] acc, int nr, int rows, int cols, double[] c, int c0, int ldc,
                      double alpha, double beta, boolean first) {
        for (int r = 0; r < rows; r++) {
            int ci = c0 + r * ldc;
            int ai = r * nr;
            for (int j = 0; j < cols; j++) {
                double t = alpha * acc[ai + j];
                c[ci + j] = !first ? c[ci + j] + t : beta == 0.0 ? t : t + c[ci + j] * beta;
            }
        }
    }
}
