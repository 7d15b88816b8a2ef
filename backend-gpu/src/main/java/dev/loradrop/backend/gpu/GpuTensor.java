package dev.loradrop.backend.gpu;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;

/**
 * A tensor of the {@link GpuBackend}: an OpenCL buffer of {@code size} floats or doubles.
 *
 * @param <T> the element type
 */
final class GpuTensor<T extends Number> extends GpuResource implements Tensor<T> {

    private final NumericType<T> type;
    private final int[] shape;
    private final int size;

    GpuTensor(GpuBackend owner, DeviceMemory memory, NumericType<T> type, int[] shape, int size) {
        super(owner, memory);
        this.type = type;
        this.shape = shape;
        this.size = size;
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
        float[] out = new float[size];
        owner().read(this, 0, out, 0, size);
        return out;
    }

    @Override
    public double[] toDoubleArray() {
        ensureOpen("toDoubleArray");
        double[] out = new double[size];
        owner().read(this, 0, out, 0, size);
        return out;
    }

    @Override
    String kind() {
        return "tensor";
    }

    @Override
    public String toString() {
        return "GpuTensor" + Arrays.toString(shape) + " " + type + (isClosed() ? " (closed)" : "");
    }
}
