package dev.loradrop.backend.cpu;

import java.lang.invoke.VarHandle;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Java Vector API micro-kernel: a register tile of 6 rows x 2 vectors (twelve accumulators,
 * for 16 vector registers: AVX2, NEON) or, with 512-bit vectors, 12 rows x 2 vectors (24
 * accumulators of AVX-512's 32 registers), updated by fused multiply-adds, for the preferred
 * vector width of the machine (8 floats with AVX2, 16 with AVX-512). In L1 on AVX-512 the 12-row
 * tile ran at 185-190 GFLOP/s a core (85 % of the 224 that a loop of independent FMAs reaches),
 * the 6-row one at 165-171; 14 rows, 7 x 3 vectors and 8 x 3 were no faster.
 *
 * <p>Loaded only through {@link CpuPaths}, after checks that the incubator module is present and
 * C2 compiles it; never referenced directly, so the backend works without the module.
 */
final class VectorTileKernel implements TileKernel {

    static {
        OperatorCaches.fill();
    }

    private static final VectorSpecies<Float> FS = VectorKernels.species(float.class);
    private static final VectorSpecies<Double> DS = VectorKernels.species(double.class);
    /**
     * The exact classes of {@link #FS}'s and {@link #DS}'s vectors, for C2. It takes a vector
     * method's target, and then the vector class its intrinsic needs as a constant, from the
     * static type of the receiver, else from the JIT's type profile of the Vector API's shared
     * code. Vectors from the static factories ({@code zero}, {@code fromArray}) and from loops
     * have the static type {@code FloatVector}, so the tiles cast them to this class: every
     * receiver (the broadcasts come from {@code z.broadcast}), each load of B (the argument whose
     * species the operation checks first), and the accumulators before their stores. Without the
     * casts another vector class in the profile (another shape: Adam's half-width floats, or an
     * application's own vector code) left the classes unknown, the intrinsics failed and every
     * vector of the tile was boxed: after Adam had run, sgemm 1024^3 ran at 5 GFLOP/s instead of
     * 250; after vector code of other shapes, the GEMM of {@code JitProfilesTest} allocated 9 MB a
     * call in 2 to 7 of 20 JVMs (0 of 20 with these casts). A cast of a vector of that class costs
     * nothing once compiled.
     */
    private static final Class<? extends Vector<Float>> FC = FS.vectorType();
    private static final Class<? extends Vector<Double>> DC = DS.vectorType();
    private static final int FL = FS.length();
    private static final int DL = DS.length();
    /**
     * Whether to order each row's broadcast after the previous row's with a load fence. With
     * AVX2's 16 vector registers C2 otherwise issues all six broadcasts at the top of the loop and
     * spills accumulators; on x86 the fence orders the JIT's schedule and emits no instruction.
     * Elsewhere (AArch64: 32 registers) it would emit a barrier, so it is left out.
     */
    private static final boolean FENCE = switch (System.getProperty("os.arch", "")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    /**
     * Rows of the tile: 12 with 512-bit vectors on x86 (AVX-512's 32 registers hold 24
     * accumulators), else 6. The 12-row tiles fence unconditionally (see accumulate12), which
     * only x86 does for free.
     */
    private static final int MR = FS.vectorBitSize() >= 512 && FENCE ? 12 : 6;
    /**
     * Groups of a packed strip of B: two arrays of one vector per depth when a vector holds the
     * strip of A's {@code MR} elements (A's stride is then one vector too), else one array of two
     * vectors per depth.
     */
    private static final int FG = FL >= MR ? 2 : 1;
    private static final int DG = DL >= MR ? 2 : 1;
    /** The stride of every packed array: B's group, or A's MR rounded up to whole vectors. */
    private static final int FW = Math.max(2 * FL / FG, (MR + FL - 1) / FL * FL);
    private static final int DW = Math.max(2 * DL / DG, (MR + DL - 1) / DL * DL);
    /** Offset of the second vector of B: 0 in the second group's array, else FL in the first's. */
    private static final int F_HI = FG == 2 ? 0 : FL;
    private static final int D_HI = DG == 2 ? 0 : DL;

    /** Public for reflective construction by {@link CpuPaths}. */
    public VectorTileKernel() {
    }

    @Override
    public String path() {
        int preferred = VectorShape.preferredShape().vectorBitSize();
        return "vector (" + FS.vectorBitSize() + "-bit, " + FL + " floats x " + MR + " rows"
                + (FS.vectorBitSize() > preferred ? "; emulated, wider than this CPU's "
                + preferred + "-bit vectors: slow" : "") + ")";
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

    @Override
    public int floatGroups() {
        return FG;
    }

    @Override
    public int doubleGroups() {
        return DG;
    }

    @Override
    public int floatStride() {
        return FW;
    }

    @Override
    public int doubleStride() {
        return DW;
    }

    /** Vector moves: 2.5 times as fast as an element loop, which C2 leaves scalar here. */
    @Override
    public void copyRow(float[] src, int s, float[] dst, int d) {
        for (int i = 0; i < 2 * FL / FG; i += FL) {
            ((FloatVector) FC.cast(FloatVector.fromArray(FS, src, s + i))).intoArray(dst, d + i);
        }
    }

    @Override
    public void copyRow(double[] src, int s, double[] dst, int d) {
        for (int i = 0; i < 2 * DL / DG; i += DL) {
            ((DoubleVector) DC.cast(DoubleVector.fromArray(DS, src, s + i))).intoArray(dst, d + i);
        }
    }

    private static void fence() {
        if (FENCE) {
            VarHandle.loadLoadFence();
        }
    }

    /**
     * The register tile: twelve accumulators over the depth, then spilled to {@code scratch}. Kept
     * small and separate so that C2 optimises its loop fully.
     */
    private static void accumulate(int kc, float[] pa, float[] lo, float[] hi, int q0,
                                   float[] scratch) {
        FloatVector z = (FloatVector) FC.cast(FloatVector.zero(FS));
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        // One index walks A and B (see TileKernel), so C2 checks their bounds once, before the
        // loop. The fences keep each row's broadcast after the previous row's: without them C2
        // issues all six at the top of the loop and spills accumulators (1.5 to 2.5 times
        // slower). So C2 (JDK 17 and 25) emits 24 instructions per twelve FMAs: the 8 loads, the
        // 12 FMAs, the counter, the compare-and-branch and a copy. OpenBLAS's Haswell kernel
        // issues about 24. A and B at offsets of their own (the layout before) took 32: two
        // bounds checks of A on every step, and their arithmetic. Also measured: A read through
        // sun.misc.Unsafe, without checks or fences, 0.43 times as fast; tiles whose B loads fold
        // into the FMAs (3 x 32 or 4 x 24, each load of B through its own reference to the
        // array), 22-26 instructions but fifteen loads per twelve FMAs, 0.5 times as fast (0.7
        // with B aligned to 32 bytes, which Java does not promise): the load ports limit them.
        // The loop unrolled by hand to two depths a step: 0.5 times as fast in sgemm 2048^3. In L1
        // (JDK 17 and 25): a 12 x 8 tile (one vector of B per depth for twelve rows of A, which
        // would halve B's traffic from L3) 0.4-0.6 times as fast, C2 folding only the first rows'
        // broadcasts into their loads and issuing the rest as a load and a shuffle; broadcasting
        // A straight from its six unpacked rows (packing A takes 3 % of sgemm 2048^3's samples)
        // 0.4 times as fast, C2 hoisting the six broadcasts above the fences and spilling
        // accumulators.
        for (int q = q0, end = q0 + kc * FW; q < end; q += FW) {
            FloatVector b0 = (FloatVector) FC.cast(FloatVector.fromArray(FS, lo, q));
            FloatVector b1 = (FloatVector) FC.cast(FloatVector.fromArray(FS, hi, q + F_HI));
            FloatVector a0 = z.broadcast(pa[q + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            fence();
            FloatVector a1 = z.broadcast(pa[q + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            fence();
            FloatVector a2 = z.broadcast(pa[q + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            fence();
            FloatVector a3 = z.broadcast(pa[q + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            fence();
            FloatVector a4 = z.broadcast(pa[q + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            fence();
            FloatVector a5 = z.broadcast(pa[q + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        // Spill: no vector value crosses a call or a branch, so none is boxed.
        ((FloatVector) FC.cast(c00)).intoArray(scratch, 0 * 2 * FL);
        ((FloatVector) FC.cast(c01)).intoArray(scratch, 0 * 2 * FL + FL);
        ((FloatVector) FC.cast(c10)).intoArray(scratch, 1 * 2 * FL);
        ((FloatVector) FC.cast(c11)).intoArray(scratch, 1 * 2 * FL + FL);
        ((FloatVector) FC.cast(c20)).intoArray(scratch, 2 * 2 * FL);
        ((FloatVector) FC.cast(c21)).intoArray(scratch, 2 * 2 * FL + FL);
        ((FloatVector) FC.cast(c30)).intoArray(scratch, 3 * 2 * FL);
        ((FloatVector) FC.cast(c31)).intoArray(scratch, 3 * 2 * FL + FL);
        ((FloatVector) FC.cast(c40)).intoArray(scratch, 4 * 2 * FL);
        ((FloatVector) FC.cast(c41)).intoArray(scratch, 4 * 2 * FL + FL);
        ((FloatVector) FC.cast(c50)).intoArray(scratch, 5 * 2 * FL);
        ((FloatVector) FC.cast(c51)).intoArray(scratch, 5 * 2 * FL + FL);
    }

    /**
     * The register tile for 512-bit vectors: 12 x 2 accumulators (AVX-512 has 32 registers), so
     * each load of B feeds twelve FMAs. The loop's form, and why: see {@link #accumulate(int,
     * float[], float[], float[], int, float[])}; without the fences C2 hoists the broadcasts here
     * too, and the tile ran 0.57 times as fast. In L1 it runs at 182-190 GFLOP/s a core (a loop
     * of independent FMAs reaches 224, the core's peak).
     *
     * <p>Even depths take {@link #accumulate12x2(int, float[], float[], float[], int, float[])},
     * two depths a step.
     */
    private static void accumulate12(int kc, float[] pa, float[] lo, float[] hi, int q0,
                                     float[] scratch) {
        FloatVector z = (FloatVector) FC.cast(FloatVector.zero(FS));
        FloatVector c000 = z, c001 = z, c010 = z, c011 = z, c020 = z, c021 = z;
        FloatVector c030 = z, c031 = z, c040 = z, c041 = z, c050 = z, c051 = z;
        FloatVector c060 = z, c061 = z, c070 = z, c071 = z, c080 = z, c081 = z;
        FloatVector c090 = z, c091 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int q = q0, end = q0 + kc * FW; q < end; q += FW) {
            FloatVector b0 = (FloatVector) FC.cast(FloatVector.fromArray(FS, lo, q));
            FloatVector b1 = (FloatVector) FC.cast(FloatVector.fromArray(FS, hi, q + F_HI));
            FloatVector a0 = z.broadcast(pa[q + 0]);
            c000 = a0.fma(b0, c000);
            c001 = a0.fma(b1, c001);
            VarHandle.loadLoadFence();
            FloatVector a1 = z.broadcast(pa[q + 1]);
            c010 = a1.fma(b0, c010);
            c011 = a1.fma(b1, c011);
            VarHandle.loadLoadFence();
            FloatVector a2 = z.broadcast(pa[q + 2]);
            c020 = a2.fma(b0, c020);
            c021 = a2.fma(b1, c021);
            VarHandle.loadLoadFence();
            FloatVector a3 = z.broadcast(pa[q + 3]);
            c030 = a3.fma(b0, c030);
            c031 = a3.fma(b1, c031);
            VarHandle.loadLoadFence();
            FloatVector a4 = z.broadcast(pa[q + 4]);
            c040 = a4.fma(b0, c040);
            c041 = a4.fma(b1, c041);
            VarHandle.loadLoadFence();
            FloatVector a5 = z.broadcast(pa[q + 5]);
            c050 = a5.fma(b0, c050);
            c051 = a5.fma(b1, c051);
            VarHandle.loadLoadFence();
            FloatVector a6 = z.broadcast(pa[q + 6]);
            c060 = a6.fma(b0, c060);
            c061 = a6.fma(b1, c061);
            VarHandle.loadLoadFence();
            FloatVector a7 = z.broadcast(pa[q + 7]);
            c070 = a7.fma(b0, c070);
            c071 = a7.fma(b1, c071);
            VarHandle.loadLoadFence();
            FloatVector a8 = z.broadcast(pa[q + 8]);
            c080 = a8.fma(b0, c080);
            c081 = a8.fma(b1, c081);
            VarHandle.loadLoadFence();
            FloatVector a9 = z.broadcast(pa[q + 9]);
            c090 = a9.fma(b0, c090);
            c091 = a9.fma(b1, c091);
            VarHandle.loadLoadFence();
            FloatVector a10 = z.broadcast(pa[q + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            VarHandle.loadLoadFence();
            FloatVector a11 = z.broadcast(pa[q + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
        }
        ((FloatVector) FC.cast(c000)).intoArray(scratch, 0 * 2 * FL);
        ((FloatVector) FC.cast(c001)).intoArray(scratch, 0 * 2 * FL + FL);
        ((FloatVector) FC.cast(c010)).intoArray(scratch, 1 * 2 * FL);
        ((FloatVector) FC.cast(c011)).intoArray(scratch, 1 * 2 * FL + FL);
        ((FloatVector) FC.cast(c020)).intoArray(scratch, 2 * 2 * FL);
        ((FloatVector) FC.cast(c021)).intoArray(scratch, 2 * 2 * FL + FL);
        ((FloatVector) FC.cast(c030)).intoArray(scratch, 3 * 2 * FL);
        ((FloatVector) FC.cast(c031)).intoArray(scratch, 3 * 2 * FL + FL);
        ((FloatVector) FC.cast(c040)).intoArray(scratch, 4 * 2 * FL);
        ((FloatVector) FC.cast(c041)).intoArray(scratch, 4 * 2 * FL + FL);
        ((FloatVector) FC.cast(c050)).intoArray(scratch, 5 * 2 * FL);
        ((FloatVector) FC.cast(c051)).intoArray(scratch, 5 * 2 * FL + FL);
        ((FloatVector) FC.cast(c060)).intoArray(scratch, 6 * 2 * FL);
        ((FloatVector) FC.cast(c061)).intoArray(scratch, 6 * 2 * FL + FL);
        ((FloatVector) FC.cast(c070)).intoArray(scratch, 7 * 2 * FL);
        ((FloatVector) FC.cast(c071)).intoArray(scratch, 7 * 2 * FL + FL);
        ((FloatVector) FC.cast(c080)).intoArray(scratch, 8 * 2 * FL);
        ((FloatVector) FC.cast(c081)).intoArray(scratch, 8 * 2 * FL + FL);
        ((FloatVector) FC.cast(c090)).intoArray(scratch, 9 * 2 * FL);
        ((FloatVector) FC.cast(c091)).intoArray(scratch, 9 * 2 * FL + FL);
        ((FloatVector) FC.cast(c100)).intoArray(scratch, 10 * 2 * FL);
        ((FloatVector) FC.cast(c101)).intoArray(scratch, 10 * 2 * FL + FL);
        ((FloatVector) FC.cast(c110)).intoArray(scratch, 11 * 2 * FL);
        ((FloatVector) FC.cast(c111)).intoArray(scratch, 11 * 2 * FL + FL);
    }

    /**
     * {@link #accumulate12(int, float[], float[], float[], int, float[])} two depths a step, for
     * an even depth: the same products in the same order. In L1 it reached 215 GFLOP/s a core
     * against 182-190, and it ran sgemm 2048^3 1.09-1.10 times as fast (alternating runs), each
     * load of B running a line further ahead of its use. Its fences are {@code
     * VarHandle.loadLoadFence()} itself, not {@link #fence()}: the 46 more calls to inline took
     * C2 past its inlining budget (JDK 17), some vector operations were left as calls on boxed
     * vectors, and sgemm 2048^3 ran at 88-91 GFLOP/s instead of 321-329. Before its vectors were
     * cast to {@link #FC}, C2 sometimes compiled it with every vector boxed: 2 of 4 and 2 of 5
     * JMH forks of the (32, 1024, 1024, 8) training step allocated 180 MB a step and ran 8 times
     * as long (C2's type guards had lost their traps; see {@link OperatorCaches}). Odd depths take
     * the one-depth form, so that this method holds no third copy of the step.
     */
    private static void accumulate12x2(int kc, float[] pa, float[] lo, float[] hi, int q0,
                                       float[] scratch) {
        FloatVector z = (FloatVector) FC.cast(FloatVector.zero(FS));
        FloatVector c000 = z, c001 = z, c010 = z, c011 = z, c020 = z, c021 = z;
        FloatVector c030 = z, c031 = z, c040 = z, c041 = z, c050 = z, c051 = z;
        FloatVector c060 = z, c061 = z, c070 = z, c071 = z, c080 = z, c081 = z;
        FloatVector c090 = z, c091 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int q = q0, end = q0 + kc * FW; q < end; q += 2 * FW) {
            FloatVector b0 = (FloatVector) FC.cast(FloatVector.fromArray(FS, lo, q));
            FloatVector b1 = (FloatVector) FC.cast(FloatVector.fromArray(FS, hi, q + F_HI));
            FloatVector a0 = z.broadcast(pa[q + 0]);
            c000 = a0.fma(b0, c000);
            c001 = a0.fma(b1, c001);
            VarHandle.loadLoadFence();
            FloatVector a1 = z.broadcast(pa[q + 1]);
            c010 = a1.fma(b0, c010);
            c011 = a1.fma(b1, c011);
            VarHandle.loadLoadFence();
            FloatVector a2 = z.broadcast(pa[q + 2]);
            c020 = a2.fma(b0, c020);
            c021 = a2.fma(b1, c021);
            VarHandle.loadLoadFence();
            FloatVector a3 = z.broadcast(pa[q + 3]);
            c030 = a3.fma(b0, c030);
            c031 = a3.fma(b1, c031);
            VarHandle.loadLoadFence();
            FloatVector a4 = z.broadcast(pa[q + 4]);
            c040 = a4.fma(b0, c040);
            c041 = a4.fma(b1, c041);
            VarHandle.loadLoadFence();
            FloatVector a5 = z.broadcast(pa[q + 5]);
            c050 = a5.fma(b0, c050);
            c051 = a5.fma(b1, c051);
            VarHandle.loadLoadFence();
            FloatVector a6 = z.broadcast(pa[q + 6]);
            c060 = a6.fma(b0, c060);
            c061 = a6.fma(b1, c061);
            VarHandle.loadLoadFence();
            FloatVector a7 = z.broadcast(pa[q + 7]);
            c070 = a7.fma(b0, c070);
            c071 = a7.fma(b1, c071);
            VarHandle.loadLoadFence();
            FloatVector a8 = z.broadcast(pa[q + 8]);
            c080 = a8.fma(b0, c080);
            c081 = a8.fma(b1, c081);
            VarHandle.loadLoadFence();
            FloatVector a9 = z.broadcast(pa[q + 9]);
            c090 = a9.fma(b0, c090);
            c091 = a9.fma(b1, c091);
            VarHandle.loadLoadFence();
            FloatVector a10 = z.broadcast(pa[q + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            VarHandle.loadLoadFence();
            FloatVector a11 = z.broadcast(pa[q + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
            VarHandle.loadLoadFence();
            FloatVector b0n = (FloatVector) FC.cast(FloatVector.fromArray(FS, lo, q + FW));
            FloatVector b1n = (FloatVector) FC.cast(FloatVector.fromArray(FS, hi, q + FW + F_HI));
            FloatVector a0n = z.broadcast(pa[q + FW + 0]);
            c000 = a0n.fma(b0n, c000);
            c001 = a0n.fma(b1n, c001);
            VarHandle.loadLoadFence();
            FloatVector a1n = z.broadcast(pa[q + FW + 1]);
            c010 = a1n.fma(b0n, c010);
            c011 = a1n.fma(b1n, c011);
            VarHandle.loadLoadFence();
            FloatVector a2n = z.broadcast(pa[q + FW + 2]);
            c020 = a2n.fma(b0n, c020);
            c021 = a2n.fma(b1n, c021);
            VarHandle.loadLoadFence();
            FloatVector a3n = z.broadcast(pa[q + FW + 3]);
            c030 = a3n.fma(b0n, c030);
            c031 = a3n.fma(b1n, c031);
            VarHandle.loadLoadFence();
            FloatVector a4n = z.broadcast(pa[q + FW + 4]);
            c040 = a4n.fma(b0n, c040);
            c041 = a4n.fma(b1n, c041);
            VarHandle.loadLoadFence();
            FloatVector a5n = z.broadcast(pa[q + FW + 5]);
            c050 = a5n.fma(b0n, c050);
            c051 = a5n.fma(b1n, c051);
            VarHandle.loadLoadFence();
            FloatVector a6n = z.broadcast(pa[q + FW + 6]);
            c060 = a6n.fma(b0n, c060);
            c061 = a6n.fma(b1n, c061);
            VarHandle.loadLoadFence();
            FloatVector a7n = z.broadcast(pa[q + FW + 7]);
            c070 = a7n.fma(b0n, c070);
            c071 = a7n.fma(b1n, c071);
            VarHandle.loadLoadFence();
            FloatVector a8n = z.broadcast(pa[q + FW + 8]);
            c080 = a8n.fma(b0n, c080);
            c081 = a8n.fma(b1n, c081);
            VarHandle.loadLoadFence();
            FloatVector a9n = z.broadcast(pa[q + FW + 9]);
            c090 = a9n.fma(b0n, c090);
            c091 = a9n.fma(b1n, c091);
            VarHandle.loadLoadFence();
            FloatVector a10n = z.broadcast(pa[q + FW + 10]);
            c100 = a10n.fma(b0n, c100);
            c101 = a10n.fma(b1n, c101);
            VarHandle.loadLoadFence();
            FloatVector a11n = z.broadcast(pa[q + FW + 11]);
            c110 = a11n.fma(b0n, c110);
            c111 = a11n.fma(b1n, c111);
        }
        ((FloatVector) FC.cast(c000)).intoArray(scratch, 0 * 2 * FL);
        ((FloatVector) FC.cast(c001)).intoArray(scratch, 0 * 2 * FL + FL);
        ((FloatVector) FC.cast(c010)).intoArray(scratch, 1 * 2 * FL);
        ((FloatVector) FC.cast(c011)).intoArray(scratch, 1 * 2 * FL + FL);
        ((FloatVector) FC.cast(c020)).intoArray(scratch, 2 * 2 * FL);
        ((FloatVector) FC.cast(c021)).intoArray(scratch, 2 * 2 * FL + FL);
        ((FloatVector) FC.cast(c030)).intoArray(scratch, 3 * 2 * FL);
        ((FloatVector) FC.cast(c031)).intoArray(scratch, 3 * 2 * FL + FL);
        ((FloatVector) FC.cast(c040)).intoArray(scratch, 4 * 2 * FL);
        ((FloatVector) FC.cast(c041)).intoArray(scratch, 4 * 2 * FL + FL);
        ((FloatVector) FC.cast(c050)).intoArray(scratch, 5 * 2 * FL);
        ((FloatVector) FC.cast(c051)).intoArray(scratch, 5 * 2 * FL + FL);
        ((FloatVector) FC.cast(c060)).intoArray(scratch, 6 * 2 * FL);
        ((FloatVector) FC.cast(c061)).intoArray(scratch, 6 * 2 * FL + FL);
        ((FloatVector) FC.cast(c070)).intoArray(scratch, 7 * 2 * FL);
        ((FloatVector) FC.cast(c071)).intoArray(scratch, 7 * 2 * FL + FL);
        ((FloatVector) FC.cast(c080)).intoArray(scratch, 8 * 2 * FL);
        ((FloatVector) FC.cast(c081)).intoArray(scratch, 8 * 2 * FL + FL);
        ((FloatVector) FC.cast(c090)).intoArray(scratch, 9 * 2 * FL);
        ((FloatVector) FC.cast(c091)).intoArray(scratch, 9 * 2 * FL + FL);
        ((FloatVector) FC.cast(c100)).intoArray(scratch, 10 * 2 * FL);
        ((FloatVector) FC.cast(c101)).intoArray(scratch, 10 * 2 * FL + FL);
        ((FloatVector) FC.cast(c110)).intoArray(scratch, 11 * 2 * FL);
        ((FloatVector) FC.cast(c111)).intoArray(scratch, 11 * 2 * FL + FL);
    }


    @Override
    public void tile(int kc, float[] pa, float[][] pb, int pbi, int q0, float[] c, int c0,
                     int ldc, int rows, int cols, float alpha, float beta, boolean first,
                     float[] scratch) {
        if (MR == 12 && kc % 2 == 0) {
            accumulate12x2(kc, pa, pb[pbi], pb[pbi + FG - 1], q0, scratch);
        } else if (MR == 12) {
            accumulate12(kc, pa, pb[pbi], pb[pbi + FG - 1], q0, scratch);
        } else {
            accumulate(kc, pa, pb[pbi], pb[pbi + FG - 1], q0, scratch);
        }
        if (rows == MR && cols == 2 * FL) {
            merge(scratch, c, c0, ldc, alpha, beta, first);
        } else {
            TileKernel.merge(scratch, 2 * FL, rows, cols, c, c0, ldc, alpha, beta, first);
        }
    }

    /**
     * The vector form of {@link TileKernel#merge} for a full tile, with the same operations in
     * the same order (so either form gives the same bits).
     *
     * <p>In sgemm 2048^3 with depth blocks of 512 the merges took 6-10 % of the samples, nearly all
     * of them the first depth block's stores (the three later blocks' loads and stores of the
     * same lines took about a tenth as many, with C at 3 MiB as at 16). None of these was faster
     * in paired runs:
     * loading the tile's lines of C first, or those of a tile 2 or 4 ahead, or those of a whole
     * row of tiles before it; filling C with -0 ahead and adding; merging straight from the
     * accumulators, without the spill; tiles whose rows of C start on a cache line (a first strip
     * of 12 columns, for a 2048-column C). Loading all twelve products before the first store was
     * 0.93 times as fast. Java has no prefetch instruction, which is how OpenBLAS hides these
     * misses; a load of the next tile's strip of B on every step of the loop, as a prefetch by
     * hand, made sgemm 2048^3 0.66-0.87 times as fast.
     */
    private static void merge(float[] acc, float[] c, int c0, int ldc, float alpha, float beta,
                              boolean first) {
        for (int i = 0; i < MR * 2 * FL; i += FL) {
            int off = c0 + (i / (2 * FL)) * ldc + i % (2 * FL);
            FloatVector t = ((FloatVector) FC.cast(FloatVector.fromArray(FS, acc, i))).mul(alpha);
            if (!first) {
                ((FloatVector) FC.cast(FloatVector.fromArray(FS, c, off))).add(t).intoArray(c, off);
            } else if (beta != 0f) {
                t.add(((FloatVector) FC.cast(FloatVector.fromArray(FS, c, off))).mul(beta)).intoArray(c, off);
            } else {
                t.intoArray(c, off);
            }
        }
    }

    /**
     * The register tile: twelve accumulators over the depth, then spilled to {@code scratch}. Kept
     * small and separate so that C2 optimises its loop fully.
     */
    private static void accumulate(int kc, double[] pa, double[] lo, double[] hi, int q0,
                                   double[] scratch) {
        DoubleVector z = (DoubleVector) DC.cast(DoubleVector.zero(DS));
        DoubleVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        DoubleVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        // The loop's form, and why: see the float accumulate.
        for (int q = q0, end = q0 + kc * DW; q < end; q += DW) {
            DoubleVector b0 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, lo, q));
            DoubleVector b1 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, hi, q + D_HI));
            DoubleVector a0 = z.broadcast(pa[q + 0]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            fence();
            DoubleVector a1 = z.broadcast(pa[q + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            fence();
            DoubleVector a2 = z.broadcast(pa[q + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            fence();
            DoubleVector a3 = z.broadcast(pa[q + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            fence();
            DoubleVector a4 = z.broadcast(pa[q + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            fence();
            DoubleVector a5 = z.broadcast(pa[q + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        // Spill: no vector value crosses a call or a branch, so none is boxed.
        ((DoubleVector) DC.cast(c00)).intoArray(scratch, 0 * 2 * DL);
        ((DoubleVector) DC.cast(c01)).intoArray(scratch, 0 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c10)).intoArray(scratch, 1 * 2 * DL);
        ((DoubleVector) DC.cast(c11)).intoArray(scratch, 1 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c20)).intoArray(scratch, 2 * 2 * DL);
        ((DoubleVector) DC.cast(c21)).intoArray(scratch, 2 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c30)).intoArray(scratch, 3 * 2 * DL);
        ((DoubleVector) DC.cast(c31)).intoArray(scratch, 3 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c40)).intoArray(scratch, 4 * 2 * DL);
        ((DoubleVector) DC.cast(c41)).intoArray(scratch, 4 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c50)).intoArray(scratch, 5 * 2 * DL);
        ((DoubleVector) DC.cast(c51)).intoArray(scratch, 5 * 2 * DL + DL);
    }

    /** The double twin of the float {@code accumulate12}. */
    private static void accumulate12(int kc, double[] pa, double[] lo, double[] hi, int q0,
                                     double[] scratch) {
        DoubleVector z = (DoubleVector) DC.cast(DoubleVector.zero(DS));
        DoubleVector c000 = z, c001 = z, c010 = z, c011 = z, c020 = z, c021 = z;
        DoubleVector c030 = z, c031 = z, c040 = z, c041 = z, c050 = z, c051 = z;
        DoubleVector c060 = z, c061 = z, c070 = z, c071 = z, c080 = z, c081 = z;
        DoubleVector c090 = z, c091 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int q = q0, end = q0 + kc * DW; q < end; q += DW) {
            DoubleVector b0 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, lo, q));
            DoubleVector b1 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, hi, q + D_HI));
            DoubleVector a0 = z.broadcast(pa[q + 0]);
            c000 = a0.fma(b0, c000);
            c001 = a0.fma(b1, c001);
            VarHandle.loadLoadFence();
            DoubleVector a1 = z.broadcast(pa[q + 1]);
            c010 = a1.fma(b0, c010);
            c011 = a1.fma(b1, c011);
            VarHandle.loadLoadFence();
            DoubleVector a2 = z.broadcast(pa[q + 2]);
            c020 = a2.fma(b0, c020);
            c021 = a2.fma(b1, c021);
            VarHandle.loadLoadFence();
            DoubleVector a3 = z.broadcast(pa[q + 3]);
            c030 = a3.fma(b0, c030);
            c031 = a3.fma(b1, c031);
            VarHandle.loadLoadFence();
            DoubleVector a4 = z.broadcast(pa[q + 4]);
            c040 = a4.fma(b0, c040);
            c041 = a4.fma(b1, c041);
            VarHandle.loadLoadFence();
            DoubleVector a5 = z.broadcast(pa[q + 5]);
            c050 = a5.fma(b0, c050);
            c051 = a5.fma(b1, c051);
            VarHandle.loadLoadFence();
            DoubleVector a6 = z.broadcast(pa[q + 6]);
            c060 = a6.fma(b0, c060);
            c061 = a6.fma(b1, c061);
            VarHandle.loadLoadFence();
            DoubleVector a7 = z.broadcast(pa[q + 7]);
            c070 = a7.fma(b0, c070);
            c071 = a7.fma(b1, c071);
            VarHandle.loadLoadFence();
            DoubleVector a8 = z.broadcast(pa[q + 8]);
            c080 = a8.fma(b0, c080);
            c081 = a8.fma(b1, c081);
            VarHandle.loadLoadFence();
            DoubleVector a9 = z.broadcast(pa[q + 9]);
            c090 = a9.fma(b0, c090);
            c091 = a9.fma(b1, c091);
            VarHandle.loadLoadFence();
            DoubleVector a10 = z.broadcast(pa[q + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            VarHandle.loadLoadFence();
            DoubleVector a11 = z.broadcast(pa[q + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
        }
        ((DoubleVector) DC.cast(c000)).intoArray(scratch, 0 * 2 * DL);
        ((DoubleVector) DC.cast(c001)).intoArray(scratch, 0 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c010)).intoArray(scratch, 1 * 2 * DL);
        ((DoubleVector) DC.cast(c011)).intoArray(scratch, 1 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c020)).intoArray(scratch, 2 * 2 * DL);
        ((DoubleVector) DC.cast(c021)).intoArray(scratch, 2 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c030)).intoArray(scratch, 3 * 2 * DL);
        ((DoubleVector) DC.cast(c031)).intoArray(scratch, 3 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c040)).intoArray(scratch, 4 * 2 * DL);
        ((DoubleVector) DC.cast(c041)).intoArray(scratch, 4 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c050)).intoArray(scratch, 5 * 2 * DL);
        ((DoubleVector) DC.cast(c051)).intoArray(scratch, 5 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c060)).intoArray(scratch, 6 * 2 * DL);
        ((DoubleVector) DC.cast(c061)).intoArray(scratch, 6 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c070)).intoArray(scratch, 7 * 2 * DL);
        ((DoubleVector) DC.cast(c071)).intoArray(scratch, 7 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c080)).intoArray(scratch, 8 * 2 * DL);
        ((DoubleVector) DC.cast(c081)).intoArray(scratch, 8 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c090)).intoArray(scratch, 9 * 2 * DL);
        ((DoubleVector) DC.cast(c091)).intoArray(scratch, 9 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c100)).intoArray(scratch, 10 * 2 * DL);
        ((DoubleVector) DC.cast(c101)).intoArray(scratch, 10 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c110)).intoArray(scratch, 11 * 2 * DL);
        ((DoubleVector) DC.cast(c111)).intoArray(scratch, 11 * 2 * DL + DL);
    }

    /** The double twin of the float {@code accumulate12x2}. */
    private static void accumulate12x2(int kc, double[] pa, double[] lo, double[] hi, int q0,
                                       double[] scratch) {
        DoubleVector z = (DoubleVector) DC.cast(DoubleVector.zero(DS));
        DoubleVector c000 = z, c001 = z, c010 = z, c011 = z, c020 = z, c021 = z;
        DoubleVector c030 = z, c031 = z, c040 = z, c041 = z, c050 = z, c051 = z;
        DoubleVector c060 = z, c061 = z, c070 = z, c071 = z, c080 = z, c081 = z;
        DoubleVector c090 = z, c091 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        for (int q = q0, end = q0 + kc * DW; q < end; q += 2 * DW) {
            DoubleVector b0 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, lo, q));
            DoubleVector b1 = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, hi, q + D_HI));
            DoubleVector a0 = z.broadcast(pa[q + 0]);
            c000 = a0.fma(b0, c000);
            c001 = a0.fma(b1, c001);
            VarHandle.loadLoadFence();
            DoubleVector a1 = z.broadcast(pa[q + 1]);
            c010 = a1.fma(b0, c010);
            c011 = a1.fma(b1, c011);
            VarHandle.loadLoadFence();
            DoubleVector a2 = z.broadcast(pa[q + 2]);
            c020 = a2.fma(b0, c020);
            c021 = a2.fma(b1, c021);
            VarHandle.loadLoadFence();
            DoubleVector a3 = z.broadcast(pa[q + 3]);
            c030 = a3.fma(b0, c030);
            c031 = a3.fma(b1, c031);
            VarHandle.loadLoadFence();
            DoubleVector a4 = z.broadcast(pa[q + 4]);
            c040 = a4.fma(b0, c040);
            c041 = a4.fma(b1, c041);
            VarHandle.loadLoadFence();
            DoubleVector a5 = z.broadcast(pa[q + 5]);
            c050 = a5.fma(b0, c050);
            c051 = a5.fma(b1, c051);
            VarHandle.loadLoadFence();
            DoubleVector a6 = z.broadcast(pa[q + 6]);
            c060 = a6.fma(b0, c060);
            c061 = a6.fma(b1, c061);
            VarHandle.loadLoadFence();
            DoubleVector a7 = z.broadcast(pa[q + 7]);
            c070 = a7.fma(b0, c070);
            c071 = a7.fma(b1, c071);
            VarHandle.loadLoadFence();
            DoubleVector a8 = z.broadcast(pa[q + 8]);
            c080 = a8.fma(b0, c080);
            c081 = a8.fma(b1, c081);
            VarHandle.loadLoadFence();
            DoubleVector a9 = z.broadcast(pa[q + 9]);
            c090 = a9.fma(b0, c090);
            c091 = a9.fma(b1, c091);
            VarHandle.loadLoadFence();
            DoubleVector a10 = z.broadcast(pa[q + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            VarHandle.loadLoadFence();
            DoubleVector a11 = z.broadcast(pa[q + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
            VarHandle.loadLoadFence();
            DoubleVector b0n = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, lo, q + DW));
            DoubleVector b1n = (DoubleVector) DC.cast(DoubleVector.fromArray(DS, hi, q + DW + D_HI));
            DoubleVector a0n = z.broadcast(pa[q + DW + 0]);
            c000 = a0n.fma(b0n, c000);
            c001 = a0n.fma(b1n, c001);
            VarHandle.loadLoadFence();
            DoubleVector a1n = z.broadcast(pa[q + DW + 1]);
            c010 = a1n.fma(b0n, c010);
            c011 = a1n.fma(b1n, c011);
            VarHandle.loadLoadFence();
            DoubleVector a2n = z.broadcast(pa[q + DW + 2]);
            c020 = a2n.fma(b0n, c020);
            c021 = a2n.fma(b1n, c021);
            VarHandle.loadLoadFence();
            DoubleVector a3n = z.broadcast(pa[q + DW + 3]);
            c030 = a3n.fma(b0n, c030);
            c031 = a3n.fma(b1n, c031);
            VarHandle.loadLoadFence();
            DoubleVector a4n = z.broadcast(pa[q + DW + 4]);
            c040 = a4n.fma(b0n, c040);
            c041 = a4n.fma(b1n, c041);
            VarHandle.loadLoadFence();
            DoubleVector a5n = z.broadcast(pa[q + DW + 5]);
            c050 = a5n.fma(b0n, c050);
            c051 = a5n.fma(b1n, c051);
            VarHandle.loadLoadFence();
            DoubleVector a6n = z.broadcast(pa[q + DW + 6]);
            c060 = a6n.fma(b0n, c060);
            c061 = a6n.fma(b1n, c061);
            VarHandle.loadLoadFence();
            DoubleVector a7n = z.broadcast(pa[q + DW + 7]);
            c070 = a7n.fma(b0n, c070);
            c071 = a7n.fma(b1n, c071);
            VarHandle.loadLoadFence();
            DoubleVector a8n = z.broadcast(pa[q + DW + 8]);
            c080 = a8n.fma(b0n, c080);
            c081 = a8n.fma(b1n, c081);
            VarHandle.loadLoadFence();
            DoubleVector a9n = z.broadcast(pa[q + DW + 9]);
            c090 = a9n.fma(b0n, c090);
            c091 = a9n.fma(b1n, c091);
            VarHandle.loadLoadFence();
            DoubleVector a10n = z.broadcast(pa[q + DW + 10]);
            c100 = a10n.fma(b0n, c100);
            c101 = a10n.fma(b1n, c101);
            VarHandle.loadLoadFence();
            DoubleVector a11n = z.broadcast(pa[q + DW + 11]);
            c110 = a11n.fma(b0n, c110);
            c111 = a11n.fma(b1n, c111);
        }
        ((DoubleVector) DC.cast(c000)).intoArray(scratch, 0 * 2 * DL);
        ((DoubleVector) DC.cast(c001)).intoArray(scratch, 0 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c010)).intoArray(scratch, 1 * 2 * DL);
        ((DoubleVector) DC.cast(c011)).intoArray(scratch, 1 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c020)).intoArray(scratch, 2 * 2 * DL);
        ((DoubleVector) DC.cast(c021)).intoArray(scratch, 2 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c030)).intoArray(scratch, 3 * 2 * DL);
        ((DoubleVector) DC.cast(c031)).intoArray(scratch, 3 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c040)).intoArray(scratch, 4 * 2 * DL);
        ((DoubleVector) DC.cast(c041)).intoArray(scratch, 4 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c050)).intoArray(scratch, 5 * 2 * DL);
        ((DoubleVector) DC.cast(c051)).intoArray(scratch, 5 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c060)).intoArray(scratch, 6 * 2 * DL);
        ((DoubleVector) DC.cast(c061)).intoArray(scratch, 6 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c070)).intoArray(scratch, 7 * 2 * DL);
        ((DoubleVector) DC.cast(c071)).intoArray(scratch, 7 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c080)).intoArray(scratch, 8 * 2 * DL);
        ((DoubleVector) DC.cast(c081)).intoArray(scratch, 8 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c090)).intoArray(scratch, 9 * 2 * DL);
        ((DoubleVector) DC.cast(c091)).intoArray(scratch, 9 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c100)).intoArray(scratch, 10 * 2 * DL);
        ((DoubleVector) DC.cast(c101)).intoArray(scratch, 10 * 2 * DL + DL);
        ((DoubleVector) DC.cast(c110)).intoArray(scratch, 11 * 2 * DL);
        ((DoubleVector) DC.cast(c111)).intoArray(scratch, 11 * 2 * DL + DL);
    }


    @Override
    public void tile(int kc, double[] pa, double[][] pb, int pbi, int q0, double[] c, int c0,
                     int ldc, int rows, int cols, double alpha, double beta, boolean first,
                     double[] scratch) {
        if (MR == 12 && kc % 2 == 0) {
            accumulate12x2(kc, pa, pb[pbi], pb[pbi + DG - 1], q0, scratch);
        } else if (MR == 12) {
            accumulate12(kc, pa, pb[pbi], pb[pbi + DG - 1], q0, scratch);
        } else {
            accumulate(kc, pa, pb[pbi], pb[pbi + DG - 1], q0, scratch);
        }
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
            DoubleVector t = ((DoubleVector) DC.cast(DoubleVector.fromArray(DS, acc, i))).mul(alpha);
            if (!first) {
                ((DoubleVector) DC.cast(DoubleVector.fromArray(DS, c, off))).add(t).intoArray(c, off);
            } else if (beta != 0.0) {
                t.add(((DoubleVector) DC.cast(DoubleVector.fromArray(DS, c, off))).mul(beta)).intoArray(c, off);
            } else {
                t.intoArray(c, off);
            }
        }
    }
}
