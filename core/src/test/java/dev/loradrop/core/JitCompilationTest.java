package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.ComputationGraph.Op;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.CompiledFunction;
import dev.loradrop.core.jit.GraphBuilder;
import dev.loradrop.core.jit.JitCompiler;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Graph export and compiled inference against the layers' own inference forward. */
class JitCompilationTest {

    static Stream<Arguments> everyCombination() {
        List<Arguments> args = new ArrayList<>();
        for (NumericType<?> type : List.of(NumericType.FLOAT64, NumericType.FLOAT32)) {
            for (Activation act : Activation.values()) {
                for (MaskGranularity g : MaskGranularity.values()) {
                    for (DropoutScaling s : DropoutScaling.values()) {
                        args.add(Arguments.of(type, act, g, s));
                    }
                }
            }
        }
        return args.stream();
    }

    /** float64: 1e-12, float32: 1e-5, relative to the largest output magnitude. */
    static double tolerance(NumericType<?> type) {
        return type == NumericType.FLOAT64 ? 1e-12 : 1e-5;
    }

    static <T extends Number> LoRADropAdapter<T> adapter(ComputeBackend backend,
            NumericType<T> type, int in, int out, Activation act, MaskGranularity g,
            DropoutScaling s, long seed) {
        Random r = new Random(seed);
        DenseLayer<T> dense = DenseLayer.fromWeights(backend, type,
                Fixtures.random(r, out * in, 0.8), Fixtures.random(r, out, 0.5), out, in, act);
        LoRADropAdapter<T> a = LoRADropAdapter.builder(dense).rank(3).alpha(5).dropoutRate(0.3)
                .granularity(g).scaling(s).seed(seed).build();
        Fixtures.randomiseB(a, r);
        a.setTraining(false);
        return a;
    }

    static <T extends Number> Tensor<T> input(ComputeBackend backend, NumericType<T> type,
                                              long seed, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return backend.upload(type, Fixtures.random(new Random(seed), n, 1.5), shape);
    }

    static void assertClose(double[] actual, double[] expected, double tol) {
        assertThat(actual).hasSameSizeAs(expected);
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("max |compiled - layer| over max |layer| = %s", worst / scale)
                .isLessThanOrEqualTo(tol * scale);
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("everyCombination")
    <T extends Number> void compiledAdapterEqualsItsInferenceForward(NumericType<T> type,
            Activation act, MaskGranularity g, DropoutScaling s) {
        try (ComputeBackend backend = Fixtures.cpu();
             LoRADropAdapter<T> a = adapter(backend, type, 13, 7, act, g, s, 11);
             CompiledFunction<T> f = a.compile(backend);
             ILayer<T> merged = a.mergeToOriginalLayer();
             Tensor<T> x = input(backend, type, 5, 2, 3, 13);
             Tensor<T> expected = a.forward(x);
             Tensor<T> actual = f.apply(x);
             Tensor<T> viaMerge = merged.forward(x)) {
            assertThat(actual.shape()).containsExactly(2, 3, 7);
            assertClose(actual.toDoubleArray(), expected.toDoubleArray(), tolerance(type));
            // The same fold and the same kernels as a merge: bit for bit.
            assertThat(actual.toDoubleArray()).containsExactly(viaMerge.toDoubleArray());
            assertThat(f.stageCount()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    <T extends Number> void compiledDenseLayerIsBitForBitItsForward(NumericType<T> type) {
        try (ComputeBackend backend = Fixtures.cpu()) {
            Random r = new Random(3);
            try (DenseLayer<T> d = DenseLayer.fromWeights(backend, type,
                         Fixtures.random(r, 6 * 9, 1), Fixtures.random(r, 6, 1), 6, 9,
                         Activation.GELU);
                 CompiledFunction<T> f = d.compile(backend);
                 Tensor<T> x = input(backend, type, 4, 5, 9);
                 Tensor<T> expected = d.forward(x);
                 Tensor<T> actual = f.apply(x)) {
                assertThat(actual.toDoubleArray()).containsExactly(expected.toDoubleArray());
            }
        }
    }

    static Stream<NumericType<?>> types() {
        return Stream.of(NumericType.FLOAT64, NumericType.FLOAT32);
    }

    static <T extends Number> SequentialModel<T> model(ComputeBackend backend,
                                                       NumericType<T> type) {
        Random r = new Random(21);
        return SequentialModel.of(
                adapter(backend, type, 13, 11, Activation.TANH, MaskGranularity.FEATURE,
                        DropoutScaling.INVERTED, 1),
                DenseLayer.fromWeights(backend, type, Fixtures.random(r, 9 * 11, 0.6),
                        Fixtures.random(r, 9, 0.3), 9, 11, Activation.RELU),
                adapter(backend, type, 9, 5, Activation.IDENTITY, MaskGranularity.RANK,
                        DropoutScaling.CLASSIC, 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    <T extends Number> void aModelCompilesIntoOneFunction(NumericType<T> type) {
        try (ComputeBackend backend = Fixtures.cpu();
             SequentialModel<T> m = model(backend, type)) {
            m.setTrainingMode(false);
            try (CompiledFunction<T> f = m.compile(backend);
                 Tensor<T> x = input(backend, type, 8, 4, 13);
                 Tensor<T> expected = m.forward(x);
                 Tensor<T> actual = f.apply(x)) {
                assertThat(f.stageCount()).isEqualTo(3);
                assertThat(actual.shape()).containsExactly(4, 5);
                assertClose(actual.toDoubleArray(), expected.toDoubleArray(), tolerance(type));
            }
        }
    }

    @Test
    void compilesOntoAnotherBackendInstance() {
        try (ComputeBackend home = Fixtures.cpu(); ComputeBackend other = Fixtures.cpu();
             SequentialModel<Double> m = model(home, NumericType.FLOAT64)) {
            m.setTrainingMode(false);
            long before = other.liveAllocations();
            try (CompiledFunction<Double> f = m.compile(other);
                 Tensor<Double> x = input(home, NumericType.FLOAT64, 8, 4, 13);
                 Tensor<Double> xo = input(other, NumericType.FLOAT64, 8, 4, 13);
                 Tensor<Double> expected = m.forward(x);
                 Tensor<Double> actual = f.apply(xo)) {
                assertThat(actual.backend()).isSameAs(other);
                assertClose(actual.toDoubleArray(), expected.toDoubleArray(), 1e-12);
                assertThatThrownBy(() -> f.apply(x)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("input").hasMessageContaining("backend");
            }
            assertThat(other.liveAllocations()).isEqualTo(before);
        }
    }

    // ------------------------------------------------------------------ graphs

    @Test
    void adapterGraphSharesTheInputAndPlacesDropoutWhereTheMaskApplies() {
        try (ComputeBackend backend = Fixtures.cpu()) {
            for (MaskGranularity g : MaskGranularity.values()) {
                try (LoRADropAdapter<Double> a = adapter(backend, NumericType.FLOAT64, 13, 7,
                        Activation.RELU, g, DropoutScaling.CLASSIC, 1)) {
                    ComputationGraph graph = a.exportComputationGraph();
                    List<ComputationGraph.Node> nodes = graph.nodes();
                    assertThat(nodes.get(0).op()).isEqualTo(Op.INPUT);
                    assertThat(nodes.get(0).shape()).containsExactly(-1, 13);
                    ComputationGraph.Node out = nodes.get(nodes.size() - 1);
                    assertThat(out.op()).isEqualTo(Op.ACTIVATION);
                    assertThat(out.attributes()).containsEntry("activation", "RELU");
                    assertThat(out.shape()).containsExactly(-1, 7);
                    // Both MATMULs that read the input (base and LoRA, or the dropout on it).
                    long readers = nodes.stream().filter(n -> n.inputs().contains(0)).count();
                    assertThat(readers).isEqualTo(2);
                    ComputationGraph.Node drop = nodes.stream()
                            .filter(n -> n.op() == Op.DROPOUT).findFirst().orElseThrow();
                    assertThat(drop.attributes()).containsEntry("rate", "0.3")
                            .containsEntry("granularity", g.name());
                    int expectedWidth = switch (g) {
                        case INPUT -> 13;
                        case RANK -> 3;
                        default -> 7;
                    };
                    assertThat(drop.shape()).containsExactly(-1, expectedWidth);
                    ComputationGraph.Node scale = nodes.stream()
                            .filter(n -> n.op() == Op.SCALE).findFirst().orElseThrow();
                    assertThat(Double.parseDouble(scale.attributes().get("factor")))
                            .isEqualTo(5.0 / 3 * 0.7);
                    assertThat(graph.toString()).contains("PARAMETER [3, 13] {name=lora_A.weight}")
                            .contains("PARAMETER [7, 3] {name=lora_B.weight}");
                }
            }
        }
    }

    @Test
    void graphPrintsOneLinePerNode() {
        try (ComputeBackend backend = Fixtures.cpu();
             LoRADropAdapter<Double> a = adapter(backend, NumericType.FLOAT64, 4, 3,
                     Activation.SIGMOID, MaskGranularity.FEATURE, DropoutScaling.INVERTED, 1)) {
            assertThat(a.exportComputationGraph().toString()).isEqualTo(""
                    + "%0 = INPUT [-1, 4]\n"
                    + "%1 = PARAMETER [3, 4] {name=weight}\n"
                    + "%2 = MATMUL %0, %1 [-1, 3] {transposeB=true}\n"
                    + "%3 = PARAMETER [3] {name=bias}\n"
                    + "%4 = ADD %2, %3 [-1, 3]\n"
                    + "%5 = PARAMETER [3, 4] {name=lora_A.weight}\n"
                    + "%6 = MATMUL %0, %5 [-1, 3] {transposeB=true}\n"
                    + "%7 = PARAMETER [3, 3] {name=lora_B.weight}\n"
                    + "%8 = MATMUL %6, %7 [-1, 3] {transposeB=true}\n"
                    + "%9 = DROPOUT %8 [-1, 3] {granularity=FEATURE, rate=0.3}\n"
                    + "%10 = SCALE %9 [-1, 3] {factor=1.6666666666666667}\n"
                    + "%11 = ADD %4, %10 [-1, 3]\n"
                    + "%12 = ACTIVATION %11 [-1, 3] {activation=SIGMOID}\n");
        }
    }

    @Test
    void modelGraphPrefixesParameterNamesByLayerIndex() {
        try (ComputeBackend backend = Fixtures.cpu();
             SequentialModel<Double> m = model(backend, NumericType.FLOAT64)) {
            ComputationGraph g = m.exportComputationGraph();
            List<String> names = g.nodes().stream().filter(n -> n.op() == Op.PARAMETER)
                    .map(n -> n.attributes().get("name")).toList();
            assertThat(names).containsExactly("0.weight", "0.bias", "0.lora_A.weight",
                    "0.lora_B.weight", "1.weight", "1.bias", "2.weight", "2.bias",
                    "2.lora_A.weight", "2.lora_B.weight");
            assertThat(m.weightNames()).containsAll(names);
            assertThat(g.nodes().stream().filter(n -> n.op() == Op.ACTIVATION).count())
                    .isEqualTo(3);
        }
    }

    @Test
    void layersThatCannotBeCompiledSaySo() {
        try (ComputeBackend backend = Fixtures.cpu();
             LoRALayer<Double> branch = new LoRALayer<>(backend, NumericType.FLOAT64, 4, 3, 2,
                     -1, 1);
             LoRADropAdapter<Double> overModel = LoRADropAdapter.builder(
                     (ILayer<Double>) SequentialModel.of(Fixtures.dense(backend, 4, 3,
                             Activation.TANH, new Random(2))))
                     .rank(1).seed(1L).build()) {
            for (AbstractLayer<Double> l : List.<AbstractLayer<Double>>of(branch, overModel)) {
                assertThat(l.supportsJitCompilation()).isFalse();
                assertThatThrownBy(l::exportComputationGraph)
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("exportComputationGraph");
                assertThatThrownBy(() -> l.compile(backend))
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("compile");
            }
            try (SequentialModel<Double> m = SequentialModel.of(Fixtures.dense(backend, 5, 4,
                    Activation.RELU, new Random(1)))) {
                assertThat(m.supportsJitCompilation()).isTrue();
            }
        }
    }

    @Test
    void unsupportedGraphShapesNameTheNode() {
        GraphBuilder g = new GraphBuilder();
        int x = g.input(3);
        int h = g.activation(g.matmul(x, g.parameter("w", 3, 3)), Activation.RELU);
        int skip = g.add(h, g.matmul(x, g.parameter("v", 3, 3))); // a skip connection
        ComputationGraph graph = g.build(skip);
        try (ComputeBackend backend = Fixtures.cpu()) {
            assertThatThrownBy(() -> JitCompiler.fold(graph, n -> null, NumericType.FLOAT64,
                    backend)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("node " + skip);
        }
    }

    @Test
    void badInputIsRejectedWithItsName() {
        try (ComputeBackend backend = Fixtures.cpu();
             LoRADropAdapter<Double> a = adapter(backend, NumericType.FLOAT64, 6, 4,
                     Activation.RELU, MaskGranularity.FEATURE, DropoutScaling.INVERTED, 1);
             CompiledFunction<Double> f = a.compile(backend);
             Tensor<Double> wide = backend.allocate(NumericType.FLOAT64, 2, 7);
             Tensor<Float> single = backend.allocate(NumericType.FLOAT32, 2, 6)) {
            long live = backend.liveAllocations();
            assertThatThrownBy(() -> f.apply(null)).isInstanceOf(NullPointerException.class)
                    .hasMessage("input");
            assertThatThrownBy(() -> f.apply(wide)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input: expected last axis 6, got shape [2, 7]");
            @SuppressWarnings({"unchecked", "rawtypes"})
            CompiledFunction<Float> raw = (CompiledFunction) f;
            assertThatThrownBy(() -> raw.apply(single))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input: expected FLOAT64");
            assertThat(backend.liveAllocations()).isEqualTo(live);
            f.close();
            assertThatThrownBy(() -> f.apply(wide)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(f::refresh).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closingReleasesEveryFoldedTensor() {
        try (ComputeBackend backend = Fixtures.cpu();
             SequentialModel<Float> m = model(backend, NumericType.FLOAT32)) {
            long before = backend.liveAllocations();
            CompiledFunction<Float> f = m.compile(backend);
            assertThat(backend.liveAllocations()).isGreaterThan(before);
            try (Tensor<Float> x = input(backend, NumericType.FLOAT32, 1, 2, 13)) {
                f.apply(x).close();
            }
            f.refresh();
            f.close();
            f.close();
            assertThat(backend.liveAllocations()).isEqualTo(before);
        }
    }
}
