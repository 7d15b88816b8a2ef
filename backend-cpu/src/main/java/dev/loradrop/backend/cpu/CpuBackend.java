package dev.loradrop.backend.cpu;

import static dev.loradrop.api.spi.Checks.checkRange;
import static dev.loradrop.api.spi.Checks.linearArguments;
import static dev.loradrop.api.spi.Checks.linearCall;
import static dev.loradrop.api.spi.Checks.owned;
import static dev.loradrop.api.spi.Checks.requireDistinct;
import static dev.loradrop.api.spi.Checks.requireLength;
import static dev.loradrop.api.spi.Checks.requireMatrix;
import static dev.loradrop.api.spi.Checks.requireMultiple;
import static dev.loradrop.api.spi.Checks.requireNonNegative;
import static dev.loradrop.api.spi.Checks.requireSameSize;
import static dev.loradrop.api.spi.Checks.sameType;
import static dev.loradrop.api.spi.Checks.shapeCopy;
import static dev.loradrop.api.spi.Checks.sizeOf;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.List;

/**
 * The pure-Java backend: tensors are {@code float[]} or {@code double[]} on the heap, masks are
 * {@code long[]} words in the layout of {@link BitMask#toLongArray()}.
 *
 * <p>This class owns lifecycle and validation; the arithmetic is in a {@link Kernels}
 * implementation ({@link ScalarKernels}) and, for GEMM, a {@link GemmEngine} whose micro-kernel
 * {@link CpuPaths} chooses (the Java Vector API when available). Every method checks all its
 * arguments before it writes anything. As the SPI requires, calls on distinct tensors may run
 * concurrently: the elementwise kernels keep no shared scratch, the GEMM engine lends its worker
 * threads and buffers to one call at a time (others compute alone), the live-resource list and
 * the array pool are synchronised, and closing a tensor from another thread is safe.
 */
public final class CpuBackend implements ComputeBackend {

    private final int threads;
    private final Kernels kernels;
    private final GemmEngine gemm;
    /** Masks of at least this many 64-bit words (64 Ki elements) are generated in parallel. */
    private static final int PARALLEL_MASK_WORDS = 1024;
    private final ArrayPool pool = new ArrayPool(ArrayPool.DEFAULT_MAX_BYTES);
    private final Live live = new Live();
    private volatile boolean closed;

    /**
     * @param config settings; {@code threads() == 0} means the available processors
     * @param kernels the elementwise code path
     * @param tileKernel the GEMM micro-kernel
     */
    CpuBackend(BackendConfig config, Kernels kernels, TileKernel tileKernel) {
        Objects.requireNonNull(config, "config");
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        this.threads = config.threads() == 0
                ? Runtime.getRuntime().availableProcessors() : config.threads();
        this.gemm = new GemmEngine(threads, Objects.requireNonNull(tileKernel, "tileKernel"));
    }

    @Override
    public String id() {
        return CpuBackendProvider.ID;
    }

    @Override
    public Map<String, String> describe() {
        ensureOpen("describe");
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("id", CpuBackendProvider.ID);
        facts.put("threads", Integer.toString(threads));
        facts.put("java.version", System.getProperty("java.version", "?"));
        facts.put("java.vm", System.getProperty("java.vm.name", "?") + " "
                + System.getProperty("java.vm.version", "?") + " ("
                + System.getProperty("java.vm.vendor", "?") + ")");
        facts.put("path", gemm.path());
        return Collections.unmodifiableMap(facts);
    }

    @Override
    public String toString() {
        return "CpuBackend[path=" + gemm.path() + ", threads=" + threads
                + (closed ? ", closed" : ", live=" + live.size()) + "]";
    }

    // ================================================================ memory

    @Override
    public <T extends Number> Tensor<T> allocate(NumericType<T> type, int... shape) {
        ensureOpen("allocate");
        Objects.requireNonNull(type, "type");
        int[] dims = shapeCopy(shape);
        int size = arrayLength(dims);
        return register(type == NumericType.FLOAT32
                ? new CpuTensor<>(this, type, dims, size, pool.floats(size), null)
                : new CpuTensor<>(this, type, dims, size, null, pool.doubles(size)));
    }

    @Override
    public Tensor<Float> upload(float[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = arrayLength(dims);
        requireLength(data.length, size, dims);
        float[] copy = pool.floats(size);
        System.arraycopy(data, 0, copy, 0, size);
        return register(new CpuTensor<>(this, NumericType.FLOAT32, dims, size, copy, null));
    }

    @Override
    public Tensor<Double> upload(double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = arrayLength(dims);
        requireLength(data.length, size, dims);
        double[] copy = pool.doubles(size);
        System.arraycopy(data, 0, copy, 0, size);
        return register(new CpuTensor<>(this, NumericType.FLOAT64, dims, size, null, copy));
    }

    @Override
    public <T extends Number> Tensor<T> upload(NumericType<T> type, double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        return ComputeBackend.super.upload(type, data, shape);
    }

    @Override
    public <T extends Number> Tensor<T> copyOf(Tensor<T> src) {
        ensureOpen("copyOf");
        tensor(src, "src");
        return ComputeBackend.super.copyOf(src);
    }

    @Override
    public <T extends Number> void copy(Tensor<T> src, int srcOffset, Tensor<T> dst,
                                        int dstOffset, int length) {
        ensureOpen("copy");
        CpuTensor<?> s = tensor(src, "src");
        CpuTensor<?> d = tensor(dst, "dst");
        sameType(s, "src", d, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        if (s == d && length > 0 && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
            throw new IllegalArgumentException("dst: expected a range that does not overlap the "
                    + "source range when dst is src, got srcOffset=" + srcOffset + ", dstOffset="
                    + dstOffset + ", length=" + length);
        }
        if (s.isFloat()) {
            System.arraycopy(s.floats(), srcOffset, d.floats(), dstOffset, length);
        } else {
            System.arraycopy(s.doubles(), srcOffset, d.doubles(), dstOffset, length);
        }
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, float[] src, int srcOffset, int length) {
        ensureOpen("write");
        CpuTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        if (d.isFloat()) {
            System.arraycopy(src, srcOffset, d.floats(), dstOffset, length);
        } else {
            double[] to = d.doubles();
            for (int i = 0; i < length; i++) {
                to[dstOffset + i] = src[srcOffset + i];
            }
        }
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, double[] src, int srcOffset, int length) {
        ensureOpen("write");
        CpuTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        if (d.isFloat()) {
            float[] to = d.floats();
            for (int i = 0; i < length; i++) {
                to[dstOffset + i] = (float) src[srcOffset + i];
            }
        } else {
            System.arraycopy(src, srcOffset, d.doubles(), dstOffset, length);
        }
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, float[] dst, int dstOffset, int length) {
        ensureOpen("read");
        CpuTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        if (s.isFloat()) {
            System.arraycopy(s.floats(), srcOffset, dst, dstOffset, length);
        } else {
            double[] from = s.doubles();
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = (float) from[srcOffset + i];
            }
        }
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, double[] dst, int dstOffset, int length) {
        ensureOpen("read");
        CpuTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        if (s.isFloat()) {
            float[] from = s.floats();
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = from[srcOffset + i];
            }
        } else {
            System.arraycopy(s.doubles(), srcOffset, dst, dstOffset, length);
        }
    }

    @Override
    public void fill(Tensor<?> t, double value) {
        ensureOpen("fill");
        CpuTensor<?> x = tensor(t, "t");
        if (x.isFloat()) {
            Arrays.fill(x.floats(), (float) value);
        } else {
            Arrays.fill(x.doubles(), value);
        }
    }

    @Override
    public BitMask allocateMask(int size) {
        ensureOpen("allocateMask");
        requireNonNegative("size", size);
        return register(new CpuBitMask(this, size));
    }

    @Override
    public long liveAllocations() {
        return live.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        gemm.close();
        for (CpuResource r : live.snapshot()) {
            r.close();
        }
        pool.clear();
    }

    // ================================================================ linear algebra

    @Override
    public <T extends Number> void gemm(boolean transA, boolean transB, int m, int n, int k,
                                        double alpha, Tensor<T> a, Tensor<T> b, double beta,
                                        Tensor<T> c) {
        ensureOpen("gemm");
        requireNonNegative("m", m);
        requireNonNegative("n", n);
        requireNonNegative("k", k);
        CpuTensor<?> ta = tensor(a, "a");
        CpuTensor<?> tb = tensor(b, "b");
        CpuTensor<?> tc = tensor(c, "c");
        sameType(ta, "a", tb, "b");
        sameType(ta, "a", tc, "c");
        requireMatrix(ta, "a", transA ? "k" : "m", transA ? k : m, transA ? "m" : "k", transA ? m : k);
        requireMatrix(tb, "b", transB ? "n" : "k", transB ? n : k, transB ? "k" : "n", transB ? k : n);
        requireMatrix(tc, "c", "m", m, "n", n);
        requireDistinct(tc, "c", ta, "a");
        requireDistinct(tc, "c", tb, "b");
        if (tc.isFloat()) {
            gemm.gemm(transA, transB, m, n, k, (float) alpha, ta.floats(), tb.floats(),
                    (float) beta, tc.floats());
        } else {
            gemm.gemm(transA, transB, m, n, k, alpha, ta.doubles(), tb.doubles(), beta,
                    tc.doubles());
        }
    }

    /**
     * Packs the weight once into the micro-kernel's B layout, so each call skips packing (about a
     * third of a skinny forward GEMM), and applies the bias and activation to each strip of y while
     * it is in cache. The same bits as {@code gemm}, {@code addBias} and {@code activate}.
     */
    @Override
    public <T extends Number> PreparedLinear<T> prepareLinear(Tensor<T> weight, Tensor<T> bias,
                                                              Activation activation, int out,
                                                              int in) {
        ensureOpen("prepareLinear");
        CpuTensor<?> tw = tensor(weight, "weight");
        CpuTensor<?> tb = bias == null ? null : tensor(bias, "bias");
        linearArguments(tw, tb, activation, out, in);
        return register(new Linear<>(weight.type(), tw, tb, activation, out, in));
    }

    /**
     * {@link #prepareLinear}'s result: arrays nobody writes after construction, so calls may run
     * concurrently. Counted in {@link #liveAllocations()} until closed.
     */
    private final class Linear<T extends Number> extends CpuResource implements PreparedLinear<T> {

        private final NumericType<T> type;
        private final Activation activation;
        private final int out;
        private final int in;
        private volatile float[][] fw;
        private volatile double[][] dw;
        private final float[] fb;
        private final double[] db;

        Linear(NumericType<T> type, CpuTensor<?> w, CpuTensor<?> b, Activation activation,
               int out, int in) {
            super(CpuBackend.this);
            this.type = type;
            this.activation = activation;
            this.out = out;
            this.in = in;
            if (w.isFloat()) {
                fw = gemm.packWeights(w.floats(), out, in);
                fb = b == null ? null : b.floats().clone();
                db = null;
            } else {
                dw = gemm.packWeights(w.doubles(), out, in);
                db = b == null ? null : b.doubles().clone();
                fb = null;
            }
        }

        @Override
        public NumericType<T> type() {
            return type;
        }

        @Override
        public int inputSize() {
            return in;
        }

        @Override
        public int outputSize() {
            return out;
        }

        @Override
        public Activation activation() {
            return activation;
        }

        @Override
        public void apply(int rows, Tensor<T> x, Tensor<T> y) {
            CpuBackend.this.ensureOpen("apply");
            float[][] w = fw;
            double[][] w64 = dw;
            ensureOpen("apply");
            CpuTensor<?> tx = tensor(x, "x");
            CpuTensor<?> ty = tensor(y, "y");
            if (tx.type() != type) {
                throw new IllegalArgumentException("x: expected " + type
                        + " (the type of the prepared weight), got " + tx.type());
            }
            sameType(tx, "x", ty, "y");
            linearCall(rows, tx, ty, in, out);
            if (w != null) {
                gemm.linear(rows, out, in, tx.floats(), w, fb, activation, ty.floats());
            } else {
                gemm.linear(rows, out, in, tx.doubles(), w64, db, activation, ty.doubles());
            }
        }

        @Override
        void releaseMemory() {
            fw = null;
            dw = null;
        }

        @Override
        String kind() {
            return "prepared linear";
        }
    }

    @Override
    public <T extends Number> void axpby(double alpha, Tensor<T> x, double beta, Tensor<T> y) {
        ensureOpen("axpby");
        CpuTensor<?> tx = tensor(x, "x");
        CpuTensor<?> ty = tensor(y, "y");
        sameType(tx, "x", ty, "y");
        requireSameSize(tx, "x", ty, "y");
        if (tx.isFloat()) {
            kernels.axpby(alpha, tx.floats(), beta, ty.floats());
        } else {
            kernels.axpby(alpha, tx.doubles(), beta, ty.doubles());
        }
    }

    @Override
    public <T extends Number> void addBias(Tensor<T> y, Tensor<T> bias) {
        ensureOpen("addBias");
        CpuTensor<?> ty = tensor(y, "y");
        CpuTensor<?> tb = tensor(bias, "bias");
        sameType(ty, "y", tb, "bias");
        requireMultiple(ty, "y", tb.size(), "the size of bias");
        if (ty.isFloat()) {
            kernels.addBias(ty.floats(), tb.floats());
        } else {
            kernels.addBias(ty.doubles(), tb.doubles());
        }
    }

    @Override
    public <T extends Number> void columnSums(Tensor<T> src, double beta, Tensor<T> dst) {
        ensureOpen("columnSums");
        CpuTensor<?> ts = tensor(src, "src");
        CpuTensor<?> td = tensor(dst, "dst");
        sameType(ts, "src", td, "dst");
        requireMultiple(ts, "src", td.size(), "the size of dst");
        if (ts.isFloat()) {
            kernels.columnSums(ts.floats(), beta, td.floats());
        } else {
            kernels.columnSums(ts.doubles(), beta, td.doubles());
        }
    }

    // ================================================================ activations

    @Override
    public <T extends Number> void activate(Activation activation, Tensor<T> pre, Tensor<T> out) {
        ensureOpen("activate");
        Objects.requireNonNull(activation, "activation");
        CpuTensor<?> tp = tensor(pre, "pre");
        CpuTensor<?> to = tensor(out, "out");
        sameType(tp, "pre", to, "out");
        requireSameSize(tp, "pre", to, "out");
        if (tp.isFloat()) {
            kernels.activate(activation, tp.floats(), to.floats());
        } else {
            kernels.activate(activation, tp.doubles(), to.doubles());
        }
    }

    @Override
    public <T extends Number> void activationBackward(Activation activation, Tensor<T> pre,
                                                      Tensor<T> out, Tensor<T> dOut,
                                                      Tensor<T> dPre) {
        ensureOpen("activationBackward");
        Objects.requireNonNull(activation, "activation");
        CpuTensor<?> tp = tensor(pre, "pre");
        CpuTensor<?> to = tensor(out, "out");
        CpuTensor<?> tg = tensor(dOut, "dOut");
        CpuTensor<?> td = tensor(dPre, "dPre");
        sameType(tp, "pre", to, "out");
        sameType(tp, "pre", tg, "dOut");
        sameType(tp, "pre", td, "dPre");
        requireSameSize(tp, "pre", to, "out");
        requireSameSize(tp, "pre", tg, "dOut");
        requireSameSize(tp, "pre", td, "dPre");
        if (tp.isFloat()) {
            kernels.activationBackward(activation, tp.floats(), to.floats(), tg.floats(),
                    td.floats());
        } else {
            kernels.activationBackward(activation, tp.doubles(), to.doubles(), tg.doubles(),
                    td.doubles());
        }
    }

    // ================================================================ masks

    @Override
    public void generateMask(BitMask mask, long seed, int stream, int step, double dropoutRate) {
        ensureOpen("generateMask");
        CpuBitMask bm = mask(mask, "mask");
        long threshold = MaskStream.keepThreshold(dropoutRate);
        long[] words = bm.words();
        int size = bm.size();
        int count = (size + 63) >>> 6;
        // Philox is counter-based: word ranges are independent, so the threads split them.
        int parts = count >= PARALLEL_MASK_WORDS ? gemm.threads() : 1;
        if (parts == 1) {
            kernels.fillMask(words, 0, count, seed, stream, step, size, threshold);
        } else {
            gemm.forEachPart(parts, part -> kernels.fillMask(words,
                    WorkerPool.start(part, count, parts), WorkerPool.start(part + 1, count, parts),
                    seed, stream, step, size, threshold));
        }
    }

    @Override
    public <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask,
                                                  boolean broadcastRows, double scale,
                                                  double beta, Tensor<T> dst) {
        ensureOpen("maskedScaleAdd");
        CpuTensor<?> ts = tensor(src, "src");
        CpuBitMask bm = mask == null ? null : mask(mask, "mask");
        CpuTensor<?> td = tensor(dst, "dst");
        sameType(ts, "src", td, "dst");
        requireSameSize(ts, "src", td, "dst");
        int cols = 0;
        if (bm != null) {
            if (broadcastRows) {
                cols = bm.size();
                if (cols == 0 ? ts.size() != 0 : ts.size() % cols != 0) {
                    throw new IllegalArgumentException("mask: expected a size that divides "
                            + ts.size() + " (the size of src; broadcastRows: one bit per column),"
                            + " got " + cols);
                }
            } else if (bm.size() != ts.size()) {
                throw new IllegalArgumentException("mask: expected " + ts.size()
                        + " bits (the size of src; broadcastRows=false), got " + bm.size());
            }
        }
        long[] words = bm == null ? null : bm.words();
        if (ts.isFloat()) {
            kernels.maskedScaleAdd(ts.floats(), words, broadcastRows, cols, scale, beta,
                    td.floats());
        } else {
            kernels.maskedScaleAdd(ts.doubles(), words, broadcastRows, cols, scale, beta,
                    td.doubles());
        }
    }

    // ================================================================ reductions

    @Override
    public double sum(Tensor<?> t) {
        ensureOpen("sum");
        CpuTensor<?> x = tensor(t, "t");
        return x.isFloat() ? kernels.sum(x.floats()) : kernels.sum(x.doubles());
    }

    @Override
    public boolean allFinite(Tensor<?> t) {
        ensureOpen("allFinite");
        CpuTensor<?> x = tensor(t, "t");
        return x.isFloat() ? kernels.allFinite(x.floats()) : kernels.allFinite(x.doubles());
    }

    // ================================================================ losses

    @Override
    public <T extends Number> double meanSquaredError(Tensor<T> pred, Tensor<T> target,
                                                      Tensor<T> grad) {
        ensureOpen("meanSquaredError");
        CpuTensor<?> tp = tensor(pred, "pred");
        CpuTensor<?> tt = tensor(target, "target");
        CpuTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tp, "pred", tt, "target");
        requireSameSize(tp, "pred", tt, "target");
        if (tg != null) {
            sameType(tp, "pred", tg, "grad");
            requireSameSize(tp, "pred", tg, "grad");
        }
        if (tp.isFloat()) {
            return kernels.meanSquaredError(tp.floats(), tt.floats(),
                    tg == null ? null : tg.floats());
        }
        return kernels.meanSquaredError(tp.doubles(), tt.doubles(),
                tg == null ? null : tg.doubles());
    }

    @Override
    public <T extends Number> double softmaxCrossEntropy(int classes, Tensor<T> logits,
                                                         Tensor<T> target, Tensor<T> grad) {
        ensureOpen("softmaxCrossEntropy");
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        CpuTensor<?> tl = tensor(logits, "logits");
        CpuTensor<?> tt = tensor(target, "target");
        CpuTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tl, "logits", tt, "target");
        requireMultiple(tl, "logits", classes, "classes=" + classes);
        requireSameSize(tl, "logits", tt, "target");
        if (tg != null) {
            sameType(tl, "logits", tg, "grad");
            requireSameSize(tl, "logits", tg, "grad");
        }
        if (tl.isFloat()) {
            return kernels.softmaxCrossEntropy(classes, tl.floats(), tt.floats(),
                    tg == null ? null : tg.floats());
        }
        return kernels.softmaxCrossEntropy(classes, tl.doubles(), tt.doubles(),
                tg == null ? null : tg.doubles());
    }

    // ================================================================ optimisers

    @Override
    public <T extends Number> void sgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity,
                                           double learningRate, double momentum,
                                           double weightDecay) {
        ensureOpen("sgdStep");
        CpuTensor<?> tp = tensor(param, "param");
        CpuTensor<?> tg = tensor(grad, "grad");
        if (momentum != 0.0) {
            Objects.requireNonNull(velocity, "velocity (required when momentum is not 0)");
        }
        CpuTensor<?> tv = velocity == null ? null : tensor(velocity, "velocity");
        sameType(tp, "param", tg, "grad");
        requireSameSize(tp, "param", tg, "grad");
        if (tv != null) {
            sameType(tp, "param", tv, "velocity");
            requireSameSize(tp, "param", tv, "velocity");
            requireDistinct(tv, "velocity", tp, "param");
            requireDistinct(tv, "velocity", tg, "grad");
        }
        requireDistinct(tp, "param", tg, "grad");
        // A given velocity is always used, as the contract reads ("with a velocity"), even with
        // momentum 0: it then ends up holding g.
        if (tp.isFloat()) {
            kernels.sgdStep(tp.floats(), tg.floats(), tv == null ? null : tv.floats(),
                    learningRate, momentum, weightDecay);
        } else {
            kernels.sgdStep(tp.doubles(), tg.doubles(), tv == null ? null : tv.doubles(),
                    learningRate, momentum, weightDecay);
        }
    }

    @Override
    public <T extends Number> void adamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m,
                                            Tensor<T> v, double learningRate, double beta1,
                                            double beta2, double epsilon, double weightDecay,
                                            boolean decoupledWeightDecay, int step) {
        ensureOpen("adamStep");
        CpuTensor<?> tp = tensor(param, "param");
        CpuTensor<?> tg = tensor(grad, "grad");
        CpuTensor<?> tm = tensor(m, "m");
        CpuTensor<?> tv = tensor(v, "v");
        if (step < 1) {
            throw new IllegalArgumentException("step: expected >= 1 (1-based), got " + step);
        }
        sameType(tp, "param", tg, "grad");
        sameType(tp, "param", tm, "m");
        sameType(tp, "param", tv, "v");
        requireSameSize(tp, "param", tg, "grad");
        requireSameSize(tp, "param", tm, "m");
        requireSameSize(tp, "param", tv, "v");
        requireDistinct(tp, "param", tg, "grad");
        requireDistinct(tm, "m", tp, "param");
        requireDistinct(tm, "m", tg, "grad");
        requireDistinct(tv, "v", tp, "param");
        requireDistinct(tv, "v", tg, "grad");
        requireDistinct(tv, "v", tm, "m");
        if (tp.isFloat()) {
            kernels.adamStep(tp.floats(), tg.floats(), tm.floats(), tv.floats(), learningRate,
                    beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, step);
        } else {
            kernels.adamStep(tp.doubles(), tg.doubles(), tm.doubles(), tv.doubles(), learningRate,
                    beta1, beta2, epsilon, weightDecay, decoupledWeightDecay, step);
        }
    }

    // ================================================================ lifecycle and checks

    /** @return the pool closed tensors return their arrays to */
    ArrayPool pool() {
        return pool;
    }

    /**
     * @return the element count of a validated shape
     * @throws IllegalArgumentException if it is more than {@link Integer#MAX_VALUE} or than the
     *     longest array this backend makes, {@link ArrayPool#MAX_LENGTH}
     */
    private static int arrayLength(int[] dims) {
        int size = sizeOf(dims);
        if (size > ArrayPool.MAX_LENGTH) {
            throw new IllegalArgumentException("shape: expected at most " + ArrayPool.MAX_LENGTH
                    + " elements (the longest array the JVM reliably allocates), got "
                    + Arrays.toString(dims) + " (" + size + " elements)");
        }
        return size;
    }

    private <R extends CpuResource> R register(R resource) {
        live.add(resource);
        return resource;
    }

    /**
     * The live tensors and masks as an intrusive doubly-linked list: adding and removing allocate
     * nothing, which keeps steady-state training steps free of garbage.
     */
    private static final class Live {
        private CpuResource head;
        private int size;

        synchronized void add(CpuResource r) {
            r.next = head;
            if (head != null) {
                head.prev = r;
            }
            head = r;
            size++;
        }

        synchronized void remove(CpuResource r) {
            if (r.prev == null && head != r) {
                return; // not linked
            }
            if (r.prev != null) {
                r.prev.next = r.next;
            } else {
                head = r.next;
            }
            if (r.next != null) {
                r.next.prev = r.prev;
            }
            r.prev = null;
            r.next = null;
            size--;
        }

        synchronized int size() {
            return size;
        }

        synchronized List<CpuResource> snapshot() {
            List<CpuResource> all = new ArrayList<>(size);
            for (CpuResource r = head; r != null; r = r.next) {
                all.add(r);
            }
            return all;
        }
    }

    /** Called by a resource when it is closed. */
    void released(CpuResource resource) {
        live.remove(resource);
    }

    private void ensureOpen(String method) {
        if (closed) {
            throw new IllegalStateException(method + ": backend '" + CpuBackendProvider.ID
                    + "' is closed");
        }
    }

    /** @return the tensor as this backend's, after checking it is not null, ours and open */
    private CpuTensor<?> tensor(Tensor<?> t, String name) {
        return owned(t, name, CpuTensor.class, this);
    }

    /** @return the mask as this backend's, after checking it is not null, ours and open */
    private CpuBitMask mask(BitMask mask, String name) {
        return owned(mask, name, CpuBitMask.class, this);
    }











}
