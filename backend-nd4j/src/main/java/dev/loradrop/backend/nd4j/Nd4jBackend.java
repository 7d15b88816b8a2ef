package dev.loradrop.backend.nd4j;

import static dev.loradrop.api.spi.Checks.checkRange;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.Select;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.api.ops.impl.transforms.comparison.CompareAndSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The ND4J backend: tensors are flat, row-major INDArrays in ND4J's native memory; GEMM goes to
 * BLAS through {@link Nd4j#gemm} on column-major views of the row-major buffers, straight into
 * the result's memory (no copies);
 * elementwise kernels, reductions, losses and optimiser steps are ND4J operations. Masks are
 * generated on the host by {@link MaskStream} (bit-identical to every backend by definition; large
 * ones on the common fork-join pool's threads) and applied as 0/1 vectors by ND4J multiplications.
 *
 * <p>Every method checks all its arguments before it writes anything. An instance is used by one
 * thread at a time; closing a tensor from another thread is safe. ND4J's own state (thread
 * pools, BLAS threads, memory manager) is process-wide, so {@link BackendConfig#threads()} is not
 * applied per instance: set ND4J's threads with {@code OMP_NUM_THREADS} before start-up.
 */
final class Nd4jBackend implements ComputeBackend {

    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_K = 0.044715;
    /** Masks of at least this many 64-bit words (64 Ki elements) are generated in parallel. */
    private static final int PARALLEL_MASK_WORDS = 1024;
    /** Below this |x|, {@link #tanh} sums {@link #TANH_SERIES}. */
    private static final double TANH_SERIES_LIMIT = 1.0 / 16;
    /**
     * The Taylor coefficients of tanh(x) / x in powers of x^2; the next, 21844/6081075, times
     * (1/16)^12 is below 1e-17.
     */
    private static final double[] TANH_SERIES =
        {1, -1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925};

    private final Map<String, String> facts;
    private final Set<Nd4jResource> live = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * @param facts what {@link #describe()} reports, insertion ordered
     */
    Nd4jBackend(Map<String, String> facts) {
        this.facts = Collections.unmodifiableMap(new LinkedHashMap<>(facts));
    }

    @Override
    public String id() {
        return Nd4jBackendProvider.ID;
    }

    @Override
    public Map<String, String> describe() {
        ensureOpen("describe");
        return facts;
    }

    @Override
    public String toString() {
        return "Nd4jBackend[" + facts.getOrDefault("blas", "?")
                + (closed ? ", closed" : ", live=" + live.size()) + "]";
    }

    // ================================================================ memory

    @Override
    public <T extends Number> Tensor<T> allocate(NumericType<T> type, int... shape) {
        ensureOpen("allocate");
        Objects.requireNonNull(type, "type");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        DataType dt = dataType(type);
        INDArray flat = size == 0 ? null
                : Nd4jArrays.outsideWorkspace(() -> Nd4j.create(dt, size));
        return register(new Nd4jTensor<>(this, type, dims, size, flat, true));
    }

    @Override
    public Tensor<Float> upload(float[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        requireLength(data.length, size, dims);
        INDArray flat = size == 0 ? null
                : Nd4jArrays.outsideWorkspace(() -> Nd4j.createFromArray(data));
        return register(new Nd4jTensor<>(this, NumericType.FLOAT32, dims, size, flat, true));
    }

    @Override
    public Tensor<Double> upload(double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        requireLength(data.length, size, dims);
        INDArray flat = size == 0 ? null
                : Nd4jArrays.outsideWorkspace(() -> Nd4j.createFromArray(data));
        return register(new Nd4jTensor<>(this, NumericType.FLOAT64, dims, size, flat, true));
    }

    @Override
    public <T extends Number> Tensor<T> upload(NumericType<T> type, double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        return ComputeBackend.super.upload(type, data, shape);
    }

    /** Makes a tensor of an INDArray, sharing its memory where {@link Nd4jArrays#shareable} allows. */
    <T extends Number> Tensor<T> adopt(NumericType<T> type, INDArray array) {
        ensureOpen("wrap");
        long[] shape = array.rank() == 0 ? new long[] {1} : array.shape();
        int[] dims = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("array: expected extents <= "
                        + Integer.MAX_VALUE + ", got " + Arrays.toString(shape));
            }
            dims[i] = (int) shape[i];
        }
        int size = sizeOf(dims);
        DataType dt = dataType(type);
        if (size == 0) {
            return register(new Nd4jTensor<>(this, type, dims, 0, null, true));
        }
        if (Nd4jArrays.shareable(array, dt)) {
            INDArray view = array.reshape('c', true, size);
            return register(new Nd4jTensor<>(this, type, dims, size, view, false));
        }
        INDArray copy = Nd4jArrays.outsideWorkspace(() -> {
            INDArray converted = array.dataType() == dt ? array : array.castTo(dt);
            INDArray dup = converted.dup('c');
            if (converted != array) {
                release(converted);
            }
            return dup.reshape('c', true, size);
        });
        return register(new Nd4jTensor<>(this, type, dims, size, copy, true));
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
        Nd4jTensor<?> s = tensor(src, "src");
        Nd4jTensor<?> d = tensor(dst, "dst");
        sameType(s, "src", d, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        if (s == d && length > 0 && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
            throw new IllegalArgumentException("dst: expected a range that does not overlap the "
                    + "source range when dst is src, got srcOffset=" + srcOffset + ", dstOffset="
                    + dstOffset + ", length=" + length);
        }
        Nd4jArrays.copy(s, srcOffset, d, dstOffset, length);
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, float[] src, int srcOffset, int length) {
        ensureOpen("write");
        Nd4jTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        Nd4jArrays.write(d, dstOffset, src, srcOffset, length);
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, double[] src, int srcOffset, int length) {
        ensureOpen("write");
        Nd4jTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        Nd4jArrays.write(d, dstOffset, src, srcOffset, length);
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, float[] dst, int dstOffset, int length) {
        ensureOpen("read");
        Nd4jTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        Nd4jArrays.read(s, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, double[] dst, int dstOffset, int length) {
        ensureOpen("read");
        Nd4jTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        Nd4jArrays.read(s, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void fill(Tensor<?> t, double value) {
        ensureOpen("fill");
        Nd4jTensor<?> x = tensor(t, "t");
        if (x.size() > 0) {
            x.flat().assign(value);
        }
    }

    @Override
    public BitMask allocateMask(int size) {
        ensureOpen("allocateMask");
        requireNonNegative("size", size);
        return register(new Nd4jBitMask(this, size));
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
        for (Nd4jResource r : new ArrayList<>(live)) {
            r.close();
        }
        live.clear();
    }

    // ================================================================ linear algebra

    /*
     * Row-major C (m x n) has the bytes of column-major C^T (n x m), and C^T = op(B)^T op(A)^T.
     * A row-major matrix stored r x c is, read column-major, its transpose (c x r), so the views
     * below are zero-copy 'f' arrays that BLAS takes as they are, and the product is written into
     * C's own memory. (Measured on ND4J 1.0.0-M2.1: as fast as Nd4j.gemm on 'c' views; an mmul into
     * a fresh array plus a copy into C is 1.6 to 10 times slower.)
     */

    @Override
    public <T extends Number> void gemm(boolean transA, boolean transB, int m, int n, int k,
                                        double alpha, Tensor<T> a, Tensor<T> b, double beta,
                                        Tensor<T> c) {
        ensureOpen("gemm");
        requireNonNegative("m", m);
        requireNonNegative("n", n);
        requireNonNegative("k", k);
        Nd4jTensor<?> ta = tensor(a, "a");
        Nd4jTensor<?> tb = tensor(b, "b");
        Nd4jTensor<?> tc = tensor(c, "c");
        sameType(ta, "a", tb, "b");
        sameType(ta, "a", tc, "c");
        requireMatrix(ta, "a", transA ? "k" : "m", transA ? k : m, transA ? "m" : "k", transA ? m : k);
        requireMatrix(tb, "b", transB ? "n" : "k", transB ? n : k, transB ? "k" : "n", transB ? k : n);
        requireMatrix(tc, "c", "m", m, "n", n);
        requireDistinct(tc, "c", ta, "a");
        requireDistinct(tc, "c", tb, "b");
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0.0 || tc.isFloat() && (float) alpha == 0f) {
            scale(tc.flat(), beta);
            return;
        }
        INDArray cT = columnMajor(tc, n, m);
        INDArray bT = transB ? columnMajor(tb, k, n) : columnMajor(tb, n, k);
        INDArray aT = transA ? columnMajor(ta, m, k) : columnMajor(ta, k, m);
        Nd4j.gemm(bT, aT, cT, transB, transA, alpha, beta);
    }

    /** @return the tensor's buffer as a column-major {@code rows x cols} array, no copy */
    private static INDArray columnMajor(Nd4jTensor<?> t, long rows, long cols) {
        return Nd4j.create(t.flat().data(), new long[] {rows, cols}, new long[] {1, rows}, 0L,
                'f', t.dataType());
    }

    @Override
    public <T extends Number> void axpby(double alpha, Tensor<T> x, double beta, Tensor<T> y) {
        ensureOpen("axpby");
        Nd4jTensor<?> tx = tensor(x, "x");
        Nd4jTensor<?> ty = tensor(y, "y");
        sameType(tx, "x", ty, "y");
        requireSameSize(tx, "x", ty, "y");
        if (tx.size() > 0) {
            axpby(alpha, tx.flat(), beta, ty.flat());
        }
    }

    /** {@code y = alpha x + beta y}; beta 0 ignores y, and then x may be y. */
    private static void axpby(double alpha, INDArray x, double beta, INDArray y) {
        if (beta == 0.0) {
            if (x != y) {
                y.assign(x);
            }
            if (alpha != 1.0) {
                y.muli(alpha);
            }
            return;
        }
        if (beta != 1.0) {
            y.muli(beta);
        }
        if (alpha == 1.0) {
            y.addi(x);
        } else {
            INDArray ax = x.mul(alpha);
            y.addi(ax);
            release(ax);
        }
    }

    /** {@code x *= beta}, where beta 0 clears (even NaN). */
    private static void scale(INDArray x, double beta) {
        if (beta == 0.0) {
            x.assign(0);
        } else if (beta != 1.0) {
            x.muli(beta);
        }
    }

    @Override
    public <T extends Number> void addBias(Tensor<T> y, Tensor<T> bias) {
        ensureOpen("addBias");
        Nd4jTensor<?> ty = tensor(y, "y");
        Nd4jTensor<?> tb = tensor(bias, "bias");
        sameType(ty, "y", tb, "bias");
        requireMultiple(ty, "y", tb.size(), "the size of bias");
        if (ty.size() > 0) {
            ty.matrix(tb.size()).addiRowVector(tb.flat());
        }
    }

    @Override
    public <T extends Number> void columnSums(Tensor<T> src, double beta, Tensor<T> dst) {
        ensureOpen("columnSums");
        Nd4jTensor<?> ts = tensor(src, "src");
        Nd4jTensor<?> td = tensor(dst, "dst");
        sameType(ts, "src", td, "dst");
        requireMultiple(ts, "src", td.size(), "the size of dst");
        if (td.size() == 0) {
            return;
        }
        if (ts.size() == 0) {
            scale(td.flat(), beta);
            return;
        }
        INDArray sums = ts.matrix(td.size()).sum(0);
        axpby(1.0, sums, beta, td.flat());
        release(sums);
    }

    // ================================================================ activations

    @Override
    public <T extends Number> void activate(Activation activation, Tensor<T> pre, Tensor<T> out) {
        ensureOpen("activate");
        Objects.requireNonNull(activation, "activation");
        Nd4jTensor<?> tp = tensor(pre, "pre");
        Nd4jTensor<?> to = tensor(out, "out");
        sameType(tp, "pre", to, "out");
        requireSameSize(tp, "pre", to, "out");
        if (tp.size() == 0) {
            return;
        }
        INDArray x = tp.flat();
        INDArray y = to.flat();
        switch (activation) {
            case IDENTITY:
                if (y != x) {
                    y.assign(x);
                }
                break;
            case RELU:
                copyInto(x, y);
                Transforms.relu(y, false);
                break;
            case TANH:
                tanh(x, y);
                break;
            case SIGMOID:
                copyInto(x, y);
                Transforms.sigmoid(y, false);
                break;
            case GELU: {
                // 0.5 x (1 + tanh(c (x + k x^3)))
                INDArray u = x.mul(x).muli(x).muli(GELU_K).addi(x).muli(GELU_C);
                Transforms.tanh(u, false);
                u.addi(1.0).muli(x).muli(0.5);
                y.assign(u);
                release(u);
                break;
            }
            default:
                throw new AssertionError(activation);
        }
    }

    /**
     * {@code y = tanh(x)}: ND4J's tanh where {@code |x| >= 1/16}, the Taylor series below. ND4J's
     * tanh computes {@code (exp(2x) - 1) / (exp(2x) + 1)}, which cancels near 0: its relative
     * error is about eps / |x| (1 % at 1e-6 in float) and it returns 0 below about eps (in float,
     * tanh(1e-8) = 0), where the result is x. From 1/16 on its error is a few ulps, and below, the
     * series to x^11 is exact to 1e-17 relative. (ND4J's expm1 is exp - 1, so the cancellation-free
     * expm1(2x) / (expm1(2x) + 2) does not help.)
     */
    private static void tanh(INDArray x, INDArray y) {
        INDArray library = Transforms.tanh(x, true);
        INDArray x2 = x.mul(x);
        INDArray series = x2.mul(TANH_SERIES[TANH_SERIES.length - 1]);
        for (int j = TANH_SERIES.length - 2; j >= 1; j--) {
            series.addi(TANH_SERIES[j]).muli(x2);
        }
        series.addi(TANH_SERIES[0]).muli(x);
        INDArray small = Transforms.abs(x, true);
        INDArray useSeries = small.lt(TANH_SERIES_LIMIT);
        Nd4j.exec(new Select(new INDArray[] {useSeries, series, library}, new INDArray[] {y}));
        release(library, x2, series, small, useSeries);
    }

    private static void copyInto(INDArray from, INDArray to) {
        if (from != to) {
            to.assign(from);
        }
    }

    /*
     * The derivative is taken from pre (the definition), not from out, as in the CPU backend: it
     * does not depend on out having been computed by this backend.
     */

    @Override
    public <T extends Number> void activationBackward(Activation activation, Tensor<T> pre,
                                                      Tensor<T> out, Tensor<T> dOut,
                                                      Tensor<T> dPre) {
        ensureOpen("activationBackward");
        Objects.requireNonNull(activation, "activation");
        Nd4jTensor<?> tp = tensor(pre, "pre");
        Nd4jTensor<?> to = tensor(out, "out");
        Nd4jTensor<?> tg = tensor(dOut, "dOut");
        Nd4jTensor<?> td = tensor(dPre, "dPre");
        sameType(tp, "pre", to, "out");
        sameType(tp, "pre", tg, "dOut");
        sameType(tp, "pre", td, "dPre");
        requireSameSize(tp, "pre", to, "out");
        requireSameSize(tp, "pre", tg, "dOut");
        requireSameSize(tp, "pre", td, "dPre");
        if (tp.size() == 0) {
            return;
        }
        INDArray x = tp.flat();
        INDArray g = tg.flat();
        INDArray d = td.flat();
        if (activation == Activation.IDENTITY) {
            copyInto(g, d);
            return;
        }
        INDArray f = derivative(activation, x);
        copyInto(g, d);
        d.muli(f);
        release(f);
    }

    /** @return a new array holding {@code f'(x)} */
    private static INDArray derivative(Activation activation, INDArray x) {
        switch (activation) {
            case RELU:
                return Transforms.step(x, true);
            case TANH: {
                INDArray t = Transforms.tanh(x, true);
                return t.muli(t).rsubi(1.0);
            }
            case SIGMOID: {
                INDArray s = Transforms.sigmoid(x, true);
                INDArray oneMinus = s.rsub(1.0);
                s.muli(oneMinus);
                release(oneMinus);
                return s;
            }
            case GELU: {
                // 0.5 (1 + t) + 0.5 x (1 - t^2) du, t = tanh(u), u = c (x + k x^3),
                // du = c (1 + 3 k x^2)
                INDArray x2 = x.mul(x);
                INDArray t = x2.mul(GELU_K).addi(1.0).muli(x).muli(GELU_C);
                Transforms.tanh(t, false);
                INDArray du = x2.muli(3.0 * GELU_K).addi(1.0).muli(GELU_C);
                INDArray second = t.mul(t).rsubi(1.0).muli(x).muli(du).muli(0.5);
                INDArray result = t.addi(1.0).muli(0.5).addi(second);
                release(du);
                release(second);
                return result;
            }
            default:
                throw new AssertionError(activation);
        }
    }

    // ================================================================ masks

    @Override
    public void generateMask(BitMask mask, long seed, int stream, int step, double dropoutRate) {
        ensureOpen("generateMask");
        Nd4jBitMask bm = mask(mask, "mask");
        long threshold = MaskStream.keepThreshold(dropoutRate);
        long[] words = bm.words();
        int size = bm.size();
        int count = (size + 63) >>> 6;
        // Philox is counter-based: word ranges are independent, so the common pool's threads
        // split them (ND4J's own threads are native); the bits are the same however split.
        int parts = count >= PARALLEL_MASK_WORDS
                ? ForkJoinPool.getCommonPoolParallelism() + 1 : 1;
        IntStream.range(0, parts).parallel().forEach(part -> MaskStream.fillWords(words,
                (int) ((long) part * count / parts), (int) ((long) (part + 1) * count / parts),
                seed, stream, step, size, threshold));
        bm.changed();
    }

    /*
     * A dropped element is multiplied by 0, as the contract's formula (and PyTorch's dropout)
     * says: a dropped NaN or infinity gives NaN.
     */

    @Override
    public <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask,
                                                  boolean broadcastRows, double scale,
                                                  double beta, Tensor<T> dst) {
        ensureOpen("maskedScaleAdd");
        Nd4jTensor<?> ts = tensor(src, "src");
        Nd4jBitMask bm = mask == null ? null : mask(mask, "mask");
        Nd4jTensor<?> td = tensor(dst, "dst");
        sameType(ts, "src", td, "dst");
        requireSameSize(ts, "src", td, "dst");
        if (bm != null) {
            if (broadcastRows) {
                int cols = bm.size();
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
        if (ts.size() == 0) {
            return;
        }
        if (bm == null) {
            axpby(scale, ts.flat(), beta, td.flat());
            return;
        }
        INDArray keep = bm.keep(ts.dataType());
        if (beta == 0.0) {
            copyInto(ts.flat(), td.flat());
            if (broadcastRows) {
                td.matrix(bm.size()).muliRowVector(keep);
            } else {
                td.flat().muli(keep);
            }
            if (scale != 1.0) {
                td.flat().muli(scale);
            }
            return;
        }
        INDArray kept = broadcastRows
                ? ts.matrix(bm.size()).mulRowVector(keep).reshape('c', true, ts.size())
                : ts.flat().mul(keep);
        axpby(scale, kept, beta, td.flat());
        release(kept);
    }

    // ================================================================ reductions

    @Override
    public double sum(Tensor<?> t) {
        ensureOpen("sum");
        Nd4jTensor<?> x = tensor(t, "t");
        if (x.size() == 0) {
            return 0.0;
        }
        return sumInDouble(x.flat());
    }

    /** @return the sum of all elements, accumulated in double (a FLOAT array is widened first) */
    private static double sumInDouble(INDArray a) {
        if (a.dataType() == DataType.DOUBLE) {
            return a.sumNumber().doubleValue();
        }
        INDArray wide = a.castTo(DataType.DOUBLE);
        double s = wide.sumNumber().doubleValue();
        release(wide);
        return s;
    }

    @Override
    public boolean allFinite(Tensor<?> t) {
        ensureOpen("allFinite");
        Nd4jTensor<?> x = tensor(t, "t");
        if (x.size() == 0) {
            return true;
        }
        INDArray count = Nd4j.getExecutioner()
                .exec(new MatchCondition(x.flat(), Conditions.notFinite()));
        boolean finite = count.getLong(0) == 0;
        release(count);
        return finite;
    }

    // ================================================================ losses

    /* An empty batch gives NaN (0 / 0), as PyTorch's mean reductions do. */

    @Override
    public <T extends Number> double meanSquaredError(Tensor<T> pred, Tensor<T> target,
                                                      Tensor<T> grad) {
        ensureOpen("meanSquaredError");
        Nd4jTensor<?> tp = tensor(pred, "pred");
        Nd4jTensor<?> tt = tensor(target, "target");
        Nd4jTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tp, "pred", tt, "target");
        requireSameSize(tp, "pred", tt, "target");
        if (tg != null) {
            sameType(tp, "pred", tg, "grad");
            requireSameSize(tp, "pred", tg, "grad");
        }
        int n = tp.size();
        if (n == 0) {
            return 0.0 / n;
        }
        // In double, as the CPU backend does; castTo returns the array itself for DOUBLE.
        INDArray diff = tp.isFloat() ? tp.flat().castTo(DataType.DOUBLE) : tp.flat().dup();
        INDArray target64 = tt.isFloat() ? tt.flat().castTo(DataType.DOUBLE) : tt.flat();
        diff.subi(target64);
        if (tt.isFloat()) {
            release(target64);
        }
        if (tg != null) {
            INDArray g = diff.mul(2.0 / n);
            if (tg.isFloat()) {
                INDArray narrow = g.castTo(DataType.FLOAT);
                tg.flat().assign(narrow);
                release(narrow);
            } else {
                tg.flat().assign(g);
            }
            release(g);
        }
        double loss = Nd4j.getBlasWrapper().dot(diff, diff) / n;
        release(diff);
        return loss;
    }

    /*
     * Per row: max, shifted = l - max, Z = sum exp(shifted), log s = shifted - log Z. Terms with
     * t = 0 contribute nothing (even where log s = -inf). Row losses are summed in double. Every
     * result is computed before grad is written, so grad may alias logits or target.
     */

    @Override
    public <T extends Number> double softmaxCrossEntropy(int classes, Tensor<T> logits,
                                                         Tensor<T> target, Tensor<T> grad) {
        ensureOpen("softmaxCrossEntropy");
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        Nd4jTensor<?> tl = tensor(logits, "logits");
        Nd4jTensor<?> tt = tensor(target, "target");
        Nd4jTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tl, "logits", tt, "target");
        requireMultiple(tl, "logits", classes, "classes=" + classes);
        requireSameSize(tl, "logits", tt, "target");
        if (tg != null) {
            sameType(tl, "logits", tg, "grad");
            requireSameSize(tl, "logits", tg, "grad");
        }
        int rows = tl.size() / classes;
        if (rows == 0) {
            return 0.0 / rows;
        }
        INDArray l = tl.matrix(classes);
        INDArray t = tt.matrix(classes);
        INDArray max = l.max(true, 1);
        INDArray shifted = l.subColumnVector(max);
        INDArray e = Transforms.exp(shifted, true);
        INDArray z = e.sum(true, 1);
        INDArray logZ = Transforms.log(z, true);
        INDArray terms = shifted.subiColumnVector(logZ).muli(t);
        // where t == 0 the term is t itself (a zero), not 0 * log s (NaN when log s = -inf)
        double tiny = tl.isFloat() ? Float.MIN_VALUE : Double.MIN_VALUE;
        Nd4j.getExecutioner().exec(new CompareAndSet(terms, t, terms,
                Conditions.absLessThan(tiny)));
        INDArray rowLoss = terms.sum(1);
        double loss = -sumInDouble(rowLoss) / rows;
        if (tg != null) {
            INDArray sumT = t.sum(true, 1);
            INDArray g = e.diviColumnVector(z).muliColumnVector(sumT).subi(t).divi(rows);
            tg.matrix(classes).assign(g);
            release(sumT);
        }
        release(max, shifted, e, z, logZ, rowLoss);
        return loss;
    }

    // ================================================================ optimisers

    @Override
    public <T extends Number> void sgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity,
                                           double learningRate, double momentum,
                                           double weightDecay) {
        ensureOpen("sgdStep");
        Nd4jTensor<?> tp = tensor(param, "param");
        Nd4jTensor<?> tg = tensor(grad, "grad");
        if (momentum != 0.0) {
            Objects.requireNonNull(velocity, "velocity (required when momentum is not 0)");
        }
        Nd4jTensor<?> tv = velocity == null ? null : tensor(velocity, "velocity");
        sameType(tp, "param", tg, "grad");
        requireSameSize(tp, "param", tg, "grad");
        if (tv != null) {
            sameType(tp, "param", tv, "velocity");
            requireSameSize(tp, "param", tv, "velocity");
            requireDistinct(tv, "velocity", tp, "param");
            requireDistinct(tv, "velocity", tg, "grad");
        }
        requireDistinct(tp, "param", tg, "grad");
        if (tp.size() == 0) {
            return;
        }
        INDArray p = tp.flat();
        INDArray g = tg.flat();
        INDArray decayed = null;
        if (weightDecay != 0.0) {
            decayed = p.mul(weightDecay).addi(g);
            g = decayed;
        }
        // A given velocity is always used, as the contract reads, even with momentum 0.
        if (tv != null) {
            INDArray v = tv.flat();
            axpby(1.0, g, momentum, v);
            g = v;
        }
        Nd4j.getBlasWrapper().level1().axpy(p.length(), -learningRate, g, p);
        release(decayed);
    }

    @Override
    public <T extends Number> void adamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m,
                                            Tensor<T> v, double learningRate, double beta1,
                                            double beta2, double epsilon, double weightDecay,
                                            boolean decoupledWeightDecay, int step) {
        ensureOpen("adamStep");
        Nd4jTensor<?> tp = tensor(param, "param");
        Nd4jTensor<?> tg = tensor(grad, "grad");
        Nd4jTensor<?> tm = tensor(m, "m");
        Nd4jTensor<?> tv = tensor(v, "v");
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
        if (tp.size() == 0) {
            return;
        }
        // FLOAT32 rounds the scalars to float first (the SPI's rule), as the CPU backend does.
        boolean f = tp.isFloat();
        double lr = f ? (float) learningRate : learningRate;
        double b1 = f ? (float) beta1 : beta1;
        double b2 = f ? (float) beta2 : beta2;
        double eps = f ? (float) epsilon : epsilon;
        double wd = f ? (float) weightDecay : weightDecay;
        double bc1 = 1.0 - Math.pow(b1, step);
        double bc2 = 1.0 - Math.pow(b2, step);
        INDArray p = tp.flat();
        INDArray g = tg.flat();
        INDArray coupled = null;
        if (decoupledWeightDecay) {
            if (wd != 0.0) {
                p.muli(1.0 - lr * wd);
            }
        } else if (wd != 0.0) {
            coupled = p.mul(wd).addi(g);
            g = coupled;
        }
        INDArray mi = tm.flat();
        INDArray vi = tv.flat();
        axpby(1.0 - b1, g, b1, mi);
        INDArray g2 = g.mul(g);
        axpby(1.0 - b2, g2, b2, vi);
        INDArray denominator = vi.div(bc2);
        Transforms.sqrt(denominator, false).addi(eps);
        INDArray update = mi.div(bc1).muli(lr).divi(denominator);
        p.subi(update);
        release(coupled, g2, denominator, update);
    }

    // ================================================================ lifecycle and checks

    /** Frees temporaries now rather than at garbage collection (ND4J's memory is native). */
    private static void release(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a != null && a.closeable()) {
                a.close();
            }
        }
    }

    private <R extends Nd4jResource> R register(R resource) {
        live.add(resource);
        return resource;
    }

    /** Called by a resource when it is closed. */
    void released(Nd4jResource resource) {
        live.remove(resource);
    }

    private void ensureOpen(String method) {
        if (closed) {
            throw new IllegalStateException(method + ": backend '" + Nd4jBackendProvider.ID
                    + "' is closed");
        }
    }

    private static DataType dataType(NumericType<?> type) {
        return type == NumericType.FLOAT32 ? DataType.FLOAT : DataType.DOUBLE;
    }

    /** @return the tensor as this backend's, after checking it is not null, ours and open */
    private Nd4jTensor<?> tensor(Tensor<?> t, String name) {
        return owned(t, name, Nd4jTensor.class, this);
    }

    /** @return the mask as this backend's, after checking it is not null, ours and open */
    private Nd4jBitMask mask(BitMask mask, String name) {
        return owned(mask, name, Nd4jBitMask.class, this);
    }










}
