package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Statistical and structural properties of the training masks. Every statistical bound is five
 * standard deviations (a false-failure probability below 6e-7 per checked quantity for a normal
 * approximation); all seeds are fixed, so the outcome is deterministic.
 */
class DropoutBehaviourTest {

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        assertThat(backend.liveAllocations()).as("tensors leaked by the test").isZero();
        backend.close();
    }

    private LoRADropAdapter<Double> adapter(int in, int out, int rank, double p,
                                            MaskGranularity g, DropoutScaling s, long seed,
                                            Activation act) {
        Random r = new Random(seed * 13 + 1);
        DenseLayer<Double> base = Fixtures.dense(backend, in, out, act, r);
        LoRADropAdapter<Double> a = LoRADropAdapter.builder(base).rank(rank).dropoutRate(p)
                .granularity(g).scaling(s).seed(seed).build();
        Fixtures.randomiseB(a, r);
        return a;
    }

    private double[] run(LoRADropAdapter<Double> a, double[] x, int rows) {
        try (Tensor<Double> xt = backend.upload(x, rows, a.inputSize());
             Tensor<Double> y = a.forward(xt)) {
            return y.toDoubleArray();
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 0.9})
    void keptFractionIsWithinFiveSigmaOfOneMinusP(double p) {
        int n = 200_000;
        try (BitMask mask = backend.allocateMask(n)) {
            backend.generateMask(mask, 20261128L, 0, 0, p);
            long kept = Arrays.stream(mask.toLongArray()).map(Long::bitCount).sum();
            double sigma = Math.sqrt(n * p * (1 - p));
            assertThat(Math.abs(kept - n * (1 - p))).isLessThan(5 * sigma);
        }
    }

    @ParameterizedTest
    @EnumSource(DropoutScaling.class)
    void meanOfTrainingOutputsIsTheInferenceOutputAndVarianceIsBernoulli(DropoutScaling scaling) {
        int in = 6;
        int out = 5;
        double p = 0.3;
        int samples = 20_000;
        try (LoRADropAdapter<Double> a = adapter(in, out, 3, p, MaskGranularity.FEATURE, scaling,
                42L, Activation.IDENTITY)) {
            double[] x = Fixtures.random(new Random(5), in, 1.0);
            a.setTraining(false);
            double[] inference = run(a, x, 1);
            // The branch alone at inference, to state the expected variance.
            double[] branch;
            try (Tensor<Double> xt = backend.upload(x, 1, in);
                 Tensor<Double> bt = a.loraLayer().forward(xt)) {
                branch = bt.toDoubleArray();
            }
            a.setTraining(true);
            double[] sum = new double[out];
            double[] sumSq = new double[out];
            for (int i = 0; i < samples; i++) {
                double[] y = run(a, x, 1);
                for (int j = 0; j < out; j++) {
                    sum[j] += y[j];
                    sumSq[j] += y[j] * y[j];
                }
            }
            double k = scaling.trainingFactor(p);
            double q = 1 - p;
            for (int j = 0; j < out; j++) {
                double mean = sum[j] / samples;
                double variance = sumSq[j] / samples - mean * mean;
                // Training term: s * k * m * z with m ~ Bernoulli(q); its variance is
                // (s k z)^2 q (1 - q), with s z the plain branch output.
                double amplitude = k * branch[j];
                double expectedVariance = amplitude * amplitude * q * (1 - q);
                assertThat(Math.abs(mean - inference[j]))
                        .as("mean of feature %d", j)
                        .isLessThanOrEqualTo(5 * Math.sqrt(expectedVariance / samples) + 1e-12);
                // The sample variance of a scaled Bernoulli has relative standard deviation
                // sqrt((kurtosis - 1) / n) with kurtosis = (1 - 3 q (1 - q)) / (q (1 - q)).
                double kurtosis = (1 - 3 * q * (1 - q)) / (q * (1 - q));
                double relSd = Math.sqrt((kurtosis - 1) / samples);
                assertThat(variance / expectedVariance).as("variance ratio of feature %d", j)
                        .isBetween(1 - 5 * relSd, 1 + 5 * relSd);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MaskGranularity.class)
    void zeroDropoutTrainingEqualsInferenceExactly(MaskGranularity g) {
        for (DropoutScaling s : DropoutScaling.values()) {
            try (LoRADropAdapter<Double> a = adapter(7, 4, 2, 0.0, g, s, 3L, Activation.TANH)) {
                double[] x = Fixtures.random(new Random(8), 3 * 7, 1.0);
                double[] training = run(a, x, 3);
                a.setTraining(false);
                assertThat(run(a, x, 3)).containsExactly(training);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MaskGranularity.class)
    void sameSeedGivesSameOutputsAndDifferentSeedDifferentOnes(MaskGranularity g) {
        double[] x = Fixtures.random(new Random(9), 4 * 8, 1.0);
        double[][] outputs = new double[3][];
        long[] seeds = {11L, 11L, 12L};
        for (int i = 0; i < 3; i++) {
            DenseLayer<Double> base = Fixtures.dense(backend, 8, 8, Activation.IDENTITY,
                    new Random(1234));
            try (LoRADropAdapter<Double> a = LoRADropAdapter.builder(base).rank(4)
                    .dropoutRate(0.5).granularity(g).seed(seeds[i]).build()) {
                // Identical weights everywhere, so only the masks can differ.
                Random weights = new Random(4321);
                double[] aw = Fixtures.random(weights, 4 * 8, 1.0);
                double[] bw = Fixtures.random(weights, 8 * 4, 1.0);
                backend.write(a.loraLayer().loraA(), 0, aw, 0, aw.length);
                backend.write(a.loraLayer().loraB(), 0, bw, 0, bw.length);
                outputs[i] = run(a, x, 4);
            }
        }
        assertThat(outputs[1]).containsExactly(outputs[0]);
        assertThat(outputs[2]).isNotEqualTo(outputs[0]);
    }

    @Test
    void consecutiveTrainingCallsDrawDifferentMasksAndStepsReplay() {
        try (LoRADropAdapter<Double> a = adapter(8, 16, 4, 0.5, MaskGranularity.FEATURE,
                DropoutScaling.INVERTED, 21L, Activation.IDENTITY)) {
            double[] x = Fixtures.random(new Random(10), 8, 1.0);
            double[] first = run(a, x, 1);
            double[] second = run(a, x, 1);
            assertThat(second).isNotEqualTo(first);
            a.setMaskStep(0);
            assertThat(run(a, x, 1)).containsExactly(first);
            assertThat(a.maskStep()).isEqualTo(1);
        }
    }

    @Test
    void featureMasksAreSharedAcrossTheBatchAndElementMasksAreNot() {
        int rows = 6;
        int out = 32;
        double[] row = Fixtures.random(new Random(11), 8, 1.0);
        double[] x = new double[rows * 8];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(row, 0, x, r * 8, 8);
        }
        try (LoRADropAdapter<Double> feature = adapter(8, out, 4, 0.5, MaskGranularity.FEATURE,
                DropoutScaling.INVERTED, 5L, Activation.IDENTITY);
             LoRADropAdapter<Double> element = adapter(8, out, 4, 0.5, MaskGranularity.ELEMENT,
                DropoutScaling.INVERTED, 5L, Activation.IDENTITY)) {
            double[] yf = run(feature, x, rows);
            double[] ye = run(element, x, rows);
            for (int r = 1; r < rows; r++) {
                assertThat(Arrays.copyOfRange(yf, r * out, (r + 1) * out))
                        .as("FEATURE row %d", r).containsExactly(Arrays.copyOfRange(yf, 0, out));
            }
            boolean anyRowDiffers = false;
            for (int r = 1; r < rows; r++) {
                anyRowDiffers |= !Arrays.equals(Arrays.copyOfRange(ye, r * out, (r + 1) * out),
                        Arrays.copyOfRange(ye, 0, out));
            }
            assertThat(anyRowDiffers).as("ELEMENT rows differ").isTrue();
        }
    }

    @Test
    void maskBitsAreTheReferenceStreamForEachGranularitysShape() {
        int rows = 3;
        int in = 5;
        int out = 7;
        int rank = 2;
        for (MaskGranularity g : MaskGranularity.values()) {
            try (LoRADropAdapter<Double> a = adapter(in, out, rank, 0.5, g,
                    DropoutScaling.INVERTED, 77L, Activation.IDENTITY)) {
                a.setMaskStep(4);
                run(a, Fixtures.random(new Random(1), rows * in, 1.0), rows);
                int size = g == MaskGranularity.FEATURE ? out : g == MaskGranularity.ELEMENT
                        ? rows * out : g == MaskGranularity.INPUT ? rows * in : rows * rank;
                String kept = a.getDiagnostics().get("lastMaskKeptFraction");
                long[] reference = MaskStream.reference(77L, 0, 4, size, 0.5);
                long bits = Arrays.stream(reference).map(Long::bitCount).sum();
                assertThat(Double.parseDouble(kept)).as(g.name())
                        .isEqualTo((double) bits / size);
            }
        }
    }

    @Test
    void backwardUsesTheMaskOfTheForwardItFollows() {
        try (LoRADropAdapter<Double> a = adapter(6, 6, 3, 0.5, MaskGranularity.ELEMENT,
                DropoutScaling.INVERTED, 8L, Activation.IDENTITY)) {
            double[] x = Fixtures.random(new Random(12), 2 * 6, 1.0);
            double[] g = Fixtures.random(new Random(13), 2 * 6, 1.0);
            try (Tensor<Double> xt = backend.upload(x, 2, 6);
                 Tensor<Double> gt = backend.upload(g, 2, 6)) {
                // Forward with step 0, then step 1; backward must use step 1's mask.
                a.forward(xt).close();
                a.forward(xt).close();
                double[] dAfterTwo;
                try (Tensor<Double> dx = a.backward(gt)) {
                    dAfterTwo = dx.toDoubleArray();
                }
                a.setMaskStep(1);
                a.forward(xt).close();
                try (Tensor<Double> dx = a.backward(gt)) {
                    assertThat(dx.toDoubleArray()).containsExactly(dAfterTwo);
                }
                a.setMaskStep(0);
                a.forward(xt).close();
                try (Tensor<Double> dx = a.backward(gt)) {
                    assertThat(dx.toDoubleArray()).isNotEqualTo(dAfterTwo);
                }
            }
        }
    }
}
