package dev.loradrop.api.spi;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;

/**
 * A dense layer's inference computation {@code y = f(x W^T + b)} with its weights fixed, made by
 * {@link ComputeBackend#prepareLinear} for calls repeated with the same weights (compiled
 * inference). A backend may keep the weights in whatever form its kernels read fastest, and fuse
 * the bias and activation into the product's write-out.
 *
 * <p>Immutable once made: any number of threads may call {@link #apply} at once, each with its own
 * output. The results are those of {@code gemm(false, true, rows, out, in, 1, x, W, 0, y)}, then
 * {@code addBias(y, b)} and {@code activate(f, y, y)} on the same backend, to within the kit's
 * GEMM tolerance (the CPU backend gives the same bits).
 *
 * @param <T> element type
 */
public interface PreparedLinear<T extends Number> extends AutoCloseable {

    /** @return the element type */
    NumericType<T> type();

    /** @return {@code in}, the columns of x */
    int inputSize();

    /** @return {@code out}, the columns of y */
    int outputSize();

    /** @return the activation {@code f} */
    Activation activation();

    /**
     * {@code y = f(x W^T + b)}.
     *
     * @param rows rows of x and y, {@code >= 0}
     * @param x input, {@code rows * in} elements, of the backend that made this
     * @param y output, {@code rows * out} elements, overwritten; not {@code x}
     * @throws IllegalArgumentException naming the argument ({@code rows}, {@code x} or {@code y},
     *     as {@link ComputeBackend}'s conventions say), for wrong sizes, types or owner
     * @throws IllegalStateException if this or a tensor is closed (naming the tensor)
     */
    void apply(int rows, Tensor<T> x, Tensor<T> y);

    /** Releases the prepared weights; idempotent. */
    @Override
    void close();
}
