package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Bad-input contract: inconsistent element counts, mismatched sizes, mixed FLOAT32/FLOAT64,
 * tensors or masks of another backend instance, negative or overflowing extents, wrong upload
 * lengths and out-of-range (also overflowing) offsets throw {@link IllegalArgumentException};
 * {@code null} tensors throw {@link NullPointerException}. The output of a rejected call is
 * unchanged, and a rejected call leaks nothing.
 */
public abstract class BadInputContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected BadInputContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    private static final Class<IllegalArgumentException> IAE = IllegalArgumentException.class;
    private static final Class<NullPointerException> NPE = NullPointerException.class;

    /** Views a tensor of either type as the caller's type, to build mixed-type calls. */
    @SuppressWarnings("unchecked")
    private static <T extends Number> Tensor<T> as(Tensor<?> t) {
        return (Tensor<T>) t;
    }

    private Tensor<Float> f32(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return tensor(NumericType.FLOAT32, random(n * 7L + shape.length, n, -1, 1), shape);
    }

    private Tensor<Double> f64(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return tensor(NumericType.FLOAT64, random(n * 7L + shape.length, n, -1, 1), shape);
    }

    @Test
    @DisplayName("gemm rejects inconsistent counts, negative dimensions, mixed types, foreign and null")
    void gemm() {
        ComputeBackend be = backend();
        Tensor<Float> a = f32(2, 3);
        Tensor<Float> b = f32(3, 4);
        Tensor<Float> c = f32(2, 4);
        Tensor<Float> a5 = f32(5);
        Tensor<Float> c9 = f32(9);
        Tensor<Double> b64 = f64(3, 4);
        Tensor<Float> foreign = own(newBackend(kit.config()).upload(new float[12], 3, 4));
        assertRejected("gemm(m=2, n=4, k=3) with A of 5 elements", IAE, c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a5, b, 0, c));
        assertRejected("gemm(m=2, n=4, k=3) with B of 6 elements", IAE, c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, a, 0, c));
        assertRejected("gemm(m=2, n=4, k=3) with C of 9 elements", IAE, c9,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, b, 0, c9));
        assertRejected("gemm(m=3, n=4, k=2) where A (6) fits but C (8) does not", IAE, c,
                () -> be.gemm(true, false, 3, 4, 2, 1, a, f32(2, 4), 0, c));
        assertRejected("gemm(m=-2, n=-4, k=-3): negative dimensions", IAE, c,
                () -> be.gemm(false, false, -2, -4, -3, 1, a, b, 0, c));
        assertRejected("gemm(m=-1, n=-8, k=-6): negative dimensions with matching products", IAE, c,
                () -> be.gemm(false, false, -1, -8, -6, 1, a, f32(6, 8), 0, c));
        assertRejected("gemm with FLOAT64 B and FLOAT32 A, C", IAE, c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, as(b64), 0, c));
        assertRejected("gemm with B of another backend instance", IAE, c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, foreign, 0, c));
        assertRejected("gemm with null A", NPE, c,
                () -> be.gemm(false, false, 2, 4, 3, 1, null, b, 0, c));
        assertRejected("gemm with null C", NPE, null,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, b, 0, null));
    }

    @Test
    @DisplayName("elementwise kernels reject mismatched sizes, mixed types, foreign and null")
    void elementwise() {
        ComputeBackend be = backend();
        Tensor<Float> x6 = f32(6);
        Tensor<Float> y6 = f32(6);
        Tensor<Float> y7 = f32(7);
        Tensor<Double> d6 = f64(6);
        Tensor<Float> b3 = f32(3);
        Tensor<Float> b4 = f32(4);
        Tensor<Float> foreign = own(newBackend(kit.config()).upload(new float[6], 6));
        assertRejected("axpby with x[6], y[7]", IAE, y7, () -> be.axpby(1, x6, 1, y7));
        assertRejected("axpby with FLOAT64 x, FLOAT32 y", IAE, y6, () -> be.axpby(1, as(d6), 1, y6));
        assertRejected("axpby with x of another backend instance", IAE, y6,
                () -> be.axpby(1, foreign, 1, y6));
        assertRejected("axpby with null x", NPE, y6, () -> be.axpby(1, null, 1, y6));
        assertRejected("addBias with y[7], bias[3]", IAE, y7, () -> be.addBias(y7, b3));
        assertRejected("addBias with FLOAT32 y, FLOAT64 bias", IAE, y6,
                () -> be.addBias(y6, as(f64(3))));
        assertRejected("columnSums with src[6], dst[4]", IAE, b4, () -> be.columnSums(x6, 1, b4));
        assertRejected("columnSums with src of another backend instance", IAE, b3,
                () -> be.columnSums(foreign, 1, b3));
        assertRejected("activate with pre[6], out[7]", IAE, y7,
                () -> be.activate(Activation.TANH, x6, y7));
        assertRejected("activate with FLOAT64 pre, FLOAT32 out", IAE, y6,
                () -> be.activate(Activation.TANH, as(d6), y6));
        assertRejected("activate with null activation", NPE, y6, () -> be.activate(null, x6, y6));
        assertRejected("activationBackward with dOut[7], others [6]", IAE, y6,
                () -> be.activationBackward(Activation.SIGMOID, x6, f32(6), y7, y6));
        assertRejected("activationBackward with out[7], others [6]", IAE, y6,
                () -> be.activationBackward(Activation.SIGMOID, x6, y7, f32(6), y6));
        assertRejected("activationBackward with dPre[7], others [6]", IAE, y7,
                () -> be.activationBackward(Activation.SIGMOID, x6, f32(6), f32(6), y7));
        assertRejected("sum of a tensor of another backend instance", IAE, null,
                () -> be.sum(foreign));
        assertRejected("allFinite of a tensor of another backend instance", IAE, null,
                () -> be.allFinite(foreign));
        assertRejected("fill of a tensor of another backend instance", IAE, foreign,
                () -> be.fill(foreign, 3));
        assertRejected("sum(null)", NPE, null, () -> be.sum(null));
    }

    @Test
    @DisplayName("masks: generateMask rejects bad rates and foreign masks; maskedScaleAdd bad sizes")
    void masks() {
        ComputeBackend be = backend();
        BitMask mask = mask(100);
        be.generateMask(mask, 1, 0, 0, 0.5);
        long[] before = mask.toLongArray();
        for (double rate : new double[] {1.0, -0.1, Double.NaN, 2, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> be.generateMask(mask, 2, 0, 0, rate))
                    .as("generateMask(dropoutRate=%s)", rate).isInstanceOf(IAE);
            assertThat(mask.toLongArray()).as("mask after generateMask(dropoutRate=%s) failed", rate)
                    .isEqualTo(before);
        }
        BitMask foreignMask = own(newBackend(kit.config()).allocateMask(6));
        assertThatThrownBy(() -> be.generateMask(foreignMask, 2, 0, 0, 0.5))
                .as("generateMask on a mask of another backend instance").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.generateMask(null, 2, 0, 0, 0.5))
                .as("generateMask(null)").isInstanceOf(NPE);
        assertThatThrownBy(() -> be.allocateMask(-1)).as("allocateMask(-1)").isInstanceOf(IAE);

        Tensor<Float> src = f32(2, 3);
        Tensor<Float> dst = f32(2, 3);
        BitMask m5 = mask(5);
        BitMask m4 = mask(4);
        BitMask m3 = mask(3);
        assertRejected("maskedScaleAdd with a per-element mask of 5 bits for 6 elements", IAE, dst,
                () -> be.maskedScaleAdd(src, m5, false, 2, 1, dst));
        assertRejected("maskedScaleAdd broadcasting a 4-bit mask over 6 elements", IAE, dst,
                () -> be.maskedScaleAdd(src, m4, true, 2, 1, dst));
        assertRejected("maskedScaleAdd with a per-element mask of 3 bits for 6 elements", IAE, dst,
                () -> be.maskedScaleAdd(src, m3, false, 2, 1, dst));
        assertRejected("maskedScaleAdd with src[6], dst[7]", IAE, null,
                () -> be.maskedScaleAdd(src, m3, true, 2, 1, f32(7)));
        assertRejected("maskedScaleAdd with FLOAT64 src, FLOAT32 dst", IAE, dst,
                () -> be.maskedScaleAdd(as(f64(2, 3)), m3, true, 2, 1, dst));
        assertRejected("maskedScaleAdd with a mask of another backend instance", IAE, dst,
                () -> be.maskedScaleAdd(src, foreignMask, false, 2, 1, dst));
    }

    @Test
    @DisplayName("losses reject mismatched sizes and bad class counts")
    void losses() {
        ComputeBackend be = backend();
        Tensor<Float> p = f32(6);
        Tensor<Float> t = f32(6);
        Tensor<Float> g = f32(6);
        assertRejected("meanSquaredError with pred[6], target[7]", IAE, g,
                () -> be.meanSquaredError(p, f32(7), g));
        assertRejected("meanSquaredError with grad[7]", IAE, null,
                () -> be.meanSquaredError(p, t, f32(7)));
        assertRejected("meanSquaredError with FLOAT64 target", IAE, g,
                () -> be.meanSquaredError(p, as(f64(6)), g));
        assertRejected("softmaxCrossEntropy(classes=4) of 6 logits", IAE, g,
                () -> be.softmaxCrossEntropy(4, p, t, g));
        assertRejected("softmaxCrossEntropy(classes=0)", IAE, g,
                () -> be.softmaxCrossEntropy(0, p, t, g));
        assertRejected("softmaxCrossEntropy(classes=-3)", IAE, g,
                () -> be.softmaxCrossEntropy(-3, p, t, g));
        assertRejected("softmaxCrossEntropy with target[7]", IAE, g,
                () -> be.softmaxCrossEntropy(3, p, f32(7), g));
        assertRejected("softmaxCrossEntropy with grad[3]", IAE, null,
                () -> be.softmaxCrossEntropy(3, p, t, f32(3)));
    }

    @Test
    @DisplayName("optimiser steps reject mismatched sizes, mixed types and a bad step number")
    void optimisers() {
        ComputeBackend be = backend();
        Tensor<Float> p = f32(6);
        Tensor<Float> g = f32(6);
        Tensor<Float> m = f32(6);
        Tensor<Float> v = tensor(NumericType.FLOAT32, filled(6, 0.5), 6);
        assertRejected("sgdStep with grad[7]", IAE, p, () -> be.sgdStep(p, f32(7), null, 0.1, 0, 0));
        assertRejected("sgdStep with velocity[7]", IAE, p,
                () -> be.sgdStep(p, g, f32(7), 0.1, 0.9, 0));
        assertRejected("sgdStep with FLOAT64 grad", IAE, p,
                () -> be.sgdStep(p, as(f64(6)), null, 0.1, 0, 0));
        double[] before = p.toDoubleArray();
        assertThatThrownBy(() -> be.sgdStep(p, g, null, 0.1, 0.9, 0))
                .as("sgdStep with momentum 0.9 and no velocity buffer")
                .isInstanceOfAny(IAE, NPE);
        assertExactly("param after a rejected sgdStep", p.toDoubleArray(), before);
        assertRejected("adamStep with m[7]", IAE, p,
                () -> be.adamStep(p, g, f32(7), v, 1e-3, 0.9, 0.999, 1e-8, 0, false, 1));
        assertRejected("adamStep with v[7]", IAE, m,
                () -> be.adamStep(p, g, m, f32(7), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1));
        assertRejected("adamStep with grad of another type", IAE, p,
                () -> be.adamStep(p, as(f64(6)), m, v, 1e-3, 0.9, 0.999, 1e-8, 0, true, 1));
        assertRejected("adamStep with step 0 (steps are 1-based)", IAE, p,
                () -> be.adamStep(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, false, 0));
    }

    @Test
    @DisplayName("allocate and upload reject bad shapes and data lengths")
    void shapes() {
        ComputeBackend be = backend();
        assertThatThrownBy(() -> be.allocate(NumericType.FLOAT32, 3, -1))
                .as("allocate(FLOAT32, 3, -1)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.allocate(NumericType.FLOAT64, -2, -3))
                .as("allocate(FLOAT64, -2, -3) (product positive)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.allocate(NumericType.FLOAT32))
                .as("allocate with no axes").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.allocate(NumericType.FLOAT32, 1 << 16, 1 << 16))
                .as("allocate(FLOAT32, 65536, 65536): 2^32 elements overflow int").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.allocate(null, 3)).as("allocate(null, 3)").isInstanceOf(NPE);
        assertThatThrownBy(() -> be.allocate(NumericType.FLOAT32, (int[]) null))
                .as("allocate(FLOAT32, null)").isInstanceOf(NPE);
        assertThatThrownBy(() -> be.upload(new float[5], 2, 3))
                .as("upload(float[5], 2, 3)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.upload(new double[7], 2, 3))
                .as("upload(double[7], 2, 3)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.upload(new float[6], -2, -3))
                .as("upload(float[6], -2, -3)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.upload(new double[0], 0, -1))
                .as("upload(double[0], 0, -1)").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.upload(new float[0]))
                .as("upload(float[0]) with no axes").isInstanceOf(IAE);
        assertThatThrownBy(() -> be.upload((float[]) null, 3))
                .as("upload((float[]) null, 3)").isInstanceOf(NPE);
        assertThatThrownBy(() -> be.upload((double[]) null, 3))
                .as("upload((double[]) null, 3)").isInstanceOf(NPE);
        assertThatThrownBy(() -> be.upload(new double[3], (int[]) null))
                .as("upload(double[3], null)").isInstanceOf(NPE);
    }

    @Test
    @DisplayName("copy, read and write reject out-of-range and overflowing offsets and lengths")
    void offsets() {
        ComputeBackend be = backend();
        Tensor<Float> src = f32(10);
        Tensor<Float> dst = f32(8);
        int big = Integer.MAX_VALUE;
        int[][] bad = {{-1, 0, 1}, {0, -1, 1}, {0, 0, -1}, {5, 0, 6}, {0, 4, 5}, {10, 0, 1},
            {big, 0, 2}, {0, big, 2}, {2, 2, big}};
        for (int[] o : bad) {
            assertRejected("copy(src[10], " + o[0] + ", dst[8], " + o[1] + ", " + o[2] + ")", IAE,
                    dst, () -> be.copy(src, o[0], dst, o[1], o[2]));
            assertRejected("write(dst[8], " + o[1] + ", float[10], " + o[0] + ", " + o[2] + ")", IAE,
                    dst, () -> be.write(dst, o[1], new float[10], o[0], o[2]));
            assertRejected("write(dst[8], " + o[1] + ", double[10], " + o[0] + ", " + o[2] + ")",
                    IAE, dst, () -> be.write(dst, o[1], new double[10], o[0], o[2]));
            float[] hostF = new float[8];
            assertThatThrownBy(() -> be.read(src, o[0], hostF, o[1], o[2]))
                    .as("read(src[10], %d, float[8], %d, %d)", o[0], o[1], o[2]).isInstanceOf(IAE);
            assertThat(hostF).as("host array after a rejected read").containsOnly(0f);
            double[] hostD = new double[8];
            assertThatThrownBy(() -> be.read(src, o[0], hostD, o[1], o[2]))
                    .as("read(src[10], %d, double[8], %d, %d)", o[0], o[1], o[2]).isInstanceOf(IAE);
            assertThat(hostD).as("host array after a rejected read").containsOnly(0d);
        }
        assertRejected("copy from FLOAT64 to FLOAT32", IAE, dst,
                () -> be.copy(as(f64(10)), 0, dst, 0, 4));
        Tensor<Float> foreign = own(newBackend(kit.config()).upload(new float[10], 10));
        assertRejected("copy from a tensor of another backend instance", IAE, dst,
                () -> be.copy(foreign, 0, dst, 0, 4));
        assertRejected("copy to a tensor of another backend instance", IAE, foreign,
                () -> be.copy(src, 0, foreign, 0, 4));
        assertRejected("read of a tensor of another backend instance", IAE, null,
                () -> be.read(foreign, 0, new float[4], 0, 4));
        assertRejected("write to a tensor of another backend instance", IAE, foreign,
                () -> be.write(foreign, 0, new double[] {1, 2, 3, 4}, 0, 4));
        assertRejected("write from a null array", NPE, dst,
                () -> be.write(dst, 0, (float[]) null, 0, 1));
        assertRejected("read into a null array", NPE, null,
                () -> be.read(src, 0, (double[]) null, 0, 1));
        assertRejected("copy from null", NPE, dst, () -> be.copy(null, 0, dst, 0, 1));
    }
}
