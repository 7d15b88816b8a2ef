package dev.loradrop.backend.cpu;

import dev.loradrop.api.Activation;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Blocked, packed, multi-threaded GEMM in the style of BLIS/GotoBLAS: {@code C = alpha op(A) op(B)
 * + beta C}, row-major.
 *
 * <p>Two loop orders, both accumulating every element of C over the same depth blocks in the same
 * order, so that results are identical whatever the thread count and whichever order runs:
 * <ul>
 *   <li><b>Panels</b> (the general case), BLIS's order with the roles of A and B swapped, since
 *       the micro-kernel broadcasts A and loads B as vectors. Row blocks of A (up to {@link
 *       #A_BYTES} packed), depth blocks of {@link #KC}: the threads pack the block of A between
 *       them into one shared buffer, meet at a barrier, then claim tasks from a ticket counter (a
 *       column block of {@link #B_STRIPS} strips, whose B the task packs into a buffer of its own,
 *       which stays in its core's L2; or, when C has too few column blocks to go round, a chunk of
 *       the rows for one column block), and meet again before the next depth block. A thread the
 *       machine slows down simply claims fewer tasks. A task runs its tiles a row of tiles at a
 *       time: each strip of A stays in L1 while it meets the block's strips of B, and C is read
 *       and written along its rows, which the hardware prefetches. Every element of A and of B is
 *       packed once (for C of up to {@link #A_BYTES} worth of A rows). The order before (a shared
 *       panel of 64 strips of B read from L3, each task packing 12 strips of A) ran sgemm 2048^3
 *       at 140-150 GFLOP/s on AVX-512 with the 6-row tile, this order at 283-293 with the same
 *       depth and the 12-row tile; on AVX2 the order before had been as fast as this one or
 *       faster (0.92-0.99).</li>
 *   <li><b>Strips</b>, for a skinny A times a transposed B (a layer's forward pass {@code x W^T}
 *       at training batch sizes) and for {@link #linear}. Each thread packs all of A's rows (in
 *       blocks of {@link #STRIP_ROWS_PER_BLOCK} for {@code linear}), then claims {@code NR}-wide
 *       strips of B and runs each through all its depth blocks: the strip's rows of W are read
 *       front to back, which the hardware prefetches well, and its packed copy (made right before
 *       use, or once by {@link #packWeights}) stays in L1 or L2.</li>
 * </ul>
 * The {@link TileKernel} multiplies one {@code MR x NR} tile; transposition is handled while
 * packing, so one micro-kernel serves every transpose combination. Packing buffers are per thread
 * and reused: a steady-state call allocates nothing.
 *
 * <p>Safe for concurrent callers: one call at a time uses the worker threads and the reusable
 * buffers; a call that finds them busy runs on its own thread with buffers of its own, which are
 * kept for the next such call (up to {@link #IDLE_PROBLEMS} sets), so that concurrent callers in
 * a steady state allocate nothing either.
 */
final class GemmEngine implements AutoCloseable {

    /**
     * Depth of a block. Each depth block is one pass over C, so deeper blocks mean fewer passes;
     * shallower ones keep a strip of A (12 x 512 floats at stride 16: 32 KiB) in L1 while it meets
     * a block of B. On AVX-512 (sgemm 2048^3, 2 threads, runs of a JVM for each setting in turn,
     * rounds minutes apart on a machine whose speed drifts; measured with the two-depth form of
     * the 12-row tile that VectorTileKernel describes): depth 512 with column blocks of 16
     * strips ran at 378-393 GFLOP/s where 512 with 8 strips ran at 366-367, 1024 with 8 at
     * 357-363 and 1024 with 12 at 345-354; in three later rounds 512 with 16 strips at 344-367, 24
     * strips 328-341, 12 strips 357-358, and depth 384 with 20 strips 329-342. (On AVX2, with the
     * loop order before, 1024 had been 1.02-1.10 times as fast as 512.) A depth chosen by the
     * number of rows would make a row's bits depend on the batch it is in, so the depth stays one
     * constant. Changing it changes the bits of every product deeper than the smaller of the two.
     */
    private static final int KC = 512;
    /**
     * The most bytes of packed A that the threads share for one depth block: 8 MiB, 256 strips
     * of 12 floats (3072 rows, stride 16) at depth 512 with AVX-512. The rows of a taller A are
     * taken a block at a time, each packing B again.
     */
    private static final long A_BYTES = 8L << 20;
    /**
     * Columns of a task's block of B, in strips: 16 strips at depth 512 (512 floats or 256
     * doubles with AVX-512), 1 MiB, stay in the core's L2 while each strip of A meets all of
     * them. The measurements: see {@link #KC}.
     */
    private static final int B_STRIPS = 16;
    /** Below this many multiply-adds a GEMM runs on the calling thread alone. */
    private static final long PARALLEL_THRESHOLD = 1L << 20;
    /** {@link #streamsB}: at most 256 float rows (128 double) of A ... */
    private static final long STREAM_B_A_ROW_BYTES = 1024;
    /** ... taking at most 8 MiB packed. */
    private static final long STREAM_B_A_BYTES = 8L << 20;
    /**
     * Depths per block when packing a group of a transposed B ({@link #packB}) that is not eight
     * full rows at a time: 64 made a layer's forward pass (64 x 4096 times 4096 x 4096 transposed)
     * 0.77 times as long as packing a whole row of the strip at a time; 32 gained less.
     */
    private static final int TRANSPOSE_DEPTHS = 64;
    /** Depths per block when packing an untransposed B ({@link #packB}). */
    private static final int ROWS_PER_COPY = 16;
    /** Rows of A packed at a time on the prepacked-weight path of {@link #linear}. */
    private static final int STRIP_ROWS_PER_BLOCK = 240;
    /**
     * The most problems of concurrent callers kept for reuse: more callers than cores at once
     * are unusual, and each problem keeps its packing buffers.
     */
    private static final int IDLE_PROBLEMS =
            Math.max(4, Runtime.getRuntime().availableProcessors());

    private final TileKernel kernel;
    private final WorkerPool pool;
    private final Space[] spaces;
    private final ReentrantLock lock = new ReentrantLock();
    private final Problem shared = new Problem();
    /** Problems, with their buffers, of concurrent callers that have finished, for reuse. */
    private final BlockingQueue<Problem> idle = new ArrayBlockingQueue<>(IDLE_PROBLEMS);
    private final IntConsumer sharedBody;

    /**
     * @param threads worker threads including the caller, {@code >= 1}
     * @param kernel the micro-kernel
     */
    GemmEngine(int threads, TileKernel kernel) {
        this.kernel = kernel;
        this.pool = threads > 1 ? new WorkerPool(threads, "loradrop-cpu-gemm") : null;
        this.spaces = new Space[Math.max(1, threads)];
        for (int i = 0; i < spaces.length; i++) {
            spaces[i] = new Space();
        }
        this.sharedBody = part -> run(shared, part, spaces[part]);
    }

    /** @return the micro-kernel's code path */
    String path() {
        return kernel.path();
    }

    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a,
              float[] b, float beta, float[] c) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scale(c, m * n, beta);
            return;
        }
        Problem p = acquire();
        p.set(transA, transB, m, n, k).floats(a, b, c, alpha, beta);
        execute(p);
    }

    void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a,
              double[] b, double beta, double[] c) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0.0) {
            scale(c, m * n, beta);
            return;
        }
        Problem p = acquire();
        p.set(transA, transB, m, n, k).doubles(a, b, c, alpha, beta);
        execute(p);
    }

    /**
     * Packs a weight {@code w} ({@code n x k}, row-major) once into the layout the micro-kernel
     * reads as a transposed B: strip {@code t} of {@code NR} rows of w in arrays {@code t * G} to
     * {@code t * G + G - 1}, each holding all {@code k} depths as {@link #packB} lays them out. For
     * {@link #linear}.
     *
     * @throws IllegalArgumentException if a packed array would be too large
     */
    float[][] packWeights(float[] w, int n, int k) {
        int nr = kernel.floatCols();
        int g = kernel.floatGroups();
        int strips = blocks(n, nr);
        float[][] dst = new float[strips * g][packedSize(n, k, kernel.floatStride())];
        for (int t = 0; t < strips; t++) {
            for (int pc = 0; pc < k; pc = next(pc, KC, k)) {
                packB(w, true, k, n, pc, Math.min(KC, k - pc), t * nr, Math.min(nr, n - t * nr), dst,
                        t, pc * kernel.floatStride());
            }
        }
        return dst;
    }

    /** The double twin of {@link #packWeights(float[], int, int)}. */
    double[][] packWeights(double[] w, int n, int k) {
        int nr = kernel.doubleCols();
        int g = kernel.doubleGroups();
        int strips = blocks(n, nr);
        double[][] dst = new double[strips * g][packedSize(n, k, kernel.doubleStride())];
        for (int t = 0; t < strips; t++) {
            for (int pc = 0; pc < k; pc = next(pc, KC, k)) {
                packB(w, true, k, n, pc, Math.min(KC, k - pc), t * nr, Math.min(nr, n - t * nr), dst,
                        t, pc * kernel.doubleStride());
            }
        }
        return dst;
    }

    /** @return the length of an array holding {@code k} depths at {@code stride} */
    private static int packedSize(int n, int k, int stride) {
        long size = (long) k * stride;
        if (size > ArrayPool.MAX_LENGTH) {
            throw new IllegalArgumentException("weight: " + n + " x " + k
                    + " is too large to prepare (more than 2^31 elements in a packed strip)");
        }
        return (int) size;
    }

    /**
     * {@code y = f(x w^T + bias)} with {@code w} packed by {@link #packWeights}: the same products
     * in the same order as {@code gemm(false, true, ...)}, then the bias and the activation applied
     * to each strip of y while it is still in cache, with the operations of
     * {@link ScalarKernels#addBias} and {@link ScalarKernels#activate}; so the same bits.
     *
     * @param m rows of x and y
     * @param n columns of y (rows of w)
     * @param k columns of x (columns of w)
     * @param bias {@code n} elements, or null
     */
    void linear(int m, int n, int k, float[] x, float[][] packed, float[] bias, Activation f,
                float[] y) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            Arrays.fill(y, 0, m * n, 0f);
            epilogue(y, 0, m, 0, n, n, bias, f);
            return;
        }
        Problem p = acquire();
        p.set(false, true, m, n, k).floats(x, null, y, 1f, 0f);
        p.fpacked = packed;
        p.fbias = bias;
        p.activation = f;
        execute(p);
    }

    /** The double twin of {@link #linear(int, int, int, float[], float[][], float[], Activation, float[])}. */
    void linear(int m, int n, int k, double[] x, double[][] packed, double[] bias, Activation f,
                double[] y) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            Arrays.fill(y, 0, m * n, 0.0);
            epilogue(y, 0, m, 0, n, n, bias, f);
            return;
        }
        Problem p = acquire();
        p.set(false, true, m, n, k).doubles(x, null, y, 1.0, 0.0);
        p.dpacked = packed;
        p.dbias = bias;
        p.activation = f;
        execute(p);
    }

    /** Bias and activation over rows {@code [i0, i0 + rows)}, columns {@code [j0, j0 + cols)}. */
    private static void epilogue(float[] c, int i0, int rows, int j0, int cols, int ldc,
                                 float[] bias, Activation f) {
        if (bias == null && f == Activation.IDENTITY) {
            return;
        }
        for (int r = i0; r < i0 + rows; r++) {
            int o = r * ldc + j0;
            for (int j = 0; j < cols; j++) {
                float v = bias == null ? c[o + j] : c[o + j] + bias[j0 + j];
                c[o + j] = ScalarKernels.activate(f, v);
            }
        }
    }

    private static void epilogue(double[] c, int i0, int rows, int j0, int cols, int ldc,
                                 double[] bias, Activation f) {
        if (bias == null && f == Activation.IDENTITY) {
            return;
        }
        for (int r = i0; r < i0 + rows; r++) {
            int o = r * ldc + j0;
            for (int j = 0; j < cols; j++) {
                double v = bias == null ? c[o + j] : c[o + j] + bias[j0 + j];
                c[o + j] = ScalarKernels.activate(f, v);
            }
        }
    }

    /**
     * Runs {@code body.accept(part)} for every {@code part < parts} on the worker threads when they
     * are free, otherwise one after another on the calling thread; for work other than GEMM that
     * splits into independent parts.
     *
     * @param parts at most {@link #threads()}
     */
    void forEachPart(int parts, IntConsumer body) {
        if (parts > threads()) {
            throw new IllegalArgumentException("parts: expected at most " + threads()
                    + " (the threads), got " + parts);
        }
        if (pool != null && parts > 1 && lock.tryLock()) {
            try {
                pool.run(parts, body);
            } finally {
                lock.unlock();
            }
        } else {
            for (int part = 0; part < parts; part++) {
                body.accept(part);
            }
        }
    }

    /** @return the threads a {@link #forEachPart} call can use at once */
    int threads() {
        return pool == null ? 1 : pool.size();
    }

    /**
     * @return the shared problem with the lock held, or, when another thread holds it, a problem of
     *     the caller's own (an idle one, or a new one) that runs on the calling thread alone
     */
    private Problem acquire() {
        if (lock.tryLock()) {
            return shared;
        }
        Problem p = idle.poll();
        return p != null ? p : new Problem();
    }

    private void execute(Problem p) {
        try {
            Space own = p == shared ? spaces[0] : p.alone();
            p.parts = p != shared || pool == null || (long) p.m * p.n * p.k < PARALLEL_THRESHOLD ? 1
                    : pool.size();
            boolean floats = p.fc != null;
            int stride = floats ? kernel.floatStride() : kernel.doubleStride();
            p.strips = floats
                    ? p.fpacked != null || streamsB(p.m, p.k, p.transB, kernel.floatRows(), 4)
                    : p.dpacked != null || streamsB(p.m, p.k, p.transB, kernel.doubleRows(), 8);
            int mr = floats ? kernel.floatRows() : kernel.doubleRows();
            int bytes = floats ? Float.BYTES : Double.BYTES;
            p.start(own, p.strips ? 0 : aStrips(p.m, mr, stride, bytes), KC * stride);
            if (p.parts == 1) {
                run(p, 0, own);
            } else {
                pool.run(p.parts, sharedBody);
            }
        } finally {
            p.release();
            if (p == shared) {
                lock.unlock();
            } else {
                idle.offer(p); // dropped when enough are kept
            }
        }
    }

    /**
     * Whether to take the path for a skinny A and a transposed B (a layer's forward pass, {@code x
     * W^T}, at training batch sizes): all of A packed once, then for each {@code NR}-wide strip of
     * B, its depth blocks in order, each packed right before its tiles. The strip's source rows are
     * then read front to back, which the hardware prefetches well, and the packed copy stays in L1;
     * packing B a panel at a time instead reads each row in short pieces, which made this case
     * twice as slow as the untransposed one.
     */
    static boolean streamsB(int m, int k, boolean transB, int mr, int bytes) {
        long rows = blocks(m, mr) * (long) mr;
        return transB && rows * bytes <= STREAM_B_A_ROW_BYTES
                && rows * k * bytes <= STREAM_B_A_BYTES;
    }

    /** @return the strips of A in a block of the panel path: all of A's, up to {@link #A_BYTES} */
    private static int aStrips(int m, int mr, int stride, int bytes) {
        return (int) Math.min(blocks(m, mr), Math.max(1, A_BYTES / ((long) KC * stride * bytes)));
    }

    /**
     * How many chunks of rows each column block is cut into, so that the threads have enough
     * tasks to share: one when there are plenty of column blocks, more for a narrow C (a thread
     * that claims two chunks of one block in a row packs its block of B once).
     */
    static int chunks(int strips, int colBlocks, int parts) {
        int wanted = 4 * parts;
        return parts == 1 || colBlocks >= wanted ? 1 : Math.min(strips, blocks(wanted, colBlocks));
    }

    /** @return the blocks of {@code size} that {@code x >= 0} elements take: x / size rounded up */
    static int blocks(int x, int size) {
        return x == 0 ? 0 : (x - 1) / size + 1; // not (x + size - 1) / size: x + size may pass 2^31
    }

    /**
     * The step of a loop over {@code [0, end)} in blocks of {@code size}.
     *
     * @return the start of the block after the one at {@code at < end}: {@code at + size}, or
     *     {@code end} when that would be past it
     */
    static int next(int at, int size, int end) {
        return end - at <= size ? end : at + size; // at + size alone may pass 2^31
    }

    private void run(Problem p, int part, Space s) {
        try {
            if (p.fc != null) {
                runFloat(p, part, s);
            } else {
                runDouble(p, part, s);
            }
        } catch (RuntimeException | Error e) {
            p.fail(e); // so that no other part waits for this one at a barrier
            throw e;
        }
    }

    private void runFloat(Problem p, int part, Space s) {
        int mr = kernel.floatRows();
        int nr = kernel.floatCols();
        int g = kernel.floatGroups();
        int w = kernel.floatStride();
        if (p.strips) {
            // Rows in blocks; each thread packs a block of A whole, then takes B strips one at a
            // time (prepacked, or packed right before use) through all their depth blocks.
            int block = p.fpacked != null ? STRIP_ROWS_PER_BLOCK : p.m;
            int strips = blocks(p.n, nr);
            int end = 0;
            for (int i0 = 0; i0 < p.m; i0 = next(i0, block, p.m)) {
                int rows = Math.min(block, p.m - i0);
                // Each strip of A and of B holds all the depths, so that a depth block starts
                // at the same offset in both. Packed weights need no strip of B.
                s.ensureFloat(blocks(rows, mr), p.k * w, p.fpacked != null ? 0 : g, p.k * w,
                        mr * nr);
                for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                    packA(p.fa, p.transA, p.m, p.k, i0, rows, pc, Math.min(KC, p.k - pc), mr, w,
                            s.fpa, 0, pc * w);
                }
                end += strips;
                for (int t; (t = p.claim(end)) >= 0; ) {
                    int strip = t - (end - strips);
                    int jr = strip * nr;
                    int cols = Math.min(nr, p.n - jr);
                    float[][] pb = p.fpacked != null ? p.fpacked : s.fpb;
                    int pbi = p.fpacked != null ? strip * g : 0;
                    for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                        int kc = Math.min(KC, p.k - pc);
                        if (p.fpacked == null) {
                            packB(p.fb, true, p.k, p.n, pc, kc, jr, cols, pb, 0, pc * w);
                        }
                        for (int ir = 0; ir < rows; ir += mr) {
                            kernel.tile(kc, s.fpa[ir / mr], pb, pbi, pc * w, p.fc,
                                    (i0 + ir) * p.n + jr, p.n, Math.min(mr, rows - ir), cols,
                                    p.falpha, p.fbeta, pc == 0, s.facc);
                        }
                    }
                    epilogue(p.fc, i0, rows, jr, cols, p.n, p.fbias, p.activation);
                }
            }
            return;
        }
        int ma = mr * aStrips(p.m, mr, w, Float.BYTES);
        int nb = nr * B_STRIPS;
        float[][] pa = p.own.fpa;
        s.ensureFloat(0, 0, B_STRIPS * g, KC * w, mr * nr);
        int end = 0;
        for (int ic = 0; ic < p.m; ic = next(ic, ma, p.m)) {
            int mcb = Math.min(ma, p.m - ic);
            int strips = blocks(mcb, mr);
            int colBlocks = blocks(p.n, nb);
            int chunks = chunks(strips, colBlocks, p.parts);
            int count = colBlocks * chunks;
            for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                int kc = Math.min(KC, p.k - pc);
                boolean first = pc == 0;
                int s0 = WorkerPool.start(part, strips, p.parts);
                int s1 = WorkerPool.start(part + 1, strips, p.parts);
                if (s1 > s0) {
                    packA(p.fa, p.transA, p.m, p.k, ic + s0 * mr, Math.min(mcb, s1 * mr) - s0 * mr,
                            pc, kc, mr, w, pa, s0, 0);
                }
                p.barrier();
                end += count;
                int packed = -1;
                for (int t; (t = p.claim(end)) >= 0; ) {
                    int task = t - (end - count);
                    int cb = task / chunks;
                    int jc = cb * nb;
                    int ncb = Math.min(nb, p.n - jc);
                    if (packed != cb) {
                        packB(p.fb, p.transB, p.k, p.n, pc, kc, jc, ncb, s.fpb, 0, 0);
                        packed = cb;
                    }
                    int r1 = WorkerPool.start(task % chunks + 1, strips, chunks);
                    for (int r = WorkerPool.start(task % chunks, strips, chunks); r < r1; r++) {
                        int rows = Math.min(mr, mcb - r * mr);
                        for (int jr = 0; jr < ncb; jr += nr) {
                            kernel.tile(kc, pa[r], s.fpb, (jr / nr) * g, 0, p.fc,
                                    (ic + r * mr) * p.n + jc + jr, p.n, rows,
                                    Math.min(nr, ncb - jr), p.falpha, p.fbeta, first, s.facc);
                        }
                    }
                }
                p.barrier(); // every tile of this depth block is merged before the next starts
            }
        }
    }

    private void runDouble(Problem p, int part, Space s) {
        int mr = kernel.doubleRows();
        int nr = kernel.doubleCols();
        int g = kernel.doubleGroups();
        int w = kernel.doubleStride();
        if (p.strips) {
            // Rows in blocks; each thread packs a block of A whole, then takes B strips one at a
            // time (prepacked, or packed right before use) through all their depth blocks.
            int block = p.dpacked != null ? STRIP_ROWS_PER_BLOCK : p.m;
            int strips = blocks(p.n, nr);
            int end = 0;
            for (int i0 = 0; i0 < p.m; i0 = next(i0, block, p.m)) {
                int rows = Math.min(block, p.m - i0);
                // Each strip of A and of B holds all the depths, so that a depth block starts
                // at the same offset in both. Packed weights need no strip of B.
                s.ensureDouble(blocks(rows, mr), p.k * w, p.dpacked != null ? 0 : g, p.k * w,
                        mr * nr);
                for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                    packA(p.da, p.transA, p.m, p.k, i0, rows, pc, Math.min(KC, p.k - pc), mr, w,
                            s.dpa, 0, pc * w);
                }
                end += strips;
                for (int t; (t = p.claim(end)) >= 0; ) {
                    int strip = t - (end - strips);
                    int jr = strip * nr;
                    int cols = Math.min(nr, p.n - jr);
                    double[][] pb = p.dpacked != null ? p.dpacked : s.dpb;
                    int pbi = p.dpacked != null ? strip * g : 0;
                    for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                        int kc = Math.min(KC, p.k - pc);
                        if (p.dpacked == null) {
                            packB(p.db, true, p.k, p.n, pc, kc, jr, cols, pb, 0, pc * w);
                        }
                        for (int ir = 0; ir < rows; ir += mr) {
                            kernel.tile(kc, s.dpa[ir / mr], pb, pbi, pc * w, p.dc,
                                    (i0 + ir) * p.n + jr, p.n, Math.min(mr, rows - ir), cols,
                                    p.dalpha, p.dbeta, pc == 0, s.dacc);
                        }
                    }
                    epilogue(p.dc, i0, rows, jr, cols, p.n, p.dbias, p.activation);
                }
            }
            return;
        }
        int ma = mr * aStrips(p.m, mr, w, Double.BYTES);
        int nb = nr * B_STRIPS;
        double[][] pa = p.own.dpa;
        s.ensureDouble(0, 0, B_STRIPS * g, KC * w, mr * nr);
        int end = 0;
        for (int ic = 0; ic < p.m; ic = next(ic, ma, p.m)) {
            int mcb = Math.min(ma, p.m - ic);
            int strips = blocks(mcb, mr);
            int colBlocks = blocks(p.n, nb);
            int chunks = chunks(strips, colBlocks, p.parts);
            int count = colBlocks * chunks;
            for (int pc = 0; pc < p.k; pc = next(pc, KC, p.k)) {
                int kc = Math.min(KC, p.k - pc);
                boolean first = pc == 0;
                int s0 = WorkerPool.start(part, strips, p.parts);
                int s1 = WorkerPool.start(part + 1, strips, p.parts);
                if (s1 > s0) {
                    packA(p.da, p.transA, p.m, p.k, ic + s0 * mr, Math.min(mcb, s1 * mr) - s0 * mr,
                            pc, kc, mr, w, pa, s0, 0);
                }
                p.barrier();
                end += count;
                int packed = -1;
                for (int t; (t = p.claim(end)) >= 0; ) {
                    int task = t - (end - count);
                    int cb = task / chunks;
                    int jc = cb * nb;
                    int ncb = Math.min(nb, p.n - jc);
                    if (packed != cb) {
                        packB(p.db, p.transB, p.k, p.n, pc, kc, jc, ncb, s.dpb, 0, 0);
                        packed = cb;
                    }
                    int r1 = WorkerPool.start(task % chunks + 1, strips, chunks);
                    for (int r = WorkerPool.start(task % chunks, strips, chunks); r < r1; r++) {
                        int rows = Math.min(mr, mcb - r * mr);
                        for (int jr = 0; jr < ncb; jr += nr) {
                            kernel.tile(kc, pa[r], s.dpb, (jr / nr) * g, 0, p.dc,
                                    (ic + r * mr) * p.n + jc + jr, p.n, rows,
                                    Math.min(nr, ncb - jr), p.dalpha, p.dbeta, first, s.dacc);
                        }
                    }
                }
                p.barrier(); // every tile of this depth block is merged before the next starts
            }
        }
    }

    // ------------------------------------------------------------------ packing

    /**
     * Packs rows {@code [i0, i0 + rows)} and depths {@code [p0, p0 + kc)} of op(A) into strips of
     * {@code mr} rows with {@code stride} elements per depth: element (r, p) of strip s at
     * {@code dst[s][d0 + p * stride + r]}, zero-padded to {@code mr} rows.
     *
     * <p>Depth outer, rows inner, so that each packed step is written whole. A full strip of six
     * or twelve rows is unrolled six rows at a time (six loads from six rows, six adjacent stores):
     * 2.2 times as fast as packing a row at a time, whose stores land far apart. For a transposed
     * A the inner loop reads adjacent elements: 2.8 times as fast. A full strip's six loads come
     * before its six stores: interleaved, C2 may not move a load above the store before it (the
     * arrays might be one), and packing took 1.2-1.4 times as long (untransposed: 0.87 against
     * 0.68 ns an element with A in L2, 1.05 against 0.86 from memory; transposed 1.9 against 1.7).
     */
    static void packA(float[] a, boolean transA, int m, int k, int i0, int rows, int p0, int kc,
                      int mr, int stride, float[][] dst, int t0, int d0) {
        for (int s = 0; s * mr < rows; s++) {
            float[] out = dst[t0 + s];
            int row0 = i0 + s * mr;
            int valid = Math.min(mr, rows - s * mr);
            // Element (r, p) of op(A) is at a[src + r * rowStep + p * depthStep].
            int rowStep = transA ? 1 : k;
            int depthStep = transA ? m : 1;
            int src = transA ? p0 * m + row0 : row0 * k + p0;
            if (mr % 6 == 0 && valid == mr) {
                for (int r = 0; r < mr; r += 6) {
                    for (int p = 0, q = src + r * rowStep, d = d0 + r; p < kc;
                            p++, q += depthStep, d += stride) {
                        float x0 = a[q];
                        float x1 = a[q + rowStep];
                        float x2 = a[q + 2 * rowStep];
                        float x3 = a[q + 3 * rowStep];
                        float x4 = a[q + 4 * rowStep];
                        float x5 = a[q + 5 * rowStep];
                        out[d] = x0;
                        out[d + 1] = x1;
                        out[d + 2] = x2;
                        out[d + 3] = x3;
                        out[d + 4] = x4;
                        out[d + 5] = x5;
                    }
                }
                continue;
            }
            for (int p = 0, d = d0; p < kc; p++, d += stride, src += depthStep) {
                for (int r = 0; r < valid; r++) {
                    out[d + r] = a[src + r * rowStep];
                }
                for (int r = valid; r < mr; r++) {
                    out[d + r] = 0f;
                }
            }
        }
    }

    /**
     * The double twin of {@link #packA(float[], boolean, int, int, int, int, int, int, int, int,
     * float[][], int, int)}.
     */
    static void packA(double[] a, boolean transA, int m, int k, int i0, int rows, int p0, int kc,
                      int mr, int stride, double[][] dst, int t0, int d0) {
        for (int s = 0; s * mr < rows; s++) {
            double[] out = dst[t0 + s];
            int row0 = i0 + s * mr;
            int valid = Math.min(mr, rows - s * mr);
            // Element (r, p) of op(A) is at a[src + r * rowStep + p * depthStep].
            int rowStep = transA ? 1 : k;
            int depthStep = transA ? m : 1;
            int src = transA ? p0 * m + row0 : row0 * k + p0;
            if (mr % 6 == 0 && valid == mr) {
                for (int r = 0; r < mr; r += 6) {
                    for (int p = 0, q = src + r * rowStep, d = d0 + r; p < kc;
                            p++, q += depthStep, d += stride) {
                        double x0 = a[q];
                        double x1 = a[q + rowStep];
                        double x2 = a[q + 2 * rowStep];
                        double x3 = a[q + 3 * rowStep];
                        double x4 = a[q + 4 * rowStep];
                        double x5 = a[q + 5 * rowStep];
                        out[d] = x0;
                        out[d + 1] = x1;
                        out[d + 2] = x2;
                        out[d + 3] = x3;
                        out[d + 4] = x4;
                        out[d + 5] = x5;
                    }
                }
                continue;
            }
            for (int p = 0, d = d0; p < kc; p++, d += stride, src += depthStep) {
                for (int r = 0; r < valid; r++) {
                    out[d + r] = a[src + r * rowStep];
                }
                for (int r = valid; r < mr; r++) {
                    out[d + r] = 0.0;
                }
            }
        }
    }

    /**
     * Packs depths {@code [p0, p0 + kc)} and columns {@code [j0, j0 + cols)} of op(B) into strips
     * of the kernel's {@code NR} columns, each split into its {@code G} groups of {@code W = NR / G}
     * columns (see {@link TileKernel}): element (p, j) of strip t in array
     * {@code dst[(t0 + t) * G + j / W]} at {@code d0 + p * S + j % W}, zero-padded.
     */
    void packB(float[] b, boolean transB, int k, int n, int p0, int kc, int j0, int cols,
               float[][] dst, int t0, int d0) {
        int nr = kernel.floatCols();
        int groups = kernel.floatGroups();
        int w = nr / groups;
        int stride = kernel.floatStride();
        int arrays = blocks(cols, nr) * groups;
        if (!transB) {
            // Rows of B are read in blocks of ROWS_PER_COPY (contiguous pieces of each row, which
            // the hardware prefetches), a strip at a time: its one or two destination arrays are
            // then checked once per block. The kernel's row copy moves whole vectors, 2.5 times
            // as fast as an element loop. Going a row at a time over every array made the input
            // gradient (64 x 4096 times 4096 x 4096) about 8 % slower.
            int fullStrips = cols / nr; // strips with nr valid columns
            for (int pb = 0; pb < kc; pb += ROWS_PER_COPY) {
                int pe = Math.min(kc, pb + ROWS_PER_COPY);
                for (int t = 0; t < fullStrips; t++) {
                    float[] lo = dst[(t0 + t) * groups];
                    float[] hi = dst[(t0 + t) * groups + groups - 1];
                    for (int p = pb, src = (p0 + p) * n + j0 + t * nr, d = d0 + p * stride; p < pe;
                            p++, src += n, d += stride) {
                        kernel.copyRow(b, src, lo, d);
                        if (groups == 2) {
                            kernel.copyRow(b, src + w, hi, d);
                        }
                    }
                }
            }
            for (int p = 0; p < kc; p++) {
                int src = (p0 + p) * n + j0 + fullStrips * nr;
                int d = d0 + p * stride;
                for (int q = fullStrips * groups; q < arrays; q++, src += w) {
                    float[] out = dst[t0 * groups + q];
                    int valid = cols - q * w;
                    for (int j = 0; j < w; j++) {
                        out[d + j] = j < valid ? b[src + j] : 0f;
                    }
                }
            }
            return;
        }
        // B is stored n x k: column j of op(B) is row j of b. A full group, eight rows at a time:
        // each depth's eight loads (one from each row, read in step), then its eight adjacent
        // stores. The forward pass (64 x 4096 times 4096 x 4096 transposed) took 0.87 times as
        // long as with the blocks below (150 paired calls; 256 x 768 x 768 0.95, 32 x 1024 x 1024
        // 0.93; 2048^3 transposed 1.00), where each store follows its load and C2 may not move
        // the next load above it.
        // Otherwise in blocks of TRANSPOSE_DEPTHS depths, each of the group's rows in turn: the w
        // rows are read in step, and the lines written stay in L1.
        for (int q = 0; q < arrays; q++) {
            float[] out = dst[t0 * groups + q];
            int valid = Math.min(w, cols - q * w);
            int row0 = (j0 + q * w) * k + p0;
            if (valid == w && w % 8 == 0) {
                for (int j = 0; j < w; j += 8) {
                    for (int p = 0, src = row0 + j * k, d = d0 + j; p < kc;
                            p++, src++, d += stride) {
                        float x0 = b[src];
                        float x1 = b[src + k];
                        float x2 = b[src + 2 * k];
                        float x3 = b[src + 3 * k];
                        float x4 = b[src + 4 * k];
                        float x5 = b[src + 5 * k];
                        float x6 = b[src + 6 * k];
                        float x7 = b[src + 7 * k];
                        out[d] = x0;
                        out[d + 1] = x1;
                        out[d + 2] = x2;
                        out[d + 3] = x3;
                        out[d + 4] = x4;
                        out[d + 5] = x5;
                        out[d + 6] = x6;
                        out[d + 7] = x7;
                    }
                }
                continue;
            }
            for (int pb = 0; pb < kc; pb += TRANSPOSE_DEPTHS) {
                int pe = Math.min(kc, pb + TRANSPOSE_DEPTHS);
                for (int j = 0; j < w; j++) {
                    int d = d0 + pb * stride + j;
                    if (j >= valid) {
                        for (int p = pb; p < pe; p++, d += stride) {
                            out[d] = 0f;
                        }
                    } else {
                        for (int p = pb, src = row0 + j * k + pb; p < pe; p++, d += stride, src++) {
                            out[d] = b[src];
                        }
                    }
                }
            }
        }
    }

    /** The double twin of {@link #packB(float[], boolean, int, int, int, int, int, int, float[][], int, int)}. */
    void packB(double[] b, boolean transB, int k, int n, int p0, int kc, int j0, int cols,
               double[][] dst, int t0, int d0) {
        int nr = kernel.doubleCols();
        int groups = kernel.doubleGroups();
        int w = nr / groups;
        int stride = kernel.doubleStride();
        int arrays = blocks(cols, nr) * groups;
        if (!transB) {
            // Rows of B are read in blocks of ROWS_PER_COPY (contiguous pieces of each row, which
            // the hardware prefetches), a strip at a time: its one or two destination arrays are
            // then checked once per block. The kernel's row copy moves whole vectors, 2.5 times
            // as fast as an element loop. Going a row at a time over every array made the input
            // gradient (64 x 4096 times 4096 x 4096) about 8 % slower.
            int fullStrips = cols / nr; // strips with nr valid columns
            for (int pb = 0; pb < kc; pb += ROWS_PER_COPY) {
                int pe = Math.min(kc, pb + ROWS_PER_COPY);
                for (int t = 0; t < fullStrips; t++) {
                    double[] lo = dst[(t0 + t) * groups];
                    double[] hi = dst[(t0 + t) * groups + groups - 1];
                    for (int p = pb, src = (p0 + p) * n + j0 + t * nr, d = d0 + p * stride; p < pe;
                            p++, src += n, d += stride) {
                        kernel.copyRow(b, src, lo, d);
                        if (groups == 2) {
                            kernel.copyRow(b, src + w, hi, d);
                        }
                    }
                }
            }
            for (int p = 0; p < kc; p++) {
                int src = (p0 + p) * n + j0 + fullStrips * nr;
                int d = d0 + p * stride;
                for (int q = fullStrips * groups; q < arrays; q++, src += w) {
                    double[] out = dst[t0 * groups + q];
                    int valid = cols - q * w;
                    for (int j = 0; j < w; j++) {
                        out[d + j] = j < valid ? b[src + j] : 0.0;
                    }
                }
            }
            return;
        }
        // B is stored n x k: column j of op(B) is row j of b. As in the float packB: a full group
        // eight rows at a time, each depth's loads before its stores; otherwise in blocks of
        // TRANSPOSE_DEPTHS depths, each of the group's rows in turn.
        for (int q = 0; q < arrays; q++) {
            double[] out = dst[t0 * groups + q];
            int valid = Math.min(w, cols - q * w);
            int row0 = (j0 + q * w) * k + p0;
            if (valid == w && w % 8 == 0) {
                for (int j = 0; j < w; j += 8) {
                    for (int p = 0, src = row0 + j * k, d = d0 + j; p < kc;
                            p++, src++, d += stride) {
                        double x0 = b[src];
                        double x1 = b[src + k];
                        double x2 = b[src + 2 * k];
                        double x3 = b[src + 3 * k];
                        double x4 = b[src + 4 * k];
                        double x5 = b[src + 5 * k];
                        double x6 = b[src + 6 * k];
                        double x7 = b[src + 7 * k];
                        out[d] = x0;
                        out[d + 1] = x1;
                        out[d + 2] = x2;
                        out[d + 3] = x3;
                        out[d + 4] = x4;
                        out[d + 5] = x5;
                        out[d + 6] = x6;
                        out[d + 7] = x7;
                    }
                }
                continue;
            }
            for (int pb = 0; pb < kc; pb += TRANSPOSE_DEPTHS) {
                int pe = Math.min(kc, pb + TRANSPOSE_DEPTHS);
                for (int j = 0; j < w; j++) {
                    int d = d0 + pb * stride + j;
                    if (j >= valid) {
                        for (int p = pb; p < pe; p++, d += stride) {
                            out[d] = 0.0;
                        }
                    } else {
                        for (int p = pb, src = row0 + j * k + pb; p < pe; p++, d += stride, src++) {
                            out[d] = b[src];
                        }
                    }
                }
            }
        }
    }

    private static void scale(float[] c, int size, float beta) {
        if (beta == 0f) {
            Arrays.fill(c, 0, size, 0f);
        } else if (beta != 1f) {
            for (int i = 0; i < size; i++) {
                c[i] *= beta;
            }
        }
    }

    private static void scale(double[] c, int size, double beta) {
        if (beta == 0.0) {
            Arrays.fill(c, 0, size, 0.0);
        } else if (beta != 1.0) {
            for (int i = 0; i < size; i++) {
                c[i] *= beta;
            }
        }
    }

    /**
     * Stops the worker threads, after waiting for a call that is using them: closing them under
     * a running call left its parts waiting forever for one that never ran. Calls after this one
     * run on the calling thread alone, or fail with {@link IllegalStateException} when they
     * would need the workers.
     */
    @Override
    public void close() {
        if (pool != null) {
            lock.lock();
            try {
                pool.close();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * One GEMM call's arguments, and how its parts share the work: tasks are claimed from one
     * ticket counter (so a thread the machine slows down takes fewer), and the parts of the panel
     * path meet at a barrier around each depth block.
     */
    private static final class Problem {
        boolean transA;
        boolean transB;
        int m;
        int n;
        int k;
        int parts;
        /** Whether the strips loop order runs (else the panels one). */
        boolean strips;
        /** The buffers whose packed B panel all parts share. */
        Space own;
        /** The buffers of a problem that runs on its caller's thread alone, once needed. */
        private Space alone;
        float[] fa;
        float[] fb;
        float[] fc;
        float falpha;
        float fbeta;
        double[] da;
        double[] db;
        double[] dc;
        double dalpha;
        double dbeta;
        /** For {@link #linear}: B prepacked by {@link #packWeights}, the bias, the activation. */
        float[][] fpacked;
        double[][] dpacked;
        float[] fbias;
        double[] dbias;
        Activation activation = Activation.IDENTITY;
        private final AtomicInteger ticket = new AtomicInteger();
        private final AtomicInteger arrived = new AtomicInteger();
        private volatile int phase;
        /** The first failure of any part, or null. */
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Problem set(boolean transA, boolean transB, int m, int n, int k) {
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            return this;
        }

        void floats(float[] a, float[] b, float[] c, float alpha, float beta) {
            fa = a;
            fb = b;
            fc = c;
            falpha = alpha;
            fbeta = beta;
        }

        void doubles(double[] a, double[] b, double[] c, double alpha, double beta) {
            da = a;
            db = b;
            dc = c;
            dalpha = alpha;
            dbeta = beta;
        }

        /** Resets the shared state before the parts start; sizes the shared panel. */
        void start(Space own, int aStrips, int aLength) {
            this.own = own;
            if (fc != null) {
                own.ensureFloat(aStrips, aLength, 0, 0, 0);
            } else {
                own.ensureDouble(aStrips, aLength, 0, 0, 0);
            }
            ticket.set(0);
            arrived.set(0);
            failure.set(null);
        }

        /** @return the next unclaimed ticket below {@code end}, or -1 when there is none */
        int claim(int end) {
            while (true) {
                int t = ticket.get();
                if (t >= end) {
                    return -1;
                }
                if (ticket.compareAndSet(t, t + 1)) {
                    return t;
                }
            }
        }

        /** Waits until every part has arrived; spins briefly, then yields. */
        void barrier() {
            if (parts == 1) {
                return;
            }
            int ph = phase;
            if (arrived.incrementAndGet() == parts) {
                arrived.set(0);
                phase = ph + 1;
                return;
            }
            for (int spins = 0; phase == ph; spins++) {
                Throwable first = failure.get();
                if (first != null) {
                    // Another part failed: this part stops with that failure itself, so that
                    // the caller gets it (an OutOfMemoryError, say) whichever part reports it.
                    if (first instanceof Error) {
                        throw (Error) first;
                    }
                    throw (RuntimeException) first;
                }
                if (spins < 1 << 12) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }

        /**
         * Records a part's failure, if it is the first, and releases any part waiting at a
         * barrier, which then throws the first failure too.
         *
         * @param t a {@link RuntimeException} or an {@link Error}
         */
        void fail(Throwable t) {
            failure.compareAndSet(null, t);
        }

        /** @return the buffers of a problem that runs on its caller's thread alone */
        Space alone() {
            if (alone == null) {
                alone = new Space();
            }
            return alone;
        }

        /** Drops the array references so the engine does not keep callers' memory alive. */
        void release() {
            fa = fb = fc = fbias = null;
            da = db = dc = dbias = null;
            fpacked = null;
            dpacked = null;
            activation = Activation.IDENTITY;
            own = null;
        }
    }

    /**
     * Per-thread packing buffers, grown once and reused: strips of A, strips of B (the shared
     * panel, for the thread that owns it, or one strip of B), the kernel's scratch tile. Each
     * strip's array grows on its own, so the panel path's many short strips and the strips path's
     * few long ones share the arrays without either allocating again.
     */
    private static final class Space {
        float[][] fpa = new float[0][];
        float[][] fpb = new float[0][];
        float[] facc = new float[0];
        double[][] dpa = new double[0][];
        double[][] dpb = new double[0][];
        double[] dacc = new double[0];

        void ensureFloat(int aStrips, int aLength, int bArrays, int bLength, int acc) {
            fpa = grow(fpa, aStrips, aLength);
            fpb = grow(fpb, bArrays, bLength);
            if (facc.length < acc) {
                facc = new float[acc];
            }
        }

        void ensureDouble(int aStrips, int aLength, int bArrays, int bLength, int acc) {
            dpa = grow(dpa, aStrips, aLength);
            dpb = grow(dpb, bArrays, bLength);
            if (dacc.length < acc) {
                dacc = new double[acc];
            }
        }

        private static float[][] grow(float[][] arrays, int count, int length) {
            float[][] a = arrays.length < count ? Arrays.copyOf(arrays, count) : arrays;
            for (int i = 0; i < count; i++) {
                if (a[i] == null || a[i].length < length) {
                    a[i] = new float[length];
                }
            }
            return a;
        }

        private static double[][] grow(double[][] arrays, int count, int length) {
            double[][] a = arrays.length < count ? Arrays.copyOf(arrays, count) : arrays;
            for (int i = 0; i < count; i++) {
                if (a[i] == null || a[i].length < length) {
                    a[i] = new double[length];
                }
            }
            return a;
        }
    }
}
