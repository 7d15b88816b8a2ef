package dev.loradrop.api;

/**
 * A layer that wraps a base layer with a trainable low-rank update {@code s * B * A}.
 *
 * @param <T> element type
 */
public interface ILoRAAdapter<T extends Number> extends ILayer<T> {

    /** @return the wrapped layer */
    ILayer<T> baseLayer();

    /** @return the low-rank branch, holding {@code lora_A [r, in]} and {@code lora_B [out, r]} */
    ILayer<T> loraLayer();

    /** @return whether the base layer's parameters are excluded from training */
    boolean isBaseLayerFrozen();

    /** @return the rank r */
    int rank();

    /** @return alpha; the branch is scaled by {@code alpha / rank} */
    double alpha();

    /**
     * Folds the low-rank update into a copy of the base layer.
     *
     * @return a new, independent layer whose inference output equals this adapter's; the adapter is
     *     unchanged
     * @throws UnsupportedOperationException naming the type if the base layer has no weight matrix
     * @throws IllegalStateException if a weight is not finite; nothing is created then
     */
    ILayer<T> mergeToOriginalLayer();
}
