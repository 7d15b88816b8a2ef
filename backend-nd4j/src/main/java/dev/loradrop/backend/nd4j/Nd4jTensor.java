package dev.loradrop.backend.nd4j;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A tensor of the {@link Nd4jBackend}: a flat, contiguous, row-major INDArray of {@link #size()}
 * elements ({@code null} when the size is 0), plus the logical shape.
 *
 * @param <T> the element type
 */
final class Nd4jTensor<T extends Number> extends Nd4jResource implements Tensor<T> {

    private final NumericType<T> type;
    private final int[] shape;
    private final int size;
    private final boolean ownsMemory;
    private INDArray flat;

    /**
     * @param owner the backend
     * @param type the element type
     * @param shape validated extents (kept, not copied)
     * @param size their product
     * @param flat a rank-1 contiguous 'c' array of {@code size} elements of the matching data
     *     type, or null when size is 0
     * @param ownsMemory whether closing the tensor frees {@code flat}'s memory (false when it
     *     borrows the memory of an INDArray the caller wrapped)
     */
    Nd4jTensor(Nd4jBackend owner, NumericType<T> type, int[] shape, int size, INDArray flat,
               boolean ownsMemory) {
        super(owner);
        this.type = type;
        this.shape = shape;
        this.size = size;
        this.flat = flat;
        this.ownsMemory = ownsMemory;
    }

    /** @return the flat array, null when empty; callers have checked the tensor is open */
    INDArray flat() {
        return flat;
    }

    /** @return the flat array viewed as {@code rows x (size / rows)}, row-major, no copy */
    INDArray matrix(long cols) {
        return flat.reshape('c', size / cols, cols);
    }

    boolean isFloat() {
        return type == NumericType.FLOAT32;
    }

    DataType dataType() {
        return isFloat() ? DataType.FLOAT : DataType.DOUBLE;
    }

    /** @return the shape as ND4J wants it */
    long[] longShape() {
        return Arrays.stream(shape).asLongStream().toArray();
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
        Nd4jArrays.read(this, 0, out, 0, size);
        return out;
    }

    @Override
    public double[] toDoubleArray() {
        ensureOpen("toDoubleArray");
        double[] out = new double[size];
        Nd4jArrays.read(this, 0, out, 0, size);
        return out;
    }

    @Override
    void releaseMemory() {
        if (flat != null && ownsMemory && flat.closeable()) {
            flat.close();
        }
        flat = null;
    }

    @Override
    String kind() {
        return "tensor";
    }

    @Override
    public String toString() {
        return "Nd4jTensor" + Arrays.toString(shape) + " " + type + (isClosed() ? " (closed)" : "");
    }
}
