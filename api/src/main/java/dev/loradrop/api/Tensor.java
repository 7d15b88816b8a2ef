package dev.loradrop.api;

import dev.loradrop.api.spi.ComputeBackend;

/**
 * A dense, row-major array of numbers that lives in the memory of the {@link ComputeBackend} that
 * made it.
 *
 * <p>Tensors are created by a backend ({@link ComputeBackend#allocate}, {@link
 * ComputeBackend#upload(float[], int...)}) and stay in backend memory between operations; copies to
 * the host happen only through {@link #toFloatArray()} and {@link #toDoubleArray()}. A tensor is
 * closed exactly once by its owner; every use after {@link #close()} fails with an
 * {@link IllegalStateException}. Tensors are not thread-safe.
 *
 * @param <T> the element type, {@code Float} or {@code Double}
 */
public interface Tensor<T extends Number> extends AutoCloseable {

    /** @return the element type */
    NumericType<T> type();

    /** @return the backend that owns this tensor's memory */
    ComputeBackend backend();

    /** @return a copy of the shape; a scalar-free tensor always has rank at least 1 */
    int[] shape();

    /** @return the number of dimensions */
    int rank();

    /**
     * @param axis the axis, {@code 0 <= axis < rank()}
     * @return the extent of that axis
     */
    int dim(int axis);

    /** @return the number of elements, the product of the shape */
    int size();

    /**
     * Copies the elements to a new host array, converting to float if needed.
     *
     * @return the elements in row-major order
     * @throws IllegalStateException if the tensor is closed
     */
    float[] toFloatArray();

    /**
     * Copies the elements to a new host array, converting to double if needed.
     *
     * @return the elements in row-major order
     * @throws IllegalStateException if the tensor is closed
     */
    double[] toDoubleArray();

    /** @return whether {@link #close()} has been called */
    boolean isClosed();

    /** Releases the backend memory. Idempotent. */
    @Override
    void close();
}
