package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Allocation, upload, download, copy, write, read, fill, and the tensor's own methods. */
class MemoryTest {

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    @Test
    void allocateGivesZerosWithTheShape() {
        try (Tensor<Float> f = backend.allocate(NumericType.FLOAT32, 2, 3, 4);
             Tensor<Double> d = backend.allocate(NumericType.FLOAT64, 0, 5)) {
            assertThat(f.shape()).containsExactly(2, 3, 4);
            assertThat(f.rank()).isEqualTo(3);
            assertThat(f.dim(1)).isEqualTo(3);
            assertThat(f.size()).isEqualTo(24);
            assertThat(f.type()).isSameAs(NumericType.FLOAT32);
            assertThat(f.backend()).isSameAs(backend);
            assertThat(f.toFloatArray()).hasSize(24).containsOnly(0f);
            assertThat(d.size()).isZero();
            assertThat(d.toDoubleArray()).isEmpty();
            assertThat(d.type()).isSameAs(NumericType.FLOAT64);
            assertThatThrownBy(() -> f.dim(3)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("axis");
        }
    }

    @Test
    void shapeIsCopiedBothWays() {
        int[] shape = {2, 2};
        float[] data = {1, 2, 3, 4};
        try (Tensor<Float> t = backend.upload(data, shape)) {
            shape[0] = 7;
            data[0] = 9;
            t.shape()[1] = 8;
            assertThat(t.shape()).containsExactly(2, 2);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4);
            t.toFloatArray()[0] = 5;
            assertThat(t.toFloatArray()[0]).isEqualTo(1f);
        }
    }

    @Test
    void uploadDownloadConvertsBetweenTypes() {
        try (Tensor<Double> d = backend.upload(new double[] {0.1, 1e300, -2}, 3);
             Tensor<Float> f = backend.upload(NumericType.FLOAT32, new double[] {0.1, 2}, 2);
             Tensor<Double> d2 = backend.upload(NumericType.FLOAT64, new double[] {0.1}, 1)) {
            assertThat(d.toFloatArray()).containsExactly(0.1f, Float.POSITIVE_INFINITY, -2f);
            assertThat(d.toDoubleArray()).containsExactly(0.1, 1e300, -2);
            assertThat(f.toDoubleArray()).containsExactly((double) 0.1f, 2.0);
            assertThat(d2.toDoubleArray()).containsExactly(0.1);
        }
    }

    @Test
    void copyWriteReadAndFill() {
        try (Tensor<Float> a = backend.upload(new float[] {1, 2, 3, 4, 5}, 5);
             Tensor<Float> b = backend.allocate(NumericType.FLOAT32, 5);
             Tensor<Double> d = backend.allocate(NumericType.FLOAT64, 4)) {
            backend.copy(a, 1, b, 2, 3);
            assertThat(b.toFloatArray()).containsExactly(0, 0, 2, 3, 4);
            backend.copy(a, 0, a, 3, 2);
            assertThat(a.toFloatArray()).containsExactly(1, 2, 3, 1, 2);
            backend.copy(a, 0, b, 0, 0);
            backend.write(b, 1, new float[] {9, 8, 7}, 1, 2);
            assertThat(b.toFloatArray()).containsExactly(0, 8, 7, 3, 4);
            backend.write(b, 0, new double[] {0.1}, 0, 1);
            assertThat(b.toFloatArray()[0]).isEqualTo(0.1f);
            backend.write(d, 2, new float[] {0.5f, 1.5f}, 0, 2);
            backend.write(d, 0, new double[] {0.1, 0.2}, 0, 2);
            assertThat(d.toDoubleArray()).containsExactly(0.1, 0.2, 0.5, 1.5);
            float[] fr = new float[4];
            backend.read(d, 1, fr, 2, 2);
            assertThat(fr).containsExactly(0, 0, 0.2f, 0.5f);
            double[] dr = new double[3];
            backend.read(b, 3, dr, 0, 2);
            assertThat(dr).containsExactly(3, 4, 0);
            backend.read(d, 0, dr, 0, 3);
            assertThat(dr).containsExactly(0.1, 0.2, 0.5);
            backend.fill(d, -1.25);
            assertThat(d.toDoubleArray()).containsOnly(-1.25);
            backend.fill(b, 0.1);
            assertThat(b.toFloatArray()).containsOnly(0.1f);
        }
    }

    @Test
    void copyOfIsIndependent() {
        try (Tensor<Double> a = backend.upload(new double[] {1, 2, 3, 4}, 2, 2);
             Tensor<Double> b = backend.copyOf(a)) {
            assertThat(b).isNotSameAs(a);
            assertThat(b.shape()).containsExactly(2, 2);
            backend.fill(a, 0);
            assertThat(b.toDoubleArray()).containsExactly(1, 2, 3, 4);
        }
    }

    @Test
    void overlappingSelfCopyIsRejected() {
        try (Tensor<Float> a = backend.upload(new float[] {1, 2, 3, 4, 5}, 5)) {
            assertThatThrownBy(() -> backend.copy(a, 0, a, 2, 3))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("dst: ")
                    .hasMessageContaining("overlap");
            assertThat(a.toFloatArray()).containsExactly(1, 2, 3, 4, 5);
        }
    }
}
