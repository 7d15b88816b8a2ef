package dev.loradrop.core.jit;

import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;

/**
 * What {@link JitCompiler#compile} needs from the thing it compiles, typically a layer: its graph,
 * its weights by name, and a modification count that tells when those weights may have changed.
 * Called only on the thread that owns the source (at compilation and {@link
 * CompiledFunction#refresh()}), except {@link #modificationCount()}, which any thread may call.
 *
 * @param <T> element type
 */
public interface JitSource<T extends Number> {

    /** @return the element type */
    NumericType<T> numericType();

    /** @return the backend the weights live on */
    ComputeBackend backend();

    /** @return the inference computation */
    ComputationGraph exportComputationGraph();

    /**
     * @param name a {@code PARAMETER} node's name
     * @return the live weight tensor; read, never closed
     */
    Tensor<T> weight(String name);

    /** @return a number that changes whenever the weights may have changed; thread-safe */
    long modificationCount();
}
