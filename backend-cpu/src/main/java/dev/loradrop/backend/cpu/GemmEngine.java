package dev.loradrop.backend.cpu;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Blocked, packed, multi-threaded GEMM in the style of BLIS/GotoBLAS: {@code C = alpha op(A) op(B)
 * + beta C}, row-major.
 *
 * <p>Loops, outermost first: column panels of {@code NC} (each thread owns a contiguous range of
 * columns, a multiple of {@code NR}), depth blocks of {@code KC} (B packed once per block), row
 * blocks of {@code MC} (A packed), then {@code NR}-column and {@code MR}-row strips handed to the
 * {@link TileKernel}. Transposition is handled while packing, so one micro-kernel serves every
 * transpose combination. Packing buffers are per thread and reused: a steady-state call allocates
 * nothing. Every element is accumulated in the same order whatever the thread count, so results
 * are identical for any number of threads.
 *
 * <p>Safe for concurrent callers: one call at a time uses the worker threads and the reusable
 * buffers; a call that finds them busy runs on its own thread with buffers of its own.
 */
final class GemmEngine implements AutoCloseable {

    private static final int KC = 256;
    private static final int MC_STRIPS = 12;
    private static final int NC_STRIPS = 128;
    /** Below this many multiply-adds a GEMM runs on the calling thread alone. */
    private static final long PARALLEL_THRESHOLD = 1L << 20;
    /** {@link #streamsB}: at most 256 float rows (128 double) of A ... */
    private static final long STREAM_B_A_ROW_BYTES = 1024;
    /** ... taking at most 8 MiB packed. */
    private static final long STREAM_B_A_BYTES = 8L << 20;

    private final TileKernel kernel;
    private final WorkerPool pool;
    private final Space[] spaces;
    private final ReentrantLock lock = new ReentrantLock();
    private final Problem shared = new Problem();
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
        p.set(transA, transB, m, n, k, kernel.floatCols()).floats(a, b, c, alpha, beta);
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
        p.set(transA, transB, m, n, k, kernel.doubleCols()).doubles(a, b, c, alpha, beta);
        execute(p);
    }

    /**
     * @return the shared problem with the lock held, or, when another thread holds it, a problem of
     *     the caller's own that runs on the calling thread alone
     */
    private Problem acquire() {
        return lock.tryLock() ? shared : new Problem();
    }

    private void execute(Problem p) {
        try {
            if (p != shared) {
                p.parts = 1;
                p.chunk = p.n;
                run(p, 0, new Space());
            } else if (partition(p) == 1) {
                run(p, 0, spaces[0]);
            } else {
                pool.run(p.parts, sharedBody);
            }
        } finally {
            if (p == shared) {
                p.release();
                lock.unlock();
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
    private static boolean streamsB(Problem p, int mr, int bytes) {
        long rows = ((p.m + mr - 1) / mr) * (long) mr;
        return p.transB && rows * bytes <= STREAM_B_A_ROW_BYTES
                && rows * p.k * bytes <= STREAM_B_A_BYTES;
    }

    /** Splits the columns into at most one part per thread, each a multiple of NR. */
    private int partition(Problem p) {
        int strips = (p.n + p.nr - 1) / p.nr;
        long work = (long) p.m * p.n * p.k;
        int parts = pool == null || work < PARALLEL_THRESHOLD ? 1 : Math.min(pool.size(), strips);
        p.parts = parts;
        p.chunk = ((strips + parts - 1) / parts) * p.nr;
        return parts;
    }

    private void run(Problem p, int part, Space s) {
        int j0 = part * p.chunk;
        int j1 = Math.min(p.n, j0 + p.chunk);
        if (j0 >= j1) {
            return;
        }
        if (p.fc != null) {
            runFloat(p, j0, j1, s);
        } else {
            runDouble(p, j0, j1, s);
        }
    }

    private void runFloat(Problem p, int j0, int j1, Space s) {
        int mr = kernel.floatRows();
        int nr = kernel.floatCols();
        int mc = mr * MC_STRIPS;
        int nc = nr * NC_STRIPS;
        if (streamsB(p, mr, 4)) {
            int rows = ((p.m + mr - 1) / mr) * mr;
            s.ensureFloat(rows * p.k, KC * nr, mr * nr);
            for (int pc = 0; pc < p.k; pc += KC) {
                packA(p.fa, p.transA, p.m, p.k, 0, p.m, pc, Math.min(KC, p.k - pc), mr, s.fpa,
                        pc * rows);
            }
            for (int jr = j0; jr < j1; jr += nr) {
                int cols = Math.min(nr, j1 - jr);
                for (int pc = 0; pc < p.k; pc += KC) {
                    int kc = Math.min(KC, p.k - pc);
                    packB(p.fb, true, p.k, p.n, pc, kc, jr, cols, nr, s.fpb);
                    for (int ir = 0; ir < p.m; ir += mr) {
                        kernel.tile(kc, s.fpa, pc * rows + ir * kc, s.fpb, 0, p.fc, ir * p.n + jr,
                                p.n, Math.min(mr, p.m - ir), cols, p.falpha, p.fbeta, pc == 0,
                                s.facc);
                    }
                }
            }
            return;
        }
        s.ensureFloat(mc * KC, KC * nc, mr * nr);
        for (int jc = j0; jc < j1; jc += nc) {
            int ncb = Math.min(nc, j1 - jc);
            for (int pc = 0; pc < p.k; pc += KC) {
                int kc = Math.min(KC, p.k - pc);
                boolean first = pc == 0;
                packB(p.fb, p.transB, p.k, p.n, pc, kc, jc, ncb, nr, s.fpb);
                for (int ic = 0; ic < p.m; ic += mc) {
                    int mcb = Math.min(mc, p.m - ic);
                    packA(p.fa, p.transA, p.m, p.k, ic, mcb, pc, kc, mr, s.fpa, 0);
                    for (int jr = 0; jr < ncb; jr += nr) {
                        int cols = Math.min(nr, ncb - jr);
                        int pb0 = (jr / nr) * kc * nr;
                        for (int ir = 0; ir < mcb; ir += mr) {
                            kernel.tile(kc, s.fpa, (ir / mr) * kc * mr, s.fpb, pb0, p.fc,
                                    (ic + ir) * p.n + jc + jr, p.n, Math.min(mr, mcb - ir), cols,
                                    p.falpha, p.fbeta, first, s.facc);
                        }
                    }
                }
            }
        }
    }

    private void runDouble(Problem p, int j0, int j1, Space s) {
        int mr = kernel.doubleRows();
        int nr = kernel.doubleCols();
        int mc = mr * MC_STRIPS;
        int nc = nr * NC_STRIPS;
        if (streamsB(p, mr, 8)) {
            int rows = ((p.m + mr - 1) / mr) * mr;
            s.ensureDouble(rows * p.k, KC * nr, mr * nr);
            for (int pc = 0; pc < p.k; pc += KC) {
                packA(p.da, p.transA, p.m, p.k, 0, p.m, pc, Math.min(KC, p.k - pc), mr, s.dpa,
                        pc * rows);
            }
            for (int jr = j0; jr < j1; jr += nr) {
                int cols = Math.min(nr, j1 - jr);
                for (int pc = 0; pc < p.k; pc += KC) {
                    int kc = Math.min(KC, p.k - pc);
                    packB(p.db, true, p.k, p.n, pc, kc, jr, cols, nr, s.dpb);
                    for (int ir = 0; ir < p.m; ir += mr) {
                        kernel.tile(kc, s.dpa, pc * rows + ir * kc, s.dpb, 0, p.dc, ir * p.n + jr,
                                p.n, Math.min(mr, p.m - ir), cols, p.dalpha, p.dbeta, pc == 0,
                                s.dacc);
                    }
                }
            }
            return;
        }
        s.ensureDouble(mc * KC, KC * nc, mr * nr);
        for (int jc = j0; jc < j1; jc += nc) {
            int ncb = Math.min(nc, j1 - jc);
            for (int pc = 0; pc < p.k; pc += KC) {
                int kc = Math.min(KC, p.k - pc);
                boolean first = pc == 0;
                packB(p.db, p.transB, p.k, p.n, pc, kc, jc, ncb, nr, s.dpb);
                for (int ic = 0; ic < p.m; ic += mc) {
                    int mcb = Math.min(mc, p.m - ic);
                    packA(p.da, p.transA, p.m, p.k, ic, mcb, pc, kc, mr, s.dpa, 0);
                    for (int jr = 0; jr < ncb; jr += nr) {
                        int cols = Math.min(nr, ncb - jr);
                        int pb0 = (jr / nr) * kc * nr;
                        for (int ir = 0; ir < mcb; ir += mr) {
                            kernel.tile(kc, s.dpa, (ir / mr) * kc * mr, s.dpb, pb0, p.dc,
                                    (ic + ir) * p.n + jc + jr, p.n, Math.min(mr, mcb - ir), cols,
                                    p.dalpha, p.dbeta, first, s.dacc);
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ packing

    /**
     * Packs rows {@code [i0, i0 + rows)} and depths {@code [p0, p0 + kc)} of op(A) into strips of
     * {@code mr} rows: element (r, p) of strip s at {@code d0 + s * kc * mr + p * mr + r},
     * zero-padded.
     */
    static void packA(float[] a, boolean transA, int m, int k, int i0, int rows, int p0, int kc,
                      int mr, float[] dst, int d0) {
        for (int s = 0; s * mr < rows; s++) {
            int base = d0 + s * kc * mr;
            int valid = Math.min(mr, rows - s * mr);
            for (int r = 0; r < mr; r++) {
                if (r >= valid) {
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = 0f;
                    }
                } else if (!transA) {
                    int src = (i0 + s * mr + r) * k + p0;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = a[src + p];
                    }
                } else {
                    int col = i0 + s * mr + r;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = a[(p0 + p) * m + col];
                    }
                }
            }
        }
    }

    /** The double twin of {@link #packA(float[], boolean, int, int, int, int, int, int, int, float[], int)}. */
    static void packA(double[] a, boolean transA, int m, int k, int i0, int rows, int p0, int kc,
                      int mr, double[] dst, int d0) {
        for (int s = 0; s * mr < rows; s++) {
            int base = d0 + s * kc * mr;
            int valid = Math.min(mr, rows - s * mr);
            for (int r = 0; r < mr; r++) {
                if (r >= valid) {
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = 0.0;
                    }
                } else if (!transA) {
                    int src = (i0 + s * mr + r) * k + p0;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = a[src + p];
                    }
                } else {
                    int col = i0 + s * mr + r;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * mr + r] = a[(p0 + p) * m + col];
                    }
                }
            }
        }
    }

    /**
     * Packs depths {@code [p0, p0 + kc)} and columns {@code [j0, j0 + cols)} of op(B) into strips
     * of {@code nr} columns: element (p, j) of strip t at {@code t * kc * nr + p * nr + j},
     * zero-padded.
     */
    static void packB(float[] b, boolean transB, int k, int n, int p0, int kc, int j0, int cols,
                      int nr, float[] dst) {
        int strips = (cols + nr - 1) / nr;
        int full = cols / nr; // strips with nr valid columns
        if (!transB) {
            // One pass along each row of B (contiguous reads), scattering nr-wide pieces.
            for (int p = 0; p < kc; p++) {
                int src = (p0 + p) * n + j0;
                int d = p * nr;
                for (int t = 0; t < full; t++, src += nr, d += kc * nr) {
                    for (int j = 0; j < nr; j++) {
                        dst[d + j] = b[src + j];
                    }
                }
                if (full < strips) {
                    int valid = cols - full * nr;
                    for (int j = 0; j < nr; j++) {
                        dst[d + j] = j < valid ? b[src + j] : 0f;
                    }
                }
            }
            return;
        }
        // B is stored n x k: each column of op(B) is a contiguous row of b.
        for (int t = 0; t < strips; t++) {
            int base = t * kc * nr;
            int valid = Math.min(nr, cols - t * nr);
            for (int j = 0; j < nr; j++) {
                if (j >= valid) {
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * nr + j] = 0f;
                    }
                } else {
                    int src = (j0 + t * nr + j) * k + p0;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * nr + j] = b[src + p];
                    }
                }
            }
        }
    }

    /** The double twin of {@link #packB(float[], boolean, int, int, int, int, int, int, int, float[])}. */
    static void packB(double[] b, boolean transB, int k, int n, int p0, int kc, int j0, int cols,
                      int nr, double[] dst) {
        int strips = (cols + nr - 1) / nr;
        int full = cols / nr; // strips with nr valid columns
        if (!transB) {
            // One pass along each row of B (contiguous reads), scattering nr-wide pieces.
            for (int p = 0; p < kc; p++) {
                int src = (p0 + p) * n + j0;
                int d = p * nr;
                for (int t = 0; t < full; t++, src += nr, d += kc * nr) {
                    for (int j = 0; j < nr; j++) {
                        dst[d + j] = b[src + j];
                    }
                }
                if (full < strips) {
                    int valid = cols - full * nr;
                    for (int j = 0; j < nr; j++) {
                        dst[d + j] = j < valid ? b[src + j] : 0.0;
                    }
                }
            }
            return;
        }
        // B is stored n x k: each column of op(B) is a contiguous row of b.
        for (int t = 0; t < strips; t++) {
            int base = t * kc * nr;
            int valid = Math.min(nr, cols - t * nr);
            for (int j = 0; j < nr; j++) {
                if (j >= valid) {
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * nr + j] = 0.0;
                    }
                } else {
                    int src = (j0 + t * nr + j) * k + p0;
                    for (int p = 0; p < kc; p++) {
                        dst[base + p * nr + j] = b[src + p];
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

    @Override
    public void close() {
        if (pool != null) {
            pool.close();
        }
    }

    /** One GEMM call's arguments and partition. */
    private static final class Problem {
        boolean transA;
        boolean transB;
        int m;
        int n;
        int k;
        int nr;
        int parts;
        int chunk;
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

        Problem set(boolean transA, boolean transB, int m, int n, int k, int nr) {
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.nr = nr;
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

        /** Drops the array references so the engine does not keep callers' memory alive. */
        void release() {
            fa = fb = fc = null;
            da = db = dc = null;
        }
    }

    /** Per-thread packing buffers, grown once and reused. */
    private static final class Space {
        float[] fpa = new float[0];
        float[] fpb = new float[0];
        float[] facc = new float[0];
        double[] dpa = new double[0];
        double[] dpb = new double[0];
        double[] dacc = new double[0];

        void ensureFloat(int pa, int pb, int acc) {
            if (fpa.length < pa) {
                fpa = new float[pa];
            }
            if (fpb.length < pb) {
                fpb = new float[pb];
            }
            if (facc.length < acc) {
                facc = new float[acc];
            }
        }

        void ensureDouble(int pa, int pb, int acc) {
            if (dpa.length < pa) {
                dpa = new double[pa];
            }
            if (dpb.length < pb) {
                dpb = new double[pb];
            }
            if (dacc.length < acc) {
                dacc = new double[acc];
            }
        }
    }
}
