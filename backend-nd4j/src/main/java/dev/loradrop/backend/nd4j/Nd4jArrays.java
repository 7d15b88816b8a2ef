package dev.loradrop.backend.nd4j;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.function.Supplier;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.pointers.PagedPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Interop between loradrop tensors of the {@code nd4j} backend and ND4J's {@code INDArray}: keep
 * your arrays, train LoRA-drop on them.
 *
 * <pre>{@code
 * try (ComputeBackend backend = BackendRegistry.discover().create("nd4j", BackendConfig.defaults())) {
 *     INDArray features = Nd4j.rand(DataType.FLOAT, 64, 784);          // yours, 'c' order
 *     try (Tensor<Float> x = Nd4jArrays.wrap(backend, features, NumericType.FLOAT32);
 *          Tensor<Float> y = adapter.forward(x)) {                    // x shares features' memory
 *         INDArray out = Nd4jArrays.unwrap(y);                         // a view of y, no copy
 *         System.out.println(out.shapeInfoToString());
 *     }
 * }
 * }</pre>
 *
 * <p>Sharing rules: {@link #wrap} shares the array's memory when the array is FLOAT32/FLOAT64 of
 * the requested type, row-major contiguous ('c' order with default strides), not a view with an
 * offset and not attached to an ND4J workspace; otherwise it copies (and converts). A shared
 * tensor's {@code close()} does not free the array (you own it). {@link #unwrap} always returns a
 * view: writes through it are writes to the tensor, and it is valid only while the tensor is open.
 */
public final class Nd4jArrays {

    private Nd4jArrays() {
    }

    /**
     * Wraps an INDArray as a tensor of an {@code nd4j} backend, without a copy where the layout
     * allows (see the class documentation).
     *
     * @param backend a backend made by the {@code nd4j} provider, open
     * @param array the array: FLOAT or DOUBLE (other types are copied and converted), every extent
     *     at most {@link Integer#MAX_VALUE}; a rank-0 scalar becomes shape {@code [1]}
     * @param type the element type of the tensor
     * @param <T> the element type
     * @return a tensor the caller owns; its shape is the array's
     * @throws IllegalArgumentException if the backend is not an {@code nd4j} backend, or the array
     *     is too large
     */
    public static <T extends Number> Tensor<T> wrap(ComputeBackend backend, INDArray array,
                                                    NumericType<T> type) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(array, "array");
        Objects.requireNonNull(type, "type");
        if (!(backend instanceof Nd4jBackend)) {
            throw new IllegalArgumentException("backend: expected a backend of '"
                    + Nd4jBackendProvider.ID + "', got '" + backend.id() + "' ("
                    + backend.getClass().getName() + ")");
        }
        return ((Nd4jBackend) backend).adopt(type, array);
    }

    /**
     * Wraps an INDArray as a tensor whose element type follows the array: FLOAT32 for FLOAT,
     * FLOAT64 for DOUBLE.
     *
     * @param backend a backend made by the {@code nd4j} provider
     * @param array a FLOAT or DOUBLE array
     * @return a tensor the caller owns
     * @throws IllegalArgumentException if the array is neither FLOAT nor DOUBLE
     */
    public static Tensor<?> wrap(ComputeBackend backend, INDArray array) {
        Objects.requireNonNull(array, "array");
        DataType dt = array.dataType();
        if (dt == DataType.FLOAT) {
            return wrap(backend, array, NumericType.FLOAT32);
        }
        if (dt == DataType.DOUBLE) {
            return wrap(backend, array, NumericType.FLOAT64);
        }
        throw new IllegalArgumentException("array: expected data type FLOAT or DOUBLE (or use "
                + "wrap(backend, array, type) to convert), got " + dt);
    }

    /**
     * Views a tensor of an {@code nd4j} backend as an INDArray of the tensor's shape, in 'c'
     * order, without a copy. The view is valid while the tensor is open; do not close it.
     *
     * @param tensor an open tensor of an {@code nd4j} backend
     * @return the view (a fresh empty array when the tensor has no elements)
     * @throws IllegalArgumentException if the tensor belongs to another backend
     * @throws IllegalStateException if the tensor is closed
     */
    public static INDArray unwrap(Tensor<?> tensor) {
        Objects.requireNonNull(tensor, "tensor");
        if (!(tensor instanceof Nd4jTensor)) {
            throw new IllegalArgumentException("tensor: expected a tensor of backend '"
                    + Nd4jBackendProvider.ID + "', got a " + tensor.getClass().getName());
        }
        Nd4jTensor<?> t = (Nd4jTensor<?>) tensor;
        t.ensureOpen("unwrap");
        if (t.size() == 0) {
            return outsideWorkspace(() -> Nd4j.create(t.dataType(), t.longShape()));
        }
        return t.flat().reshape('c', true, t.longShape());
    }

    // ------------------------------------------------------------------ package helpers

    /** Runs an allocation outside any workspace the calling thread has open. */
    @SuppressWarnings("try")
    static INDArray outsideWorkspace(Supplier<INDArray> allocation) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return allocation.get();
        }
    }

    /**
     * @return whether the array's memory can back a tensor of that data type as is: contiguous
     *     row-major with default strides, offset 0, not in a workspace, same data type
     */
    static boolean shareable(INDArray array, DataType type) {
        if (array.dataType() != type || array.isEmpty() || array.offset() != 0
                || array.isAttached() || array.length() != array.data().length()) {
            return false;
        }
        long[] shape = array.shape();
        long[] stride = array.stride();
        long expected = 1;
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            if (shape[axis] != 1 && stride[axis] != expected) {
                return false;
            }
            expected *= shape[axis];
        }
        return true;
    }

    /**
     * The most bytes of a tensor's memory one NIO view covers. A direct buffer holds at most
     * {@link Integer#MAX_VALUE} bytes, and ND4J's {@code asNioFloat()}/{@code asNioDouble()} view
     * a whole buffer from its start, so elements past that many bytes (FLOAT32 from index
     * 536,870,912, FLOAT64 from 268,435,456) are unreachable through them. The transfers below
     * therefore view a range through windows of at most this size, each starting at its own
     * native address.
     */
    static final int WINDOW_BYTES = 1 << 30;

    static void read(Nd4jTensor<?> t, int srcOffset, float[] dst, int dstOffset, int length) {
        read(t.flat(), t.size(), srcOffset, dst, dstOffset, length, WINDOW_BYTES);
    }

    static void read(Nd4jTensor<?> t, int srcOffset, double[] dst, int dstOffset, int length) {
        read(t.flat(), t.size(), srcOffset, dst, dstOffset, length, WINDOW_BYTES);
    }

    static void write(Nd4jTensor<?> t, int dstOffset, float[] src, int srcOffset, int length) {
        write(t.flat(), t.size(), dstOffset, src, srcOffset, length, WINDOW_BYTES);
    }

    static void write(Nd4jTensor<?> t, int dstOffset, double[] src, int srcOffset, int length) {
        write(t.flat(), t.size(), dstOffset, src, srcOffset, length, WINDOW_BYTES);
    }

    /** Copies between two tensors of one type, native memory to native memory. */
    static void copy(Nd4jTensor<?> src, int srcOffset, Nd4jTensor<?> dst, int dstOffset,
                     int length) {
        copy(src, srcOffset, dst, dstOffset, length, WINDOW_BYTES);
    }

    // The same transfers through windows of at most windowBytes (tests use small ones), on a
    // flat array of size elements (null when size is 0).

    static void read(INDArray t, int size, int srcOffset, float[] dst, int dstOffset, int length,
                     int windowBytes) {
        inWindows(t, size, srcOffset, dst.length, dstOffset, length, windowBytes, (w, done, n) -> {
            if (isFloat(t)) {
                w.asFloatBuffer().get(dst, dstOffset + done, n);
            } else {
                DoubleBuffer from = w.asDoubleBuffer();
                for (int i = dstOffset + done, end = i + n; i < end; i++) {
                    dst[i] = (float) from.get();
                }
            }
        });
    }

    static void read(INDArray t, int size, int srcOffset, double[] dst, int dstOffset, int length,
                     int windowBytes) {
        inWindows(t, size, srcOffset, dst.length, dstOffset, length, windowBytes, (w, done, n) -> {
            if (isFloat(t)) {
                FloatBuffer from = w.asFloatBuffer();
                for (int i = dstOffset + done, end = i + n; i < end; i++) {
                    dst[i] = from.get();
                }
            } else {
                w.asDoubleBuffer().get(dst, dstOffset + done, n);
            }
        });
    }

    static void write(INDArray t, int size, int dstOffset, float[] src, int srcOffset, int length,
                      int windowBytes) {
        inWindows(t, size, dstOffset, src.length, srcOffset, length, windowBytes, (w, done, n) -> {
            if (isFloat(t)) {
                w.asFloatBuffer().put(src, srcOffset + done, n);
            } else {
                DoubleBuffer to = w.asDoubleBuffer();
                for (int i = srcOffset + done, end = i + n; i < end; i++) {
                    to.put(src[i]);
                }
            }
        });
    }

    static void write(INDArray t, int size, int dstOffset, double[] src, int srcOffset,
                      int length, int windowBytes) {
        inWindows(t, size, dstOffset, src.length, srcOffset, length, windowBytes, (w, done, n) -> {
            if (isFloat(t)) {
                FloatBuffer to = w.asFloatBuffer();
                for (int i = srcOffset + done, end = i + n; i < end; i++) {
                    to.put((float) src[i]);
                }
            } else {
                w.asDoubleBuffer().put(src, srcOffset + done, n);
            }
        });
    }

    static void copy(Nd4jTensor<?> src, int srcOffset, Nd4jTensor<?> dst, int dstOffset,
                     int length, int windowBytes) {
        inWindows(src.flat(), src.size(), srcOffset, dst.size(), dstOffset, length, windowBytes,
                (w, done, n) -> window(dst.flat(), (long) dstOffset + done, n).put(w));
    }

    /** What a transfer does with one window: elements {@code [done, done + count)} of its range. */
    @FunctionalInterface
    interface Step {
        void run(ByteBuffer window, int done, int count);
    }

    /**
     * Runs {@code step} over the range {@code [offset, offset + length)} of {@code t} (of
     * {@code size} elements), in windows of at most {@code windowBytes}, after checking that
     * range and the other side's {@code [otherOffset, otherOffset + length)} of
     * {@code otherSize}: a bad range throws before anything is written, so a transfer never
     * stops half-way.
     */
    static void inWindows(INDArray t, int size, int offset, int otherSize,
                                  int otherOffset, int length, int windowBytes, Step step) {
        Objects.checkFromIndexSize(offset, length, size);
        Objects.checkFromIndexSize(otherOffset, length, otherSize);
        if (length == 0) {
            return;
        }
        int perWindow = windowBytes / elementBytes(t);
        if (perWindow < 1) {
            throw new IllegalArgumentException("windowBytes: expected at least "
                    + elementBytes(t) + " (one element), got " + windowBytes);
        }
        int done = 0;
        while (done < length) {                 // done + count <= length: no int overflow
            int count = Math.min(perWindow, length - done);
            step.run(window(t, (long) offset + done, count), done, count);
            done += count;
        }
    }

    /**
     * @return a native-order direct buffer over elements {@code [offset, offset + count)} of the
     *     array's memory, position 0; {@code count} elements fit in {@link Integer#MAX_VALUE}
     *     bytes. The pointers are fresh: the buffer's own {@code pointer()} is shared, and a
     *     position set on it would race with concurrent readers of the same tensor.
     */
    private static ByteBuffer window(INDArray t, long offset, int count) {
        long bytes = (long) count * elementBytes(t);
        Pointer start = new PagedPointer(t.data().addressPointer(), bytes,
                offset * elementBytes(t));
        return new BytePointer(start).asByteBuffer();
    }

    private static boolean isFloat(INDArray t) {
        return t.dataType() == DataType.FLOAT;
    }

    private static int elementBytes(INDArray t) {
        return isFloat(t) ? Float.BYTES : Double.BYTES;
    }

}
