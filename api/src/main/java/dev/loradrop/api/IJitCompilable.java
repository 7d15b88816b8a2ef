package dev.loradrop.api;

import dev.loradrop.api.spi.ComputeBackend;
import java.util.function.Function;

/**
 * A layer whose inference computation can be exported as a {@link ComputationGraph} and compiled
 * into a fast, thread-safe inference function.
 *
 * @param <T> element type
 */
public interface IJitCompilable<T extends Number> {

    /** @return whether {@link #exportComputationGraph()} and {@link #compile} are supported */
    boolean supportsJitCompilation();

    /**
     * @return the layer's inference computation
     * @throws UnsupportedOperationException if {@link #supportsJitCompilation()} is false
     */
    ComputationGraph exportComputationGraph();

    /**
     * Compiles the inference computation for a backend. The function may be called from many
     * threads at once; each call returns a new tensor the caller owns.
     *
     * @param backend the backend to run on
     * @return the compiled function
     * @throws UnsupportedOperationException if {@link #supportsJitCompilation()} is false
     */
    Function<Tensor<T>, Tensor<T>> compile(ComputeBackend backend);
}
