package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ILayer#backwardParameters} stores exactly the parameter gradients {@link ILayer#backward}
 * stores, for every layer kind, mask granularity, activation and frozen or trainable base, and
 * leaks nothing.
 */
class BackwardParametersTest {

    private final ComputeBackend backend = Fixtures.cpu();

    @AfterEach
    void close() {
        assertThat(backend.liveAllocations()).as("tensors leaked by the test").isZero();
        backend.close();
    }

    static Stream<Arguments> adapters() {
        List<Arguments> cases = new ArrayList<>();
        for (MaskGranularity g : MaskGranularity.values()) {
            for (Activation a : new Activation[] {Activation.IDENTITY, Activation.RELU,
                Activation.TANH}) {
                for (boolean frozen : new boolean[] {true, false}) {
                    cases.add(Arguments.of(g, a, frozen));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} frozen={2}")
    @MethodSource("adapters")
    void anAdapterStoresTheGradientsBackwardStores(MaskGranularity granularity,
                                                   Activation activation, boolean frozen) {
        Random r = new Random(granularity.ordinal() * 10L + activation.ordinal());
        try (LoRADropAdapter<Double> adapter = LoRADropAdapter.builder(
                        Fixtures.dense(backend, 7, 5, activation, r))
                .rank(3).dropoutRate(0.4).granularity(granularity).freezeBaseLayer(frozen)
                .seed(11L).build()) {
            Fixtures.randomiseB(adapter, r);
            assertSameGradients(adapter, 4, r);
        }
    }

    @Test
    void anAdapterOverANonDenseBaseStoresTheGradientsBackwardStores() {
        Random r = new Random(3);
        SequentialModel<Double> base = SequentialModel.of(
                Fixtures.dense(backend, 6, 5, Activation.TANH, r));
        try (LoRADropAdapter<Double> adapter = LoRADropAdapter.builder(base).rank(2)
                .dropoutRate(0.3).granularity(MaskGranularity.INPUT).freezeBaseLayer(false)
                .seed(5L).build()) {
            Fixtures.randomiseB(adapter, r);
            assertSameGradients(adapter, 3, r);
        }
    }

    @Test
    void aDenseLayerStoresTheGradientsBackwardStores() {
        Random r = new Random(4);
        try (DenseLayer<Double> dense = Fixtures.dense(backend, 6, 4, Activation.RELU, r)) {
            assertSameGradients(dense, 5, r);
        }
    }

    @Test
    void aModelStoresTheGradientsBackwardStores() {
        Random r = new Random(5);
        List<ILayer<Double>> layers = new ArrayList<>();
        int[] sizes = {8, 6, 5, 3};
        for (int i = 0; i + 1 < sizes.length; i++) {
            LoRADropAdapter<Double> a = LoRADropAdapter.builder(Fixtures.dense(backend, sizes[i],
                            sizes[i + 1], Activation.RELU, r))
                    .rank(2).dropoutRate(0.2).granularity(MaskGranularity.values()[i])
                    .seed(9L + i).build();
            Fixtures.randomiseB(a, r);
            layers.add(a);
        }
        try (SequentialModel<Double> model = SequentialModel.of(layers)) {
            assertSameGradients(model, 4, r);
        }
    }

    @Test
    void withoutAForwardPassItFailsAsBackwardDoes() {
        Random r = new Random(6);
        try (LoRADropAdapter<Double> adapter = LoRADropAdapter.builder(
                Fixtures.dense(backend, 3, 2, Activation.IDENTITY, r)).rank(1).build();
             Tensor<Double> g = backend.upload(new double[2], 1, 2)) {
            adapter.setTrainingMode(true);
            assertThatThrownBy(() -> adapter.backwardParameters(g))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no forward pass");
        }
    }

    /**
     * Runs forward + backward, then (with the same masks) forward + backwardParameters, and
     * compares every stored gradient exactly.
     */
    private void assertSameGradients(AbstractLayer<Double> layer, int batch, Random r) {
        double[] x = Fixtures.random(r, batch * layer.inputSize(), 1.0);
        double[] g = Fixtures.random(r, batch * layer.outputSize(), 1.0);
        layer.setTrainingMode(true);
        try (Tensor<Double> xt = backend.upload(x, batch, layer.inputSize());
             Tensor<Double> gt = backend.upload(g, batch, layer.outputSize())) {
            setMaskSteps(layer, 7);
            layer.forward(xt).close();
            layer.backward(gt).close();
            Map<String, double[]> expected = gradients(layer);
            spoilGradients(layer); // so that a gradient left unwritten shows
            setMaskSteps(layer, 7);
            layer.forward(xt).close();
            layer.backwardParameters(gt);
            assertThat(expected).isNotEmpty();
            Map<String, double[]> actual = gradients(layer);
            assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
            for (Map.Entry<String, double[]> e : expected.entrySet()) {
                assertThat(actual.get(e.getKey())).as(e.getKey()).containsExactly(e.getValue());
            }
        }
    }

    private static void setMaskSteps(ILayer<Double> layer, int step) {
        if (layer instanceof LoRADropAdapter<Double> a) {
            a.setMaskStep(step);
        } else if (layer instanceof SequentialModel<Double> m) {
            m.layers().forEach(l -> setMaskSteps(l, step));
        }
    }

    private void spoilGradients(AbstractLayer<Double> layer) {
        for (Parameter<Double> p : layer.parameters()) {
            double[] nan = new double[p.gradient().size()];
            java.util.Arrays.fill(nan, Double.NaN);
            backend.write(p.gradient(), 0, nan, 0, nan.length);
        }
    }

    private static Map<String, double[]> gradients(AbstractLayer<Double> layer) {
        Map<String, double[]> all = new LinkedHashMap<>();
        for (Parameter<Double> p : layer.parameters()) {
            all.put(p.name(), p.gradient().toDoubleArray());
        }
        return all;
    }
}
