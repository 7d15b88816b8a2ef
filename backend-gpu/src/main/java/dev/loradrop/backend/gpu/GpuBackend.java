package dev.loradrop.backend.gpu;

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

import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_TRUE;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.blast.CLBlast;
import org.jocl.blast.CLBlastLayout;
import org.jocl.blast.CLBlastTranspose;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The OpenCL backend: tensors and masks are device buffers; GEMM is CLBlast's, every other kernel
 * is ours ({@code kernels.cl}). Data reaches the host only through {@code read}, {@code
 * toFloatArray}/{@code toDoubleArray}, {@code toLongArray} and the scalars reductions and losses
 * return (a few partial sums).
 *
 * <p>One in-order command queue per backend: kernels are enqueued without waiting, and every
 * host transfer blocks, so results are always complete when they are read. Every method checks
 * all its arguments before it enqueues anything. FLOAT64 tensors need the {@code cl_khr_fp64}
 * extension: on a device without it, allocating or uploading one throws
 * {@link UnsupportedOperationException}. Calls from several threads are allowed, as the SPI
 * requires: the operations are {@code synchronized}, because they share the queue, the kernel
 * objects (whose arguments are set per launch) and the reduction scratch buffers, so concurrent
 * calls run one after another. Closing a tensor from another thread is safe.
 */
public final class GpuBackend implements ComputeBackend {

    private final DeviceContext device;
    private final cl_command_queue queue;
    private final Set<DeviceMemory> live = ConcurrentHashMap.newKeySet();
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final cl_mem dummy;
    private final cl_mem[] scratch = new cl_mem[2];
    private final long[] scratchBytes = new long[2];
    private volatile boolean closed;

    /**
     * @param device the shared context of the chosen device
     */
    GpuBackend(DeviceContext device) {
        this.device = Objects.requireNonNull(device, "device");
        int[] err = new int[1];
        @SuppressWarnings("deprecation") // clCreateCommandQueueWithProperties needs OpenCL 2.0
        cl_command_queue q = CL.clCreateCommandQueue(device.context, device.info.device, 0, err);
        OpenClException.check(err[0], "clCreateCommandQueue(" + device.info.name + ")");
        this.queue = q;
        cl_mem placeholder = null;
        try {
            placeholder = createBuffer(64, null, "the placeholder for absent arguments");
            // Compile (or fetch) the FLOAT32 program now, so that a broken driver fails here.
            device.program(NumericType.FLOAT32);
        } catch (RuntimeException e) {
            if (placeholder != null) {
                CL.clReleaseMemObject(placeholder);
            }
            CL.clReleaseCommandQueue(q);
            throw e;
        }
        this.dummy = placeholder;
    }

    @Override
    public String id() {
        return GpuBackendProvider.ID;
    }

    @Override
    public Map<String, String> describe() {
        ensureOpen("describe");
        DeviceInfo d = device.info;
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("id", GpuBackendProvider.ID);
        facts.put("device", d.name);
        facts.put("device.index", Integer.toString(d.index));
        facts.put("device.type", d.typeName());
        facts.put("platform", d.platformName);
        facts.put("opencl.version", d.version);
        facts.put("driver.version", d.driverVersion);
        facts.put("compute.units", Integer.toString(d.computeUnits));
        facts.put("global.memory.mib", Long.toString(d.globalMemory >> 20));
        facts.put("max.allocation.mib", Long.toString(d.maxAllocation >> 20));
        facts.put("fp64", Boolean.toString(d.fp64));
        facts.put("accumulation", d.fp64 ? "double" : "float (no cl_khr_fp64)");
        facts.put("gemm", "CLBlast (org.jocl:jocl-blast)");
        facts.put("java.version", System.getProperty("java.version", "?"));
        return Collections.unmodifiableMap(facts);
    }

    @Override
    public String toString() {
        return "GpuBackend[" + device.info.summary() + (closed ? ", closed" : ", live="
                + live.size()) + "]";
    }

    // ================================================================ memory

    @Override
    public synchronized <T extends Number> Tensor<T> allocate(NumericType<T> type, int... shape) {
        ensureOpen("allocate");
        Objects.requireNonNull(type, "type");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        requireSupported(type);
        long bytes = bytesOf(dims, size, type);
        cl_mem buffer = createBuffer(bytes, null, "allocate");
        if (buffer != null) {
            try {
                zero(buffer, bytes);
            } catch (RuntimeException e) {
                CL.clReleaseMemObject(buffer);
                throw e;
            }
        }
        return new GpuTensor<>(this, memory(buffer, bytes, "tensor"), type, dims, size);
    }

    @Override
    public synchronized Tensor<Float> upload(float[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        requireLength(data.length, size, dims);
        long bytes = bytesOf(dims, size, NumericType.FLOAT32);
        cl_mem buffer = createBuffer(bytes, Pointer.to(data), "upload");
        return new GpuTensor<>(this, memory(buffer, bytes, "tensor"), NumericType.FLOAT32, dims,
                size);
    }

    @Override
    public synchronized Tensor<Double> upload(double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(data, "data");
        int[] dims = shapeCopy(shape);
        int size = sizeOf(dims);
        requireLength(data.length, size, dims);
        requireSupported(NumericType.FLOAT64);
        long bytes = bytesOf(dims, size, NumericType.FLOAT64);
        cl_mem buffer = createBuffer(bytes, Pointer.to(data), "upload");
        return new GpuTensor<>(this, memory(buffer, bytes, "tensor"), NumericType.FLOAT64, dims,
                size);
    }

    @Override
    public synchronized <T extends Number> Tensor<T> upload(NumericType<T> type, double[] data, int... shape) {
        ensureOpen("upload");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        return ComputeBackend.super.upload(type, data, shape);
    }

    @Override
    public synchronized <T extends Number> Tensor<T> copyOf(Tensor<T> src) {
        ensureOpen("copyOf");
        tensor(src, "src");
        return ComputeBackend.super.copyOf(src);
    }

    @Override
    public synchronized <T extends Number> void copy(Tensor<T> src, int srcOffset, Tensor<T> dst,
                                        int dstOffset, int length) {
        ensureOpen("copy");
        GpuTensor<?> s = tensor(src, "src");
        GpuTensor<?> d = tensor(dst, "dst");
        sameType(s, "src", d, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        if (s == d && length > 0 && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
            throw new IllegalArgumentException("dst: expected a range that does not overlap the "
                    + "source range when dst is src, got srcOffset=" + srcOffset + ", dstOffset="
                    + dstOffset + ", length=" + length);
        }
        if (length == 0) {
            return;
        }
        long es = s.type().byteSize();
        OpenClException.check(CL.clEnqueueCopyBuffer(queue, s.buffer(), d.buffer(),
                srcOffset * es, dstOffset * es, length * es, 0, null, null), "clEnqueueCopyBuffer");
    }

    @Override
    public synchronized void write(Tensor<?> dst, int dstOffset, float[] src, int srcOffset, int length) {
        ensureOpen("write");
        GpuTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        if (length == 0) {
            return;
        }
        if (d.isFloat()) {
            writeBuffer(d, dstOffset, Pointer.to(src).withByteOffset(srcOffset * 4L), length);
        } else {
            double[] wide = new double[length];
            for (int i = 0; i < length; i++) {
                wide[i] = src[srcOffset + i];
            }
            writeBuffer(d, dstOffset, Pointer.to(wide), length);
        }
    }

    @Override
    public synchronized void write(Tensor<?> dst, int dstOffset, double[] src, int srcOffset, int length) {
        ensureOpen("write");
        GpuTensor<?> d = tensor(dst, "dst");
        Objects.requireNonNull(src, "src");
        checkRange("dst", d.size(), "dstOffset", dstOffset, length);
        checkRange("src", src.length, "srcOffset", srcOffset, length);
        if (length == 0) {
            return;
        }
        if (d.isFloat()) {
            float[] narrow = new float[length];
            for (int i = 0; i < length; i++) {
                narrow[i] = (float) src[srcOffset + i];
            }
            writeBuffer(d, dstOffset, Pointer.to(narrow), length);
        } else {
            writeBuffer(d, dstOffset, Pointer.to(src).withByteOffset(srcOffset * 8L), length);
        }
    }

    @Override
    public synchronized void read(Tensor<?> src, int srcOffset, float[] dst, int dstOffset, int length) {
        ensureOpen("read");
        GpuTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        if (length == 0) {
            return;
        }
        if (s.isFloat()) {
            readBuffer(s.buffer(), srcOffset * 4L, Pointer.to(dst).withByteOffset(dstOffset * 4L),
                    length * 4L);
        } else {
            double[] wide = new double[length];
            readBuffer(s.buffer(), srcOffset * 8L, Pointer.to(wide), length * 8L);
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = (float) wide[i];
            }
        }
    }

    @Override
    public synchronized void read(Tensor<?> src, int srcOffset, double[] dst, int dstOffset, int length) {
        ensureOpen("read");
        GpuTensor<?> s = tensor(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkRange("src", s.size(), "srcOffset", srcOffset, length);
        checkRange("dst", dst.length, "dstOffset", dstOffset, length);
        if (length == 0) {
            return;
        }
        if (s.isFloat()) {
            float[] narrow = new float[length];
            readBuffer(s.buffer(), srcOffset * 4L, Pointer.to(narrow), length * 4L);
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = narrow[i];
            }
        } else {
            readBuffer(s.buffer(), srcOffset * 8L, Pointer.to(dst).withByteOffset(dstOffset * 8L),
                    length * 8L);
        }
    }

    @Override
    public synchronized void fill(Tensor<?> t, double value) {
        ensureOpen("fill");
        GpuTensor<?> x = tensor(t, "t");
        if (x.size() == 0) {
            return;
        }
        Pointer pattern = x.isFloat() ? Pointer.to(new float[] {(float) value})
                : Pointer.to(new double[] {value});
        long es = x.type().byteSize();
        OpenClException.check(CL.clEnqueueFillBuffer(queue, x.buffer(), pattern, es, 0,
                x.size() * es, 0, null, null), "clEnqueueFillBuffer");
    }

    @Override
    public synchronized BitMask allocateMask(int size) {
        ensureOpen("allocateMask");
        requireNonNegative("size", size);
        long bytes = (long) ((size + 63) >>> 6) * Sizeof.cl_ulong;
        cl_mem buffer = createBuffer(bytes, null, "allocateMask");
        if (buffer != null) {
            try {
                zero(buffer, bytes);
            } catch (RuntimeException e) {
                CL.clReleaseMemObject(buffer);
                throw e;
            }
        }
        return new GpuBitMask(this, memory(buffer, bytes, "mask"), size);
    }

    /** @return the words of an open mask of this backend */
    long[] readMask(GpuBitMask mask) {
        ensureOpen("toLongArray");
        long[] words = new long[mask.words()];
        if (words.length > 0) {
            readBuffer(mask.buffer(), 0, Pointer.to(words), words.length * 8L);
        }
        return words;
    }

    @Override
    public long liveAllocations() {
        return live.size();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        CL.clFinish(queue);
        for (DeviceMemory m : new ArrayList<>(live)) {
            m.release();
        }
        live.clear();
        for (cl_kernel k : kernels.values()) {
            CL.clReleaseKernel(k);
        }
        kernels.clear();
        for (int i = 0; i < scratch.length; i++) {
            if (scratch[i] != null) {
                CL.clReleaseMemObject(scratch[i]);
                scratch[i] = null;
            }
        }
        CL.clReleaseMemObject(dummy);
        CL.clReleaseCommandQueue(queue);
    }

    // ================================================================ linear algebra

    @Override
    public synchronized <T extends Number> void gemm(boolean transA, boolean transB, int m, int n, int k,
                                        double alpha, Tensor<T> a, Tensor<T> b, double beta,
                                        Tensor<T> c) {
        ensureOpen("gemm");
        requireNonNegative("m", m);
        requireNonNegative("n", n);
        requireNonNegative("k", k);
        GpuTensor<?> ta = tensor(a, "a");
        GpuTensor<?> tb = tensor(b, "b");
        GpuTensor<?> tc = tensor(c, "c");
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
        NumericType<?> type = tc.type();
        double alphaR = round(type, alpha);
        double betaR = round(type, beta);
        if (k == 0 || alphaR == 0.0) {
            // As in BLAS: A and B are not read, C = beta * C (beta 0 clears, even NaN).
            kernel(type, "scale").arg(m * n).real(type, betaR).arg(tc).run(m * n);
            return;
        }
        if (betaR == 0.0) {
            zero(tc.buffer(), (long) m * n * type.byteSize()); // so that NaN in C does not spread
        }
        int layout = CLBlastLayout.CLBlastLayoutRowMajor;
        int opA = transA ? CLBlastTranspose.CLBlastTransposeYes : CLBlastTranspose.CLBlastTransposeNo;
        int opB = transB ? CLBlastTranspose.CLBlastTransposeYes : CLBlastTranspose.CLBlastTransposeNo;
        long lda = transA ? m : k;
        long ldb = transB ? k : n;
        if (type == NumericType.FLOAT32) {
            OpenClException.checkBlast(CLBlast.CLBlastSgemm(layout, opA, opB, m, n, k,
                    (float) alphaR, ta.buffer(), 0, lda, tb.buffer(), 0, ldb, (float) betaR,
                    tc.buffer(), 0, n, queue, null), "CLBlastSgemm");
        } else {
            OpenClException.checkBlast(CLBlast.CLBlastDgemm(layout, opA, opB, m, n, k, alphaR,
                    ta.buffer(), 0, lda, tb.buffer(), 0, ldb, betaR, tc.buffer(), 0, n, queue,
                    null), "CLBlastDgemm");
        }
    }

    @Override
    public synchronized <T extends Number> void axpby(double alpha, Tensor<T> x, double beta, Tensor<T> y) {
        ensureOpen("axpby");
        GpuTensor<?> tx = tensor(x, "x");
        GpuTensor<?> ty = tensor(y, "y");
        sameType(tx, "x", ty, "y");
        requireSameSize(tx, "x", ty, "y");
        NumericType<?> type = tx.type();
        kernel(type, "axpby").arg(tx.size()).real(type, alpha).arg(tx).real(type, beta).arg(ty)
                .run(tx.size());
    }

    @Override
    public synchronized <T extends Number> void addBias(Tensor<T> y, Tensor<T> bias) {
        ensureOpen("addBias");
        GpuTensor<?> ty = tensor(y, "y");
        GpuTensor<?> tb = tensor(bias, "bias");
        sameType(ty, "y", tb, "bias");
        requireMultiple(ty, "y", tb.size(), "the size of bias");
        kernel(ty.type(), "add_bias").arg(ty.size()).arg(tb.size()).arg(ty).arg(tb).run(ty.size());
    }

    @Override
    public synchronized <T extends Number> void columnSums(Tensor<T> src, double beta, Tensor<T> dst) {
        ensureOpen("columnSums");
        GpuTensor<?> ts = tensor(src, "src");
        GpuTensor<?> td = tensor(dst, "dst");
        sameType(ts, "src", td, "dst");
        requireMultiple(ts, "src", td.size(), "the size of dst");
        int cols = td.size();
        int rows = cols == 0 ? 0 : ts.size() / cols;
        NumericType<?> type = ts.type();
        kernel(type, "column_sums").arg(rows).arg(cols).arg(ts).real(type, beta).arg(td).run(cols);
    }

    // ================================================================ activations

    @Override
    public synchronized <T extends Number> void activate(Activation activation, Tensor<T> pre, Tensor<T> out) {
        ensureOpen("activate");
        Objects.requireNonNull(activation, "activation");
        GpuTensor<?> tp = tensor(pre, "pre");
        GpuTensor<?> to = tensor(out, "out");
        sameType(tp, "pre", to, "out");
        requireSameSize(tp, "pre", to, "out");
        kernel(tp.type(), "activate").arg(tp.size()).arg(activationCode(activation)).arg(tp)
                .arg(to).run(tp.size());
    }

    @Override
    public synchronized <T extends Number> void activationBackward(Activation activation, Tensor<T> pre,
                                                      Tensor<T> out, Tensor<T> dOut,
                                                      Tensor<T> dPre) {
        ensureOpen("activationBackward");
        Objects.requireNonNull(activation, "activation");
        GpuTensor<?> tp = tensor(pre, "pre");
        GpuTensor<?> to = tensor(out, "out");
        GpuTensor<?> tg = tensor(dOut, "dOut");
        GpuTensor<?> td = tensor(dPre, "dPre");
        sameType(tp, "pre", to, "out");
        sameType(tp, "pre", tg, "dOut");
        sameType(tp, "pre", td, "dPre");
        requireSameSize(tp, "pre", to, "out");
        requireSameSize(tp, "pre", tg, "dOut");
        requireSameSize(tp, "pre", td, "dPre");
        kernel(tp.type(), "activation_backward").arg(tp.size()).arg(activationCode(activation))
                .arg(tp).arg(tg).arg(td).run(tp.size());
    }

    // ================================================================ masks

    @Override
    public synchronized void generateMask(BitMask mask, long seed, int stream, int step, double dropoutRate) {
        ensureOpen("generateMask");
        GpuBitMask bm = mask(mask, "mask");
        long threshold = MaskStream.keepThreshold(dropoutRate);
        int words = bm.words();
        kernel(NumericType.FLOAT32, "generate_mask").arg(words).arg(bm.size()).arg((int) seed)
                .arg((int) (seed >>> 32)).arg(step).arg(stream).argULong(threshold).arg(bm)
                .run(words);
    }

    @Override
    public synchronized <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask,
                                                  boolean broadcastRows, double scale,
                                                  double beta, Tensor<T> dst) {
        ensureOpen("maskedScaleAdd");
        GpuTensor<?> ts = tensor(src, "src");
        GpuBitMask bm = mask == null ? null : mask(mask, "mask");
        GpuTensor<?> td = tensor(dst, "dst");
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
        int mode = bm == null ? 0 : broadcastRows ? 2 : 1;
        NumericType<?> type = ts.type();
        kernel(type, "masked_scale_add").arg(ts.size()).arg(mode).arg(cols).arg(ts)
                .arg(bm == null ? null : bm.buffer()).real(type, scale).real(type, beta).arg(td)
                .run(ts.size());
    }

    // ================================================================ reductions

    @Override
    public synchronized double sum(Tensor<?> t) {
        ensureOpen("sum");
        GpuTensor<?> x = tensor(t, "t");
        int n = x.size();
        if (n == 0) {
            return 0.0;
        }
        if (!device.accumulatesInDouble()) {
            // No cl_khr_fp64 (so x is FLOAT32): the SPI requires double accumulation, which only
            // the host can do here.
            double s = 0.0;
            for (float v : x.toFloatArray()) {
                s += v;
            }
            return s;
        }
        int groups = groups(n);
        cl_mem partials = scratch(0, groups * 8L);
        kernel(x.type(), "sum_partials").arg(n).arg(x).arg(partials).runGroups(groups);
        return sumPartials(partials, groups, true);
    }

    @Override
    public synchronized boolean allFinite(Tensor<?> t) {
        ensureOpen("allFinite");
        GpuTensor<?> x = tensor(t, "t");
        if (x.size() == 0) {
            return true;
        }
        cl_mem flag = scratch(0, 4);
        zero(flag, 4);
        kernel(x.type(), "all_finite").arg(x.size()).arg(x).arg(flag).run(x.size());
        int[] result = new int[1];
        readBuffer(flag, 0, Pointer.to(result), 4);
        return result[0] == 0;
    }

    // ================================================================ losses

    @Override
    public synchronized <T extends Number> double meanSquaredError(Tensor<T> pred, Tensor<T> target,
                                                      Tensor<T> grad) {
        ensureOpen("meanSquaredError");
        GpuTensor<?> tp = tensor(pred, "pred");
        GpuTensor<?> tt = tensor(target, "target");
        GpuTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tp, "pred", tt, "target");
        requireSameSize(tp, "pred", tt, "target");
        if (tg != null) {
            sameType(tp, "pred", tg, "grad");
            requireSameSize(tp, "pred", tg, "grad");
        }
        int n = tp.size();
        if (n == 0) {
            return Double.NaN; // 0 / 0, as PyTorch's mean reductions and backend-cpu
        }
        int groups = groups(n);
        cl_mem partials = scratch(0, groups * accBytes());
        kernel(tp.type(), "mse").arg(n).arg(tp).arg(tt).arg(tg == null ? 0 : 1)
                .arg(tg == null ? null : tg.buffer()).arg(partials).runGroups(groups);
        return sumPartials(partials, groups, device.accumulatesInDouble()) / n;
    }

    @Override
    public synchronized <T extends Number> double softmaxCrossEntropy(int classes, Tensor<T> logits,
                                                         Tensor<T> target, Tensor<T> grad) {
        ensureOpen("softmaxCrossEntropy");
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        GpuTensor<?> tl = tensor(logits, "logits");
        GpuTensor<?> tt = tensor(target, "target");
        GpuTensor<?> tg = grad == null ? null : tensor(grad, "grad");
        sameType(tl, "logits", tt, "target");
        requireMultiple(tl, "logits", classes, "classes=" + classes);
        requireSameSize(tl, "logits", tt, "target");
        if (tg != null) {
            sameType(tl, "logits", tg, "grad");
            requireSameSize(tl, "logits", tg, "grad");
        }
        int rows = tl.size() / classes;
        if (rows == 0) {
            return Double.NaN; // 0 / 0, as backend-cpu
        }
        NumericType<?> type = tl.type();
        cl_mem rowLoss = scratch(0, rows * accBytes());
        kernel(type, "softmax_ce").arg(rows).arg(classes).arg(tl).arg(tt).arg(tg == null ? 0 : 1)
                .arg(tg == null ? null : tg.buffer()).arg(rowLoss).run(rows);
        int groups = groups(rows);
        cl_mem partials = scratch(1, groups * accBytes());
        kernel(type, "acc_partials").arg(rows).arg(rowLoss).arg(partials).runGroups(groups);
        return sumPartials(partials, groups, device.accumulatesInDouble()) / rows;
    }

    // ================================================================ optimisers

    @Override
    public synchronized <T extends Number> void sgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity,
                                           double learningRate, double momentum,
                                           double weightDecay) {
        ensureOpen("sgdStep");
        GpuTensor<?> tp = tensor(param, "param");
        GpuTensor<?> tg = tensor(grad, "grad");
        if (momentum != 0.0) {
            Objects.requireNonNull(velocity, "velocity (required when momentum is not 0)");
        }
        GpuTensor<?> tv = velocity == null ? null : tensor(velocity, "velocity");
        sameType(tp, "param", tg, "grad");
        requireSameSize(tp, "param", tg, "grad");
        if (tv != null) {
            sameType(tp, "param", tv, "velocity");
            requireSameSize(tp, "param", tv, "velocity");
            requireDistinct(tv, "velocity", tp, "param");
            requireDistinct(tv, "velocity", tg, "grad");
        }
        requireDistinct(tp, "param", tg, "grad");
        NumericType<?> type = tp.type();
        // A given velocity is always used (with momentum 0 it ends up holding g), as backend-cpu.
        kernel(type, "sgd_step").arg(tp.size()).arg(tp).arg(tg).arg(tv == null ? 0 : 1)
                .arg(tv == null ? null : tv.buffer()).acc(round(type, learningRate))
                .acc(round(type, momentum)).acc(round(type, weightDecay)).run(tp.size());
    }

    @Override
    public synchronized <T extends Number> void adamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m,
                                            Tensor<T> v, double learningRate, double beta1,
                                            double beta2, double epsilon, double weightDecay,
                                            boolean decoupledWeightDecay, int step) {
        ensureOpen("adamStep");
        GpuTensor<?> tp = tensor(param, "param");
        GpuTensor<?> tg = tensor(grad, "grad");
        GpuTensor<?> tm = tensor(m, "m");
        GpuTensor<?> tv = tensor(v, "v");
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
        NumericType<?> type = tp.type();
        double lr = round(type, learningRate);
        double b1 = round(type, beta1);
        double b2 = round(type, beta2);
        double wd = round(type, weightDecay);
        kernel(type, "adam_step").arg(tp.size()).arg(tp).arg(tg).arg(tm).arg(tv).acc(lr).acc(b1)
                .acc(b2).acc(round(type, epsilon))
                .acc(decoupledWeightDecay ? 1.0 - lr * wd : 1.0)
                .acc(decoupledWeightDecay ? 0.0 : wd)
                .acc(1.0 - Math.pow(b1, step)).acc(1.0 - Math.pow(b2, step)).run(tp.size());
    }

    // ================================================================ OpenCL plumbing

    /** Arguments of one kernel launch, set in order. */
    private final class Launch {
        private final cl_kernel kernel;
        private final String name;
        private int index;

        Launch(cl_kernel kernel, String name) {
            this.kernel = kernel;
            this.name = name;
        }

        private Launch set(long size, Pointer value) {
            OpenClException.check(CL.clSetKernelArg(kernel, index, size, value),
                    "clSetKernelArg(" + name + ", " + index + ")");
            index++;
            return this;
        }

        Launch arg(int value) {
            return set(Sizeof.cl_int, Pointer.to(new int[] {value}));
        }

        Launch argULong(long value) {
            return set(Sizeof.cl_ulong, Pointer.to(new long[] {value}));
        }

        /** A buffer; null (an absent optional argument) passes a placeholder never read. */
        Launch arg(cl_mem buffer) {
            return set(Sizeof.cl_mem, Pointer.to(buffer == null ? dummy : buffer));
        }

        Launch arg(GpuResource resource) {
            return arg(resource.buffer());
        }

        /** A scalar of the element type (rounded to float for FLOAT32). */
        Launch real(NumericType<?> type, double value) {
            return type == NumericType.FLOAT32 ? set(Sizeof.cl_float,
                    Pointer.to(new float[] {(float) value}))
                    : set(Sizeof.cl_double, Pointer.to(new double[] {value}));
        }

        /** A scalar of the accumulation type. */
        Launch acc(double value) {
            return device.accumulatesInDouble()
                    ? set(Sizeof.cl_double, Pointer.to(new double[] {value}))
                    : set(Sizeof.cl_float, Pointer.to(new float[] {(float) value}));
        }

        /** One work item per element (padded to the work-group size); nothing for n = 0. */
        void run(long n) {
            if (n == 0) {
                return;
            }
            long global = (n + DeviceContext.WG - 1) / DeviceContext.WG * DeviceContext.WG;
            OpenClException.check(CL.clEnqueueNDRangeKernel(queue, kernel, 1, null,
                    new long[] {global}, null, 0, null, null), "clEnqueueNDRangeKernel(" + name + ")");
        }

        /** A fixed number of reduction work groups. */
        void runGroups(int groups) {
            OpenClException.check(CL.clEnqueueNDRangeKernel(queue, kernel, 1, null,
                    new long[] {(long) groups * DeviceContext.WG},
                    new long[] {DeviceContext.WG}, 0, null, null),
                    "clEnqueueNDRangeKernel(" + name + ")");
        }
    }

    private Launch kernel(NumericType<?> type, String name) {
        String key = type.name() + "/" + name;
        cl_kernel k = kernels.get(key);
        if (k == null) {
            int[] err = new int[1];
            k = CL.clCreateKernel(device.program(type), name, err);
            OpenClException.check(err[0], "clCreateKernel(" + name + ", " + type + ")");
            kernels.put(key, k);
        }
        return new Launch(k, name);
    }

    /** Reduction work groups for n elements: up to 64, so that results depend on n only. */
    private static int groups(int n) {
        return (int) Math.max(1, Math.min(64, ((long) n + DeviceContext.WG - 1) / DeviceContext.WG));
    }

    private long accBytes() {
        return device.accumulatesInDouble() ? 8 : 4;
    }

    /** Reads {@code groups} partial sums and adds them in double, in order. */
    private double sumPartials(cl_mem partials, int groups, boolean doubles) {
        double s = 0.0;
        if (doubles) {
            double[] p = new double[groups];
            readBuffer(partials, 0, Pointer.to(p), groups * 8L);
            for (double v : p) {
                s += v;
            }
        } else {
            float[] p = new float[groups];
            readBuffer(partials, 0, Pointer.to(p), groups * 4L);
            for (float v : p) {
                s += v;
            }
        }
        return s;
    }

    /** @return scratch buffer {@code slot} with at least {@code bytes}, grown when needed */
    private cl_mem scratch(int slot, long bytes) {
        if (scratchBytes[slot] < bytes) {
            long size = Math.max(bytes, 4096);
            cl_mem grown = createBuffer(size, null, "scratch");
            if (scratch[slot] != null) {
                CL.clReleaseMemObject(scratch[slot]);
            }
            scratch[slot] = grown;
            scratchBytes[slot] = size;
        }
        return scratch[slot];
    }

    /** @return a new buffer, or null for 0 bytes (OpenCL has no empty buffers) */
    /**
     * @return the bytes of a tensor of {@code size} elements of {@code type}
     * @throws IllegalArgumentException if they are more than the device creates in one buffer
     */
    private long bytesOf(int[] dims, int size, NumericType<?> type) {
        long bytes = (long) size * type.byteSize();
        if (bytes > device.info.maxAllocation) {
            throw new IllegalArgumentException("shape: " + Arrays.toString(dims) + " of " + type
                    + " takes " + bytes + " bytes; device '" + device.info.name + "' creates "
                    + "buffers of at most " + device.info.maxAllocation
                    + " bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
        }
        return bytes;
    }

    private cl_mem createBuffer(long bytes, Pointer hostData, String what) {
        if (bytes == 0) {
            return null;
        }
        int[] err = new int[1];
        long flags = CL_MEM_READ_WRITE | (hostData == null ? 0 : CL_MEM_COPY_HOST_PTR);
        cl_mem buffer = CL.clCreateBuffer(device.context, flags, bytes, hostData, err);
        OpenClException.check(err[0], "clCreateBuffer(" + bytes + " bytes, " + what + ")");
        return buffer;
    }

    private DeviceMemory memory(cl_mem buffer, long bytes, String kind) {
        return new DeviceMemory(buffer, bytes, kind, live);
    }

    private void zero(cl_mem buffer, long bytes) {
        OpenClException.check(CL.clEnqueueFillBuffer(queue, buffer, Pointer.to(new int[] {0}),
                Sizeof.cl_int, 0, bytes, 0, null, null), "clEnqueueFillBuffer");
    }

    private void writeBuffer(GpuTensor<?> dst, int dstOffset, Pointer src, int length) {
        long es = dst.type().byteSize();
        OpenClException.check(CL.clEnqueueWriteBuffer(queue, dst.buffer(), CL_TRUE,
                dstOffset * es, length * es, src, 0, null, null), "clEnqueueWriteBuffer");
    }

    private void readBuffer(cl_mem src, long offsetBytes, Pointer dst, long bytes) {
        OpenClException.check(CL.clEnqueueReadBuffer(queue, src, CL_TRUE, offsetBytes, bytes, dst,
                0, null, null), "clEnqueueReadBuffer");
    }

    private static int activationCode(Activation activation) {
        switch (activation) {
            case IDENTITY: return 0;
            case RELU: return 1;
            case TANH: return 2;
            case SIGMOID: return 3;
            case GELU: return 4;
            default: throw new AssertionError(activation);
        }
    }

    private static double round(NumericType<?> type, double value) {
        return type == NumericType.FLOAT32 ? (double) (float) value : value;
    }

    // ================================================================ checks

    private void requireSupported(NumericType<?> type) {
        if (type == NumericType.FLOAT64 && !device.info.fp64) {
            throw new UnsupportedOperationException("type: FLOAT64 needs the OpenCL extension "
                    + "cl_khr_fp64, which device '" + device.info.name + "' lacks; use FLOAT32, "
                    + "another device (-D" + Devices.DEVICE_PROPERTY + "=...) or another backend");
        }
    }

    private void ensureOpen(String method) {
        if (closed) {
            throw new IllegalStateException(method + ": backend '" + GpuBackendProvider.ID
                    + "' is closed");
        }
    }

    /** @return the tensor as this backend's, after checking it is not null, ours and open */
    private GpuTensor<?> tensor(Tensor<?> t, String name) {
        return owned(t, name, GpuTensor.class, this);
    }

    /** @return the mask as this backend's, after checking it is not null, ours and open */
    private GpuBitMask mask(BitMask mask, String name) {
        return owned(mask, name, GpuBitMask.class, this);
    }










}
