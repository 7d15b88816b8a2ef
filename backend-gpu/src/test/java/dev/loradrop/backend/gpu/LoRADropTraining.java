package dev.loradrop.backend.gpu;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.loss.MeanSquaredError;
import dev.loradrop.core.optim.Adam;
import java.util.SplittableRandom;

/**
 * A fixed LoRA-drop training run (dense base with GELU, trainable base, rank-8 adapter, dropout
 * 0.2, Adam, MSE against a fixed target), the same on every backend: the training-parity test
 * compares backends with it, and {@link TrainingStepTiming} times its steps.
 */
final class LoRADropTraining implements AutoCloseable {

    /** The losses of every step and the parameters after the last. */
    static final class Result {
        final double[] losses;
        final float[] parameters;

        Result(double[] losses, float[] parameters) {
            this.losses = losses;
            this.parameters = parameters;
        }
    }

    private final LoRADropAdapter<Float> adapter;
    private final Adam adam;
    private final Tensor<Float> x;
    private final Tensor<Float> target;
    private final Tensor<Float> grad;
    private final MeanSquaredError mse = new MeanSquaredError();

    /**
     * @param backend where to train
     * @param batch rows per step
     * @param in input features
     * @param out output features
     * @param rank the adapter's rank
     * @param granularity the mask granularity
     */
    LoRADropTraining(ComputeBackend backend, int batch, int in, int out, int rank,
                     MaskGranularity granularity) {
        SplittableRandom r = new SplittableRandom(2024);
        float[] xs = new float[batch * in];
        float[] ts = new float[batch * out];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) (2 * r.nextDouble() - 1);
        }
        for (int i = 0; i < ts.length; i++) {
            ts[i] = (float) (r.nextDouble() - 0.25);
        }
        DenseLayer<Float> dense = DenseLayer.create(backend, NumericType.FLOAT32, in, out,
                Activation.GELU, 7);
        this.adapter = LoRADropAdapter.builder(dense).rank(rank).alpha(2.0 * rank)
                .dropoutRate(0.2).freezeBaseLayer(false).granularity(granularity).seed(42L)
                .build();
        this.adam = Adam.adamW(1e-2, 0.01);
        this.x = backend.upload(xs, batch, in);
        this.target = backend.upload(ts, batch, out);
        this.grad = backend.allocate(NumericType.FLOAT32, batch, out);
        adapter.setTraining(true);
    }

    /** @return the loss of one training step (forward, loss, backward, Adam) */
    double step() {
        double loss;
        try (Tensor<Float> y = adapter.forward(x)) {
            loss = mse.compute(y, target, grad);
        }
        adapter.backward(grad).close();
        adam.step(adapter);
        return loss;
    }

    /**
     * @param steps number of steps
     * @return the losses and final parameters
     */
    Result run(int steps) {
        double[] losses = new double[steps];
        for (int s = 0; s < steps; s++) {
            losses[s] = step();
        }
        try (Tensor<Float> p = adapter.getParameters()) {
            return new Result(losses, p.toFloatArray());
        }
    }

    @Override
    public void close() {
        grad.close();
        target.close();
        x.close();
        adam.close();
        adapter.close();
    }
}
