package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.backend.BackendSelection;
import dev.loradrop.core.backend.ProviderStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs in the surefire execution {@code no-opencl-platform}, whose JVM sees no OpenCL platform
 * ({@code OCL_ICD_VENDORS} points at an empty directory): the provider says why, selection skips
 * it, and an explicit choice fails with that reason.
 */
@EnabledIfSystemProperty(named = "loradrop.test.noOpenClPlatform", matches = "true")
class NoOpenClPlatformTest {

    @Test
    void providerReportsThatThereIsNoPlatform() {
        Availability a = new GpuBackendProvider().probe();
        assertThat(a.available()).isFalse();
        assertThat(a.reason()).contains("no OpenCL platform").contains("CL_PLATFORM_NOT_FOUND_KHR");
        assertThatThrownBy(() -> new GpuBackendProvider().create(BackendConfig.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("backend 'gpu' is unavailable: no OpenCL platform");
    }

    @Test
    void selectionSkipsItAndChoosesCpu() {
        BackendRegistry registry = BackendRegistry.discover()
                .withLookups(name -> null, name -> null);
        ProviderStatus gpu = registry.providers().stream()
                .filter(s -> s.id().orElse("").equals("gpu")).findFirst().orElseThrow();
        assertThat(gpu.availability().available()).isFalse();
        assertThat(gpu.availability().reason()).contains("CL_PLATFORM_NOT_FOUND_KHR");
        BackendSelection selection = registry.select();
        assertThat(selection.id()).isEqualTo("cpu");
        try (ComputeBackend b = registry.create()) {
            assertThat(b.id()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> registry.create("gpu", BackendConfig.defaults()))
                .hasMessageContaining("CL_PLATFORM_NOT_FOUND_KHR");
    }
}
