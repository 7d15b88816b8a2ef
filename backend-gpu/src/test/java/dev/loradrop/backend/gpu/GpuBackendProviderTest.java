package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class GpuBackendProviderTest {

    @Test
    void isRegisteredAndReportsThatItIsNotImplemented() {
        ComputeBackendProvider found = ServiceLoader.load(ComputeBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.id().equals("gpu"))
                .findFirst()
                .orElseThrow();
        assertThat(found).isInstanceOf(GpuBackendProvider.class);
        assertThat(found.probe().available()).isFalse();
        assertThat(found.probe().reason()).contains("not implemented");
        assertThatThrownBy(() -> found.create(BackendConfig.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'gpu'")
                .hasMessageContaining("not implemented");
    }
}
