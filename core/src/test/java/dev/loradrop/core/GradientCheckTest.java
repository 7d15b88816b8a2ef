package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Analytic gradients of A, B, x (and W, b when the base is trainable) against central finite
 * differences of {@code L = sum(G * y)} in float64, with the training mask replayed for every
 * perturbed forward pass through {@link LoRADropAdapter#setMaskStep(int)}.
 */
class GradientCheckTest {

    private static final double H = 1e-6;
    /** Central differences in float64 on O(1) values are good to about 1e-8; 1e-6 is generous. */
    private static final double TOLERANCE = 1e-6;

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        assertThat(backend.liveAllocations()).as("tensors leaked by the test").isZero();
        backend.close();
    }

    /** batch, in, out, rank: batch 1, rank 1, rank = min(in, out), in != out both ways. */
    private static final int[][] SHAPES = {{1, 4, 3, 2}, {3, 5, 4, 1}, {2, 3, 5, 3}, {4, 6, 2, 2}};
    private static final Activation[] ACTIVATIONS = {
        Activation.IDENTITY, Activation.TANH, Activation.SIGMOID, Activation.GELU, Activation.RELU};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        int i = 0;
        for (MaskGranularity g : MaskGranularity.values()) {
            for (DropoutScaling s : DropoutScaling.values()) {
                for (Activation a : ACTIVATIONS) {
                    int[] shape = SHAPES[i % SHAPES.length];
                    boolean frozen = i % 2 == 0;
                    cases.add(Arguments.of(g, s, a, shape[0], shape[1], shape[2], shape[3],
                            frozen));
                    i++;
                }
            }
        }
        // Every shape with every granularity at least once, trainable base included.
        for (int[] shape : SHAPES) {
            for (MaskGranularity g : MaskGranularity.values()) {
                cases.add(Arguments.of(g, DropoutScaling.INVERTED, Activation.TANH, shape[0],
                        shape[1], shape[2], shape[3], false));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} batch={3} in={4} out={5} r={6} frozen={7}")
    @MethodSource("cases")
    void analyticGradientsMatchCentralDifferences(MaskGranularity granularity,
            DropoutScaling scaling, Activation activation, int batch, int in, int out, int rank,
            boolean frozen) {
        Random r = new Random(31L * batch + 7L * in + out + rank + granularity.ordinal());
        DenseLayer<Double> base = Fixtures.dense(backend, in, out, activation, r);
        try (LoRADropAdapter<Double> adapter = LoRADropAdapter.builder(base).rank(rank)
                .alpha(1.5 * rank).dropoutRate(0.4).granularity(granularity).scaling(scaling)
                .freezeBaseLayer(frozen).seed(99L).build()) {
            Fixtures.randomiseB(adapter, r);
            double[] xHost = Fixtures.random(r, batch * in, 1.0);
            if (activation == Activation.RELU) {
                nudgeAwayFromKinks(adapter, xHost, batch, in);
            }
            double[] gHost = Fixtures.random(r, batch * out, 1.0);
            int step = 5;
            try (Tensor<Double> x = backend.upload(xHost, batch, in);
                 Tensor<Double> g = backend.upload(gHost, batch, out)) {
                adapter.setMaskStep(step);
                double[] dx;
                adapter.forward(x).close();
                try (Tensor<Double> dxT = adapter.backward(g)) {
                    dx = dxT.toDoubleArray();
                }
                assertThat(adapter.maskStep()).isEqualTo(step + 1);

                // The input gradient.
                for (int i = 0; i < xHost.length; i++) {
                    double fd = centralDifference(adapter, x, i, gHost, step);
                    assertClose(dx[i], fd, "dL/dx[" + i + "]");
                }
                // Every trainable parameter; the base's only when it is not frozen.
                List<String> names = new ArrayList<>();
                for (Parameter<Double> p : adapter.parameters()) {
                    names.add(p.name());
                    double[] analytic = p.gradient().toDoubleArray();
                    for (int i = 0; i < analytic.length; i++) {
                        double fd = centralDifference(adapter, p.value(), i, gHost, step, x);
                        assertClose(analytic[i], fd, "dL/d" + p.name() + "[" + i + "]");
                    }
                }
                assertThat(names).containsExactlyElementsOf(frozen
                        ? List.of("lora_A.weight", "lora_B.weight")
                        : List.of("weight", "bias", "lora_A.weight", "lora_B.weight"));
            }
        }
    }

    /** Moves inputs so that no pre-activation sits within 1e-3 of ReLU's kink. */
    private void nudgeAwayFromKinks(LoRADropAdapter<Double> adapter, double[] x, int batch,
                                    int in) {
        for (int attempt = 0; attempt < 100; attempt++) {
            adapter.setTraining(false);
            double[] y;
            try (Tensor<Double> xt = backend.upload(x, batch, in);
                 Tensor<Double> yt = adapter.forward(xt)) {
                y = yt.toDoubleArray();
            }
            adapter.setTraining(true);
            boolean ok = true;
            for (double v : y) {
                ok &= v == 0.0 || Math.abs(v) > 1e-3;
            }
            if (ok) {
                return;
            }
            for (int i = 0; i < x.length; i++) {
                x[i] += 0.0123;
            }
        }
    }

    private double centralDifference(LoRADropAdapter<Double> adapter, Tensor<Double> x, int i,
                                     double[] g, int step) {
        return centralDifference(adapter, x, i, g, step, x);
    }

    /** Perturbs element i of {@code target} and evaluates L with the mask of {@code step}. */
    private double centralDifference(LoRADropAdapter<Double> adapter, Tensor<Double> target,
                                     int i, double[] g, int step, Tensor<Double> x) {
        double[] one = new double[1];
        backend.read(target, i, one, 0, 1);
        double original = one[0];
        double[] plus = {original + H};
        double[] minus = {original - H};
        backend.write(target, i, plus, 0, 1);
        double lp = loss(adapter, x, g, step);
        backend.write(target, i, minus, 0, 1);
        double lm = loss(adapter, x, g, step);
        backend.write(target, i, one, 0, 1);
        return (lp - lm) / (2 * H);
    }

    private static double loss(LoRADropAdapter<Double> adapter, Tensor<Double> x, double[] g,
                               int step) {
        adapter.setMaskStep(step);
        try (Tensor<Double> y = adapter.forward(x)) {
            double[] v = y.toDoubleArray();
            double sum = 0;
            for (int i = 0; i < v.length; i++) {
                sum += g[i] * v[i];
            }
            return sum;
        }
    }

    private static void assertClose(double analytic, double fd, String what) {
        double err = Math.abs(analytic - fd) / Math.max(1.0, Math.abs(fd));
        assertThat(err).as("%s: analytic %s vs finite difference %s", what, analytic, fd)
                .isLessThan(TOLERANCE);
    }
}
