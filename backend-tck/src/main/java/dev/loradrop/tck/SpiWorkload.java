package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A call of every method of the SPI on one backend, on tensors and masks of its own, reading a few
 * shared inputs only, with every result recorded exactly: {@code allocate}, the three
 * {@code upload}s, {@code copyOf}, {@code copy} (between tensors and within one), both
 * {@code write}s and {@code read}s, {@code fill}, {@code allocateMask}, {@code gemm} (plain and
 * transposed), {@code prepareLinear} and {@code apply} (with and without bias), {@code axpby},
 * {@code addBias}, {@code columnSums}, {@code activate} (every activation, and in place) and
 * {@code activationBackward} (every activation, and with {@code dPre = dOut}),
 * {@code generateMask}, {@code maskedScaleAdd} (per element, broadcast, null mask in place, the
 * shared mask), {@code sum}, {@code allFinite}, {@code meanSquaredError} and
 * {@code softmaxCrossEntropy} (with and without gradient), {@code sgdStep} (with and without
 * velocity), {@code adamStep} (Adam and AdamW) and {@code liveAllocations}. The results must not depend on anything but the inputs: the
 * concurrency contract runs it on many threads at once, the provider contract on backends with
 * different thread counts, and both compare the results bit for bit with a reference run.
 *
 * <p>Sizes: elementwise kernels, losses and masks work on {@code m x n}, GEMM has inner dimension
 * {@code k}, the optimisers work on {@code n x k}.
 */
final class SpiWorkload {

    /** Bits of the shared mask: enough that applying it first takes a backend a while. */
    static final int SHARED_MASK_BITS = 1 << 16;

    private SpiWorkload() {
    }

    /** The shared, read-only inputs, made by {@link #upload}; closing closes them. */
    static final class Shared<T extends Number> implements AutoCloseable {
        final int m;
        final int n;
        final int k;
        final Tensor<T> a;
        final Tensor<T> w;
        final Tensor<T> bias;
        final Tensor<T> target;
        /**
         * A mask of {@link #SHARED_MASK_BITS} bits, generated once and then only applied, first
         * thing in {@link #run}: a backend that derives something from the bits on first use
         * meets concurrent first uses.
         */
        final BitMask mask;

        private Shared(int m, int n, int k, Tensor<T> a, Tensor<T> w, Tensor<T> bias,
                       Tensor<T> target, BitMask mask) {
            this.m = m;
            this.n = n;
            this.k = k;
            this.a = a;
            this.w = w;
            this.bias = bias;
            this.target = target;
            this.mask = mask;
        }

        /** @return the shared inputs on the host, to check afterwards that nobody wrote them */
        double[][] snapshot() {
            return new double[][] {a.toDoubleArray(), w.toDoubleArray(), bias.toDoubleArray(),
                target.toDoubleArray(), toDoubles(mask.toLongArray())};
        }

        /** Asserts that the shared inputs still hold {@code before}, a {@link #snapshot()}. */
        void assertUnchanged(double[][] before) {
            ContractSupport.assertExactly("shared input A after the threads read it",
                    a.toDoubleArray(), before[0]);
            ContractSupport.assertExactly("shared input W after the threads read it",
                    w.toDoubleArray(), before[1]);
            ContractSupport.assertExactly("shared bias after the threads read it",
                    bias.toDoubleArray(), before[2]);
            ContractSupport.assertExactly("shared loss target after the threads read it",
                    target.toDoubleArray(), before[3]);
            ContractSupport.assertExactly("shared mask's bits after the threads applied it",
                    toDoubles(mask.toLongArray()), before[4]);
        }

        @Override
        public void close() {
            a.close();
            w.close();
            bias.close();
            target.close();
            mask.close();
        }
    }

    /**
     * Uploads the shared inputs: A {@code [m, k]}, W {@code [n, k]}, a bias {@code [n]}, a soft
     * loss target {@code [m, n]} and a mask of {@link #SHARED_MASK_BITS} bits; the same each
     * call.
     *
     * @param b the backend
     * @param type element type
     * @param m rows
     * @param n columns (outputs, classes)
     * @param k inner dimension
     * @param <T> element type
     * @return the inputs, which the caller closes
     */
    static <T extends Number> Shared<T> upload(ComputeBackend b, NumericType<T> type, int m, int n,
                                               int k) {
        double[] target = new double[m * n];
        for (int r = 0; r < m; r++) {
            target[r * n + (r * 7) % n] = 0.75; // soft targets: 0.75 on one class, 0.25 spread
            for (int c = 0; c < n; c++) {
                target[r * n + c] += 0.25 / n;
            }
        }
        Deque<AutoCloseable> open = new ArrayDeque<>();
        try {
            Tensor<T> a = keep(open, b.upload(type, ContractSupport.random(1, m * k, -1, 1), m, k));
            Tensor<T> w = keep(open, b.upload(type, ContractSupport.random(2, n * k, -1, 1), n, k));
            Tensor<T> bias = keep(open, b.upload(type, ContractSupport.random(3, n, -1, 1), n));
            Tensor<T> t = keep(open, b.upload(type, target, m, n));
            BitMask mask = keep(open, b.allocateMask(SHARED_MASK_BITS));
            b.generateMask(mask, 9, 1, 2, 0.3);
            return new Shared<>(m, n, k, a, w, bias, t, mask);
        } catch (RuntimeException | Error e) {
            closeAll(open);
            throw e;
        }
    }

    /**
     * Runs the workload once.
     *
     * @param b the backend
     * @param type element type
     * @param s the shared inputs (read only)
     * @param variant varies the seeds, so that concurrent runs compute different things
     * @param <T> element type
     * @return every result by name, in call order
     */
    static <T extends Number> Map<String, double[]> run(ComputeBackend b, NumericType<T> type,
                                                        Shared<T> s, int variant) {
        int m = s.m;
        int n = s.n;
        int k = s.k;
        int acts = Activation.values().length;
        Deque<AutoCloseable> open = new ArrayDeque<>();
        try {
            int mn = m * n;
            // tensor results are copied into one tensor and read once at the end (each read is a
            // round trip to a device); scalars and masks are recorded as they come
            Results<T> out = new Results<>(b, keep(open,
                    b.allocate(type, (18 + 2 * acts) * mn + 8 * n * k + 8 * n + 64)));
            long seed = 100L * (variant + 1);
            // first, and after cheap calls only, so that concurrent runs apply the shared mask at
            // about the same moment
            Tensor<T> masked = keep(open, b.allocate(type, SHARED_MASK_BITS));
            b.fill(masked, 1.5 + variant);
            b.maskedScaleAdd(masked, s.mask, false, 1.0, 0.0, masked);
            out.host("maskedScaleAdd(shared mask, in place)", masked.toDoubleArray());
            // memory
            Tensor<T> c = keep(open, b.allocate(type, m, n));
            Tensor<Float> f32 = keep(open, b.upload(ContractSupport.narrow(
                    ContractSupport.random(seed, 17, -3, 3)), 17));
            Tensor<Double> f64 = keep(open, b.upload(ContractSupport.random(seed + 1, 19, -3, 3),
                    19));
            Tensor<T> d = keep(open, b.upload(type, ContractSupport.random(seed + 2, mn, -1, 1),
                    m, n));
            Tensor<T> buf = keep(open, b.allocate(type, 2 * mn + 8));
            Tensor<T> filled = keep(open, b.allocate(type, 23));
            b.fill(filled, 0.1 + variant);
            out.tensor("fill", filled);

            // linear algebra and activations
            b.gemm(false, true, m, n, k, 1.0, s.a, s.w, 0.0, c);
            out.tensor("gemm", c);
            b.addBias(c, s.bias);
            out.tensor("addBias", c);
            Tensor<T> pre = keep(open, b.copyOf(c));
            out.tensor("copyOf", pre);
            Tensor<T> dOut = keep(open, b.upload(type, ContractSupport.random(seed + 3, mn, -2, 2),
                    m, n));
            Tensor<T> dPre = keep(open, b.allocate(type, m, n));
            Tensor<T> act = keep(open, b.allocate(type, m, n));
            for (Activation f : Activation.values()) {
                b.activate(f, pre, act);
                out.tensor("activate(" + f + ")", act);
                b.activationBackward(f, pre, act, dOut, dPre);
                out.tensor("activationBackward(" + f + ")", dPre);
            }
            // what follows works on GELU's output and gradient
            b.activate(Activation.GELU, pre, act);
            b.activationBackward(Activation.GELU, pre, act, dOut, dPre);
            b.activate(Activation.TANH, c, c);
            out.tensor("activate(TANH) in place", c);
            Tensor<T> dOut2 = keep(open, b.copyOf(dOut));
            b.activationBackward(Activation.GELU, pre, act, dOut2, dOut2);
            out.tensor("activationBackward(GELU) with dPre = dOut", dOut2);

            // masks
            BitMask mask = keep(open, b.allocateMask(mn));
            b.generateMask(mask, 42 + variant, variant, 7, 0.25);
            out.host("generateMask", toDoubles(mask.toLongArray()));
            BitMask columns = keep(open, b.allocateMask(n));
            b.generateMask(columns, -5L * variant, 3, variant, 0.5);
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
            Tensor<T> sums = keep(open, b.upload(type, ContractSupport.random(seed + 4, n, -1, 1),
                    n));
            b.columnSums(d, 0.5, sums);
            out.tensor("columnSums", sums);

            // copy, write, read
            b.copy(d, 0, buf, 0, mn);
            b.copy(act, 0, buf, mn, mn);
            b.copy(buf, 3, buf, 2 * mn - 9, 12); // within one tensor, not overlapping
            b.write(buf, 5, ContractSupport.narrow(ContractSupport.random(seed + 5, 9, -1, 1)), 2,
                    7);
            b.write(buf, 2 * mn, ContractSupport.random(seed + 6, 8, -1, 1), 0, 8);
            out.tensor("copy and write", buf);
            float[] hostF = new float[mn + 4];
            b.read(buf, mn, hostF, 2, mn);
            out.host("read(float[])", ContractSupport.widen(hostF));
            double[] hostD = new double[mn];
            b.read(buf, 7, hostD, 0, mn);
            out.host("read(double[])", hostD);

            // reductions
            double allFiniteBefore = b.allFinite(buf) ? 1 : 0;
            b.write(filled, 11 + variant % 5, new double[] {Double.NaN}, 0, 1);
            out.host("sum, allFinite", new double[] {b.sum(buf), b.sum(f32), b.sum(f64),
                allFiniteBefore, b.allFinite(filled) ? 1 : 0, b.allFinite(f64) ? 1 : 0});

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
            int rows = Math.min(5, m);
            Tensor<T> a5 = keep(open, b.allocate(type, rows, k));
            b.copy(s.a, 0, a5, 0, rows * k); // the first rows of the shared A
            Tensor<T> y2 = keep(open, b.allocate(type, rows, n));
            try (PreparedLinear<T> linear = b.prepareLinear(sgd, null, Activation.IDENTITY, n,
                    k)) {
                linear.apply(rows, a5, y2);
            }
            out.tensor("prepareLinear(no bias).apply", y2);
            assertThat(b.liveAllocations()).as("liveAllocations() while others allocate")
                    .isPositive();
            return out.read();
        } finally {
            closeAll(open);
        }
    }

    /**
     * @param got the results of a run
     * @param expected the results of the reference run
     * @return null when they are equal bit for bit, else the first result that differs and where
     */
    static String difference(Map<String, double[]> got, Map<String, double[]> expected) {
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] g = got.get(e.getKey());
            double[] x = e.getValue();
            if (!Arrays.equals(g, x)) {
                if (g == null || g.length != x.length) {
                    return e.getKey() + ": " + (g == null ? "missing" : g.length
                            + " elements, expected " + x.length);
                }
                for (int i = 0; i < x.length; i++) {
                    if (Double.doubleToLongBits(g[i]) != Double.doubleToLongBits(x[i])) {
                        return e.getKey() + ": element [" + i + "] is " + g[i] + ", in the"
                                + " reference run " + x[i];
                    }
                }
            }
        }
        return null;
    }

    /** One run's results by name, in call order. */
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

    private static void closeAll(Deque<AutoCloseable> open) {
        while (!open.isEmpty()) {
            try {
                open.pop().close();
            } catch (Exception ex) {
                throw new IllegalStateException("close() failed", ex);
            }
        }
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
