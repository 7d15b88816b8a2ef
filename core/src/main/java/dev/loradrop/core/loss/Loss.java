package dev.loradrop.core.loss;

import dev.loradrop.api.Tensor;

/** A loss function computed by fused backend kernels. */
public interface Loss {

    /**
     * Computes the loss and, optionally, its gradient with respect to the prediction.
     *
     * @param prediction the model output
     * @param target the target, same shape
     * @param gradient receives the gradient, same shape; or null
     * @param <T> element type
     * @return the loss, averaged as the implementation documents
     * @throws IllegalArgumentException if the shapes, types or backends differ
     */
    <T extends Number> double compute(Tensor<T> prediction, Tensor<T> target, Tensor<T> gradient);

    /**
     * Checks that {@code a} and {@code b} (and {@code c} if not null) agree in shape, type and
     * backend, and are open.
     *
     * @param a prediction
     * @param b target
     * @param c gradient or null
     */
    static void checkSame(Tensor<?> a, Tensor<?> b, Tensor<?> c) {
        java.util.Objects.requireNonNull(a, "prediction");
        java.util.Objects.requireNonNull(b, "target");
        Tensor<?>[] all = c == null ? new Tensor<?>[] {a, b} : new Tensor<?>[] {a, b, c};
        String[] names = {"prediction", "target", "gradient"};
        for (int i = 0; i < all.length; i++) {
            if (all[i].isClosed()) {
                throw new IllegalStateException(names[i] + ": tensor is closed");
            }
            if (i > 0) {
                if (!java.util.Arrays.equals(a.shape(), all[i].shape())) {
                    throw new IllegalArgumentException(names[i] + ": expected shape "
                            + java.util.Arrays.toString(a.shape()) + " like prediction, got "
                            + java.util.Arrays.toString(all[i].shape()));
                }
                if (a.type() != all[i].type() || a.backend() != all[i].backend()) {
                    throw new IllegalArgumentException(names[i] + ": expected a " + a.type()
                            + " tensor of backend '" + a.backend().id() + "' like prediction");
                }
            }
        }
    }
}
