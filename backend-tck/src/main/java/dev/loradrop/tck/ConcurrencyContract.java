package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Concurrency contract: calls on distinct output tensors may run at once from many threads (the
 * SPI's promise that compiled inference and data-parallel training rely on). Eight threads share
 * read-only inputs (A, W, a bias, a loss target) and each runs, 40 times, every
 * method of the SPI on its own tensors and masks: {@code allocate}, the three {@code upload}s,
 * {@code copyOf}, {@code copy} (between tensors and within one), both {@code write}s and
 * {@code read}s, {@code fill}, {@code allocateMask}, {@code gemm}, {@code prepareLinear} and
 * {@code apply} (with and without bias), {@code axpby}, {@code addBias}, {@code columnSums},
 * {@code activate} (in place too), {@code activationBackward}, {@code generateMask},
 * {@code maskedScaleAdd} (per element and broadcast), {@code sum}, {@code allFinite},
 * {@code meanSquaredError} and {@code softmaxCrossEntropy} (with and without gradient),
 * {@code sgdStep} (with and without velocity) and {@code adamStep} (Adam and AdamW), and
 * {@code liveAllocations}; then reads and closes everything. Every tensor, mask and scalar result
 * must equal, bit for bit, the same sequence run on one thread, and {@code liveAllocations()} must
 * return to its start.
 */
public abstract class ConcurrencyContract extends ContractSupport {

    private static final int THREADS = 8;
    private static final int ROUNDS = 40;

    /**
     * @param kit the enclosing kit
     */
    protected ConcurrencyContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    @Test
    void callsOnDistinctTensorsMayRunConcurrently() throws Exception {
        for (NumericType<?> type : TYPES) {
            run(type);
        }
    }

    /** The shared, read-only inputs. */
    private static final class Shared<T extends Number> {
        final Tensor<T> a;
        final Tensor<T> w;
        final Tensor<T> bias;
        final Tensor<T> target;

        Shared(Tensor<T> a, Tensor<T> w, Tensor<T> bias, Tensor<T> target) {
            this.a = a;
            this.w = w;
            this.bias = bias;
            this.target = target;
        }
    }

    private <T extends Number> void run(NumericType<T> type) throws Exception {
        ComputeBackend b = backend();
        int m = 13;
        int n = 31;
        int k = 64;
        double[] target = new double[m * n];
        for (int r = 0; r < m; r++) {
            target[r * n + (r * 7) % n] = 0.75; // soft targets: 0.75 on one class, 0.25 spread
            for (int c = 0; c < n; c++) {
                target[r * n + c] += 0.25 / n;
            }
        }
        Shared<T> shared = new Shared<>(tensor(type, random(1, m * k, -1, 1), m, k),
                tensor(type, random(2, n * k, -1, 1), n, k), vector(type, random(3, n, -1, 1)),
                tensor(type, target, m, n));
        double[][] sharedBefore = {shared.a.toDoubleArray(), shared.w.toDoubleArray(),
            shared.bias.toDoubleArray(), shared.target.toDoubleArray()};
        List<Map<String, double[]>> expected = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            expected.add(work(b, type, shared, t, m, n, k));
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int mismatches = 0;
                    String first = null;
                    for (int r = 0; r < ROUNDS; r++) {
                        String diff = difference(work(b, type, shared, thread, m, n, k),
                                expected.get(thread));
                        if (diff != null) {
                            mismatches++;
                            first = first == null ? diff : first;
                        }
                    }
                    return mismatches == 0 ? null : mismatches + " of " + ROUNDS
                            + " rounds differ from the one-thread run; first: " + first;
                }));
            }
            start.countDown();
            for (int t = 0; t < THREADS; t++) {
                assertThat(results.get(t).get(5, TimeUnit.MINUTES))
                        .as("%s: thread %d of %d, each running every kernel on its own tensors"
                                + " (shared read-only inputs)", label(type), t, THREADS)
                        .isNull();
            }
        } finally {
            pool.shutdownNow();
        }
        assertExactly("shared input A after the threads read it", shared.a.toDoubleArray(),
                sharedBefore[0]);
        assertExactly("shared input W after the threads read it", shared.w.toDoubleArray(),
                sharedBefore[1]);
        assertExactly("shared bias after the threads read it", shared.bias.toDoubleArray(),
                sharedBefore[2]);
        assertExactly("shared loss target after the threads read it",
                shared.target.toDoubleArray(), sharedBefore[3]);
    }

    /** @return null when equal, else the first result that differs and where */
    private static String difference(Map<String, double[]> got, Map<String, double[]> expected) {
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] g = got.get(e.getKey());
            double[] x = e.getValue();
            if (!Arrays.equals(g, x)) {
                if (g == null || g.length != x.length) {
                    return e.getKey() + ": " + (g == null ? "missing" : g.length + " elements, expected "
                            + x.length);
                }
                for (int i = 0; i < x.length; i++) {
                    if (Double.doubleToLongBits(g[i]) != Double.doubleToLongBits(x[i])) {
                        return e.getKey() + ": element [" + i + "] is " + g[i] + ", alone "
                                + x[i];
                    }
                }
            }
        }
        return null;
    }

    /**
     * One thread's work on its own tensors; reads the shared inputs only.
     *
     * @return every result by name, in call order
     */
    private static <T extends Number> Map<String, double[]> work(ComputeBackend b,
            NumericType<T> type, Shared<T> s, int thread, int m, int n, int k) {
        Deque<AutoCloseable> open = new ArrayDeque<>();
        try {
            int mn = m * n;
            // tensor results are copied into one tensor and read once at the end (each read is a
            // round trip to a device); scalars and masks are recorded as they come
            Results<T> out = new Results<>(b,
                    keep(open, b.allocate(type, 20 * mn + 8 * n * k + 8 * n + 64)));
            long seed = 100L * (thread + 1);
            // memory
            Tensor<T> c = keep(open, b.allocate(type, m, n));
            Tensor<Float> f32 = keep(open, b.upload(narrow(random(seed, 17, -3, 3)), 17));
            Tensor<Double> f64 = keep(open, b.upload(random(seed + 1, 19, -3, 3), 19));
            Tensor<T> d = keep(open, b.upload(type, random(seed + 2, mn, -1, 1), m, n));
            Tensor<T> buf = keep(open, b.allocate(type, 2 * mn + 8));
            Tensor<T> filled = keep(open, b.allocate(type, 23));
            b.fill(filled, 0.1 + thread);
            out.tensor("fill", filled);

            // linear algebra and activations
            b.gemm(false, true, m, n, k, 1.0, s.a, s.w, 0.0, c);
            out.tensor("gemm", c);
            b.addBias(c, s.bias);
            out.tensor("addBias", c);
            Tensor<T> pre = keep(open, b.copyOf(c));
            out.tensor("copyOf", pre);
            Tensor<T> act = keep(open, b.allocate(type, m, n));
            b.activate(Activation.GELU, pre, act);
            out.tensor("activate(GELU)", act);
            b.activate(Activation.TANH, c, c);
            out.tensor("activate(TANH) in place", c);
            Tensor<T> dOut = keep(open, b.upload(type, random(seed + 3, mn, -2, 2), m, n));
            Tensor<T> dPre = keep(open, b.allocate(type, m, n));
            b.activationBackward(Activation.GELU, pre, act, dOut, dPre);
            out.tensor("activationBackward(GELU)", dPre);
            b.activationBackward(Activation.GELU, pre, act, dOut, dOut);
            out.tensor("activationBackward(GELU) with dPre = dOut", dOut);

            // masks
            BitMask mask = keep(open, b.allocateMask(mn));
            b.generateMask(mask, 42 + thread, thread, 7, 0.25);
            out.host("generateMask", toDoubles(mask.toLongArray()));
            BitMask columns = keep(open, b.allocateMask(n));
            b.generateMask(columns, -5L * thread, 3, thread, 0.5);
            out.host("generateMask(columns)", toDoubles(columns.toLongArray()));
            b.maskedScaleAdd(c, mask, false, 1.5, 0.5, d);
            out.tensor("maskedScaleAdd", d);
            Tensor<T> e = keep(open, b.allocate(type, m, n));
            b.maskedScaleAdd(dPre, columns, true, 2.0, 0.0, e);
            out.tensor("maskedScaleAdd(broadcast)", e);
            b.maskedScaleAdd(e, null, false, 0.5, 0.0, e);
            out.tensor("maskedScaleAdd(null mask, in place)", e);
            b.axpby(0.5, act, -1.25, d);
            out.tensor("axpby", d);
            Tensor<T> sums = keep(open, b.upload(type, random(seed + 4, n, -1, 1), n));
            b.columnSums(d, 0.5, sums);
            out.tensor("columnSums", sums);

            // copy, write, read
            b.copy(d, 0, buf, 0, mn);
            b.copy(act, 0, buf, mn, mn);
            b.copy(buf, 3, buf, 2 * mn - 9, 12); // within one tensor, not overlapping
            b.write(buf, 5, narrow(random(seed + 5, 9, -1, 1)), 2, 7);
            b.write(buf, 2 * mn, random(seed + 6, 8, -1, 1), 0, 8);
            out.tensor("copy and write", buf);
            float[] hostF = new float[mn + 4];
            b.read(buf, mn, hostF, 2, mn);
            out.host("read(float[])", widen(hostF));
            double[] hostD = new double[mn];
            b.read(buf, 7, hostD, 0, mn);
            out.host("read(double[])", hostD);

            // reductions
            double allFiniteBefore = b.allFinite(buf) ? 1 : 0;
            b.write(filled, 11 + thread % 5, new double[] {Double.NaN}, 0, 1);
            out.host("sum, allFinite", new double[] {b.sum(buf), b.sum(f32), b.sum(f64),
                allFiniteBefore,
                b.allFinite(filled) ? 1 : 0, b.allFinite(f64) ? 1 : 0});

            // losses (pred = act, logits = c)
            Tensor<T> gradMse = keep(open, b.allocate(type, m, n));
            Tensor<T> gradCe = keep(open, b.allocate(type, m, n));
            double mse = b.meanSquaredError(act, s.target, gradMse);
            double mseAlone = b.meanSquaredError(act, s.target, null);
            double ce = b.softmaxCrossEntropy(n, c, s.target, gradCe);
            double ceAlone = b.softmaxCrossEntropy(n, c, s.target, null);
            out.host("losses", new double[] {mse, mseAlone, ce, ceAlone});
            out.tensor("meanSquaredError gradient", gradMse);
            out.tensor("softmaxCrossEntropy gradient", gradCe);

            // optimisers on private copies of the shared weight
            Tensor<T> gradW = keep(open, b.allocate(type, n, k));
            b.gemm(true, false, n, k, m, 1.0 / m, gradCe, s.a, 0.0, gradW);
            out.tensor("gemm(transA)", gradW);
            Tensor<T> sgd = keep(open, b.copyOf(s.w));
            Tensor<T> velocity = keep(open, b.allocate(type, n, k));
            Tensor<T> plain = keep(open, b.copyOf(s.w));
            for (int step = 0; step < 2; step++) {
                b.sgdStep(sgd, gradW, velocity, 0.1, 0.9, 0.01);
                b.sgdStep(plain, gradW, null, 0.05, 0.0, 0.0);
            }
            out.tensor("sgdStep(momentum) param", sgd);
            out.tensor("sgdStep(momentum) velocity", velocity);
            out.tensor("sgdStep(no velocity) param", plain);
            Tensor<T> adam = keep(open, b.copyOf(s.w));
            Tensor<T> m1 = keep(open, b.allocate(type, n, k));
            Tensor<T> v1 = keep(open, b.allocate(type, n, k));
            b.adamStep(adam, gradW, m1, v1, 1e-2, 0.9, 0.999, 1e-8, 0.01, true, 1);
            b.adamStep(adam, gradW, m1, v1, 1e-2, 0.8, 0.99, 1e-6, 0.1, false, 2);
            out.tensor("adamStep param", adam);
            out.tensor("adamStep m", m1);
            out.tensor("adamStep v", v1);

            // compiled inference, reading the shared weight and bias
            Tensor<T> y = keep(open, b.allocate(type, m, n));
            try (PreparedLinear<T> linear = b.prepareLinear(s.w, s.bias, Activation.RELU, n, k)) {
                linear.apply(m, s.a, y);
            }
            out.tensor("prepareLinear(bias, RELU).apply", y);
            Tensor<T> a5 = keep(open, b.allocate(type, 5, k));
            b.copy(s.a, 0, a5, 0, 5 * k); // the first 5 rows of the shared A
            Tensor<T> y2 = keep(open, b.allocate(type, 5, n));
            try (PreparedLinear<T> linear = b.prepareLinear(sgd, null, Activation.IDENTITY, n,
                    k)) {
                linear.apply(5, a5, y2);
            }
            out.tensor("prepareLinear(no bias).apply", y2);
            assertThat(b.liveAllocations()).as("liveAllocations() while others allocate")
                    .isPositive();
            return out.read();
        } finally {
            while (!open.isEmpty()) {
                try {
                    open.pop().close();
                } catch (Exception ex) {
                    throw new IllegalStateException("close() failed", ex);
                }
            }
        }
    }

    /** One work() call's results by name, in call order. */
    private static final class Results<T extends Number> {
        private final ComputeBackend b;
        private final Tensor<T> all;
        private int used;
        /** {offset, length} in {@link #all}, or null for a host value. */
        private final Map<String, int[]> ranges = new LinkedHashMap<>();
        private final Map<String, double[]> host = new LinkedHashMap<>();

        Results(ComputeBackend b, Tensor<T> all) {
            this.b = b;
            this.all = all;
        }

        void tensor(String name, Tensor<T> t) {
            b.copy(t, 0, all, used, t.size());
            ranges.put(name, new int[] {used, t.size()});
            used += t.size();
        }

        void host(String name, double[] values) {
            ranges.put(name, null);
            host.put(name, values);
        }

        Map<String, double[]> read() {
            double[] values = new double[used];
            b.read(all, 0, values, 0, used);
            Map<String, double[]> out = new LinkedHashMap<>();
            for (Map.Entry<String, int[]> e : ranges.entrySet()) {
                int[] r = e.getValue();
                out.put(e.getKey(), r == null ? host.get(e.getKey())
                        : Arrays.copyOfRange(values, r[0], r[0] + r[1]));
            }
            return out;
        }
    }

    private static <R extends AutoCloseable> R keep(Deque<AutoCloseable> open, R resource) {
        open.push(resource);
        return resource;
    }

    /** Each word as two exact doubles (its halves), so that no bit pattern reads as a NaN. */
    private static double[] toDoubles(long[] bits) {
        double[] d = new double[2 * bits.length];
        for (int i = 0; i < bits.length; i++) {
            d[2 * i] = bits[i] >>> 32;
            d[2 * i + 1] = bits[i] & 0xFFFFFFFFL;
        }
        return d;
    }
}
