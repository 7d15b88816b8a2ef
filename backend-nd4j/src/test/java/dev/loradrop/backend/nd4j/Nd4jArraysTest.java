package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Wrapping INDArrays as tensors and back, with and without copies. */
class Nd4jArraysTest {

    private final ComputeBackend backend = new Nd4jBackendProvider().create(BackendConfig.defaults());

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    @Test
    void contiguousRowMajorArraysAreSharedNotCopied() {
        INDArray array = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
        try (Tensor<Float> t = Nd4jArrays.wrap(backend, array, NumericType.FLOAT32)) {
            assertThat(t.shape()).containsExactly(2, 3);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            array.putScalar(1, 2, 60f);
            assertThat(t.toFloatArray()[5]).as("a write to the array shows in the tensor").isEqualTo(60f);
            backend.fill(t, 7);
            assertThat(array.getFloat(0, 0)).as("a kernel's write shows in the array").isEqualTo(7f);
        }
        assertThat(array.wasClosed()).as("closing the tensor leaves the caller's array").isFalse();
        assertThat(array.getFloat(1, 1)).isEqualTo(7f);
    }

    @Test
    void otherLayoutsAndTypesAreCopiedWithTheirLogicalValues() {
        INDArray fOrder = Nd4j.createFromArray(new double[][] {{1, 2, 3}, {4, 5, 6}}).dup('f');
        INDArray row = Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}, {5, 6}})
                .get(NDArrayIndex.point(1), NDArrayIndex.all());
        INDArray ints = Nd4j.createFromArray(new int[] {3, -1});
        try (Tensor<Double> f = Nd4jArrays.wrap(backend, fOrder, NumericType.FLOAT64);
             Tensor<Double> r = Nd4jArrays.wrap(backend, row, NumericType.FLOAT64);
             Tensor<Float> narrowed = Nd4jArrays.wrap(backend, fOrder, NumericType.FLOAT32);
             Tensor<Double> converted = Nd4jArrays.wrap(backend, ints, NumericType.FLOAT64)) {
            assertThat(f.toDoubleArray()).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(r.shape()).containsExactly(2);
            assertThat(r.toDoubleArray()).containsExactly(3, 4);
            assertThat(narrowed.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(converted.toDoubleArray()).containsExactly(3, -1);
            fOrder.putScalar(0, 0, 100.0);
            assertThat(f.toDoubleArray()[0]).as("a copy").isEqualTo(1.0);
        }
        assertThatThrownBy(() -> Nd4jArrays.wrap(backend, ints))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("array: expected data type FLOAT or DOUBLE (or use wrap(backend, "
                        + "array, type) to convert), got INT");
    }

    @Test
    void unwrapIsALiveViewWithTheTensorsShape() {
        try (Tensor<Double> t = backend.upload(new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
             Tensor<Float> empty = backend.allocate(NumericType.FLOAT32, 0, 4)) {
            INDArray view = Nd4jArrays.unwrap(t);
            assertThat(view.shape()).containsExactly(3, 2);
            assertThat(view.ordering()).isEqualTo('c');
            assertThat(view.getDouble(2, 1)).isEqualTo(6.0);
            view.muli(10);
            assertThat(t.toDoubleArray()).containsExactly(10, 20, 30, 40, 50, 60);
            INDArray none = Nd4jArrays.unwrap(empty);
            assertThat(none.shape()).containsExactly(0, 4);
            assertThat(none.dataType()).isEqualTo(DataType.FLOAT);
        }
        Tensor<Float> closed = backend.upload(new float[] {1}, 1);
        closed.close();
        assertThatThrownBy(() -> Nd4jArrays.unwrap(closed))
                .isInstanceOf(IllegalStateException.class).hasMessage("unwrap: tensor is closed");
    }

    @Test
    void wrappedTensorsWorkInKernelsAndMatchNd4jsOwnProduct() {
        INDArray a = Nd4j.rand(DataType.DOUBLE, 5, 7);
        INDArray b = Nd4j.rand(DataType.DOUBLE, 7, 3);
        try (Tensor<Double> ta = Nd4jArrays.wrap(backend, a, NumericType.FLOAT64);
             Tensor<Double> tb = Nd4jArrays.wrap(backend, b, NumericType.FLOAT64);
             Tensor<Double> tc = backend.allocate(NumericType.FLOAT64, 5, 3)) {
            backend.gemm(false, false, 5, 3, 7, 1.0, ta, tb, 0.0, tc);
            INDArray expected = a.mmul(b);
            INDArray actual = Nd4jArrays.unwrap(tc);
            assertThat(actual.equalsWithEps(expected, 1e-12)).as("%s vs %s", actual, expected)
                    .isTrue();
        }
    }

    @Test
    void rejectsOtherBackendsAndTheirTensors() {
        try (ComputeBackend cpu = new CpuBackendProvider().create(BackendConfig.defaults());
             Tensor<Float> foreign = cpu.upload(new float[] {1}, 1)) {
            assertThatThrownBy(() -> Nd4jArrays.wrap(cpu, Nd4j.create(DataType.FLOAT, 1),
                    NumericType.FLOAT32))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("backend: expected a backend of 'nd4j', got 'cpu'");
            assertThatThrownBy(() -> Nd4jArrays.unwrap(foreign))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("tensor: expected a tensor of backend 'nd4j'");
        }
        assertThatThrownBy(() -> Nd4jArrays.wrap(backend, null, NumericType.FLOAT32))
                .isInstanceOf(NullPointerException.class).hasMessage("array");
    }

    @Test
    void aPreparedLinearNamesTheBackendOfAForeignInput() {
        try (ComputeBackend cpu = new CpuBackendProvider().create(BackendConfig.defaults());
             Tensor<Float> foreign = cpu.upload(new float[] {1, 2}, 1, 2);
             Tensor<Float> w = backend.upload(new float[] {1, 2, 3, 4}, 2, 2);
             Tensor<Float> y = backend.allocate(NumericType.FLOAT32, 1, 2);
             var linear = backend.prepareLinear(w, null, Activation.IDENTITY, 2, 2)) {
            assertThatThrownBy(() -> linear.apply(1, foreign, y))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("x: expected a tensor of backend 'nd4j', got one of backend 'cpu'");
        }
    }

    @Test
    @SuppressWarnings("try")
    void tensorsMadeInsideAnOpenWorkspaceOutliveIt() {
        WorkspaceConfiguration config = WorkspaceConfiguration.builder().initialSize(1 << 20).build();
        INDArray inWorkspace;
        Tensor<Float> allocated;
        Tensor<Float> wrapped;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager()
                .getAndActivateWorkspace(config, "loradrop-test")) {
            inWorkspace = Nd4j.createFromArray(new float[] {4, 5});
            assertThat(inWorkspace.isAttached()).isTrue();
            allocated = backend.upload(new float[] {1, 2, 3}, 3);
            wrapped = Nd4jArrays.wrap(backend, inWorkspace, NumericType.FLOAT32);
            backend.axpby(2.0, allocated, 0.0, allocated);
        }
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
        try (allocated; wrapped) {
            assertThat(allocated.toFloatArray()).containsExactly(2, 4, 6);
            assertThat(wrapped.toFloatArray()).as("copied out of the workspace").containsExactly(4, 5);
        }
    }

    @Test
    void transfersThroughWindowsOfAnySizeMatchAPlainArray() {
        float[] floats = new float[30];
        double[] doubles = new double[30];
        for (int i = 0; i < 30; i++) {
            floats[i] = i + 0.5f;
            doubles[i] = 100 + i + 0.5;
        }
        for (NumericType<?> type : new NumericType<?>[] {NumericType.FLOAT32, NumericType.FLOAT64}) {
            // 8 and 24 bytes split every transfer into windows of 1 to 6 elements
            for (int windowBytes : new int[] {8, 24, Nd4jArrays.WINDOW_BYTES}) {
                String what = type + ", windows of " + windowBytes + " bytes";
                try (Tensor<?> t = backend.allocate(type, 23); Tensor<?> u = backend.allocate(type, 23)) {
                    Nd4jTensor<?> a = (Nd4jTensor<?>) t;
                    Nd4jTensor<?> b = (Nd4jTensor<?>) u;
                    double[] model = new double[23];
                    Nd4jArrays.write(a.flat(), a.size(), 5, floats, 2, 13, windowBytes);
                    for (int i = 0; i < 13; i++) {
                        model[5 + i] = floats[2 + i];
                    }
                    Nd4jArrays.write(a.flat(), a.size(), 17, doubles, 1, 6, windowBytes);
                    System.arraycopy(doubles, 1, model, 17, 6);
                    assertThat(a.toDoubleArray()).as(what).containsExactly(model);

                    float[] readF = new float[30];
                    Arrays.fill(readF, -1f);
                    Nd4jArrays.read(a.flat(), a.size(), 3, readF, 4, 19, windowBytes);
                    for (int i = 0; i < 30; i++) {
                        float want = i >= 4 && i < 23 ? (float) model[i - 1] : -1f;
                        assertThat(readF[i]).as("%s: float[%d]", what, i).isEqualTo(want);
                    }
                    double[] readD = new double[25];
                    Arrays.fill(readD, -1);
                    Nd4jArrays.read(a.flat(), a.size(), 0, readD, 1, 23, windowBytes);
                    double[] wantD = new double[25];
                    wantD[0] = -1;
                    wantD[24] = -1;
                    System.arraycopy(model, 0, wantD, 1, 23);
                    assertThat(readD).as(what).containsExactly(wantD);

                    Nd4jArrays.copy(a, 4, b, 9, 14, windowBytes);
                    double[] modelB = new double[23];
                    System.arraycopy(model, 4, modelB, 9, 14);
                    assertThat(b.toDoubleArray()).as(what).containsExactly(modelB);
                }
            }
        }
    }

    @Test
    void aTransferWithABadRangeThrowsBeforeWritingAnything() {
        double[] before = {1, 2, 3, 4};
        for (NumericType<?> type : new NumericType<?>[] {NumericType.FLOAT32, NumericType.FLOAT64}) {
            try (Tensor<?> t = backend.upload(type, before, 4); Tensor<?> u = backend.upload(type, before, 4)) {
                Nd4jTensor<?> a = (Nd4jTensor<?>) t;
                Nd4jTensor<?> b = (Nd4jTensor<?>) u;
                assertThatThrownBy(() -> Nd4jArrays.write(a, 1, new float[] {9, 9, 9, 9}, 0, 4))
                        .as("%s: past the tensor's end", type).isInstanceOf(IndexOutOfBoundsException.class);
                assertThatThrownBy(() -> Nd4jArrays.write(a, 0, new double[] {9, 9}, 0, 3))
                        .as("%s: past the array's end", type).isInstanceOf(IndexOutOfBoundsException.class);
                assertThatThrownBy(() -> Nd4jArrays.copy(b, 0, a, 2, 3))
                        .as("%s: copy past the end", type).isInstanceOf(IndexOutOfBoundsException.class);
                assertThat(a.toDoubleArray()).as("%s: the tensor after rejected writes", type)
                        .containsExactly(before);
                float[] hostF = new float[3];
                assertThatThrownBy(() -> Nd4jArrays.read(a, 0, hostF, 0, 4))
                        .as("%s: into a short array", type).isInstanceOf(IndexOutOfBoundsException.class);
                assertThat(hostF).as("%s: the array after a rejected read", type).containsOnly(0f);
                double[] hostD = new double[4];
                assertThatThrownBy(() -> Nd4jArrays.read(a, 2, hostD, 0, 3))
                        .as("%s: past the tensor's end", type).isInstanceOf(IndexOutOfBoundsException.class);
                assertThat(hostD).as("%s: the array after a rejected read", type).containsOnly(0d);
            }
        }
    }

    @Test
    void softmaxCrossEntropyIgnoresZeroTargetsAtMinusInfinity() {
        double[] logits = {Double.NEGATIVE_INFINITY, 0, 1, 2, 3, 4};
        double[] target = {0, 1, 0, 0, 0, 1};
        try (ComputeBackend cpu = new CpuBackendProvider().create(BackendConfig.defaults())) {
            for (NumericType<?> type : new NumericType<?>[] {NumericType.FLOAT32, NumericType.FLOAT64}) {
                double want = loss(cpu, type, logits, target);
                double got = loss(backend, type, logits, target);
                assertThat(want).isFinite();
                assertThat(got).as(type.toString()).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6));
            }
        }
    }

    private static <T extends Number> double loss(ComputeBackend b, NumericType<T> type,
                                                  double[] logits, double[] target) {
        try (Tensor<T> l = b.upload(type, logits, 2, 3);
             Tensor<T> t = b.upload(type, target, 2, 3);
             Tensor<T> g = b.allocate(type, 2, 3)) {
            double loss = b.softmaxCrossEntropy(3, l, t, g);
            assertThat(b.allFinite(g)).isTrue();
            return loss;
        }
    }
}
