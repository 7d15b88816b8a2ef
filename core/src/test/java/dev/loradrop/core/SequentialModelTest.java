package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.loss.SoftmaxCrossEntropy;
import dev.loradrop.core.optim.Sgd;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SequentialModelTest {

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        assertThat(backend.liveAllocations()).as("tensors leaked by the test").isZero();
        backend.close();
    }

    @Test
    void chainsLayersForwardAndBackwardAsManualComposition() {
        Random r = new Random(1);
        double[] x = Fixtures.random(r, 3 * 5, 1.0);
        double[] g = Fixtures.random(r, 3 * 2, 1.0);
        try (DenseLayer<Double> l1 = Fixtures.dense(backend, 5, 4, Activation.TANH, new Random(2));
             DenseLayer<Double> l2 = Fixtures.dense(backend, 4, 2, Activation.IDENTITY,
                     new Random(3));
             SequentialModel<Double> model = SequentialModel.of(
                     Fixtures.dense(backend, 5, 4, Activation.TANH, new Random(2)),
                     Fixtures.dense(backend, 4, 2, Activation.IDENTITY, new Random(3)));
             Tensor<Double> xt = backend.upload(x, 3, 5);
             Tensor<Double> gt = backend.upload(g, 3, 2)) {
            double[] manualY;
            double[] manualDx;
            try (Tensor<Double> h = l1.forward(xt);
                 Tensor<Double> y = l2.forward(h);
                 Tensor<Double> dh = l2.backward(gt);
                 Tensor<Double> dx = l1.backward(dh)) {
                manualY = y.toDoubleArray();
                manualDx = dx.toDoubleArray();
            }
            try (Tensor<Double> y = model.forward(xt);
                 Tensor<Double> dx = model.backward(gt)) {
                assertThat(y.toDoubleArray()).containsExactly(manualY);
                assertThat(dx.toDoubleArray()).containsExactly(manualDx);
            }
            assertThat(model.weightNames())
                    .containsExactly("0.weight", "0.bias", "1.weight", "1.bias");
            assertThat(model.parameterCount()).isEqualTo(5 * 4 + 4 + 4 * 2 + 2);
        }
    }

    @Test
    void rejectsMismatchedWidths() {
        DenseLayer<Double> a = Fixtures.dense(backend, 5, 4, Activation.TANH, new Random(2));
        DenseLayer<Double> b = Fixtures.dense(backend, 3, 2, Activation.TANH, new Random(2));
        assertThatThrownBy(() -> SequentialModel.of(a, b))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layer 0 outputs 4").hasMessageContaining("layer 1 takes 3");
        a.close();
        b.close();
    }

    @Test
    void loraDropModelLearnsAToyClassificationWithSgd() {
        int in = 10;
        int classes = 3;
        int rows = 60;
        Random r = new Random(5);
        double[] x = Fixtures.random(r, rows * in, 1.0);
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) { // the class is the argmax of three input features
            double best = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                if (x[i * in + c] > best) {
                    best = x[i * in + c];
                    labels[i] = c;
                }
            }
        }
        LoRADropFactory f = new LoRADropFactory(backend);
        NumericType<Float> t = NumericType.FLOAT32;
        try (SequentialModel<Float> model = SequentialModel.of(
                     f.loraDrop(f.dense(t, in, 16, Activation.RELU, 1)).rank(4).alpha(8)
                             .dropoutRate(0.1).seed(1L).build(),
                     f.loraDrop(f.dense(t, 16, classes, Activation.IDENTITY, 2)).rank(3)
                             .alpha(6).dropoutRate(0.1).seed(2L).stream(1).build());
             Tensor<Float> xt = backend.upload(t, x, rows, in);
             Tensor<Float> target = SoftmaxCrossEntropy.oneHot(backend, t, labels, classes);
             Tensor<Float> grad = backend.allocate(t, rows, classes);
             Sgd sgd = new Sgd(0.2, 0.0, 0.0)) {
            SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy();
            double first = Double.NaN;
            for (int step = 0; step < 200; step++) {
                try (Tensor<Float> logits = model.forward(xt)) {
                    double l = loss.compute(logits, target, grad);
                    first = step == 0 ? l : first;
                }
                model.backward(grad).close();
                sgd.step(model);
            }
            model.setTrainingMode(false);
            try (Tensor<Float> logits = model.forward(xt)) {
                double last = loss.compute(logits, target, null);
                assertThat(last).isLessThan(first / 2);
            }
        }
    }
}
