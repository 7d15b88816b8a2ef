package dev.loradrop.api;

import dev.loradrop.api.spi.ComputeBackend;
import java.util.List;

/**
 * A differentiable layer computing on a {@link ComputeBackend}.
 *
 * <p>Inputs are {@code [..., inputSize]} tensors of the layer's backend and type; leading axes are
 * flattened into a batch, and the output is {@code [..., outputSize]} with the same leading axes.
 * {@link #forward} and {@link #backward} return new tensors the caller owns and closes. A layer
 * keeps a reference to the last training input for its backward pass, so that input must stay open
 * until {@link #backward} has run.
 *
 * <p>{@link #backward} overwrites (does not accumulate) the stored parameter gradients. Layers are
 * not thread-safe.
 *
 * @param <T> element type, {@code Float} or {@code Double}
 */
public interface ILayer<T extends Number> extends AutoCloseable {

    /** @return the backend whose tensors this layer takes and returns */
    ComputeBackend backend();

    /** @return the element type */
    NumericType<T> numericType();

    /** @return the width of the last input axis */
    int inputSize();

    /** @return the width of the last output axis */
    int outputSize();

    /**
     * Runs the layer. In training mode it caches what {@link #backward} needs.
     *
     * @param input {@code [..., inputSize]}
     * @return a new {@code [..., outputSize]} tensor the caller owns
     * @throws IllegalArgumentException if the input's width, type or backend is wrong
     */
    Tensor<T> forward(Tensor<T> input);

    /**
     * Back-propagates through the last forward pass: stores the parameter gradients and returns the
     * input gradient.
     *
     * @param outputGradient gradient of the loss with respect to the last output, same shape
     * @return a new tensor, the gradient with respect to the last input, which the caller owns
     * @throws IllegalStateException if no forward pass precedes it
     * @throws IllegalArgumentException if the gradient's shape differs from the last output's
     */
    Tensor<T> backward(Tensor<T> outputGradient);

    /**
     * Back-propagates like {@link #backward} and stores the same parameter gradients, but does not
     * compute the input gradient: for the first layer of a model, whose input is data. A dense
     * layer then skips its largest backward GEMM ({@code dy W}).
     *
     * <p>The default runs {@link #backward} and closes its result.
     *
     * @param outputGradient gradient of the loss with respect to the last output, same shape
     * @throws IllegalStateException if no forward pass precedes it
     * @throws IllegalArgumentException if the gradient's shape differs from the last output's
     */
    default void backwardParameters(Tensor<T> outputGradient) {
        backward(outputGradient).close();
    }

    /**
     * Plain gradient descent on the trainable parameters: {@code p -= learningRate * grad}.
     *
     * @param learningRate the step size, finite
     */
    void updateParameters(double learningRate);

    /**
     * The trainable parameters, in the order of the flat vector of {@link #getParameters()}.
     *
     * @return live parameter/gradient pairs; empty when nothing is trainable
     */
    List<Parameter<T>> parameters();

    /** @return the number of trainable scalars, the length of {@link #getParameters()} */
    int parameterCount();

    /** @return a new 1-d tensor holding all trainable parameters in {@link #parameters()} order */
    Tensor<T> getParameters();

    /**
     * Replaces all trainable parameters from a flat vector.
     *
     * @param flat a tensor of {@link #parameterCount()} elements
     * @throws IllegalArgumentException if its size is wrong; nothing changes then
     */
    void setParameters(Tensor<T> flat);

    /** @return a new 1-d tensor holding all parameter gradients in {@link #parameters()} order */
    Tensor<T> getParameterGradients();

    /** Sets every stored parameter gradient to zero. */
    void clearGradients();

    /**
     * @param training true for training (dropout active, inputs cached), false for inference
     */
    void setTrainingMode(boolean training);

    /** @return whether the layer is in training mode */
    boolean isTrainingMode();

    /** Drops cached inputs, outputs and masks; parameters are kept. */
    void resetState();

    /** Releases the layer's tensors. Idempotent. */
    @Override
    void close();
}
