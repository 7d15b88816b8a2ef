package dev.loradrop.api;

import java.util.List;
import java.util.Map;

/**
 * Named access to all of a layer's weights (trainable or frozen), in Hugging Face PEFT's naming:
 * {@code weight}, {@code bias}, {@code lora_A.weight}, {@code lora_B.weight}.
 *
 * @param <T> element type
 */
public interface IWeightLoadable<T extends Number> {

    /** @return the names of every weight, in a stable order */
    List<String> weightNames();

    /**
     * @param name a name from {@link #weightNames()}
     * @return a copy of its shape
     * @throws IllegalArgumentException if the name is unknown
     */
    int[] weightShape(String name);

    /**
     * @param name a name from {@link #weightNames()}
     * @return a new tensor with a copy of the weight, owned by the caller
     * @throws IllegalArgumentException if the name is unknown
     */
    Tensor<T> getWeight(String name);

    /**
     * Copies a tensor into the named weight.
     *
     * @param name a name from {@link #weightNames()}
     * @param value a tensor of the weight's shape (its element count must match)
     * @throws IllegalArgumentException if the name is unknown or the size differs; nothing changes
     */
    void setWeight(String name, Tensor<T> value);

    /**
     * Compares a set of named tensors with this layer's weights without changing anything.
     *
     * @param weights tensors by name
     * @return the comparison
     */
    WeightValidation validateWeights(Map<String, Tensor<T>> weights);

    /**
     * Loads a set of named tensors, all or nothing.
     *
     * <p>Strict: any unknown, missing or mis-shaped name fails the whole load. Lenient: every
     * matched name is loaded and the rest is reported. Either way, when the load fails nothing has
     * changed.
     *
     * @param weights tensors by name
     * @param strict whether anything but an exact match is an error
     * @return the validation the load was based on
     * @throws IllegalArgumentException in strict mode when the match is not exact, naming the
     *     offending names
     */
    WeightValidation loadWeights(Map<String, Tensor<T>> weights, boolean strict);
}
