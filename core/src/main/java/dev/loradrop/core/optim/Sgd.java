package dev.loradrop.core.optim;

import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import java.util.List;

/**
 * Stochastic gradient descent as PyTorch's {@code torch.optim.SGD} (no dampening, no Nesterov):
 * {@code g = grad + weightDecay * p}; with momentum {@code v = momentum * v + g}, {@code p -= lr * v};
 * without, {@code p -= lr * g}.
 */
public final class Sgd extends StatefulOptimizer {

    private final double momentum;
    private final double weightDecay;

    /**
     * Plain SGD.
     *
     * @param learningRate lr, {@code >= 0}
     */
    public Sgd(double learningRate) {
        this(learningRate, 0.0, 0.0);
    }

    /**
     * @param learningRate lr, {@code >= 0}
     * @param momentum momentum in {@code [0, 1)}
     * @param weightDecay L2 factor, {@code >= 0}
     */
    public Sgd(double learningRate, double momentum, double weightDecay) {
        super(learningRate);
        this.momentum = check(momentum, "momentum", 0, Math.nextDown(1.0));
        this.weightDecay = check(weightDecay, "weightDecay", 0, Double.MAX_VALUE);
    }

    @Override
    public <T extends Number> void step(List<Parameter<T>> parameters) {
        checkAll(parameters);
        for (Parameter<T> p : parameters) {
            Tensor<T> velocity = momentum == 0.0 ? null : buffers(p, 1)[0];
            p.value().backend().sgdStep(p.value(), p.gradient(), velocity, learningRate(),
                    momentum, weightDecay);
        }
    }

    @Override
    List<String> bufferNames() {
        return momentum == 0.0 ? List.of() : List.of("momentum_buffer");
    }

    @Override
    public String toString() {
        return "Sgd[lr=" + learningRate() + ", momentum=" + momentum + ", weightDecay="
                + weightDecay + "]";
    }
}
