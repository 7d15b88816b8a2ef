package dev.loradrop.core.optim;

import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Learning rate handling and per-parameter state buffers shared by the optimisers. */
abstract class StatefulOptimizer implements Optimizer {

    private final Map<Tensor<?>, Tensor<?>[]> state = new IdentityHashMap<>();
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
        Tensor<?>[] buffers = state.get(p.value());
        if (buffers == null) {
            Tensor<T> v = p.value();
            buffers = new Tensor<?>[count];
            for (int i = 0; i < count; i++) {
                buffers[i] = v.backend().allocate(v.type(), v.shape());
            }
            state.put(v, buffers);
        }
        return (Tensor<T>[]) buffers;
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
        for (Tensor<?>[] buffers : state.values()) {
            for (Tensor<?> t : buffers) {
                t.close();
            }
        }
        state.clear();
    }
}
