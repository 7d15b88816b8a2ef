package dev.loradrop.core.optim;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A host copy of an optimiser's state, for checkpoints: its kind, its step count and its
 * per-parameter buffers, named {@code "<parameter>.<buffer>"} with PyTorch's buffer names
 * ({@code momentum_buffer} for SGD, {@code exp_avg} and {@code exp_avg_sq} for Adam). Values are
 * exact copies (a float32 buffer's values are represented exactly as doubles).
 *
 * @param optimizer the optimiser's kind, {@code "Sgd"} or {@code "Adam"}
 * @param step the number of steps taken (used by Adam's bias correction; 0 for SGD)
 * @param buffers the buffers by name; a parameter that has not been stepped has none
 */
public record OptimizerState(String optimizer, long step, Map<String, double[]> buffers) {

    /**
     * @param optimizer the kind
     * @param step the step count, {@code >= 0}
     * @param buffers the buffers, copied
     */
    public OptimizerState {
        Objects.requireNonNull(optimizer, "optimizer");
        if (step < 0) {
            throw new IllegalArgumentException("step: expected >= 0, got " + step);
        }
        Map<String, double[]> copy = new LinkedHashMap<>();
        Objects.requireNonNull(buffers, "buffers").forEach((k, v) ->
                copy.put(Objects.requireNonNull(k, "buffers key"),
                        Objects.requireNonNull(v, k).clone()));
        buffers = java.util.Collections.unmodifiableMap(copy);
    }
}
