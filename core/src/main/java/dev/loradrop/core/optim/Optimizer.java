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

    /** Releases the optimiser's state tensors. */
    @Override
    void close();
}
