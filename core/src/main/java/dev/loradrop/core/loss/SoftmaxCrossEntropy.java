package dev.loradrop.core.loss;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Objects;

/**
 * Softmax cross-entropy over the last axis, averaged over rows, as PyTorch's CrossEntropyLoss with
 * probability targets; build one-hot targets with {@link #oneHot}.
 */
public final class SoftmaxCrossEntropy implements Loss {

    @Override
    public <T extends Number> double compute(Tensor<T> logits, Tensor<T> target,
                                             Tensor<T> gradient) {
        Loss.checkSame(logits, target, gradient);
        int classes = logits.dim(logits.rank() - 1);
        if (classes == 0) {
            throw new IllegalArgumentException("prediction: the class axis is empty");
        }
        return logits.backend().softmaxCrossEntropy(classes, logits, target, gradient);
    }

    /**
     * Builds one-hot targets.
     *
     * @param backend the backend
     * @param type the element type
     * @param labels class indices, each in {@code [0, classes)}
     * @param classes the number of classes
     * @param <T> element type
     * @return a new {@code [labels.length, classes]} tensor the caller owns
     */
    public static <T extends Number> Tensor<T> oneHot(ComputeBackend backend, NumericType<T> type,
                                                      int[] labels, int classes) {
        Objects.requireNonNull(labels, "labels");
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        double[] data = new double[Math.multiplyExact(labels.length, classes)];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("labels: labels[" + i + "] = " + labels[i]
                        + " is outside [0, " + classes + ")");
            }
            data[i * classes + labels[i]] = 1.0;
        }
        return backend.upload(type, data, labels.length, classes);
    }

    @Override
    public String toString() {
        return "SoftmaxCrossEntropy";
    }
}
