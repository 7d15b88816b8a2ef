package dev.loradrop.core;

/**
 * How LoRA-drop keeps the expected output of training equal to the output of inference.
 *
 * <p>In both modes the expectation of the training output over masks equals the inference output.
 */
public enum DropoutScaling {
    /** Kept values are multiplied by {@code 1/(1-p)} in training; inference is unscaled (default). */
    INVERTED,
    /** Training is unscaled; inference multiplies the LoRA branch by {@code (1-p)}. */
    CLASSIC;

    /**
     * @param dropoutRate p
     * @return the factor applied to kept values of the LoRA branch during training
     */
    public double trainingFactor(double dropoutRate) {
        return this == INVERTED ? 1.0 / (1.0 - dropoutRate) : 1.0;
    }

    /**
     * @param dropoutRate p
     * @return the factor applied to the LoRA branch at inference (and when merging)
     */
    public double inferenceFactor(double dropoutRate) {
        return this == INVERTED ? 1.0 : 1.0 - dropoutRate;
    }
}
