package dev.loradrop.core.loss;

import dev.loradrop.api.Tensor;

/** Mean squared error over all elements: {@code sum((y - t)^2) / N}, as PyTorch's MSELoss. */
public final class MeanSquaredError implements Loss {

    @Override
    public <T extends Number> double compute(Tensor<T> prediction, Tensor<T> target,
                                             Tensor<T> gradient) {
        Loss.checkSame(prediction, target, gradient);
        return prediction.backend().meanSquaredError(prediction, target, gradient);
    }

    @Override
    public String toString() {
        return "MeanSquaredError";
    }
}
