package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.MaskGranularity;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * 100 LoRA-drop training steps on the OpenCL backend match backend-cpu within float32
 * tolerance: the masks are the same Philox bits (a single differing bit would change a loss
 * by far more than the tolerance), and every kernel of a training step agrees.
 */
class TrainingParityTest {

    private static final int STEPS = 100;

    @ParameterizedTest
    @EnumSource(value = MaskGranularity.class, names = {"FEATURE", "ELEMENT"})
    void hundredStepsMatchTheCpuBackend(MaskGranularity granularity) {
        GpuBackendProvider gpu = new GpuBackendProvider();
        Assumptions.assumeTrue(gpu.probe().available(), () -> gpu.probe().reason());
        LoRADropTraining.Result expected;
        LoRADropTraining.Result actual;
        try (ComputeBackend cpu = new CpuBackendProvider().create(BackendConfig.defaults());
             LoRADropTraining run = new LoRADropTraining(cpu, 16, 48, 24, 8, granularity)) {
            expected = run.run(STEPS);
        }
        try (ComputeBackend backend = gpu.create(BackendConfig.defaults());
             LoRADropTraining run = new LoRADropTraining(backend, 16, 48, 24, 8, granularity)) {
            actual = run.run(STEPS);
            assertThat(backend.liveAllocations()).as("live allocations before closing the run")
                    .isPositive();
        }
        assertThat(expected.losses[STEPS - 1]).as("the run learns (cpu)")
                .isLessThan(expected.losses[0] / 2);
        for (int s = 0; s < STEPS; s++) {
            double tol = 1e-4 * Math.abs(expected.losses[s]) + 1e-7;
            assertThat(actual.losses[s]).as("loss of step %d (%s)", s, granularity)
                    .isCloseTo(expected.losses[s], org.assertj.core.data.Offset.offset(tol));
        }
        assertThat(actual.parameters).hasSameSizeAs(expected.parameters);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.parameters.length; i++) {
            double e = expected.parameters[i];
            double diff = Math.abs(actual.parameters[i] - e) / (1e-3 + Math.abs(e));
            if (diff > worst) {
                worst = diff;
                at = i;
            }
        }
        assertThat(worst).as("largest relative parameter difference after %d steps (at %d)",
                STEPS, at).isLessThan(1e-3);
    }
}
