package dev.loradrop.examples.demo;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.SequentialModel;
import dev.loradrop.core.loss.SoftmaxCrossEntropy;
import dev.loradrop.core.optim.Optimizer;
import dev.loradrop.examples.data.ImageSet;
import java.util.Arrays;
import java.util.Objects;
import java.util.Random;

/**
 * Mini-batch training and evaluation of a classifier with softmax cross-entropy. Batches are drawn
 * in a shuffled order from a seeded {@link Random}, so a run is reproducible.
 */
public final class Trainer {

    private static final int EVAL_CHUNK = 500;

    private final SequentialModel<Float> model;
    private final ComputeBackend backend;
    private final SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy();
    private final int batchSize;

    /**
     * @param model the classifier; its output width is the number of classes
     * @param batchSize rows per training step, {@code >= 1}
     */
    public Trainer(SequentialModel<Float> model, int batchSize) {
        this.model = Objects.requireNonNull(model, "model");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize: expected >= 1, got " + batchSize);
        }
        this.backend = model.backend();
        this.batchSize = batchSize;
    }

    /** Loss and accuracy on a set of images. */
    public record Evaluation(double loss, double accuracy) {
    }

    /**
     * One pass over {@code data} in a shuffled order, in training mode (dropout active).
     *
     * @param data the training images
     * @param optimizer updates the model's trainable parameters after every batch
     * @param shuffle the order's random source
     * @param afterBatch called after every batch (for progress), or null
     * @return the mean training loss of the epoch's batches, weighted by batch size
     */
    public double trainEpoch(ImageSet data, Optimizer optimizer, Random shuffle,
                             Runnable afterBatch) {
        int n = data.size();
        int features = data.features();
        int[] order = permutation(n, shuffle);
        float[] x = new float[batchSize * features];
        int[] labels = new int[batchSize];
        double total = 0;
        model.setTrainingMode(true);
        for (int from = 0; from < n; from += batchSize) {
            int rows = Math.min(batchSize, n - from);
            data.gather(order, from, rows, x);
            for (int i = 0; i < rows; i++) {
                labels[i] = data.label(order[from + i]);
            }
            total += step(x, Arrays.copyOf(labels, rows), rows, features, optimizer)
                    * rows;
            if (afterBatch != null) {
                afterBatch.run();
            }
        }
        return total / n;
    }

    private double step(float[] x, int[] labels, int rows, int features, Optimizer optimizer) {
        double value;
        try (Tensor<Float> input = backend.upload(Arrays.copyOf(x, rows * features),
                     rows, features);
             Tensor<Float> target = SoftmaxCrossEntropy.oneHot(backend, NumericType.FLOAT32,
                     labels, model.outputSize());
             Tensor<Float> gradient = backend.allocate(NumericType.FLOAT32, rows,
                     model.outputSize())) {
            try (Tensor<Float> logits = model.forward(input)) {
                value = loss.compute(logits, target, gradient);
            }
            model.backwardParameters(gradient); // the input gradient is not needed
            optimizer.step(model);
        }
        if (!Double.isFinite(value)) {
            throw new IllegalStateException("training diverged: the loss is " + value
                    + "; lower the learning rate");
        }
        return value;
    }

    /**
     * Evaluates in inference mode (no dropout).
     *
     * @param data the images
     * @return the mean loss and the accuracy
     */
    public Evaluation evaluate(ImageSet data) {
        model.setTrainingMode(false);
        int n = data.size();
        int features = data.features();
        int classes = model.outputSize();
        int[] labels = data.labels();
        float[] pixels = data.pixels();
        double totalLoss = 0;
        long correct = 0;
        for (int from = 0; from < n; from += EVAL_CHUNK) {
            int rows = Math.min(EVAL_CHUNK, n - from);
            int[] chunkLabels = Arrays.copyOfRange(labels, from, from + rows);
            try (Tensor<Float> input = backend.upload(Arrays.copyOfRange(pixels,
                         from * features, (from + rows) * features), rows, features);
                 Tensor<Float> target = SoftmaxCrossEntropy.oneHot(backend, NumericType.FLOAT32,
                         chunkLabels, classes);
                 Tensor<Float> logits = model.forward(input)) {
                totalLoss += loss.compute(logits, target, null) * rows;
                float[] out = logits.toFloatArray();
                for (int r = 0; r < rows; r++) {
                    if (argmax(out, r * classes, classes) == chunkLabels[r]) {
                        correct++;
                    }
                }
            }
        }
        model.resetState();
        return new Evaluation(totalLoss / n, (double) correct / n);
    }

    static int argmax(float[] values, int offset, int length) {
        int best = 0;
        for (int i = 1; i < length; i++) {
            if (values[offset + i] > values[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] permutation(int n, Random random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
