package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import org.junit.jupiter.api.Test;

class ArrayPoolTest {

    @Test
    void recycledArraysAreZeroedAndNotShared() {
        ArrayPool pool = new ArrayPool(1 << 20);
        float[] a = pool.floats(100);
        a[3] = 7f;
        pool.release(a);
        assertThat(pool.pooledBytes()).isEqualTo(400);
        float[] b = pool.floats(100);
        assertThat(b).isSameAs(a).containsOnly(0f);
        assertThat(pool.floats(100)).isNotSameAs(a);
        assertThat(pool.pooledBytes()).isZero();
    }

    @Test
    void theCapIsRespected() {
        ArrayPool pool = new ArrayPool(1000);
        pool.release(new double[100]);
        pool.release(new double[100]);
        assertThat(pool.pooledBytes()).isEqualTo(800);
    }

    @Test
    void aClosedTensorsMemoryServesTheNextAllocationAndStartsAtZero() {
        try (CpuBackend backend = (CpuBackend) new CpuBackendProvider()
                .create(BackendConfig.defaults())) {
            Tensor<Float> t = backend.upload(new float[] {1, 2, 3, 4}, 2, 2);
            t.close();
            try (Tensor<Float> u = backend.allocate(NumericType.FLOAT32, 4)) {
                assertThat(u.toFloatArray()).containsOnly(0f);
            }
            assertThat(backend.pool().pooledBytes()).isEqualTo(16);
        }
    }

    @Test
    void anElementMaskOf64By4096TakesAtMost32KiB() {
        try (CpuBackend backend = (CpuBackend) new CpuBackendProvider()
                .create(BackendConfig.defaults());
             BitMask mask = backend.allocateMask(64 * 4096)) {
            assertThat(mask.toLongArray().length * (long) Long.BYTES).isLessThanOrEqualTo(32 * 1024);
        }
    }
}
