package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class Nd4jBackendProviderTest {

    @Test
    void isRegisteredAndReportsThatItIsNotImplemented() {
        ComputeBackendProvider found = ServiceLoader.load(ComputeBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.id().equals("nd4j"))
                .findFirst()
                .orElseThrow();
        assertThat(found).isInstanceOf(Nd4jBackendProvider.class);
        assertThat(found.probe().available()).isFalse();
        assertThat(found.probe().reason()).contains("not implemented");
        assertThatThrownBy(() -> found.create(BackendConfig.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'nd4j'")
                .hasMessageContaining("not implemented");
    }
}
