package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class LifecycleTest {

    @Test
    void liveAllocationsCountsTensorsAndMasksAndCloseIsIdempotent() {
        try (CpuBackend backend = Fixtures.newBackend()) {
            assertThat(backend.liveAllocations()).isZero();
            Tensor<Float> t = backend.allocate(NumericType.FLOAT32, 3);
            Tensor<Double> u = backend.upload(new double[] {1}, 1);
            BitMask m = backend.allocateMask(100);
            assertThat(backend.liveAllocations()).isEqualTo(3);
            t.close();
            t.close();
            assertThat(t.isClosed()).isTrue();
            assertThat(backend.liveAllocations()).isEqualTo(2);
            m.close();
            m.close();
            assertThat(m.isClosed()).isTrue();
            assertThat(backend.liveAllocations()).isEqualTo(1);
            Tensor<Double> copy = backend.copyOf(u);
            assertThat(backend.liveAllocations()).isEqualTo(2);
            copy.close();
            u.close();
            assertThat(backend.liveAllocations()).isZero();
        }
    }

    @Test
    void closedTensorsAndMasksRefuseUse() {
        try (CpuBackend backend = Fixtures.newBackend()) {
            Tensor<Float> t = backend.upload(new float[] {1, 2}, 2);
            Tensor<Float> live = backend.allocate(NumericType.FLOAT32, 2);
            BitMask m = backend.allocateMask(2);
            t.close();
            m.close();
            assertThat(t.shape()).containsExactly(2);
            assertThatThrownBy(t::toFloatArray).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(t::toDoubleArray).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(m::toLongArray).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> backend.axpby(1, t, 0, live))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("x: tensor is closed");
            assertThatThrownBy(() -> backend.generateMask(m, 1, 0, 0, 0.5))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("mask: mask is closed");
            assertThatThrownBy(() -> backend.copyOf(t))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("src: tensor is closed");
            assertThat(backend.liveAllocations()).isEqualTo(1);
            live.close();
        }
    }

    @Test
    void closingTheBackendClosesEverythingAndEveryMethodThenFails() {
        CpuBackend backend = Fixtures.newBackend();
        Tensor<Float> t = backend.upload(new float[] {1, 2}, 2);
        Tensor<Float> u = backend.allocate(NumericType.FLOAT32, 2);
        BitMask m = backend.allocateMask(2);
        backend.close();
        backend.close();
        assertThat(t.isClosed()).isTrue();
        assertThat(u.isClosed()).isTrue();
        assertThat(m.isClosed()).isTrue();
        t.close();
        assertThatThrownBy(t::toFloatArray).isInstanceOf(IllegalStateException.class);

        Map<String, ThrowingCallable> calls = new LinkedHashMap<>();
        calls.put("describe", backend::describe);
        calls.put("allocate", () -> backend.allocate(NumericType.FLOAT32, 1));
        calls.put("upload", () -> backend.upload(new float[] {1}, 1));
        calls.put("upload#2", () -> backend.upload(new double[] {1}, 1));
        calls.put("upload#3", () -> backend.upload(NumericType.FLOAT32, new double[] {1}, 1));
        calls.put("copyOf", () -> backend.copyOf(t));
        calls.put("copy", () -> backend.copy(t, 0, u, 0, 1));
        calls.put("write", () -> backend.write(t, 0, new float[1], 0, 1));
        calls.put("read", () -> backend.read(t, 0, new double[1], 0, 1));
        calls.put("fill", () -> backend.fill(t, 0));
        calls.put("allocateMask", () -> backend.allocateMask(1));
        calls.put("gemm", () -> backend.gemm(false, false, 1, 1, 1, 1, t, t, 0, u));
        calls.put("axpby", () -> backend.axpby(1, t, 0, u));
        calls.put("addBias", () -> backend.addBias(t, u));
        calls.put("columnSums", () -> backend.columnSums(t, 0, u));
        calls.put("activate", () -> backend.activate(Activation.RELU, t, u));
        calls.put("activationBackward",
                () -> backend.activationBackward(Activation.RELU, t, t, t, u));
        calls.put("generateMask", () -> backend.generateMask(m, 0, 0, 0, 0));
        calls.put("maskedScaleAdd", () -> backend.maskedScaleAdd(t, m, false, 1, 0, u));
        calls.put("sum", () -> backend.sum(t));
        calls.put("allFinite", () -> backend.allFinite(t));
        calls.put("meanSquaredError", () -> backend.meanSquaredError(t, t, null));
        calls.put("softmaxCrossEntropy", () -> backend.softmaxCrossEntropy(2, t, t, null));
        calls.put("sgdStep", () -> backend.sgdStep(t, u, null, 0.1, 0, 0));
        calls.put("adamStep", () -> backend.adamStep(t, u, u, u, 0.1, 0.9, 0.99, 1e-8, 0,
                false, 1));
        assertThat(backend.id()).isEqualTo("cpu");
        assertThat(backend.liveAllocations()).isZero();
        calls.forEach((name, call) -> assertThatThrownBy(call).as(name)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(name.replaceAll("#.*", "") + ": backend 'cpu' is closed"));
    }

    @Test
    void tensorsOfAnotherBackendAreRejected() {
        try (CpuBackend one = Fixtures.newBackend(); CpuBackend two = Fixtures.newBackend()) {
            Tensor<Float> mine = one.allocate(NumericType.FLOAT32, 2);
            Tensor<Float> theirs = two.allocate(NumericType.FLOAT32, 2);
            BitMask theirMask = two.allocateMask(2);
            assertThatThrownBy(() -> one.axpby(1, mine, 0, theirs))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("y: expected a tensor of this backend");
            assertThatThrownBy(() -> one.generateMask(theirMask, 0, 0, 0, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mask: expected a mask of this backend");
            Tensor<Float> foreign = new ForeignTensor();
            assertThatThrownBy(() -> one.sum(foreign))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("t: expected a tensor of backend 'cpu', got a ");
        }
    }

    /** A tensor that is not the CPU backend's. */
    private static final class ForeignTensor implements Tensor<Float> {
        @Override
        public NumericType<Float> type() {
            return NumericType.FLOAT32;
        }

        @Override
        public dev.loradrop.api.spi.ComputeBackend backend() {
            return null;
        }

        @Override
        public int[] shape() {
            return new int[] {1};
        }

        @Override
        public int rank() {
            return 1;
        }

        @Override
        public int dim(int axis) {
            return 1;
        }

        @Override
        public int size() {
            return 1;
        }

        @Override
        public float[] toFloatArray() {
            return new float[1];
        }

        @Override
        public double[] toDoubleArray() {
            return new double[1];
        }

        @Override
        public boolean isClosed() {
            return false;
        }

        @Override
        public void close() {
        }
    }
}
