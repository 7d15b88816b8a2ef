package dev.loradrop.core.jit;

import dev.loradrop.api.Activation;
import dev.loradrop.api.Tensor;

/**
 * One dense stage of a folded graph: {@code y = activation(x * weight^T + bias)}, with every
 * linear branch (LoRA's {@code s * B A}) folded into {@code weight}. The tensors belong to whoever
 * received the stage.
 *
 * @param weight {@code [out, in]}, or null for the identity (then {@code out == in})
 * @param bias {@code [out]}, or null for none
 * @param activation the activation
 * @param inputSize in
 * @param outputSize out
 * @param <T> element type
 */
public record FoldedStage<T extends Number>(Tensor<T> weight, Tensor<T> bias,
                                            Activation activation, int inputSize, int outputSize)
        implements AutoCloseable {

    /** Closes the weight and the bias. */
    @Override
    public void close() {
        if (weight != null) {
            weight.close();
        }
        if (bias != null) {
            bias.close();
        }
    }
}
