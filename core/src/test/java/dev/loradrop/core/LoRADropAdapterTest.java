package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.WeightValidation;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.loss.MeanSquaredError;
import dev.loradrop.core.optim.Adam;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class LoRADropAdapterTest {

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        assertThat(backend.liveAllocations()).as("tensors leaked by the test").isZero();
        backend.close();
    }

    private LoRADropAdapter<Double> adapter(int in, int out, int rank, Activation act,
                                            DropoutScaling scaling, long seed) {
        Random r = new Random(seed);
        LoRADropAdapter<Double> a = LoRADropAdapter.builder(Fixtures.dense(backend, in, out, act, r))
                .rank(rank).alpha(2.0 * rank).dropoutRate(0.25).scaling(scaling).seed(seed)
                .build();
        Fixtures.randomiseB(a, r);
        return a;
    }

    private static double[] run(ILayer<Double> layer, ComputeBackend backend, double[] x,
                                int rows) {
        try (Tensor<Double> xt = backend.upload(x, rows, layer.inputSize());
             Tensor<Double> y = layer.forward(xt)) {
            return y.toDoubleArray();
        }
    }

    // ------------------------------------------------------------------ merge

    @ParameterizedTest
    @EnumSource(Activation.class)
    void mergedLayerReproducesTheInferenceOutput(Activation act) {
        for (DropoutScaling scaling : DropoutScaling.values()) {
            try (LoRADropAdapter<Double> a = adapter(9, 7, 3, act, scaling, 17L)) {
                double[] x = Fixtures.random(new Random(2), 5 * 9, 2.0);
                double[] paramsBefore;
                try (Tensor<Double> p = a.getParameters()) {
                    paramsBefore = p.toDoubleArray();
                }
                a.setTraining(false);
                double[] expected = run(a, backend, x, 5);
                try (ILayer<Double> merged = a.mergeToOriginalLayer()) {
                    assertThat(merged).isInstanceOf(DenseLayer.class);
                    double[] actual = run(merged, backend, x, 5);
                    for (int i = 0; i < expected.length; i++) {
                        double err = Math.abs(actual[i] - expected[i])
                                / Math.max(1e-300, Math.abs(expected[i]));
                        assertThat(err).as("%s %s element %d: %s vs %s", act, scaling, i,
                                actual[i], expected[i]).isLessThanOrEqualTo(1e-12);
                    }
                    // The adapter is untouched and independent of the merged layer.
                    backend.fill(((DenseLayer<Double>) merged).weight(), 0.0);
                    try (Tensor<Double> p = a.getParameters()) {
                        assertThat(p.toDoubleArray()).containsExactly(paramsBefore);
                    }
                    assertThat(run(a, backend, x, 5)).containsExactly(expected);
                }
            }
        }
    }

    @Test
    void mergeRefusesABaseWithoutAWeightMatrix() {
        DenseLayer<Double> dense = Fixtures.dense(backend, 4, 4, Activation.TANH, new Random(3));
        SequentialModel<Double> opaque = SequentialModel.of(dense);
        try (LoRADropAdapter<Double> a = new LoRADropAdapter<>(opaque, 2, 0.1, -1, true, 5L)) {
            assertThatThrownBy(a::mergeToOriginalLayer)
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining(SequentialModel.class.getName());
            // Such a base still trains: the branch is added to its output.
            double[] x = Fixtures.random(new Random(4), 2 * 4, 1.0);
            assertThat(run(a, backend, x, 2)).hasSize(8);
        }
    }

    @Test
    void mergeRefusesNonFiniteWeightsAndCreatesNothing() {
        try (LoRADropAdapter<Double> a = adapter(4, 4, 2, Activation.IDENTITY,
                DropoutScaling.INVERTED, 6L)) {
            backend.write(a.loraLayer().loraA(), 3, new double[] {Double.NaN}, 0, 1);
            long live = backend.liveAllocations();
            assertThatThrownBy(a::mergeToOriginalLayer)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("lora_A");
            assertThat(backend.liveAllocations()).isEqualTo(live);
        }
    }

    // ------------------------------------------------------------------ validation

    @Test
    void constructorRejectsInvalidArgumentsNamingThem() {
        assertThatThrownBy(() -> new LoRADropAdapter<Double>(null, 2, 0.1))
                .isInstanceOf(NullPointerException.class).hasMessage("baseLayer");
        for (double p : new double[] {Double.NaN, -0.5, 1.0}) {
            assertThatThrownBy(() -> {
                try (DenseLayer<Double> d = Fixtures.dense(backend, 4, 3, Activation.IDENTITY,
                        new Random(1))) {
                    new LoRADropAdapter<>(d, 2, p);
                }
            }).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dropoutRate").hasMessageContaining(String.valueOf(p));
        }
        for (int rank : new int[] {0, 4, -1}) {
            assertThatThrownBy(() -> {
                try (DenseLayer<Double> d = Fixtures.dense(backend, 4, 3, Activation.IDENTITY,
                        new Random(1))) {
                    new LoRADropAdapter<>(d, rank, 0.1);
                }
            }).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("rank").hasMessageContaining("[1, 3]")
                    .hasMessageContaining("got " + rank);
        }
        assertThatThrownBy(() -> {
            try (DenseLayer<Double> d = Fixtures.dense(backend, 4, 3, Activation.IDENTITY,
                    new Random(1))) {
                LoRADropAdapter.builder(d).dropoutRate(0.1).build();
            }
        }).isInstanceOf(IllegalStateException.class).hasMessageContaining("rank");
    }

    @Test
    void wrongInputWidthAndBackwardBeforeForwardAreRejected() {
        try (LoRADropAdapter<Double> a = adapter(5, 3, 2, Activation.RELU,
                DropoutScaling.INVERTED, 1L);
             Tensor<Double> wrong = backend.allocate(NumericType.FLOAT64, 2, 4);
             Tensor<Double> dy = backend.allocate(NumericType.FLOAT64, 2, 3)) {
            assertThatThrownBy(() -> a.backward(dy))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("forward");
            assertThatThrownBy(() -> a.forward(wrong))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input").hasMessageContaining("5")
                    .hasMessageContaining("[2, 4]");
            assertThatThrownBy(() -> a.forward(null))
                    .isInstanceOf(NullPointerException.class).hasMessage("input");
        }
    }

    @Test
    void backwardRefusesAGradientOfAnotherShapeAndAClosedInputChangingNothing() {
        try (LoRADropAdapter<Double> a = adapter(4, 3, 2, Activation.TANH,
                DropoutScaling.INVERTED, 4L);
             Tensor<Double> dy = backend.upload(Fixtures.random(new Random(5), 18, 1.0), 2, 3, 3);
             Tensor<Double> flat = backend.upload(Fixtures.random(new Random(5), 18, 1.0), 6, 3)) {
            Tensor<Double> x = backend.upload(Fixtures.random(new Random(4), 24, 1.0), 2, 3, 4);
            a.forward(x).close();
            double[] gradsBefore = grads(a);
            // Same rows, another shape: the input gradient would come back as [6, 4].
            assertThatThrownBy(() -> a.backward(flat))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("outputGradient").hasMessageContaining("[2, 3, 3]")
                    .hasMessageContaining("[6, 3]");
            long live = backend.liveAllocations();
            x.close();
            assertThatThrownBy(() -> a.backward(dy))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("input of the last forward pass is closed");
            assertThatThrownBy(() -> a.backwardParameters(dy))
                    .isInstanceOf(IllegalStateException.class);
            assertThat(grads(a)).containsExactly(gradsBefore);
            assertThat(backend.liveAllocations()).isEqualTo(live - 1);
        }
    }

    private static double[] grads(LoRADropAdapter<Double> a) {
        return a.parameters().stream()
                .flatMapToDouble(p -> java.util.Arrays.stream(p.gradient().toDoubleArray()))
                .toArray();
    }

    @Test
    void anAdapterOfAnAdapterIsRefusedItsNamesWouldClash() {
        try (LoRADropAdapter<Double> inner = adapter(4, 3, 2, Activation.TANH,
                DropoutScaling.INVERTED, 4L)) {
            for (boolean freeze : new boolean[] {true, false}) {
                assertThatThrownBy(() -> LoRADropAdapter.builder(inner).rank(1)
                        .freezeBaseLayer(freeze).build())
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("baseLayer")
                        .hasMessageContaining("[lora_A.weight, lora_B.weight]");
            }
            assertThat(run(inner, backend, new double[4], 1)).hasSize(3); // still open
        }
    }

    @Test
    void theMergedLayerIsInInferenceMode() {
        try (LoRADropAdapter<Double> a = adapter(4, 3, 2, Activation.TANH,
                DropoutScaling.INVERTED, 4L);
             ILayer<Double> merged = a.mergeToOriginalLayer()) {
            assertThat(a.isTrainingMode()).isTrue();
            assertThat(merged.isTrainingMode()).isFalse();
        }
    }

    @Test
    void failedSetParametersChangesNothing() {
        try (LoRADropAdapter<Double> a = adapter(5, 3, 2, Activation.RELU,
                DropoutScaling.INVERTED, 1L);
             Tensor<Double> before = a.getParameters();
             Tensor<Double> wrong = backend.allocate(NumericType.FLOAT64, before.size() + 1)) {
            assertThatThrownBy(() -> a.setParameters(wrong))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flat");
            try (Tensor<Double> after = a.getParameters()) {
                assertThat(after.toDoubleArray()).containsExactly(before.toDoubleArray());
            }
            assertThat(a.parameterCount()).isEqualTo(2 * 5 + 3 * 2);
        }
    }

    // ------------------------------------------------------------------ weights, modes, types

    @Test
    void weightsLoadStrictlyOrLenientlyAllOrNothing() {
        try (LoRADropAdapter<Double> a = adapter(4, 3, 2, Activation.IDENTITY,
                DropoutScaling.INVERTED, 1L);
             Tensor<Double> goodA = backend.upload(new double[8], 2, 4);
             Tensor<Double> badB = backend.upload(new double[5], 5)) {
            assertThat(a.weightNames())
                    .containsExactly("weight", "bias", "lora_A.weight", "lora_B.weight");
            Map<String, Tensor<Double>> given = Map.of("lora_A.weight", goodA,
                    "lora_B.weight", badB, "unknown", goodA);
            WeightValidation v = a.validateWeights(given);
            assertThat(v.matched()).containsExactly("lora_A.weight");
            assertThat(v.unmatched()).containsExactly("unknown");
            assertThat(v.missing()).containsExactly("weight", "bias");
            assertThat(v.shapeMismatches()).containsKey("lora_B.weight");
            double[] aBefore = a.loraLayer().loraA().toDoubleArray();
            assertThatThrownBy(() -> a.loadWeights(given, true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("unknown").hasMessageContaining("lora_B.weight");
            assertThat(a.loraLayer().loraA().toDoubleArray()).containsExactly(aBefore);
            a.loadWeights(given, false);
            assertThat(a.loraLayer().loraA().toDoubleArray()).containsOnly(0.0);
        }
    }

    @Test
    void trainingFlagIsOneState() {
        try (LoRADropAdapter<Double> a = adapter(4, 3, 2, Activation.IDENTITY,
                DropoutScaling.INVERTED, 1L)) {
            assertThat(a.isTraining()).isTrue();
            a.setTraining(false);
            assertThat(a.isTrainingMode()).isFalse();
            assertThat(a.baseLayer().isTrainingMode()).isFalse();
            a.setTrainingMode(true);
            assertThat(a.isTraining()).isTrue();
        }
    }

    @Test
    void randomSeedIsReportedSoARunCanBeReplayed() {
        DenseLayer<Double> base = Fixtures.dense(backend, 4, 4, Activation.IDENTITY,
                new Random(1));
        try (LoRADropAdapter<Double> a = new LoRADropAdapter<>(base, 2, 0.5)) {
            assertThat(a.getDiagnostics()).containsEntry("seed", Long.toString(a.seed()))
                    .containsEntry("dropoutRate", "0.5").containsEntry("granularity", "FEATURE")
                    .containsEntry("dropoutScaling", "INVERTED");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"FEATURE", "ELEMENT", "INPUT", "RANK"})
    void float32AgreesWithFloat64(String granularity) {
        int in = 33;
        int out = 17;
        Random r = new Random(40);
        double[] w = Fixtures.random(r, out * in, 0.3);
        double[] b = Fixtures.random(r, out, 0.3);
        double[] x = Fixtures.random(r, 4 * in, 1.0);
        double[] bw = Fixtures.random(r, out * 3, 0.3);
        double[][] results = new double[2][];
        NumericType<?>[] types = {NumericType.FLOAT32, NumericType.FLOAT64};
        for (int t = 0; t < 2; t++) {
            results[t] = runTyped(types[t], w, b, x, bw, in, out,
                    MaskGranularity.valueOf(granularity));
        }
        for (int i = 0; i < results[0].length; i++) {
            assertThat(results[0][i]).as("element %d", i)
                    .isCloseTo(results[1][i], org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    private <T extends Number> double[] runTyped(NumericType<T> type, double[] w, double[] b,
            double[] x, double[] bw, int in, int out, MaskGranularity g) {
        DenseLayer<T> base = DenseLayer.fromWeights(backend, type, w, b, out, in,
                Activation.SIGMOID);
        try (LoRADropAdapter<T> a = LoRADropAdapter.builder(base).rank(3).dropoutRate(0.3)
                .granularity(g).seed(9L).build();
             Tensor<T> xt = backend.upload(type, x, 4, in)) {
            backend.write(a.loraLayer().loraB(), 0, bw, 0, bw.length);
            try (Tensor<T> y = a.forward(xt)) {
                return y.toDoubleArray();
            }
        }
    }

    // ------------------------------------------------------------------ training

    @Test
    void adamTrainingFitsAShiftedTargetAndLeavesTheFrozenBaseAlone() {
        int in = 8;
        int out = 4;
        int rows = 32;
        Random r = new Random(77);
        double[] x = Fixtures.random(r, rows * in, 1.0);
        try (LoRADropAdapter<Double> a = adapter(in, out, 2, Activation.IDENTITY,
                DropoutScaling.INVERTED, 3L);
             Tensor<Double> xt = backend.upload(x, rows, in);
             Adam adam = Adam.adam(0.05)) {
            // Target: the base output plus a rank-1 change, learnable by the adapter.
            a.setTraining(false);
            double[] target = run(a, backend, x, rows);
            double[] u = Fixtures.random(r, out, 1.0);
            double[] v = Fixtures.random(r, in, 1.0);
            for (int i = 0; i < rows; i++) {
                double dot = 0;
                for (int k = 0; k < in; k++) {
                    dot += v[k] * x[i * in + k];
                }
                for (int j = 0; j < out; j++) {
                    target[i * out + j] += u[j] * dot;
                }
            }
            double[] baseWeight = ((DenseLayer<Double>) a.baseLayer()).weight().toDoubleArray();
            MeanSquaredError mse = new MeanSquaredError();
            double first = Double.NaN;
            double last = Double.NaN;
            try (Tensor<Double> tt = backend.upload(target, rows, out);
                 Tensor<Double> grad = backend.allocate(NumericType.FLOAT64, rows, out)) {
                for (int step = 0; step < 300; step++) {
                    a.setTraining(true);
                    try (Tensor<Double> y = a.forward(xt)) {
                        double loss = mse.compute(y, tt, grad);
                        first = step == 0 ? loss : first;
                    }
                    a.backward(grad).close();
                    adam.step(a);
                    a.setTraining(false);
                    try (Tensor<Double> y = a.forward(xt)) {
                        last = mse.compute(y, tt, null);
                    }
                }
            }
            assertThat(last).isLessThan(first / 10);
            assertThat(((DenseLayer<Double>) a.baseLayer()).weight().toDoubleArray())
                    .containsExactly(baseWeight);
        }
    }
}
