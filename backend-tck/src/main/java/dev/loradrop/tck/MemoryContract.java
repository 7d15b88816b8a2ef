package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Memory contract: allocation (zero-filled, shape metadata), upload and download round trips and
 * conversions (special values included), partial read and write with offsets, copy, fill and
 * copyOf, and zero-filled masks.
 */
public abstract class MemoryContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected MemoryContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    private static final float[] SPECIAL_F = {0f, -0f, 1f, -1.5f, Float.MIN_VALUE, Float.MIN_NORMAL,
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
        Float.NaN, 0.1f, 3.4028235e38f, 1e-30f};

    private static final double[] SPECIAL_D = {0.0, -0.0, 1.0, -1.5, Double.MIN_VALUE,
        Double.MIN_NORMAL, Double.MAX_VALUE, -Double.MAX_VALUE, Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY, Double.NaN, 0.1, 1e300, 1e-300, 0.1 + 0x1p-40};

    private static void assertFloatsExactly(String what, float[] actual, float[] expected) {
        assertExactly(what, widen(actual), widen(expected));
    }

    @Test
    @DisplayName("allocate: zero-filled, with the requested type, shape, rank, size and owner")
    void allocateIsZeroFilled() {
        int[][] shapes = {{0}, {1}, {7}, {3, 0, 2}, {13, 31}, {2, 3, 4, 5}, {4099}};
        for (NumericType<?> type : TYPES) {
            for (int[] shape : shapes) {
                Tensor<?> t = zeros(type, shape);
                String what = "allocate(" + type + ", " + Arrays.toString(shape) + ")";
                int size = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
                assertThat(t.type()).as(what + ".type()").isSameAs(type);
                assertThat(t.shape()).as(what + ".shape()").containsExactly(shape);
                assertThat(t.rank()).as(what + ".rank()").isEqualTo(shape.length);
                for (int axis = 0; axis < shape.length; axis++) {
                    assertThat(t.dim(axis)).as(what + ".dim(" + axis + ")").isEqualTo(shape[axis]);
                }
                assertThat(t.size()).as(what + ".size()").isEqualTo(size);
                assertThat(t.backend()).as(what + ".backend()").isSameAs(backend());
                assertThat(t.isClosed()).as(what + ".isClosed()").isFalse();
                assertExactly(what + " contents", t.toDoubleArray(), new double[size]);
                assertFloatsExactly(what + " contents as floats", t.toFloatArray(), new float[size]);
                int[] shapeCopy = t.shape();
                if (shapeCopy.length > 0) {
                    shapeCopy[0] = 99;
                    assertThat(t.shape()).as(what + ": shape() must return a copy")
                            .containsExactly(shape);
                }
            }
        }
    }

    @Test
    @DisplayName("upload(float[]) and upload(double[]) round trip exactly; conversions round or widen")
    void uploadRoundTrips() {
        Tensor<Float> f = tensor32(SPECIAL_F);
        assertFloatsExactly("upload(float[]) then toFloatArray()", f.toFloatArray(), SPECIAL_F);
        assertExactly("upload(float[]) then toDoubleArray() (widening)", f.toDoubleArray(),
                widen(SPECIAL_F));
        assertThat(f.type()).isSameAs(NumericType.FLOAT32);

        Tensor<Double> d = own(backend().upload(SPECIAL_D.clone(), SPECIAL_D.length));
        assertExactly("upload(double[]) then toDoubleArray()", d.toDoubleArray(), SPECIAL_D);
        assertFloatsExactly("upload(double[]) then toFloatArray() (rounding)", d.toFloatArray(),
                narrow(SPECIAL_D));
        assertThat(d.type()).isSameAs(NumericType.FLOAT64);

        Tensor<Float> r = tensor(NumericType.FLOAT32, SPECIAL_D, SPECIAL_D.length);
        assertFloatsExactly("upload(FLOAT32, double[]) rounds to float", r.toFloatArray(),
                narrow(SPECIAL_D));

        double[] big = random(3, 4099, -1e3, 1e3);
        Tensor<Double> b = own(backend().upload(big, 4099));
        assertExactly("upload(double[4099]) round trip", b.toDoubleArray(), big);
        Tensor<Float> e = own(backend().upload(new float[0], 0));
        assertThat(e.size()).isZero();
        assertThat(e.toFloatArray()).isEmpty();
        Tensor<Double> e2 = own(backend().upload(new double[0], 5, 0));
        assertThat(e2.shape()).containsExactly(5, 0);
        assertThat(e2.toDoubleArray()).isEmpty();
    }

    @Test
    @DisplayName("upload copies the host array: later changes to it do not reach the tensor")
    void uploadCopiesTheHostArray() {
        float[] f = {1, 2, 3};
        Tensor<Float> t = own(backend().upload(f, 3));
        f[0] = 42;
        assertFloatsExactly("tensor after the uploaded float[] changed", t.toFloatArray(),
                new float[] {1, 2, 3});
        double[] d = {1, 2, 3};
        Tensor<Double> u = own(backend().upload(d, 3));
        d[0] = 42;
        assertExactly("tensor after the uploaded double[] changed", u.toDoubleArray(),
                new double[] {1, 2, 3});
        double[] out = u.toDoubleArray();
        out[1] = 42;
        assertExactly("tensor after the downloaded double[] changed", u.toDoubleArray(),
                new double[] {1, 2, 3});
    }

    private Tensor<Float> tensor32(float[] data) {
        return own(backend().upload(data.clone(), data.length));
    }

    @Test
    @DisplayName("write and read with offsets touch exactly the requested range, converting types")
    void readWriteWithOffsets() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            int n = 100;
            double[] init = random(5, n, -10, 10);
            Tensor<?> t = tensor(type, init, 10, 10);
            double[] expected = round(type, init);

            double[] srcD = random(6, 40, -10, 10);
            be.write(t, 13, srcD, 7, 31);
            for (int i = 0; i < 31; i++) {
                expected[13 + i] = round(type, srcD[7 + i]);
            }
            assertExactly("write(" + type + " tensor, dstOffset=13, double[40], srcOffset=7, length=31)",
                    t.toDoubleArray(), expected);

            float[] srcF = narrow(random(7, 20, -10, 10));
            be.write(t, 99, srcF, 19, 1);
            expected[99] = srcF[19];
            be.write(t, 0, srcF, 0, 0);
            assertExactly("write(" + type + " tensor, dstOffset=99, float[20], srcOffset=19, length=1)",
                    t.toDoubleArray(), expected);

            double[] dstD = filled(50, -7);
            be.read(t, 64, dstD, 3, 36);
            double[] expD = filled(50, -7);
            System.arraycopy(expected, 64, expD, 3, 36);
            assertExactly("read(" + type + " tensor, srcOffset=64, double[50], dstOffset=3, length=36)",
                    dstD, expD);

            float[] dstF = new float[10];
            Arrays.fill(dstF, -7f);
            be.read(t, 90, dstF, 0, 10);
            float[] expF = new float[10];
            for (int i = 0; i < 10; i++) {
                expF[i] = (float) expected[90 + i];
            }
            assertFloatsExactly("read(" + type + " tensor, srcOffset=90, float[10], dstOffset=0, length=10)",
                    dstF, expF);
            be.read(t, 100, dstF, 10, 0);
        }
    }

    @Test
    @DisplayName("copy with offsets (also within one tensor) and copyOf make independent copies")
    void copyAndCopyOf() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            copyCase(be, type);
        }
    }

    private <T extends Number> void copyCase(ComputeBackend be, NumericType<T> type) {
        double[] a = round(type, random(8, 257, -5, 5));
        double[] b = round(type, random(9, 100, -5, 5));
        Tensor<T> src = tensor(type, a, 257);
        Tensor<T> dst = tensor(type, b, 100);
        be.copy(src, 200, dst, 3, 57);
        double[] expected = b.clone();
        System.arraycopy(a, 200, expected, 3, 57);
        assertExactly("copy(" + type + " src[257], 200, dst[100], 3, 57)", dst.toDoubleArray(),
                expected);
        be.copy(src, 0, dst, 0, 0);
        assertExactly("copy of length 0", dst.toDoubleArray(), expected);

        be.copy(src, 0, src, 128, 100);
        double[] self = a.clone();
        System.arraycopy(a, 0, self, 128, 100);
        assertExactly("copy(" + type + " t, 0, t, 128, 100) within one tensor", src.toDoubleArray(),
                self);

        long live = be.liveAllocations();
        Tensor<T> copy = own(be.copyOf(src));
        assertThat(be.liveAllocations()).as("liveAllocations() after copyOf").isEqualTo(live + 1);
        assertThat(copy).isNotSameAs(src);
        assertThat(copy.type()).isSameAs(type);
        assertThat(copy.shape()).containsExactly(src.shape());
        assertExactly("copyOf(" + type + ")", copy.toDoubleArray(), self);
        be.fill(copy, 1.0);
        assertExactly("source after its copy was filled", src.toDoubleArray(), self);

        Tensor<T> m = tensor(type, random(10, 12, -1, 1), 3, 4);
        Tensor<T> mc = own(be.copyOf(m));
        assertThat(mc.shape()).as("copyOf keeps the shape").containsExactly(3, 4);
        Tensor<T> empty = own(be.copyOf(zeros(type, 0, 3)));
        assertThat(empty.shape()).containsExactly(0, 3);
    }

    @Test
    @DisplayName("copy within one tensor: overlapping ranges are an IllegalArgumentException and"
            + " change nothing; adjacent ranges are allowed")
    void copyWithinOneTensorRejectsOverlap() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            copyOverlapCase(be, type);
        }
    }

    private <T extends Number> void copyOverlapCase(ComputeBackend be, NumericType<T> type) {
        int size = 64;
        double[] data = round(type, random(11, size, -5, 5));
        Tensor<T> t = tensor(type, data, size);
        // {srcOffset, dstOffset, length}: forward (dst after src), backward, identical, nested,
        // overlapping by one element at either end, the whole tensor onto itself
        int[][] overlapping = {
            {0, 5, 10}, {20, 21, 30}, {10, 4, 10}, {40, 39, 20}, {7, 7, 12}, {3, 3, 1},
            {0, 0, size}, {0, 9, 10}, {9, 0, 10}, {0, 2, 20}, {2, 0, 20}, {63, 63, 1},
        };
        for (int[] o : overlapping) {
            assertRejected("copy(" + type + " t[" + size + "], " + o[0] + ", t, " + o[1] + ", "
                            + o[2] + ") within one tensor, overlapping ranges",
                    IllegalArgumentException.class, "dst|dstOffset|srcOffset|length", t,
                    () -> be.copy(t, o[0], t, o[1], o[2]));
        }
        // adjacent and disjoint ranges remain allowed
        int[][] allowed = {{0, 10, 10}, {10, 0, 10}, {0, 32, 32}, {32, 0, 32}, {5, 60, 4},
            {63, 62, 1}};
        double[] expected = data.clone();
        for (int[] o : allowed) {
            be.copy(t, o[0], t, o[1], o[2]);
            System.arraycopy(expected, o[0], expected, o[1], o[2]);
            assertExactly("copy(" + type + " t[" + size + "], " + o[0] + ", t, " + o[1] + ", "
                    + o[2] + ") within one tensor, adjacent or disjoint ranges",
                    t.toDoubleArray(), expected);
        }
    }

    @Test
    @DisplayName("fill sets every element, rounding to the type; special values included")
    void fill() {
        ComputeBackend be = backend();
        for (NumericType<?> type : TYPES) {
            for (int n : new int[] {0, 1, 13, 4099}) {
                Tensor<?> t = tensor(type, random(n, n, -1, 1), n);
                for (double v : new double[] {0.1, -0.0, Double.NaN, Double.NEGATIVE_INFINITY, 0}) {
                    be.fill(t, v);
                    assertExactly("fill(" + type + "[" + n + "], " + v + ")", t.toDoubleArray(),
                            filled(n, round(type, v)));
                }
            }
        }
    }

    @Test
    @DisplayName("allocateMask: all bits clear, ceil(size / 64) words")
    void allocateMaskIsClear() {
        for (int size : new int[] {0, 1, 63, 64, 65, 1000, 4099}) {
            BitMask m = mask(size);
            assertThat(m.size()).as("allocateMask(%d).size()", size).isEqualTo(size);
            assertThat(m.backend()).isSameAs(backend());
            assertThat(m.isClosed()).isFalse();
            assertThat(m.toLongArray()).as("allocateMask(%d).toLongArray()", size)
                    .isEqualTo(new long[(size + 63) / 64]);
        }
    }
}
