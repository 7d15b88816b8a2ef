package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.CompiledFunction;
import dev.loradrop.core.optim.Adam;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A compiled function never serves weights it knows may be old: every path that can write a weight
 * makes it report stale, refresh brings it back, and read-only use does not disturb it.
 */
class CompiledFunctionStalenessTest {

    private ComputeBackend backend;
    private LoRADropAdapter<Double> adapter;
    private Tensor<Double> x;

    @BeforeEach
    void setUp() {
        backend = Fixtures.cpu();
        adapter = JitCompilationTest.adapter(backend, NumericType.FLOAT64, 6, 5, Activation.TANH,
                MaskGranularity.FEATURE, DropoutScaling.INVERTED, 7);
        x = JitCompilationTest.input(backend, NumericType.FLOAT64, 3, 4, 6);
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    /** Writes that change the adapter's weights, each through a different path. */
    static Stream<Arguments> writes() {
        return Stream.of(
                write("an optimiser step", a -> {
                    a.setTraining(true);
                    try (Tensor<Double> in = JitCompilationTest.input(a.backend(),
                            NumericType.FLOAT64, 9, 4, 6);
                         Tensor<Double> y = a.forward(in);
                         Tensor<Double> dy = a.backend().copyOf(y);
                         Adam adam = Adam.adamW(0.05, 0.0)) {
                        a.backward(dy).close();
                        adam.step(a);
                    }
                    a.setTraining(false);
                }),
                write("a write through parameters()", a -> {
                    Parameter<Double> p = a.parameters().get(1);
                    a.backend().fill(p.value(), 0.25);
                }),
                write("a write through DenseLayer.weight()", a -> a.backend().fill(
                        ((DenseLayer<Double>) a.baseLayer()).weight(), 0.1)),
                write("a write through DenseLayer.bias()", a -> a.backend().fill(
                        ((DenseLayer<Double>) a.baseLayer()).bias(), 0.1)),
                write("a write through LoRALayer.loraA()", a -> a.backend().fill(
                        a.loraLayer().loraA(), 0.3)),
                write("a write through LoRALayer.loraB()", a -> a.backend().fill(
                        a.loraLayer().loraB(), 0.3)),
                write("setWeight", a -> {
                    try (Tensor<Double> v = a.backend().upload(new double[30], 5, 6)) {
                        a.setWeight("weight", v);
                    }
                }),
                write("loadWeights", a -> {
                    try (Tensor<Double> v = a.backend().upload(new double[15], 5, 3)) {
                        a.loadWeights(Map.of("lora_B.weight", v), false);
                    }
                }),
                write("setParameters", a -> {
                    try (Tensor<Double> flat = a.getParameters()) {
                        a.backend().fill(flat, -0.2);
                        a.setParameters(flat);
                    }
                }),
                write("updateParameters", a -> {
                    a.setTraining(true);
                    try (Tensor<Double> in = JitCompilationTest.input(a.backend(),
                            NumericType.FLOAT64, 9, 4, 6);
                         Tensor<Double> y = a.forward(in)) {
                        a.backward(y).close(); // gradients only: still fresh here
                    }
                    a.setTraining(false);
                    a.updateParameters(0.1);
                }));
    }

    private static Arguments write(String name, Consumer<LoRADropAdapter<Double>> w) {
        return Arguments.of(name, w);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writes")
    void everyWritePathMakesTheFunctionStaleAndRefreshCatchesUp(String name,
            Consumer<LoRADropAdapter<Double>> write) {
        try (CompiledFunction<Double> f = adapter.compile(backend);
             Tensor<Double> before = f.apply(x)) {
            assertThat(f.isStale()).isFalse();
            write.accept(adapter);
            assertThat(f.isStale()).as(name).isTrue();
            assertThatThrownBy(() -> f.apply(x)).as(name)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("stale").hasMessageContaining("refresh()");
            f.refresh();
            assertThat(f.isStale()).isFalse();
            try (Tensor<Double> expected = adapter.forward(x);
                 Tensor<Double> after = f.apply(x)) {
                JitCompilationTest.assertClose(after.toDoubleArray(), expected.toDoubleArray(),
                        1e-12);
                assertThat(after.toDoubleArray()).as(name)
                        .isNotEqualTo(before.toDoubleArray());
            }
        }
    }

    @Test
    void readOnlyUseLeavesTheFunctionFresh() {
        try (CompiledFunction<Double> f = adapter.compile(backend)) {
            adapter.getParameters().close();
            adapter.getParameterGradients().close();
            adapter.getWeight("lora_A.weight").close();
            adapter.weightNames();
            adapter.parameterCount();
            adapter.clearGradients();
            adapter.forward(x).close();
            adapter.exportComputationGraph();
            adapter.mergeToOriginalLayer().close();
            adapter.getDiagnostics();
            assertThat(f.isStale()).isFalse();
            f.apply(x).close();
        }
    }

    @Test
    void aWriteToOneLayerOfAModelMakesTheModelsFunctionStale() {
        try (SequentialModel<Double> m = JitCompilationTest.model(backend, NumericType.FLOAT64)) {
            m.setTrainingMode(false);
            try (CompiledFunction<Double> whole = m.compile(backend);
                 Tensor<Double> in = JitCompilationTest.input(backend, NumericType.FLOAT64, 1,
                         2, 13)) {
                DenseLayer<Double> middle = (DenseLayer<Double>) m.layers().get(1);
                backend.fill(middle.weight(), 0.5);
                assertThatThrownBy(() -> whole.apply(in))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("stale");
                whole.refresh();
                try (Tensor<Double> expected = m.forward(in); Tensor<Double> y = whole.apply(in)) {
                    JitCompilationTest.assertClose(y.toDoubleArray(), expected.toDoubleArray(),
                            1e-12);
                }
            }
        }
    }

    @Test
    void handingOutAModelsParametersMakesItsLayersFunctionsStale() {
        try (SequentialModel<Double> m = JitCompilationTest.model(backend, NumericType.FLOAT64)) {
            m.setTrainingMode(false);
            LoRADropAdapter<Double> first = (LoRADropAdapter<Double>) m.layers().get(0);
            try (CompiledFunction<Double> part = first.compile(backend)) {
                m.parameters(); // an optimiser may now write the first layer's lora_A
                assertThat(part.isStale()).isTrue();
            }
        }
    }

    @Test
    void aFailedRefreshLeavesTheFunctionAsItWas() {
        CompiledFunction<Double> f = adapter.compile(backend);
        try (Tensor<Double> good = f.apply(x)) {
            backend.fill(adapter.loraLayer().loraA(), 1.0);
            adapter.close(); // the source is gone: refresh cannot fold
            assertThatThrownBy(f::refresh).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThat(f.inputSize()).isEqualTo(6);
            f.close();
        }
    }
}
