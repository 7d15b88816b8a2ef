package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.LinkedHashMap;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Lifecycle contract: allocation counting, idempotent close, every kind of use of a closed tensor
 * or mask fails with {@link IllegalStateException}, and after {@link ComputeBackend#close()} the
 * backend's calls fail the same way and its tensors are closed.
 */
public abstract class LifecycleContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected LifecycleContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    @Test
    @DisplayName("liveAllocations() counts open tensors and masks; close() is idempotent")
    void liveAllocationsAndIdempotentClose() {
        ComputeBackend be = backend();
        long start = be.liveAllocations();
        Tensor<Float> a = be.allocate(NumericType.FLOAT32, 3, 4);
        Tensor<Double> b = be.upload(new double[] {1, 2}, 2);
        Tensor<Float> c = be.upload(new float[0], 0);
        BitMask m = be.allocateMask(100);
        Tensor<Double> d = be.copyOf(b);
        assertThat(be.liveAllocations()).as("liveAllocations() after 4 tensors and 1 mask")
                .isEqualTo(start + 5);
        a.close();
        assertThat(a.isClosed()).isTrue();
        assertThat(be.liveAllocations()).as("after closing one tensor").isEqualTo(start + 4);
        a.close();
        assertThat(be.liveAllocations()).as("after closing the same tensor again (idempotent)")
                .isEqualTo(start + 4);
        m.close();
        m.close();
        assertThat(m.isClosed()).isTrue();
        b.close();
        c.close();
        d.close();
        d.close();
        assertThat(be.liveAllocations()).as("after closing everything").isEqualTo(start);
    }

    @Test
    @DisplayName("every use of a closed tensor fails with IllegalStateException")
    void closedTensorIsUnusable() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            closedTensorCase(be, type);
        }
    }

    private <T extends Number> void closedTensorCase(ComputeBackend be, NumericType<T> type) {
        Tensor<T> t = be.upload(type, new double[] {1, 2, 3, 4}, 2, 2);
        t.close();
        assertThat(t.isClosed()).isTrue();
        Tensor<T> o = tensor(type, new double[] {5, 6, 7, 8}, 2, 2);
        Tensor<T> p = tensor(type, new double[] {1, 0, 2, 1}, 2, 2);
        Tensor<T> q = tensor(type, new double[] {0, 1, 1, 0}, 2, 2);
        Tensor<T> r = tensor(type, new double[] {3, 1, 4, 1}, 2, 2);
        Tensor<T> bias = tensor(type, new double[] {1, 1}, 2);
        BitMask mask = mask(4);
        // each use, the argument that is the closed tensor (null: a method of the tensor itself)
        Map<String, Use> uses = new LinkedHashMap<>();
        uses.put("toFloatArray()", new Use(null, t::toFloatArray));
        uses.put("toDoubleArray()", new Use(null, t::toDoubleArray));
        uses.put("read(float[])", new Use("src", () -> be.read(t, 0, new float[4], 0, 4)));
        uses.put("read(double[])", new Use("src", () -> be.read(t, 0, new double[4], 0, 4)));
        uses.put("write(float[])", new Use("dst", () -> be.write(t, 0, new float[4], 0, 4)));
        uses.put("write(double[])", new Use("dst", () -> be.write(t, 0, new double[4], 0, 4)));
        uses.put("copy from", new Use("src", () -> be.copy(t, 0, o, 0, 4)));
        uses.put("copy to", new Use("dst", () -> be.copy(o, 0, t, 0, 4)));
        uses.put("copyOf", new Use("src", () -> be.copyOf(t).close()));
        uses.put("fill", new Use("t", () -> be.fill(t, 1)));
        uses.put("gemm (a)", new Use("a", () -> be.gemm(false, false, 2, 2, 2, 1, t, p, 0, o)));
        uses.put("gemm (b)", new Use("b", () -> be.gemm(false, false, 2, 2, 2, 1, p, t, 0, o)));
        uses.put("gemm (c)", new Use("c", () -> be.gemm(false, false, 2, 2, 2, 1, p, q, 0, t)));
        uses.put("axpby (x)", new Use("x", () -> be.axpby(1, t, 1, o)));
        uses.put("axpby (y)", new Use("y", () -> be.axpby(1, o, 1, t)));
        uses.put("addBias", new Use("y", () -> be.addBias(t, bias)));
        uses.put("columnSums", new Use("src", () -> be.columnSums(t, 0, bias)));
        uses.put("activate", new Use("pre", () -> be.activate(Activation.RELU, t, o)));
        uses.put("activationBackward",
                new Use("dOut", () -> be.activationBackward(Activation.RELU, p, q, t, o)));
        uses.put("maskedScaleAdd", new Use("src", () -> be.maskedScaleAdd(t, mask, false, 1, 0, o)));
        uses.put("sum", new Use("t", () -> be.sum(t)));
        uses.put("allFinite", new Use("t", () -> be.allFinite(t)));
        uses.put("meanSquaredError", new Use("pred", () -> be.meanSquaredError(t, p, o)));
        uses.put("softmaxCrossEntropy",
                new Use("logits", () -> be.softmaxCrossEntropy(2, t, p, o)));
        uses.put("sgdStep", new Use("grad", () -> be.sgdStep(o, t, null, 0.1, 0, 0)));
        uses.put("sgdStep (velocity)",
                new Use("velocity", () -> be.sgdStep(o, p, t, 0.1, 0.9, 0)));
        uses.put("adamStep",
                new Use("m", () -> be.adamStep(o, p, t, r, 0.1, 0.9, 0.999, 1e-8, 0, false, 1)));
        uses.put("adamStep (param)",
                new Use("param", () -> be.adamStep(t, p, q, r, 0.1, 0.9, 0.999, 1e-8, 0, true, 1)));
        for (Map.Entry<String, Use> use : uses.entrySet()) {
            assertRejected(use.getKey() + " on a closed " + type + " tensor",
                    IllegalStateException.class, use.getValue().argument(),
                    use.getKey().equals("copy to") ? null : o, use.getValue().call());
        }
        assertThat(t.shape()).as("shape() of a closed tensor still answers").containsExactly(2, 2);
    }

    /** A use of a closed tensor and the argument it passes the tensor as (null: none). */
    private record Use(String argument, ThrowingCallable call) {
    }

    @Test
    @DisplayName("every use of a closed mask fails with IllegalStateException")
    void closedMaskIsUnusable() {
        ComputeBackend be = backend();
        BitMask m = be.allocateMask(10);
        m.close();
        Tensor<Float> src = tensor(NumericType.FLOAT32, new double[10], 10);
        Tensor<Float> dst = tensor(NumericType.FLOAT32, filled(10, 3), 10);
        assertRejected("toLongArray() on a closed mask", IllegalStateException.class, null, null,
                m::toLongArray);
        assertRejected("generateMask on a closed mask", IllegalStateException.class, "mask", null,
                () -> be.generateMask(m, 1, 0, 0, 0.5));
        assertRejected("maskedScaleAdd with a closed mask", IllegalStateException.class, "mask",
                dst, () -> be.maskedScaleAdd(src, m, false, 1, 0, dst));
    }

    @Test
    @DisplayName("after backend.close(): calls fail with IllegalStateException, tensors are closed")
    void closedBackendIsUnusable() {
        ComputeBackend be = newBackend(kit.config());
        Tensor<Float> t = be.upload(new float[] {1, 2, 3}, 3);
        Tensor<Double> u = be.allocate(NumericType.FLOAT64, 3);
        Tensor<Double> u2 = be.allocate(NumericType.FLOAT64, 3);
        BitMask m = be.allocateMask(3);
        be.close();
        be.close();
        assertThat(t.isClosed()).as("a tensor still open when its backend closed is closed").isTrue();
        assertThat(u.isClosed()).as("a tensor still open when its backend closed is closed").isTrue();
        assertThat(m.isClosed()).as("a mask still open when its backend closed is closed").isTrue();
        assertThat(be.id()).as("id() answers after close()").isEqualTo(kit.provider().id());
        assertThat(be.liveAllocations()).as("liveAllocations() after close()").isZero();
        Map<String, ThrowingCallable> uses = new LinkedHashMap<>();
        uses.put("allocate", () -> be.allocate(NumericType.FLOAT32, 2));
        uses.put("upload(float[])", () -> be.upload(new float[] {1}, 1));
        uses.put("upload(double[])", () -> be.upload(new double[] {1}, 1));
        uses.put("allocateMask", () -> be.allocateMask(2));
        uses.put("toFloatArray of its tensor", t::toFloatArray);
        uses.put("fill", () -> be.fill(t, 1));
        uses.put("axpby", () -> be.axpby(1, u, 0, u2));
        uses.put("sum", () -> be.sum(t));
        uses.put("generateMask", () -> be.generateMask(m, 1, 0, 0, 0.5));
        for (Map.Entry<String, ThrowingCallable> use : uses.entrySet()) {
            assertThatThrownBy(use.getValue()).as("%s after backend.close()", use.getKey())
                    .isInstanceOf(IllegalStateException.class);
        }
        t.close();
        m.close();
    }
}
