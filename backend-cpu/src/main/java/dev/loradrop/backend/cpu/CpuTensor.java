package dev.loradrop.backend.cpu;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;

/**
 * A tensor of the {@link CpuBackend}: a {@code float[]} (FLOAT32) or {@code double[]} (FLOAT64)
 * on the Java heap, exactly {@link #size()} long.
 *
 * @param <T> the element type
 */
final class CpuTensor<T extends Number> extends CpuResource implements Tensor<T> {

    private final NumericType<T> type;
    private final int[] shape;
    private final int size;
    private float[] floats;
    private double[] doubles;

    /**
     * @param owner the backend
     * @param type the element type
     * @param shape validated extents (kept, not copied)
     * @param size their product
     * @param floats storage for FLOAT32, else null
     * @param doubles storage for FLOAT64, else null
     */
    CpuTensor(CpuBackend owner, NumericType<T> type, int[] shape, int size, float[] floats,
              double[] doubles) {
        super(owner);
        this.type = type;
        this.shape = shape;
        this.size = size;
        this.floats = floats;
        this.doubles = doubles;
    }

    /** @return the storage of a FLOAT32 tensor; callers have checked it is open */
    float[] floats() {
        return floats;
    }

    /** @return the storage of a FLOAT64 tensor; callers have checked it is open */
    double[] doubles() {
        return doubles;
    }

    boolean isFloat() {
        return type == NumericType.FLOAT32;
    }

    @Override
    public NumericType<T> type() {
        return type;
    }

    @Override
    public ComputeBackend backend() {
        return owner();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public int rank() {
        return shape.length;
    }

    @Override
    public int dim(int axis) {
        if (axis < 0 || axis >= shape.length) {
            throw new IndexOutOfBoundsException("axis: expected 0 <= axis < " + shape.length
                    + " (the rank), got " + axis);
        }
        return shape[axis];
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public float[] toFloatArray() {
        ensureOpen("toFloatArray");
        if (floats != null) {
            return floats.clone();
        }
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            out[i] = (float) doubles[i];
        }
        return out;
    }

    @Override
    public double[] toDoubleArray() {
        ensureOpen("toDoubleArray");
        if (doubles != null) {
            return doubles.clone();
        }
        double[] out = new double[size];
        for (int i = 0; i < size; i++) {
            out[i] = floats[i];
        }
        return out;
    }

    /** Hands the array back to the backend's pool for reuse, and drops this handle's reference. */
    @Override
    void releaseMemory() {
        if (floats != null) {
            owner().pool().release(floats);
        } else if (doubles != null) {
            owner().pool().release(doubles);
        }
        floats = null;
        doubles = null;
    }

    @Override
    String kind() {
        return "tensor";
    }

    @Override
    public String toString() {
        return "CpuTensor" + Arrays.toString(shape) + " " + type + (isClosed() ? " (closed)" : "");
    }
}
