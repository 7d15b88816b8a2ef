package dev.loradrop.core.optim;

import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Learning rate handling and per-parameter state shared by the optimisers: buffers, and for
 * optimisers that {@linkplain #countsSteps() count steps} (Adam) the number of steps each parameter
 * has taken, as PyTorch keeps {@code state['step']} for each parameter.
 */
abstract class StatefulOptimizer implements Optimizer {

    /** A parameter's state. */
    private static final class Slot {
        final Tensor<?>[] buffers;
        long steps;

        Slot(Tensor<?>[] buffers, long steps) {
            this.buffers = buffers;
            this.steps = steps;
        }
    }

    private final Map<Tensor<?>, Slot> state = new IdentityHashMap<>();
    private double learningRate;

    StatefulOptimizer(double learningRate) {
        setLearningRate(learningRate);
    }

    @Override
    public double learningRate() {
        return learningRate;
    }

    @Override
    public void setLearningRate(double learningRate) {
        this.learningRate = check(learningRate, "learningRate", 0, Double.MAX_VALUE);
    }

    static double check(double value, String name, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(name + ": expected a value in [" + min + ", "
                    + (max == Double.MAX_VALUE ? "inf" : max) + "], got " + value);
        }
        return value;
    }

    /**
     * Returns the {@code count} state buffers of a parameter, zero-filled on first use.
     */
    @SuppressWarnings("unchecked")
    <T extends Number> Tensor<T>[] buffers(Parameter<T> p, int count) {
        return (Tensor<T>[]) slot(p, count).buffers;
    }

    /** @return the number of steps a parameter has taken (0 before its first) */
    long steps(Parameter<?> p) {
        return slot(p, bufferNames().size()).steps;
    }

    /** Counts one more step of a parameter, once the step has been applied. */
    void countStep(Parameter<?> p) {
        slot(p, bufferNames().size()).steps++;
    }

    private Slot slot(Parameter<?> p, int count) {
        Slot slot = state.get(p.value());
        if (slot == null) {
            Tensor<?> v = p.value();
            Tensor<?>[] buffers = new Tensor<?>[count];
            for (int i = 0; i < count; i++) {
                buffers[i] = v.backend().allocate(v.type(), v.shape());
            }
            slot = new Slot(buffers, 0);
            state.put(v, slot);
        }
        return slot;
    }

    /** @return whether each parameter's step count is kept, exported and imported */
    boolean countsSteps() {
        return false;
    }

    /** @return the names of the buffers each parameter has, in {@link #buffers} order */
    abstract List<String> bufferNames();

    /** @return the step count to export */
    long exportedStepCount() {
        return 0;
    }

    /**
     * Restores the step count; called by {@link #importState} after every check has passed.
     *
     * @param step the step count from the state
     */
    void restoreStepCount(long step) {
    }

    /** @return the largest step count, the optimiser's or a parameter's, that can be imported */
    long maxStepCount() {
        return Long.MAX_VALUE;
    }

    @Override
    public <T extends Number> OptimizerState exportState(List<Parameter<T>> parameters) {
        checkAll(parameters);
        Map<String, double[]> out = new LinkedHashMap<>();
        Map<String, Long> steps = new LinkedHashMap<>();
        List<String> names = bufferNames();
        for (Parameter<T> p : parameters) {
            Slot slot = state.get(p.value());
            if (slot != null) {
                for (int i = 0; i < names.size(); i++) {
                    out.put(p.name() + "." + names.get(i), slot.buffers[i].toDoubleArray());
                }
                if (countsSteps()) {
                    steps.put(p.name(), slot.steps);
                }
            }
        }
        return new OptimizerState(getClass().getSimpleName(), exportedStepCount(), out, steps);
    }

    @Override
    public <T extends Number> void importState(List<Parameter<T>> parameters,
                                               OptimizerState snapshot) {
        checkAll(parameters);
        Objects.requireNonNull(snapshot, "state");
        String kind = getClass().getSimpleName();
        if (!kind.equals(snapshot.optimizer())) {
            throw new IllegalArgumentException("state: expected the state of " + kind + ", got "
                    + snapshot.optimizer());
        }
        if (snapshot.step() > maxStepCount()) {
            throw new IllegalArgumentException("state: expected a step count <= " + maxStepCount()
                    + ", got " + snapshot.step());
        }
        List<String> names = bufferNames();
        Set<String> used = new HashSet<>();
        Map<Parameter<T>, double[][]> restored = new LinkedHashMap<>();
        Map<Parameter<T>, Long> steps = new LinkedHashMap<>();
        int stepsSeen = 0;
        for (Parameter<T> p : parameters) { // check everything before changing anything
            double[][] values = new double[names.size()][];
            int found = 0;
            for (int i = 0; i < names.size(); i++) {
                String key = p.name() + "." + names.get(i);
                values[i] = snapshot.buffers().get(key);
                if (values[i] != null) {
                    found++;
                    used.add(key);
                    if (values[i].length != p.value().size()) {
                        throw new IllegalArgumentException("state: buffer '" + key
                                + "' expected " + p.value().size() + " values, got "
                                + values[i].length);
                    }
                }
            }
            if (found != 0 && found != names.size()) {
                throw new IllegalArgumentException("state: parameter '" + p.name()
                        + "' expected all of its buffers " + names + " or none, got " + found);
            }
            if (found != 0) {
                restored.put(p, values);
            }
            Long count = snapshot.parameterSteps().get(p.name());
            if (count != null) {
                if (!countsSteps() || found == 0) {
                    throw new IllegalArgumentException("state: parameter '" + p.name() + "' has a "
                            + "step count but " + (countsSteps() ? "no buffers" : kind
                            + " keeps none"));
                }
                if (count > maxStepCount()) {
                    throw new IllegalArgumentException("state: parameter '" + p.name()
                            + "' expected a step count <= " + maxStepCount() + ", got " + count);
                }
                stepsSeen++;
            }
            steps.put(p, count != null ? count : snapshot.step());
        }
        if (used.size() != snapshot.buffers().size()) {
            Set<String> unknown = new HashSet<>(snapshot.buffers().keySet());
            unknown.removeAll(used);
            throw new IllegalArgumentException("state: unknown buffers " + unknown + "; expected "
                    + "'<parameter>.<buffer>' with buffers " + names + " of the given parameters");
        }
        if (stepsSeen != snapshot.parameterSteps().size()) {
            Set<String> unknown = new HashSet<>(snapshot.parameterSteps().keySet());
            parameters.forEach(p -> unknown.remove(p.name()));
            throw new IllegalArgumentException("state: step counts of unknown parameters "
                    + unknown);
        }
        for (Parameter<T> p : parameters) {
            double[][] values = restored.get(p);
            if (values == null) {
                release(p.value());
            } else {
                Slot slot = slot(p, names.size());
                for (int i = 0; i < values.length; i++) {
                    p.value().backend().write(slot.buffers[i], 0, values[i], 0, values[i].length);
                }
                slot.steps = steps.get(p);
            }
        }
        restoreStepCount(snapshot.step());
    }

    private void release(Tensor<?> parameterValue) {
        Slot slot = state.remove(parameterValue);
        if (slot != null) {
            Arrays.stream(slot.buffers).forEach(Tensor::close);
        }
    }

    static <T extends Number> void checkAll(List<Parameter<T>> parameters) {
        Objects.requireNonNull(parameters, "parameters");
        for (Parameter<T> p : parameters) {
            Objects.requireNonNull(p, "parameters[i]");
            if (p.value().size() != p.gradient().size()) {
                throw new IllegalArgumentException("parameters: '" + p.name() + "' has "
                        + p.value().size() + " values but " + p.gradient().size() + " gradients");
            }
        }
    }

    @Override
    public void close() {
        for (Slot slot : state.values()) {
            for (Tensor<?> t : slot.buffers) {
                t.close();
            }
        }
        state.clear();
    }
}
