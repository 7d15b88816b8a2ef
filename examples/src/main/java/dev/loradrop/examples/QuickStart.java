package dev.loradrop.examples;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.loss.MeanSquaredError;
import dev.loradrop.core.optim.Adam;
import java.io.PrintStream;
import java.util.Random;

/**
 * The README's library example, runnable: adapts a frozen dense layer to a shifted target with
 * LoRA-drop, then merges the adapter and checks the merged layer gives the same output.
 */
public final class QuickStart {

    private QuickStart() {
    }

    /**
     * Runs the example.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        run(BackendRegistry.discover(), System.out);
    }

    /**
     * @param registry where the backend comes from
     * @param out where the report goes
     * @return the final training loss over the initial one
     */
    static double run(BackendRegistry registry, PrintStream out) {
        int in = 64;
        int outWidth = 32;
        int rows = 128;
        Random random = new Random(7);
        float[] batch = new float[rows * in];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = (float) random.nextGaussian();
        }
        try (ComputeBackend backend = registry.create()) {
            out.println("backend: " + backend.id());
            DenseLayer<Float> dense = DenseLayer.create(backend, NumericType.FLOAT32, in, outWidth,
                    Activation.TANH, 1);
            try (LoRADropAdapter<Float> adapter = LoRADropAdapter.builder(dense)
                         .rank(4).alpha(8).dropoutRate(0.2).seed(42L).build();
                 Adam adam = Adam.adamW(1e-2, 0.0);
                 Tensor<Float> x = backend.upload(batch, rows, in);
                 Tensor<Float> target = shiftedTarget(backend, adapter, x, random);
                 Tensor<Float> dy = backend.allocate(NumericType.FLOAT32, rows, outWidth)) {
                MeanSquaredError mse = new MeanSquaredError();
                double first = evaluate(adapter, x, target, mse);
                for (int step = 0; step < 200; step++) {
                    adapter.setTraining(true);
                    try (Tensor<Float> y = adapter.forward(x)) {
                        mse.compute(y, target, dy);
                    }
                    adapter.backwardParameters(dy);
                    adam.step(adapter);
                }
                double last = evaluate(adapter, x, target, mse);
                out.printf("inference loss: %.5f before, %.5f after 200 steps%n", first, last);
                try (ILayer<Float> merged = adapter.mergeToOriginalLayer();
                     Tensor<Float> a = adapter.forward(x);
                     Tensor<Float> m = merged.forward(x)) {
                    out.printf("merged layer: largest difference from the adapter %.2e%n",
                            maxAbsDifference(a.toFloatArray(), m.toFloatArray()));
                }
                return last / first;
            }
        }
    }

    /** The base layer's output with a rank-1 change that a LoRA adapter can learn. */
    private static Tensor<Float> shiftedTarget(ComputeBackend backend,
                                               LoRADropAdapter<Float> adapter, Tensor<Float> x,
                                               Random random) {
        adapter.setTraining(false);
        float[] xs = x.toFloatArray();
        int in = adapter.inputSize();
        int outWidth = adapter.outputSize();
        float[] y;
        try (Tensor<Float> base = adapter.forward(x)) {
            y = base.toFloatArray();
        }
        double[] u = random.doubles(outWidth, -0.3, 0.3).toArray();
        double[] v = random.doubles(in, -0.3, 0.3).toArray();
        for (int r = 0; r < xs.length / in; r++) {
            double dot = 0;
            for (int k = 0; k < in; k++) {
                dot += v[k] * xs[r * in + k];
            }
            for (int j = 0; j < outWidth; j++) {
                y[r * outWidth + j] = (float) Math.tanh(y[r * outWidth + j] + u[j] * dot);
            }
        }
        return backend.upload(y, xs.length / in, outWidth);
    }

    private static double evaluate(LoRADropAdapter<Float> adapter, Tensor<Float> x,
                                   Tensor<Float> target, MeanSquaredError mse) {
        adapter.setTraining(false);
        try (Tensor<Float> y = adapter.forward(x)) {
            return mse.compute(y, target, null);
        }
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
