package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loradrop.api.Activation;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** The engine's own arithmetic and failure handling, below the backend's checks. */
class GemmEngineTest {

    private static final int MAX = Integer.MAX_VALUE;

    /**
     * A dimension within a block of 2^31 (m = 2^31 - 3 with n = k = 1 is a valid GEMM): the block
     * counts and loop steps must not pass 2^31, which made such a GEMM return with C untouched.
     */
    @Test
    void blockCountsAndLoopStepsDoNotOverflowNearIntegerMaxValue() {
        assertThat(GemmEngine.blocks(0, 72)).isZero();
        assertThat(GemmEngine.blocks(1, 72)).isEqualTo(1);
        assertThat(GemmEngine.blocks(72, 72)).isEqualTo(1);
        assertThat(GemmEngine.blocks(73, 72)).isEqualTo(2);
        for (int x : new int[] {MAX, MAX - 1, MAX - 3, MAX - 9}) {
            for (int size : new int[] {1, 4, 6, 8, 72, 240, 1024, 4096}) {
                assertThat(GemmEngine.blocks(x, size)).as("blocks(%d, %d)", x, size)
                        .isEqualTo((int) (((long) x + size - 1) / size));
            }
        }
        for (int end : new int[] {MAX, MAX - 3, MAX - 1000, 5000}) {
            for (int size : new int[] {240, 1024, 4096}) {
                int from = end - 4500;
                int steps = 0;
                int at = from;
                while (at < end && steps <= 100) {
                    int next = GemmEngine.next(at, size, end);
                    assertThat(next).as("next(%d, %d, %d)", at, size, end)
                            .isEqualTo((int) Math.min((long) at + size, end));
                    at = next;
                    steps++;
                }
                assertThat(steps).as("steps from %d to %d by %d", from, end, size)
                        .isEqualTo(GemmEngine.blocks(end - from, size));
            }
        }
        // The loop order and the task count for the tallest A: a block of rows at a time, and
        // with n = 1 one column block, cut into chunks of rows for the threads.
        assertThat(GemmEngine.streamsB(MAX - 3, 1, true, 6, 4)).isFalse();
        assertThat(GemmEngine.streamsB(MAX - 3, 1, true, 6, 8)).isFalse();
        for (int parts : new int[] {1, 2, 64}) {
            assertThat(GemmEngine.chunks(128, 1, parts)).as("parts %d", parts)
                    .isEqualTo(parts == 1 ? 1 : Math.min(128, 4 * parts));
        }
        assertThat(GemmEngine.chunks(128, 16, 2)).isEqualTo(1);
    }

    /**
     * A part on a worker thread fails (an OutOfMemoryError growing its buffers, say) while the
     * caller's part waits for it at a barrier: the caller must get that failure, as itself, not
     * the barrier's own complaint; and the engine must work, with the same bits, afterwards.
     */
    @Test
    void aWorkersFailureReachesTheCallerAsItselfAndTheNextCallWorks() {
        int size = 128; // 2^21 multiply-adds: parallel
        SplittableRandom r = new SplittableRandom(3);
        float[] a = floats(r, size * size);
        float[] b = floats(r, size * size);
        double[] ad = doubles(r, size * size);
        double[] bd = doubles(r, size * size);
        float[] want = new float[size * size];
        double[] wantD = new double[size * size];
        try (GemmEngine reference = new GemmEngine(2, CpuPaths.defaultKernel())) {
            reference.gemm(false, false, size, size, size, 1f, a, b, 0f, want);
            reference.gemm(false, false, size, size, size, 1.0, ad, bd, 0.0, wantD);
        }
        Throwable[] failures = {new OutOfMemoryError("planted"),
            new IllegalArgumentException("planted")};
        for (Throwable planted : failures) {
            // Throws the planted failure the first time a worker thread (not the caller) starts
            // its part, packs or multiplies.
            AtomicReference<Throwable> plant = new AtomicReference<>();
            HookedKernel kernel = new HookedKernel(CpuPaths.defaultKernel());
            kernel.hook = () -> {
                if (Thread.currentThread().getName().startsWith("loradrop-cpu-gemm")) {
                    Throwable t = plant.getAndSet(null);
                    if (t instanceof Error) {
                        throw (Error) t;
                    }
                    if (t != null) {
                        throw (RuntimeException) t;
                    }
                }
            };
            try (GemmEngine engine = new GemmEngine(2, kernel)) {
                float[] c = new float[size * size];
                plant.set(planted);
                assertThatThrownBy(() -> engine.gemm(false, false, size, size, size, 1f, a, b, 0f,
                        c)).as("float, %s", planted).isSameAs(planted);
                assertThat(plant.get()).as("thrown").isNull();
                engine.gemm(false, false, size, size, size, 1f, a, b, 0f, c);
                assertThat(c).containsExactly(want);

                double[] cd = new double[size * size];
                plant.set(planted);
                assertThatThrownBy(() -> engine.gemm(false, false, size, size, size, 1.0, ad, bd,
                        0.0, cd)).as("double, %s", planted).isSameAs(planted);
                engine.gemm(false, false, size, size, size, 1.0, ad, bd, 0.0, cd);
                assertThat(cd).containsExactly(wantD);
            }
        }
    }

    /**
     * Closing overlaps a running parallel GEMM (misuse, which the SPI forbids, but it must not
     * hang): close waits for the call, and the calls after it fail with IllegalStateException.
     * Without the wait, a worker woken by the close left its part undone and the others waited
     * for it forever (by the 1st, 3rd and 15th trial in three runs of 60).
     */
    @Test
    void closingDuringParallelGemmsDoesNotHang() {
        int m = 64;
        int n = 128;
        int k = 128; // 2^20 multiply-adds: parallel
        SplittableRandom r = new SplittableRandom(4);
        float[] a = floats(r, m * k);
        float[] b = floats(r, k * n);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int trial = 0; trial < 60; trial++) {
                GemmEngine engine = new GemmEngine(3, CpuPaths.defaultKernel());
                AtomicReference<Throwable> ended = new AtomicReference<>();
                Thread caller = new Thread(() -> {
                    float[] c = new float[m * n];
                    try {
                        while (true) {
                            engine.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
                        }
                    } catch (Throwable e) {
                        ended.set(e);
                    }
                }, "gemm caller " + trial);
                caller.setDaemon(true);
                caller.start();
                LockSupport.parkNanos(r.nextLong(1_000_000));
                engine.close();
                caller.join(TimeUnit.SECONDS.toMillis(5));
                assertThat(caller.isAlive()).as("trial %d: the caller still runs", trial)
                        .isFalse();
                assertThat(ended.get()).as("trial %d", trial)
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            }
        });
    }

    /**
     * A call that finds another one running takes a problem and buffers of its own; they are kept
     * for the next such call, so concurrent callers in a steady state allocate nothing (each such
     * call allocated its problem and all its packing buffers before: 3.4 MB for 40 x 40 x 40).
     */
    @Test
    void concurrentCallersReuseTheirBuffers() throws InterruptedException {
        assumeTrue(Fixtures.allocatedBytes() >= 0, "the JVM measures a thread's allocation");
        int size = 40;
        SplittableRandom r = new SplittableRandom(8);
        float[] a = floats(r, size * size);
        float[] b = floats(r, size * size);
        float[] want = new float[size * size];
        // Scalar: until C2 compiles it, the Vector API allocates an object per vector operation.
        HookedKernel kernel = new HookedKernel(ScalarTileKernel.INSTANCE);
        try (GemmEngine engine = new GemmEngine(1, kernel)) {
            engine.gemm(false, false, size, size, size, 1f, a, b, 0f, want);
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread holder = new Thread(() -> engine.gemm(false, false, size, size, size, 1f, a, b,
                    0f, new float[size * size]), "holder");
            kernel.hook = () -> {
                if (Thread.currentThread() == holder) { // holds the shared problem meanwhile
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            holder.start();
            try {
                assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
                float[] c = new float[size * size];
                for (int i = 0; i < 20; i++) { // the first allocates the problem and its buffers
                    engine.gemm(false, false, size, size, size, 1f, a, b, 0f, c);
                }
                long before = Fixtures.allocatedBytes();
                for (int i = 0; i < 200; i++) {
                    engine.gemm(false, false, size, size, size, 1f, a, b, 0f, c);
                }
                long bytes = Fixtures.allocatedBytes() - before;
                assertThat(bytes / 200).as("bytes allocated per concurrent call (%d in all)", bytes).isLessThan(64);
                assertThat(c).containsExactly(want);
                assertThat(holder.isAlive()).as("the shared problem stayed busy").isTrue();
            } finally {
                release.countDown();
                holder.join(TimeUnit.SECONDS.toMillis(10));
            }
        }
    }

    /**
     * With weights packed by packWeights, the strips loop reads B from them: the first call grows
     * the buffers for one strip of A (all the depths) and none for B, which it would never use.
     */
    @Test
    void aCallOnPackedWeightsGrowsNoBufferForB() {
        assumeTrue(Fixtures.allocatedBytes() >= 0, "the JVM measures a thread's allocation");
        int n = 16;
        int k = 10_000;
        // Scalar: until C2 compiles it, the Vector API allocates an object per vector operation.
        TileKernel kernel = ScalarTileKernel.INSTANCE;
        SplittableRandom r = new SplittableRandom(6);
        float[] w = floats(r, n * k);
        float[] x = floats(r, k);
        double[] wd = doubles(r, n * k);
        double[] xd = doubles(r, k);
        try (GemmEngine engine = new GemmEngine(1, kernel)) {
            float[][] packed = engine.packWeights(w, n, k);
            double[][] packedD = engine.packWeights(wd, n, k);
            float[] y = new float[n];
            double[] yd = new double[n];
            long before = Fixtures.allocatedBytes();
            engine.linear(1, n, k, x, packed, null, Activation.IDENTITY, y);
            long floatBytes = Fixtures.allocatedBytes() - before;
            before = Fixtures.allocatedBytes();
            engine.linear(1, n, k, xd, packedD, null, Activation.IDENTITY, yd);
            long doubleBytes = Fixtures.allocatedBytes() - before;
            long stripA = 4L * k * kernel.floatStride();
            long stripAD = 8L * k * kernel.doubleStride();
            assertThat(floatBytes).as("float").isBetween(stripA, stripA + stripA / 4);
            assertThat(doubleBytes).as("double").isBetween(stripAD, stripAD + stripAD / 4);
            float[] want = new float[n];
            double[] wantD = new double[n];
            engine.gemm(false, true, 1, n, k, 1f, x, w, 0f, want);
            engine.gemm(false, true, 1, n, k, 1.0, xd, wd, 0.0, wantD);
            assertThat(y).containsExactly(want);
            assertThat(yd).containsExactly(wantD);
        }
    }

    private static float[] floats(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return v;
    }

    private static double[] doubles(SplittableRandom r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble(-1, 1);
        }
        return v;
    }

    /**
     * A micro-kernel that runs a hook before every pack of a row, every tile, and when a part
     * starts (each asks for the tile's rows).
     */
    private static final class HookedKernel implements TileKernel {
        private final TileKernel k;
        volatile Runnable hook = () -> { };

        HookedKernel(TileKernel k) {
            this.k = k;
        }


        @Override
        public String path() {
            return k.path();
        }

        @Override
        public int floatRows() {
            hook.run();
            return k.floatRows();
        }

        @Override
        public int floatCols() {
            return k.floatCols();
        }

        @Override
        public int doubleRows() {
            hook.run();
            return k.doubleRows();
        }

        @Override
        public int doubleCols() {
            return k.doubleCols();
        }

        @Override
        public int floatGroups() {
            return k.floatGroups();
        }

        @Override
        public int doubleGroups() {
            return k.doubleGroups();
        }

        @Override
        public int floatStride() {
            return k.floatStride();
        }

        @Override
        public int doubleStride() {
            return k.doubleStride();
        }

        @Override
        public void tile(int kc, float[] pa, float[][] pb, int pbi, int q0, float[] c, int c0,
                         int ldc, int rows, int cols, float alpha, float beta, boolean first,
                         float[] scratch) {
            hook.run();
            k.tile(kc, pa, pb, pbi, q0, c, c0, ldc, rows, cols, alpha, beta, first, scratch);
        }

        @Override
        public void tile(int kc, double[] pa, double[][] pb, int pbi, int q0, double[] c, int c0,
                         int ldc, int rows, int cols, double alpha, double beta, boolean first,
                         double[] scratch) {
            hook.run();
            k.tile(kc, pa, pb, pbi, q0, c, c0, ldc, rows, cols, alpha, beta, first, scratch);
        }

        @Override
        public void copyRow(float[] src, int s, float[] dst, int d) {
            hook.run();
            k.copyRow(src, s, dst, d);
        }

        @Override
        public void copyRow(double[] src, int s, double[] dst, int d) {
            hook.run();
            k.copyRow(src, s, dst, d);
        }
    }
}
