package dev.loradrop.core.optim;

import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import java.util.List;

/**
 * Adam and AdamW as PyTorch's {@code torch.optim.Adam} and {@code AdamW} define them, with bias
 * correction; AdamW decouples weight decay from the gradient. As in PyTorch, each parameter counts
 * its own steps for the bias correction, from its first step with this optimiser (or from a state
 * imported for it).
 */
public final class Adam extends StatefulOptimizer {

    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final boolean decoupled;
    private int step;

    /**
     * @param learningRate lr, {@code >= 0}
     * @param beta1 first-moment decay in {@code [0, 1)}
     * @param beta2 second-moment decay in {@code [0, 1)}
     * @param epsilon denominator guard, {@code > 0}
     * @param weightDecay decay factor, {@code >= 0}
     * @param decoupledWeightDecay true for AdamW
     */
    public Adam(double learningRate, double beta1, double beta2, double epsilon,
                double weightDecay, boolean decoupledWeightDecay) {
        super(learningRate);
        this.beta1 = check(beta1, "beta1", 0, Math.nextDown(1.0));
        this.beta2 = check(beta2, "beta2", 0, Math.nextDown(1.0));
        this.epsilon = check(epsilon, "epsilon", Double.MIN_VALUE, Double.MAX_VALUE);
        this.weightDecay = check(weightDecay, "weightDecay", 0, Double.MAX_VALUE);
        this.decoupled = decoupledWeightDecay;
    }

    /**
     * @param learningRate lr
     * @return Adam with PyTorch's defaults (betas 0.9, 0.999; eps 1e-8; no weight decay)
     */
    public static Adam adam(double learningRate) {
        return new Adam(learningRate, 0.9, 0.999, 1e-8, 0.0, false);
    }

    /**
     * @param learningRate lr
     * @param weightDecay decoupled decay (PyTorch's AdamW default is 0.01)
     * @return AdamW with PyTorch's default betas and eps
     */
    public static Adam adamW(double learningRate, double weightDecay) {
        return new Adam(learningRate, 0.9, 0.999, 1e-8, weightDecay, true);
    }

    /** @return the number of calls to {@code step} (each parameter's count is its own) */
    public int stepCount() {
        return step;
    }

    @Override
    public <T extends Number> void step(List<Parameter<T>> parameters) {
        checkAll(parameters);
        step++;
        for (Parameter<T> p : parameters) {
            Tensor<T>[] mv = buffers(p, 2);
            p.value().backend().adamStep(p.value(), p.gradient(), mv[0], mv[1], learningRate(),
                    beta1, beta2, epsilon, weightDecay, decoupled, (int) (steps(p) + 1));
            countStep(p);
        }
    }

    @Override
    List<String> bufferNames() {
        return List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    boolean countsSteps() {
        return true;
    }

    @Override
    long exportedStepCount() {
        return step;
    }

    @Override
    void restoreStepCount(long step) {
        this.step = (int) step;
    }

    @Override
    long maxStepCount() {
        return Integer.MAX_VALUE;
    }

    @Override
    public String toString() {
        return (decoupled ? "AdamW" : "Adam") + "[lr=" + learningRate() + ", betas=(" + beta1
                + ", " + beta2 + "), eps=" + epsilon + ", weightDecay=" + weightDecay + "]";
    }
}
