package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every check names the argument, what was expected and what was given, and writes nothing. */
@SuppressWarnings({"unchecked", "rawtypes"})
class ValidationTest {

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /**
     * Shapes that pass the SPI's size check (at most 2^31 - 1 elements) but not the longest array
     * the JVM allocates: a clear error naming the shape, not an OutOfMemoryError. Thrown before
     * anything is allocated, so the test needs no large heap.
     */
    @Test
    void shapesLongerThanAJavaArrayAreRejectedByName() {
        int limit = Integer.MAX_VALUE - 8;
        int[][] shapes = {{Integer.MAX_VALUE}, {Integer.MAX_VALUE - 1}, {2, 1073741823},
            {limit + 1}};
        for (int[] shape : shapes) {
            String expected = "shape: expected at most " + limit + " elements";
            String got = java.util.Arrays.toString(shape);
            assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT32, shape)).as(got)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(expected).hasMessageContaining("got " + got);
            assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT64, shape)).as(got)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(expected).hasMessageContaining("got " + got);
            assertThatThrownBy(() -> backend.upload(new float[1], shape)).as(got)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(expected).hasMessageContaining("got " + got);
            assertThatThrownBy(() -> backend.upload(new double[1], shape)).as(got)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(expected).hasMessageContaining("got " + got);
        }
        assertThat(backend.liveAllocations()).isZero();
        try (Tensor<Float> t = backend.allocate(NumericType.FLOAT32, 3)) {
            assertThat(t.size()).isEqualTo(3);
        }
    }

    @Test
    void shapes() {
        assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT32))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shape: expected at least one axis, got []");
        assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT32, 2, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("shape: expected extents >= 0, got [2, -1]");
        assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT64, 65536, 65536))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("shape: expected at most 2147483647 elements, got "
                        + "[65536, 65536]");
        assertThatThrownBy(() -> backend.allocate(null, 1))
                .isInstanceOf(NullPointerException.class).hasMessage("type");
        assertThatThrownBy(() -> backend.allocate(NumericType.FLOAT32, (int[]) null))
                .isInstanceOf(NullPointerException.class).hasMessage("shape");
        assertThatThrownBy(() -> backend.upload((float[]) null, 1))
                .isInstanceOf(NullPointerException.class).hasMessage("data");
        assertThatThrownBy(() -> backend.upload(new float[5], 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("data: expected 6 elements (shape [2, 3]), got 5");
        assertThatThrownBy(() -> backend.allocateMask(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("size: expected >= 0, got -1");
        try (Tensor<Float> zero = backend.allocate(NumericType.FLOAT32, 65536, 65536, 0)) {
            assertThat(zero.size()).isZero();
        }
        assertThat(backend.liveAllocations()).isZero();
    }

    @Test
    void gemmNamesTheArgumentAndLeavesCUnchanged() {
        try (Tensor<Float> a = backend.allocate(NumericType.FLOAT32, 3, 2);
             Tensor<Float> b = backend.allocate(NumericType.FLOAT32, 2, 4);
             Tensor<Float> c10 = backend.upload(new float[10], 10);
             Tensor<Float> c = backend.upload(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
                     3, 4);
             Tensor<Double> d = backend.allocate(NumericType.FLOAT64, 3, 4)) {
            assertThatThrownBy(() -> backend.gemm(false, false, 3, 4, 2, 1, a, b, 0, c10))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("c: expected 12 elements (m=3 x n=4), got 10");
            assertThatThrownBy(() -> backend.gemm(true, false, 3, 4, 3, 1, a, b, 0, c))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a: expected 9 elements (k=3 x m=3), got 6");
            assertThatThrownBy(() -> backend.gemm(false, true, 3, 4, 2, 1, a, a, 0, c))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("b: expected 8 elements (n=4 x k=2), got 6");
            assertThatThrownBy(() -> backend.gemm(false, false, -1, 4, 2, 1, a, b, 0, c))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("m: expected >= 0, got -1");
            assertThatThrownBy(() -> backend.gemm(false, false, 3, 4, 2, 1, null, b, 0, c))
                    .isInstanceOf(NullPointerException.class).hasMessage("a");
            assertThatThrownBy(() -> backend.gemm(false, false, 3, 4, 2, 1, a, b, 0, (Tensor) d))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("c: expected FLOAT32 (the type of a), got FLOAT64");
            assertThat(c.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        }
    }

    @Test
    void elementwiseSizesAndTypes() {
        try (Tensor<Float> x = backend.allocate(NumericType.FLOAT32, 6);
             Tensor<Float> y = backend.allocate(NumericType.FLOAT32, 5);
             Tensor<Float> bias4 = backend.allocate(NumericType.FLOAT32, 4);
             Tensor<Float> empty = backend.allocate(NumericType.FLOAT32, 0);
             Tensor<Double> dx = backend.allocate(NumericType.FLOAT64, 6)) {
            assertThatThrownBy(() -> backend.axpby(1, x, 0, y))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("y: expected 6 elements (the size of x), got 5");
            assertThatThrownBy(() -> backend.axpby(1, x, 0, (Tensor) dx))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("y: expected FLOAT32 (the type of x), got FLOAT64");
            assertThatThrownBy(() -> backend.addBias(x, bias4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("y: expected a multiple of 4 elements (the size of bias), got 6");
            assertThatThrownBy(() -> backend.addBias(x, empty))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("y: expected a multiple of 0 elements (the size of bias), got 6");
            assertThatThrownBy(() -> backend.columnSums(x, 0, bias4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("src: expected a multiple of 4 elements (the size of dst), got 6");
            assertThatThrownBy(() -> backend.activate(null, x, x))
                    .isInstanceOf(NullPointerException.class).hasMessage("activation");
            assertThatThrownBy(() -> backend.activationBackward(Activation.TANH, x, x, y, x))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dOut: expected 6 elements (the size of pre), got 5");
            assertThatThrownBy(() -> backend.meanSquaredError(x, y, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("target: expected 6 elements (the size of pred), got 5");
            assertThatThrownBy(() -> backend.softmaxCrossEntropy(4, x, x, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("logits: expected a multiple of 4 elements (classes=4), got 6");
            assertThatThrownBy(() -> backend.softmaxCrossEntropy(0, x, x, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("classes: expected >= 1, got 0");
            assertThatThrownBy(() -> backend.sgdStep(x, y, null, 0.1, 0, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("grad: expected 6 elements (the size of param), got 5");
            assertThatThrownBy(() -> backend.sum(null))
                    .isInstanceOf(NullPointerException.class).hasMessage("t");
            assertThatThrownBy(() -> backend.generateMask(null, 0, 0, 0, 0))
                    .isInstanceOf(NullPointerException.class).hasMessage("mask");
            // empty bias with an empty matrix is fine
            backend.addBias(empty, empty);
            backend.columnSums(empty, 0, empty);
        }
    }

    @Test
    void offsetsAndLengths() {
        try (Tensor<Float> t = backend.allocate(NumericType.FLOAT32, 10);
             Tensor<Float> u = backend.allocate(NumericType.FLOAT32, 4)) {
            assertThatThrownBy(() -> backend.write(t, 8, new float[5], 0, 4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dstOffset + length: expected <= 10 (the size of dst), got 12 "
                            + "(dstOffset=8, length=4)");
            assertThatThrownBy(() -> backend.write(t, 0, new double[3], 1, 4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("srcOffset + length: expected <= 3 (the size of src), got 5 "
                            + "(srcOffset=1, length=4)");
            assertThatThrownBy(() -> backend.read(t, -1, new float[3], 0, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("srcOffset: expected >= 0, got -1");
            assertThatThrownBy(() -> backend.read(t, 0, new double[3], 0, -2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("length: expected >= 0, got -2");
            assertThatThrownBy(() -> backend.copy(t, 0, u, 1, 4))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dstOffset + length: expected <= 4 (the size of dst), got 5 "
                            + "(dstOffset=1, length=4)");
            assertThatThrownBy(() -> backend.copy(t, Integer.MAX_VALUE, u, 0, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("srcOffset + length: expected <= 10");
            assertThatThrownBy(() -> backend.write(t, 0, (float[]) null, 0, 1))
                    .isInstanceOf(NullPointerException.class).hasMessage("src");
            assertThat(t.toFloatArray()).containsOnly(0f);
        }
    }
}
