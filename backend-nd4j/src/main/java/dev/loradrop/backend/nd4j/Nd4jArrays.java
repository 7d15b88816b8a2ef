package dev.loradrop.backend.nd4j;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
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

    static void read(Nd4jTensor<?> t, int srcOffset, float[] dst, int dstOffset, int length) {
        if (length == 0) {
            return;
        }
        if (t.isFloat()) {
            floats(t).position(srcOffset).get(dst, dstOffset, length);
        } else {
            DoubleBuffer b = doubles(t);
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = (float) b.get(srcOffset + i);
            }
        }
    }

    static void read(Nd4jTensor<?> t, int srcOffset, double[] dst, int dstOffset, int length) {
        if (length == 0) {
            return;
        }
        if (t.isFloat()) {
            FloatBuffer b = floats(t);
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = b.get(srcOffset + i);
            }
        } else {
            doubles(t).position(srcOffset).get(dst, dstOffset, length);
        }
    }

    static void write(Nd4jTensor<?> t, int dstOffset, float[] src, int srcOffset, int length) {
        if (length == 0) {
            return;
        }
        if (t.isFloat()) {
            floats(t).position(dstOffset).put(src, srcOffset, length);
        } else {
            DoubleBuffer b = doubles(t);
            for (int i = 0; i < length; i++) {
                b.put(dstOffset + i, src[srcOffset + i]);
            }
        }
    }

    static void write(Nd4jTensor<?> t, int dstOffset, double[] src, int srcOffset, int length) {
        if (length == 0) {
            return;
        }
        if (t.isFloat()) {
            FloatBuffer b = floats(t);
            for (int i = 0; i < length; i++) {
                b.put(dstOffset + i, (float) src[srcOffset + i]);
            }
        } else {
            doubles(t).position(dstOffset).put(src, srcOffset, length);
        }
    }

    /** Copies between two tensors of one type, native memory to native memory. */
    static void copy(Nd4jTensor<?> src, int srcOffset, Nd4jTensor<?> dst, int dstOffset,
                     int length) {
        if (length == 0) {
            return;
        }
        if (src.isFloat()) {
            FloatBuffer from = floats(src).position(srcOffset).limit(srcOffset + length);
            floats(dst).position(dstOffset).put(from);
        } else {
            DoubleBuffer from = doubles(src).position(srcOffset).limit(srcOffset + length);
            doubles(dst).position(dstOffset).put(from);
        }
    }

    /** @return the tensor's elements as a direct buffer over its native memory, index 0 first */
    private static FloatBuffer floats(Nd4jTensor<?> t) {
        return t.flat().data().asNioFloat().slice();
    }

    private static DoubleBuffer doubles(Nd4jTensor<?> t) {
        return t.flat().data().asNioDouble().slice();
    }

}
