package dev.loradrop.api;

import java.util.Objects;

/**
 * A trainable parameter of a layer: its value and the gradient the last backward pass stored.
 *
 * <p>Both tensors are the layer's own, live storage: read and update them (optimisers do) but never
 * close them.
 *
 * @param name the parameter's name in PEFT style, for example {@code "weight"} or
 *     {@code "lora_A.weight"}
 * @param value the parameter tensor
 * @param gradient the gradient tensor, same shape
 * @param <T> element type
 */
public record Parameter<T extends Number>(String name, Tensor<T> value, Tensor<T> gradient) {

    /**
     * @param name the name
     * @param value the value
     * @param gradient the gradient
     */
    public Parameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(gradient, "gradient");
    }
}
