package dev.loradrop.core.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A host copy of an optimiser's state, for checkpoints: its kind, its step count, its
 * per-parameter buffers, named {@code "<parameter>.<buffer>"} with PyTorch's buffer names
 * ({@code momentum_buffer} for SGD, {@code exp_avg} and {@code exp_avg_sq} for Adam), and, for
 * Adam, the number of steps each parameter has taken (PyTorch's {@code state['step']}), by
 * parameter name. Values are exact copies (a float32 buffer's values are represented exactly as
 * doubles).
 *
 * @param optimizer the optimiser's kind, {@code "Sgd"} or {@code "Adam"}
 * @param step the number of calls to the optimiser's {@code step} (0 for SGD)
 * @param buffers the buffers by name; a parameter that has not been stepped has none
 * @param parameterSteps each stepped parameter's step count, for Adam's bias correction; a
 *     parameter with buffers but no count here counts {@code step} steps (states saved before
 *     counts were kept per parameter)
 */
public record OptimizerState(String optimizer, long step, Map<String, double[]> buffers,
                             Map<String, Long> parameterSteps) {

    /**
     * @param optimizer the kind
     * @param step the step count, {@code >= 0}
     * @param buffers the buffers, copied
     * @param parameterSteps the parameters' step counts, each {@code >= 0}, copied
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
        buffers = Collections.unmodifiableMap(copy);
        Map<String, Long> steps = new LinkedHashMap<>();
        Objects.requireNonNull(parameterSteps, "parameterSteps").forEach((k, v) -> {
            if (Objects.requireNonNull(v, k) < 0) {
                throw new IllegalArgumentException("parameterSteps: '" + k
                        + "' expected >= 0, got " + v);
            }
            steps.put(Objects.requireNonNull(k, "parameterSteps key"), v);
        });
        parameterSteps = Collections.unmodifiableMap(steps);
    }

    /**
     * A state without per-parameter step counts: every parameter with buffers counts
     * {@code step} steps.
     *
     * @param optimizer the kind
     * @param step the step count, {@code >= 0}
     * @param buffers the buffers, copied
     */
    public OptimizerState(String optimizer, long step, Map<String, double[]> buffers) {
        this(optimizer, step, buffers, Map.of());
    }
}
