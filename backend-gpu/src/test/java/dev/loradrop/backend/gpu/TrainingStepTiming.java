package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.MaskGranularity;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Times LoRA-drop training steps (forward, MSE, backward, AdamW; batch 256, 1024 -> 1024, rank
 * 16) on backend-cpu and on the OpenCL backend in the same JVM and logs the ratio of the median
 * step times. Not a test of speed (nothing is asserted about it): run on demand by
 * {@code scripts/gpu-check.sh} with {@code -Dloradrop.timing=true}; sizes can be changed with
 * {@code -Dloradrop.timing.batch}, {@code .in}, {@code .out}, {@code .rank}, {@code .steps}
 * (per repeat) and {@code .repeats}.
 */
@EnabledIfSystemProperty(named = "loradrop.timing", matches = "true")
class TrainingStepTiming {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingStepTiming.class);

    @Test
    void medianTrainingStepTimeCpuVersusGpu() {
        GpuBackendProvider gpu = GpuBackendProviderTest.available();
        int batch = Integer.getInteger("loradrop.timing.batch", 256);
        int in = Integer.getInteger("loradrop.timing.in", 1024);
        int out = Integer.getInteger("loradrop.timing.out", 1024);
        int rank = Integer.getInteger("loradrop.timing.rank", 16);
        int steps = Integer.getInteger("loradrop.timing.steps", 10);
        int repeats = Integer.getInteger("loradrop.timing.repeats", 7);
        double cpu = medianStepMillis(new CpuBackendProvider(), batch, in, out, rank, steps,
                repeats);
        double onGpu = medianStepMillis(gpu, batch, in, out, rank, steps, repeats);
        LOG.info(String.format(Locale.ROOT, "LoRA-drop training step (batch %d, %d -> %d, rank %d,"
                + " median of %d repeats of %d steps): cpu %.3f ms, gpu %.3f ms (%s);"
                + " ratio cpu/gpu = %.2f", batch, in, out, rank, repeats, steps, cpu, onGpu,
                gpu.probe().reason(), cpu / onGpu));
        assertThat(cpu).isPositive();
        assertThat(onGpu).isPositive();
    }

    private static double medianStepMillis(ComputeBackendProvider provider, int batch, int in,
                                           int out, int rank, int steps, int repeats) {
        double[] perStep = new double[repeats];
        try (ComputeBackend backend = provider.create(BackendConfig.defaults());
             LoRADropTraining run = new LoRADropTraining(backend, batch, in, out, rank,
                     MaskGranularity.FEATURE)) {
            for (int i = 0; i < 3; i++) {
                run.step(); // warm-up: kernel compilation, JIT
            }
            for (int r = 0; r < repeats; r++) {
                long start = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    run.step(); // each step reads its loss back, so the device work is done
                }
                perStep[r] = (System.nanoTime() - start) / 1e6 / steps;
            }
        }
        Arrays.sort(perStep);
        return perStep[repeats / 2];
    }
}
