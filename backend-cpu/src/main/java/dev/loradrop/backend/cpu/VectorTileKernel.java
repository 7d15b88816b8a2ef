package dev.loradrop.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Java Vector API micro-kernel: a 6 x (2 vectors) register tile, twelve accumulators updated by
 * fused multiply-adds, for the preferred vector width of the machine (8 floats with AVX2, 16 with
 * AVX-512).
 *
 * <p>Loaded only through {@link CpuPaths}, after checks that the incubator module is present and
 * C2 compiles it; never referenced directly, so the backend works without the module.
 */
final class VectorTileKernel implements TileKernel {

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final int FL = FS.length();
    private static final int DL = DS.length();
    private static final int MR = 6;

    /** Public for reflective construction by {@link CpuPaths}. */
    public VectorTileKernel() {
    }

    @Override
    public String path() {
        return "vector (" + FS.vectorBitSize() + "-bit, " + FL + " floats x " + MR + " rows)";
    }

    @Override
    public int floatRows() {
        return MR;
    }

    @Override
    public int floatCols() {
        return 2 * FL;
    }

    @Override
    public int doubleRows() {
        return MR;
    }

    @Override
    public int doubleCols() {
        return 2 * DL;
    }

    /** Two vector moves: 2.5 times as fast as an element loop, which C2 leaves scalar here. */
    @Override
    public void copyRow(float[] src, int s, float[] dst, int d) {
        FloatVector.fromArray(FS, src, s).intoArray(dst, d);
        FloatVector.fromArray(FS, src, s + FL).intoArray(dst, d + FL);
    }

    @Override
    public void copyRow(double[] src, int s, double[] dst, int d) {
        DoubleVector.fromArray(DS, src, s).intoArray(dst, d);
        DoubleVector.fromArray(DS, src, s + DL).intoArray(dst, d + DL);
    }

    /**
     * The register tile: twelve accumulators over the depth, then spilled to {@code scratch}. Kept
     * small and separate so that C2 optimises its loop fully.
     */
    private static void accumulate(int kc, float[] pa, int pa0, float[] pb, int pb0,
                                   float[] scratch) {
        FloatVector z = FloatVector.zero(FS);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        // The loop counts in B's index, so C2 moves the bounds checks of B's loads out of the
        // loop. With a separate step counter it checks both arrays on every step: five more
        // instructions per twelve FMAs, which cost a quarter of the speed on a shared core.
        // (Counting in A's index instead is as fast on JDK 17, but JDK 25 then spills an
        // accumulator.) As it is, C2 (JDK 17) emits 32 instructions per step: the 20 loads and
        // FMAs, two bounds checks of A (5), the counters (4) and a copy. Loops free of checks
        // (A padded to 8 per step and indexed by the counter, B at twice it; or a 4 x 16 tile;
        // or two steps per pass) were 1.5 to 2.5 times slower: C2 then hoists all six
        // broadcasts to the top of the loop and spills accumulators, which the checks' branches
        // prevented. So did reading A through sun.misc.Unsafe (no checks): 0.43 times as fast.
        // Tiles whose B loads fold into the FMAs (3 x 32 or 4 x 24, each load of B through its
        // own reference to the array, so that none is shared) take 22-26 instructions per twelve
        // FMAs, but make fifteen loads and ran at 0.5 (0.7 with B aligned to 32 bytes, which Java
        // does not promise): the load ports, not dispatch, then limit them. What does stop the
        // hoisting is a VarHandle.loadLoadFence() between rows (no instruction on x86): with A
        // at the same index as B (each strip in an array of its own, A at B's stride), C2 emits
        // 24 instructions per twelve FMAs; that layout made square GEMMs 6-8 % faster but a
        // skinny A times an untransposed B about 10 % slower, so it is not used yet.
        int ap = pa0;
        for (int bp = pb0, end = pb0 + kc * 2 * FL; bp < end; bp += 2 * FL, ap += MR) {
            FloatVector b0 = FloatVector.fromArray(FS, pb, bp);
            FloatVector b1 = FloatVector.fromArray(FS, pb, bp + FL);
            FloatVector a0 = FloatVector.broadcast(FS, pa[ap + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(FS, pa[ap + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(FS, pa[ap + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(FS, pa[ap + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(FS, pa[ap + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(FS, pa[ap + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        // Spill: no vector value crosses a call or a branch, so none is boxed.
        c00.intoArray(scratch, 0 * 2 * FL);
        c01.intoArray(scratch, 0 * 2 * FL + FL);
        c10.intoArray(scratch, 1 * 2 * FL);
        c11.intoArray(scratch, 1 * 2 * FL + FL);
        c20.intoArray(scratch, 2 * 2 * FL);
        c21.intoArray(scratch, 2 * 2 * FL + FL);
        c30.intoArray(scratch, 3 * 2 * FL);
        c31.intoArray(scratch, 3 * 2 * FL + FL);
        c40.intoArray(scratch, 4 * 2 * FL);
        c41.intoArray(scratch, 4 * 2 * FL + FL);
        c50.intoArray(scratch, 5 * 2 * FL);
        c51.intoArray(scratch, 5 * 2 * FL + FL);
    }

    @Override
    public void tile(int kc, float[] pa, int pa0, float[] pb, int pb0, float[] c, int c0,
                     int ldc, int rows, int cols, float alpha, float beta, boolean first,
                     float[] scratch) {
        accumulate(kc, pa, pa0, pb, pb0, scratch);
        if (rows == MR && cols == 2 * FL) {
            merge(scratch, c, c0, ldc, alpha, beta, first);
        } else {
            TileKernel.merge(scratch, 2 * FL, rows, cols, c, c0, ldc, alpha, beta, first);
        }
    }

    /**
     * The vector form of {@link TileKernel#merge} for a full tile, with the same operations in
     * the same order (so either form gives the same bits).
     */
    private static void merge(float[] acc, float[] c, int c0, int ldc, float alpha, float beta,
                              boolean first) {
        for (int i = 0; i < MR * 2 * FL; i += FL) {
            int off = c0 + (i / (2 * FL)) * ldc + i % (2 * FL);
            FloatVector t = FloatVector.fromArray(FS, acc, i).mul(alpha);
            if (!first) {
                FloatVector.fromArray(FS, c, off).add(t).intoArray(c, off);
            } else if (beta != 0f) {
                t.add(FloatVector.fromArray(FS, c, off).mul(beta)).intoArray(c, off);
            } else {
                t.intoArray(c, off);
            }
        }
    }

    /**
     * The register tile: twelve accumulators over the depth, then spilled to {@code scratch}. Kept
     * small and separate so that C2 optimises its loop fully.
     */
    private static void accumulate(int kc, double[] pa, int pa0, double[] pb, int pb0,
                                   double[] scratch) {
        DoubleVector z = DoubleVector.zero(DS);
        DoubleVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        DoubleVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        // The loop's form, and why: see the float accumulate.
        int ap = pa0;
        for (int bp = pb0, end = pb0 + kc * 2 * DL; bp < end; bp += 2 * DL, ap += MR) {
            DoubleVector b0 = DoubleVector.fromArray(DS, pb, bp);
            DoubleVector b1 = DoubleVector.fromArray(DS, pb, bp + DL);
            DoubleVector a0 = DoubleVector.broadcast(DS, pa[ap + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            DoubleVector a1 = DoubleVector.broadcast(DS, pa[ap + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            DoubleVector a2 = DoubleVector.broadcast(DS, pa[ap + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            DoubleVector a3 = DoubleVector.broadcast(DS, pa[ap + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            DoubleVector a4 = DoubleVector.broadcast(DS, pa[ap + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            DoubleVector a5 = DoubleVector.broadcast(DS, pa[ap + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        // Spill: no vector value crosses a call or a branch, so none is boxed.
        c00.intoArray(scratch, 0 * 2 * DL);
        c01.intoArray(scratch, 0 * 2 * DL + DL);
        c10.intoArray(scratch, 1 * 2 * DL);
        c11.intoArray(scratch, 1 * 2 * DL + DL);
        c20.intoArray(scratch, 2 * 2 * DL);
        c21.intoArray(scratch, 2 * 2 * DL + DL);
        c30.intoArray(scratch, 3 * 2 * DL);
        c31.intoArray(scratch, 3 * 2 * DL + DL);
        c40.intoArray(scratch, 4 * 2 * DL);
        c41.intoArray(scratch, 4 * 2 * DL + DL);
        c50.intoArray(scratch, 5 * 2 * DL);
        c51.intoArray(scratch, 5 * 2 * DL + DL);
    }

    @Override
    public void tile(int kc, double[] pa, int pa0, double[] pb, int pb0, double[] c, int c0,
                     int ldc, int rows, int cols, double alpha, double beta, boolean first,
                     double[] scratch) {
        accumulate(kc, pa, pa0, pb, pb0, scratch);
        if (rows == MR && cols == 2 * DL) {
            merge(scratch, c, c0, ldc, alpha, beta, first);
        } else {
            TileKernel.merge(scratch, 2 * DL, rows, cols, c, c0, ldc, alpha, beta, first);
        }
    }

    /**
     * The vector form of {@link TileKernel#merge} for a full tile, with the same operations in
     * the same order (so either form gives the same bits).
     */
    private static void merge(double[] acc, double[] c, int c0, int ldc, double alpha, double beta,
                              boolean first) {
        for (int i = 0; i < MR * 2 * DL; i += DL) {
            int off = c0 + (i / (2 * DL)) * ldc + i % (2 * DL);
            DoubleVector t = DoubleVector.fromArray(DS, acc, i).mul(alpha);
            if (!first) {
                DoubleVector.fromArray(DS, c, off).add(t).intoArray(c, off);
            } else if (beta != 0.0) {
                t.add(DoubleVector.fromArray(DS, c, off).mul(beta)).intoArray(c, off);
            } else {
                t.intoArray(c, off);
            }
        }
    }
}
