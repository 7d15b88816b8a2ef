package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Masks in a training step's steady state: generated and applied without heap the mask's size. */
class Nd4jMaskTest {

    private final ComputeBackend backend = new Nd4jBackendProvider().create(BackendConfig.defaults());

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    @Test
    void aRegeneratedMaskIsAppliedWithoutHeapProportionalToItsSize() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int rows = 256;
        int cols = 4096;
        int size = rows * cols;                   // a float keep vector on the heap: 4 MiB
        try (BitMask mask = backend.allocateMask(size);
             Tensor<Float> src = backend.allocate(NumericType.FLOAT32, rows, cols);
             Tensor<Float> dst = backend.allocate(NumericType.FLOAT32, rows, cols)) {
            backend.fill(src, 1.5);
            long most = 0;
            for (int step = 0; step < 8; step++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                backend.generateMask(mask, 7, 0, step, 0.1);
                backend.maskedScaleAdd(src, mask, false, 2.0, 0.0, dst);
                backend.maskedScaleAdd(src, mask, false, 2.0, 1.0, dst);
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (step >= 2) {                  // after the first steps' one-time allocations
                    most = Math.max(most, allocated);
                }
            }
            // ND4J's op objects take a few KiB a call; the 4 MiB keep vector must not recur.
            assertThat(most).as("heap bytes of each steady-state generate-and-apply of a %d-bit mask", size)
                    .isLessThan(size / 16);
            System.out.println("Nd4jMaskTest: steady-state generate + 2 applies allocated at most "
                    + most + " B");
        }
    }
}
