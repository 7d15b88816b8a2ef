package dev.loradrop.core;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Objects;

/**
 * Creates layers and LoRA-drop adapters on one backend; what the Guice module hands to
 * applications, and usable without Guice.
 */
public final class LoRADropFactory {

    private final ComputeBackend backend;

    /**
     * @param backend the backend every created layer uses; the caller keeps ownership
     */
    public LoRADropFactory(ComputeBackend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    /** @return the backend */
    public ComputeBackend backend() {
        return backend;
    }

    /**
     * @param type element type
     * @param inputSize in
     * @param outputSize out
     * @param activation activation
     * @param seed initialisation seed
     * @param <T> element type
     * @return a new dense layer, initialised as {@link DenseLayer#create} documents
     */
    public <T extends Number> DenseLayer<T> dense(NumericType<T> type, int inputSize,
                                                  int outputSize, Activation activation,
                                                  long seed) {
        return DenseLayer.create(backend, type, inputSize, outputSize, activation, seed);
    }

    /**
     * @param baseLayer a layer of this factory's backend; the adapter will own it
     * @param <T> element type
     * @return a builder for an adapter of it
     * @throws IllegalArgumentException if the layer uses another backend
     */
    public <T extends Number> LoRADropAdapter.Builder<T> loraDrop(ILayer<T> baseLayer) {
        Objects.requireNonNull(baseLayer, "baseLayer");
        if (baseLayer.backend() != backend) {
            throw new IllegalArgumentException("baseLayer: uses backend '"
                    + baseLayer.backend().id() + "', not this factory's '" + backend.id() + "'");
        }
        return LoRADropAdapter.builder(baseLayer);
    }
}
