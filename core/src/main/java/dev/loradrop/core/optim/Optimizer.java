package dev.loradrop.core.optim;

import dev.loradrop.api.ILayer;
import dev.loradrop.api.Parameter;
import java.util.List;

/**
 * Updates parameters from the gradients a backward pass stored, with fused backend kernels.
 *
 * <p>Optimiser state (momentum, moments) lives in backend tensors keyed by parameter tensor and is
 * released by {@link #close()}.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * Applies one step to each parameter.
     *
     * @param parameters the parameters, typically {@link ILayer#parameters()}
     * @param <T> element type
     */
    <T extends Number> void step(List<Parameter<T>> parameters);

    /**
     * Applies one step to a layer's trainable parameters.
     *
     * @param layer the layer
     * @param <T> element type
     */
    default <T extends Number> void step(ILayer<T> layer) {
        step(layer.parameters());
    }

    /** @return the current learning rate */
    double learningRate();

    /**
     * @param learningRate the new learning rate, finite and {@code >= 0} (for schedules)
     */
    void setLearningRate(double learningRate);

    /**
     * Copies the state this optimiser keeps for the given parameters to the host, for a
     * checkpoint. Buffers are named {@code "<parameter name>.<buffer>"}.
     *
     * @param parameters the parameters the state belongs to, typically {@link ILayer#parameters()}
     * @param <T> element type
     * @return the state
     */
    <T extends Number> OptimizerState exportState(List<Parameter<T>> parameters);

    /**
     * Replaces the state kept for the given parameters with an exported one, all or nothing:
     * parameters without buffers in the state start afresh (zero buffers on the next step).
     *
     * @param parameters the parameters, named as when the state was exported
     * @param state the state
     * @param <T> element type
     * @throws IllegalArgumentException if the state is of another optimiser kind, names an unknown
     *     parameter or buffer, lacks some of a parameter's buffers, or has a buffer of the wrong
     *     size; nothing changes then
     */
    <T extends Number> void importState(List<Parameter<T>> parameters, OptimizerState state);

    /** Releases the optimiser's state tensors. */
    @Override
    void close();
}
