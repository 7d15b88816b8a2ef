package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class CpuBackendProviderTest {

    @Test
    void isRegisteredByIdAndCreatesAnAvailableBackend() {
        ComputeBackendProvider found = ServiceLoader.load(ComputeBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.id().equals("cpu"))
                .findFirst()
                .orElseThrow();
        assertThat(found).isInstanceOf(CpuBackendProvider.class);
        assertThat(found.priority()).isEqualTo(100);
        assertThat(found.description()).contains("pure Java").contains("default");
        assertThat(found.probe().available()).isTrue();
        try (ComputeBackend backend = found.create(BackendConfig.defaults())) {
            assertThat(backend).isInstanceOf(CpuBackend.class);
            assertThat(backend.id()).isEqualTo("cpu");
            assertThat(backend.liveAllocations()).isZero();
        }
    }

    @Test
    void probeIsRepeatableAndCreateGivesIndependentInstances() {
        CpuBackendProvider provider = new CpuBackendProvider();
        assertThat(provider.probe()).isEqualTo(provider.probe());
        ComputeBackend a = provider.create(BackendConfig.defaults());
        try (ComputeBackend b = provider.create(BackendConfig.defaults())) {
            assertThat(a).isNotSameAs(b);
            b.upload(new float[] {1}, 1);
            a.close();
            assertThat(b.liveAllocations()).as("closing one instance leaves the other").isOne();
        }
    }

    @Test
    void createRejectsNullConfig() {
        assertThatThrownBy(() -> new CpuBackendProvider().create(null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("config");
    }

    @Test
    void describeIsOrderedAndReportsThreadsAndPath() {
        try (ComputeBackend backend = new CpuBackendProvider()
                .create(BackendConfig.defaults().withThreads(3))) {
            assertThat(backend.describe().keySet())
                    .containsExactly("id", "threads", "java.version", "java.vm", "path");
            assertThat(backend.describe())
                    .containsEntry("id", "cpu")
                    .containsEntry("threads", "3")
                    .containsEntry("path", CpuPaths.defaultKernel().path())
                    .containsEntry("java.version", System.getProperty("java.version"));
        }
        try (ComputeBackend backend = new CpuBackendProvider().create(BackendConfig.defaults())) {
            assertThat(backend.describe()).containsEntry("threads",
                    Integer.toString(Runtime.getRuntime().availableProcessors()));
        }
    }
}
