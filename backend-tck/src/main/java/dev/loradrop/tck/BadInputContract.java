package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Bad-input contract: inconsistent element counts, mismatched sizes, mixed FLOAT32/FLOAT64,
 * tensors or masks of another backend instance, negative or overflowing extents, wrong upload
 * lengths and out-of-range (also overflowing) offsets throw {@link IllegalArgumentException};
 * {@code null} tensors throw {@link NullPointerException}. Every message begins with the name of
 * the argument at fault as spelled in the SPI signature ({@link ContractSupport#namesArgument}).
 * The output of a rejected call is unchanged, and a rejected call leaks nothing.
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
        assertRejected("gemm(m=2, n=4, k=3) with A of 5 elements", IAE, "a", c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a5, b, 0, c));
        assertRejected("gemm(m=2, n=4, k=3) with B of 6 elements", IAE, "b", c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, a, 0, c));
        assertRejected("gemm(m=2, n=4, k=3) with C of 9 elements", IAE, "c", c9,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, b, 0, c9));
        assertRejected("gemm(m=3, n=4, k=2) where A (6) fits but C (8) does not", IAE, "c", c,
                () -> be.gemm(true, false, 3, 4, 2, 1, a, f32(2, 4), 0, c));
        assertRejected("gemm(m=-2, n=-4, k=-3): negative dimensions", IAE, "m|n|k", c,
                () -> be.gemm(false, false, -2, -4, -3, 1, a, b, 0, c));
        assertRejected("gemm(m=-1, n=-8, k=-6): negative dimensions with matching products", IAE,
                "m|n|k", c,
                () -> be.gemm(false, false, -1, -8, -6, 1, a, f32(6, 8), 0, c));
        assertRejected("gemm with FLOAT64 B and FLOAT32 A, C", IAE, "b", c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, as(b64), 0, c));
        assertRejected("gemm with B of another backend instance", IAE, "b", c,
                () -> be.gemm(false, false, 2, 4, 3, 1, a, foreign, 0, c));
        assertRejected("gemm with null A", NPE, "a", c,
                () -> be.gemm(false, false, 2, 4, 3, 1, null, b, 0, c));
        assertRejected("gemm with null C", NPE, "c", null,
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
        assertRejected("axpby with x[6], y[7]", IAE, "y", y7, () -> be.axpby(1, x6, 1, y7));
        assertRejected("axpby with FLOAT64 x, FLOAT32 y", IAE, "x|y", y6, () -> be.axpby(1, as(d6), 1, y6));
        assertRejected("axpby with x of another backend instance", IAE, "x", y6,
                () -> be.axpby(1, foreign, 1, y6));
        assertRejected("axpby with null x", NPE, "x", y6, () -> be.axpby(1, null, 1, y6));
        assertRejected("addBias with y[7], bias[3]", IAE, "y", y7, () -> be.addBias(y7, b3));
        assertRejected("addBias with FLOAT32 y, FLOAT64 bias", IAE, "y|bias", y6,
                () -> be.addBias(y6, as(f64(3))));
        assertRejected("columnSums with src[6], dst[4]", IAE, "src", b4, () -> be.columnSums(x6, 1, b4));
        assertRejected("columnSums with src of another backend instance", IAE, "src", b3,
                () -> be.columnSums(foreign, 1, b3));
        assertRejected("activate with pre[6], out[7]", IAE, "out", y7,
                () -> be.activate(Activation.TANH, x6, y7));
        assertRejected("activate with FLOAT64 pre, FLOAT32 out", IAE, "pre|out", y6,
                () -> be.activate(Activation.TANH, as(d6), y6));
        assertRejected("activate with null activation", NPE, "activation", y6, () -> be.activate(null, x6, y6));
        assertRejected("activationBackward with dOut[7], others [6]", IAE, "dOut", y6,
                () -> be.activationBackward(Activation.SIGMOID, x6, f32(6), y7, y6));
        assertRejected("activationBackward with out[7], others [6]", IAE, "out", y6,
                () -> be.activationBackward(Activation.SIGMOID, x6, y7, f32(6), y6));
        assertRejected("activationBackward with dPre[7], others [6]", IAE, "dPre", y7,
                () -> be.activationBackward(Activation.SIGMOID, x6, f32(6), f32(6), y7));
        assertRejected("sum of a tensor of another backend instance", IAE, "t", null,
                () -> be.sum(foreign));
        assertRejected("allFinite of a tensor of another backend instance", IAE, "t", null,
                () -> be.allFinite(foreign));
        assertRejected("fill of a tensor of another backend instance", IAE, "t", foreign,
                () -> be.fill(foreign, 3));
        assertRejected("sum(null)", NPE, "t", null, () -> be.sum(null));
    }

    @Test
    @DisplayName("masks: generateMask rejects bad rates and foreign masks; maskedScaleAdd bad sizes")
    void masks() {
        ComputeBackend be = backend();
        BitMask mask = mask(100);
        be.generateMask(mask, 1, 0, 0, 0.5);
        long[] before = mask.toLongArray();
        for (double rate : new double[] {1.0, -0.1, Double.NaN, 2, Double.POSITIVE_INFINITY}) {
            assertRejected("generateMask(dropoutRate=" + rate + ")", IAE, "dropoutRate", null,
                    () -> be.generateMask(mask, 2, 0, 0, rate));
            assertThat(mask.toLongArray()).as("mask after generateMask(dropoutRate=%s) failed", rate)
                    .isEqualTo(before);
        }
        BitMask foreignMask = own(newBackend(kit.config()).allocateMask(6));
        assertRejected("generateMask on a mask of another backend instance", IAE, "mask", null,
                () -> be.generateMask(foreignMask, 2, 0, 0, 0.5));
        assertRejected("generateMask(null)", NPE, "mask", null,
                () -> be.generateMask(null, 2, 0, 0, 0.5));
        assertRejected("allocateMask(-1)", IAE, "size", null, () -> be.allocateMask(-1));

        Tensor<Float> src = f32(2, 3);
        Tensor<Float> dst = f32(2, 3);
        BitMask m5 = mask(5);
        BitMask m4 = mask(4);
        BitMask m3 = mask(3);
        assertRejected("maskedScaleAdd with a per-element mask of 5 bits for 6 elements", IAE, "mask",
                dst,
                () -> be.maskedScaleAdd(src, m5, false, 2, 1, dst));
        assertRejected("maskedScaleAdd broadcasting a 4-bit mask over 6 elements", IAE, "mask", dst,
                () -> be.maskedScaleAdd(src, m4, true, 2, 1, dst));
        assertRejected("maskedScaleAdd with a per-element mask of 3 bits for 6 elements", IAE, "mask",
                dst,
                () -> be.maskedScaleAdd(src, m3, false, 2, 1, dst));
        assertRejected("maskedScaleAdd with src[6], dst[7]", IAE, "dst", null,
                () -> be.maskedScaleAdd(src, m3, true, 2, 1, f32(7)));
        assertRejected("maskedScaleAdd with FLOAT64 src, FLOAT32 dst", IAE, "src|dst", dst,
                () -> be.maskedScaleAdd(as(f64(2, 3)), m3, true, 2, 1, dst));
        assertRejected("maskedScaleAdd with a mask of another backend instance", IAE, "mask", dst,
                () -> be.maskedScaleAdd(src, foreignMask, false, 2, 1, dst));
    }

    @Test
    @DisplayName("losses reject mismatched sizes and bad class counts")
    void losses() {
        ComputeBackend be = backend();
        Tensor<Float> p = f32(6);
        Tensor<Float> t = f32(6);
        Tensor<Float> g = f32(6);
        assertRejected("meanSquaredError with pred[6], target[7]", IAE, "target", g,
                () -> be.meanSquaredError(p, f32(7), g));
        assertRejected("meanSquaredError with grad[7]", IAE, "grad", null,
                () -> be.meanSquaredError(p, t, f32(7)));
        assertRejected("meanSquaredError with FLOAT64 target", IAE, "target", g,
                () -> be.meanSquaredError(p, as(f64(6)), g));
        assertRejected("softmaxCrossEntropy(classes=4) of 6 logits", IAE, "logits|classes", g,
                () -> be.softmaxCrossEntropy(4, p, t, g));
        assertRejected("softmaxCrossEntropy(classes=0)", IAE, "classes", g,
                () -> be.softmaxCrossEntropy(0, p, t, g));
        assertRejected("softmaxCrossEntropy(classes=-3)", IAE, "classes", g,
                () -> be.softmaxCrossEntropy(-3, p, t, g));
        assertRejected("softmaxCrossEntropy with target[7]", IAE, "target", g,
                () -> be.softmaxCrossEntropy(3, p, f32(7), g));
        assertRejected("softmaxCrossEntropy with grad[3]", IAE, "grad", null,
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
        assertRejected("sgdStep with grad[7]", IAE, "grad", p, () -> be.sgdStep(p, f32(7), null, 0.1, 0, 0));
        assertRejected("sgdStep with velocity[7]", IAE, "velocity", p,
                () -> be.sgdStep(p, g, f32(7), 0.1, 0.9, 0));
        assertRejected("sgdStep with FLOAT64 grad", IAE, "grad", p,
                () -> be.sgdStep(p, as(f64(6)), null, 0.1, 0, 0));
        assertRejected("sgdStep with momentum 0.9 and no velocity buffer", List.of(IAE, NPE),
                "velocity", p, () -> be.sgdStep(p, g, null, 0.1, 0.9, 0));
        assertRejected("adamStep with m[7]", IAE, "m", p,
                () -> be.adamStep(p, g, f32(7), v, 1e-3, 0.9, 0.999, 1e-8, 0, false, 1));
        assertRejected("adamStep with v[7]", IAE, "v", m,
                () -> be.adamStep(p, g, m, f32(7), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1));
        assertRejected("adamStep with grad of another type", IAE, "grad", p,
                () -> be.adamStep(p, as(f64(6)), m, v, 1e-3, 0.9, 0.999, 1e-8, 0, true, 1));
        assertRejected("adamStep with step 0 (steps are 1-based)", IAE, "step", p,
                () -> be.adamStep(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, false, 0));
    }

    @Test
    @DisplayName("allocate and upload reject bad shapes and data lengths")
    void shapes() {
        ComputeBackend be = backend();
        assertRejected("allocate(FLOAT32, 3, -1)", IAE, "shape", null,
                () -> be.allocate(NumericType.FLOAT32, 3, -1));
        assertRejected("allocate(FLOAT64, -2, -3) (product positive)", IAE, "shape", null,
                () -> be.allocate(NumericType.FLOAT64, -2, -3));
        assertRejected("allocate with no axes", IAE, "shape", null,
                () -> be.allocate(NumericType.FLOAT32));
        assertRejected("allocate(FLOAT32, 65536, 65536): 2^32 elements overflow int", IAE, "shape",
                null, () -> be.allocate(NumericType.FLOAT32, 1 << 16, 1 << 16));
        assertRejected("allocate(null, 3)", NPE, "type", null, () -> be.allocate(null, 3));
        assertRejected("allocate(FLOAT32, null)", NPE, "shape", null,
                () -> be.allocate(NumericType.FLOAT32, (int[]) null));
        assertRejected("upload(float[5], 2, 3)", IAE, "data|shape", null,
                () -> be.upload(new float[5], 2, 3));
        assertRejected("upload(double[7], 2, 3)", IAE, "data|shape", null,
                () -> be.upload(new double[7], 2, 3));
        assertRejected("upload(float[6], -2, -3)", IAE, "shape", null,
                () -> be.upload(new float[6], -2, -3));
        assertRejected("upload(double[0], 0, -1)", IAE, "shape", null,
                () -> be.upload(new double[0], 0, -1));
        assertRejected("upload(float[0]) with no axes", IAE, "shape", null,
                () -> be.upload(new float[0]));
        assertRejected("upload((float[]) null, 3)", NPE, "data", null,
                () -> be.upload((float[]) null, 3));
        assertRejected("upload((double[]) null, 3)", NPE, "data", null,
                () -> be.upload((double[]) null, 3));
        assertRejected("upload(double[3], null)", NPE, "shape", null,
                () -> be.upload(new double[3], (int[]) null));
        assertRejected("upload(FLOAT32, double[7], 2, 3)", IAE, "data|shape", null,
                () -> be.upload(NumericType.FLOAT32, new double[7], 2, 3));
        assertRejected("upload(null, double[3], 3)", NPE, "type", null,
                () -> be.upload(null, new double[3], 3));
    }

    /**
     * @return the arguments of a {@code copy}, {@code read} or {@code write} at fault for these
     *     offsets and length, in the {@code |} form of {@link #assertRejected}: a negative one
     *     itself, or the offset and the length of a range that ends past its array
     */
    private static String offendingRangeArguments(int srcOffset, int srcSize, int dstOffset,
                                                  int dstSize, int length) {
        List<String> names = new ArrayList<>();
        if (srcOffset < 0) {
            names.add("srcOffset");
        }
        if (dstOffset < 0) {
            names.add("dstOffset");
        }
        if (length < 0) {
            names.add("length");
        }
        if (names.isEmpty()) {
            if ((long) srcOffset + length > srcSize) {
                names.add("srcOffset");
            }
            if ((long) dstOffset + length > dstSize) {
                names.add("dstOffset");
            }
            names.add("length");
        }
        return String.join("|", names);
    }

    @Test
    @DisplayName("copy, read and write reject out-of-range and overflowing offsets and lengths")
    void offsets() {
        ComputeBackend be = backend();
        Tensor<Float> src = f32(10);
        Tensor<Float> dst = f32(8);
        int big = Integer.MAX_VALUE;
        // {srcOffset, dstOffset, length} against a source of 10 elements and a destination of 8
        int[][] bad = {{-1, 0, 1}, {0, -1, 1}, {0, 0, -1}, {5, 0, 6}, {0, 4, 5}, {10, 0, 1},
            {big, 0, 2}, {0, big, 2}, {2, 2, big}};
        for (int[] o : bad) {
            String args = offendingRangeArguments(o[0], 10, o[1], 8, o[2]);
            assertRejected("copy(src[10], " + o[0] + ", dst[8], " + o[1] + ", " + o[2] + ")", IAE,
                    args, dst, () -> be.copy(src, o[0], dst, o[1], o[2]));
            assertRejected("write(dst[8], " + o[1] + ", float[10], " + o[0] + ", " + o[2] + ")", IAE,
                    args, dst, () -> be.write(dst, o[1], new float[10], o[0], o[2]));
            assertRejected("write(dst[8], " + o[1] + ", double[10], " + o[0] + ", " + o[2] + ")",
                    IAE, args, dst, () -> be.write(dst, o[1], new double[10], o[0], o[2]));
            float[] hostF = new float[8];
            assertRejected("read(src[10], " + o[0] + ", float[8], " + o[1] + ", " + o[2] + ")", IAE,
                    args, null, () -> be.read(src, o[0], hostF, o[1], o[2]));
            assertThat(hostF).as("host array after a rejected read").containsOnly(0f);
            double[] hostD = new double[8];
            assertRejected("read(src[10], " + o[0] + ", double[8], " + o[1] + ", " + o[2] + ")",
                    IAE, args, null, () -> be.read(src, o[0], hostD, o[1], o[2]));
            assertThat(hostD).as("host array after a rejected read").containsOnly(0d);
        }
        assertRejected("copy from FLOAT64 to FLOAT32", IAE, "src|dst", dst,
                () -> be.copy(as(f64(10)), 0, dst, 0, 4));
        Tensor<Float> foreign = own(newBackend(kit.config()).upload(new float[10], 10));
        assertRejected("copy from a tensor of another backend instance", IAE, "src", dst,
                () -> be.copy(foreign, 0, dst, 0, 4));
        assertRejected("copy to a tensor of another backend instance", IAE, "dst", foreign,
                () -> be.copy(src, 0, foreign, 0, 4));
        assertRejected("read of a tensor of another backend instance", IAE, "src", null,
                () -> be.read(foreign, 0, new float[4], 0, 4));
        assertRejected("write to a tensor of another backend instance", IAE, "dst", foreign,
                () -> be.write(foreign, 0, new double[] {1, 2, 3, 4}, 0, 4));
        assertRejected("write from a null array", NPE, "src", dst,
                () -> be.write(dst, 0, (float[]) null, 0, 1));
        assertRejected("read into a null array", NPE, "dst", null,
                () -> be.read(src, 0, (double[]) null, 0, 1));
        assertRejected("copy from null", NPE, "src", dst, () -> be.copy(null, 0, dst, 0, 1));
    }
}
