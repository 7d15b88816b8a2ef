package dev.loradrop.core;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;

/**
 * A scratch tensor owned by a layer and reused across calls; it is reallocated only when the
 * requested element count changes. Kernels treat tensors as flat, so only the size matters.
 */
final class Workspace<T extends Number> implements AutoCloseable {

    private final ComputeBackend backend;
    private final NumericType<T> type;
    private Tensor<T> tensor;

    Workspace(ComputeBackend backend, NumericType<T> type) {
        this.backend = backend;
        this.type = type;
    }

    /** Returns a tensor of {@code rows * cols} elements; its contents are unspecified. */
    Tensor<T> get(int rows, int cols) {
        int size = Math.multiplyExact(rows, cols);
        if (tensor == null || tensor.size() != size) {
            close();
            tensor = backend.allocate(type, rows, cols);
        }
        return tensor;
    }

    /** @return the current tensor, or null if none was requested since the last close */
    Tensor<T> current() {
        return tensor;
    }

    @Override
    public void close() {
        if (tensor != null) {
            tensor.close();
            tensor = null;
        }
    }
}
