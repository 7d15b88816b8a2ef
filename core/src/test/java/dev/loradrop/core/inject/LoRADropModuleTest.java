package dev.loradrop.core.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.AbstractModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.ProvisionException;
import com.google.inject.util.Modules;
import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.LoRADropFactory;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.backend.FakeProvider;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoRADropModuleTest {

    /** Records the configs it is given. */
    private static final class RecordingProvider implements ComputeBackendProvider {
        private final String id;
        private final int priority;
        private final Availability availability;
        final List<BackendConfig> configs = new ArrayList<>();

        RecordingProvider(String id, int priority, Availability availability) {
            this.id = id;
            this.priority = priority;
            this.availability = availability;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public Availability probe() {
            return availability;
        }

        @Override
        public ComputeBackend create(BackendConfig config) {
            configs.add(config);
            return FakeProvider.backend(id);
        }
    }

    private final RecordingProvider high = new RecordingProvider("high", 100, Availability.ok());
    private final RecordingProvider low = new RecordingProvider("low", 1, Availability.ok());
    private final RecordingProvider off =
            new RecordingProvider("off", 500, Availability.unavailable("no device"));
    private final BackendRegistry registry = BackendRegistry.of(List.of(high, low, off))
            .withLookups(name -> null, name -> null);

    private Injector injector(LoRADropModule module) {
        return Guice.createInjector(Modules.override(module).with(new AbstractModule() {
            @Override
            protected void configure() {
                bind(BackendRegistry.class).toInstance(registry);
            }
        }));
    }

    @Test
    void givesTheBackendChosenByPriorityFromTheOverridingRegistry() {
        Injector injector = injector(new LoRADropModule());

        ComputeBackend backend = injector.getInstance(ComputeBackend.class);

        assertThat(backend.id()).isEqualTo("high");
        assertThat(injector.getInstance(ComputeBackend.class)).isSameAs(backend);
        assertThat(injector.getInstance(BackendRegistry.class)).isSameAs(registry);
        assertThat(high.configs).containsExactly(BackendConfig.defaults());
        backend.close();
    }

    @Test
    void explicitIdSelectsThatBackend() {
        ComputeBackend backend = injector(new LoRADropModule("low"))
                .getInstance(ComputeBackend.class);

        assertThat(backend.id()).isEqualTo("low");
        assertThat(high.configs).isEmpty();
    }

    @Test
    void configIsPassedToTheProvider() {
        BackendConfig config = BackendConfig.defaults().withThreads(2).withProperty("k", "v");

        injector(new LoRADropModule(config)).getInstance(ComputeBackend.class);

        assertThat(high.configs).containsExactly(config);
    }

    @Test
    void explicitIdAndConfigTogether() {
        BackendConfig config = BackendConfig.defaults().withThreads(4);

        ComputeBackend backend = injector(new LoRADropModule("low", config))
                .getInstance(ComputeBackend.class);

        assertThat(backend.id()).isEqualTo("low");
        assertThat(low.configs).containsExactly(config);
    }

    @Test
    void unavailableExplicitIdFailsWithItsReason() {
        Injector injector = injector(new LoRADropModule("off"));

        assertThatThrownBy(() -> injector.getInstance(ComputeBackend.class))
                .isInstanceOf(ProvisionException.class)
                .hasRootCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no device");
    }

    @Test
    void theBackendBindingCanBeOverriddenToo() {
        ComputeBackend mine = FakeProvider.backend("mine");
        Injector injector = Guice.createInjector(Modules.override(new LoRADropModule())
                .with(new AbstractModule() {
                    @Override
                    protected void configure() {
                        bind(ComputeBackend.class).toInstance(mine);
                    }
                }));

        assertThat(injector.getInstance(ComputeBackend.class)).isSameAs(mine);
    }

    @Test
    void withoutOverridesTheRegistryIsDiscoveredLazilyAsASingleton() {
        Injector injector = Guice.createInjector(new LoRADropModule());

        BackendRegistry discovered = injector.getInstance(BackendRegistry.class);

        assertThat(injector.getInstance(BackendRegistry.class)).isSameAs(discovered);
    }

    @Test
    void blankIdIsRejected() {
        assertThatThrownBy(() -> new LoRADropModule(" "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("backendId");
        assertThatThrownBy(() -> new LoRADropModule((String) null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("backendId");
        assertThatThrownBy(() -> new LoRADropModule((BackendConfig) null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("config");
    }

    @Test
    void accessorsReportTheSettings() {
        assertThat(new LoRADropModule().backendId()).isEmpty();
        assertThat(new LoRADropModule("cpu").backendId()).hasValue("cpu");
        assertThat(new LoRADropModule().config()).isSameAs(BackendConfig.defaults());
    }

    @Test
    void theFactoryBuildsAdaptersOnTheRealCpuBackend() {
        Injector injector = Guice.createInjector(new LoRADropModule("cpu"));
        LoRADropFactory factory = injector.getInstance(LoRADropFactory.class);
        ComputeBackend backend = injector.getInstance(ComputeBackend.class);
        try (backend) {
            assertThat(factory.backend()).isSameAs(backend);
            assertThat(backend.id()).isEqualTo("cpu");
            try (LoRADropAdapter<Float> adapter = factory.loraDrop(
                    factory.dense(NumericType.FLOAT32, 4, 3, Activation.RELU, 1L))
                    .rank(2).dropoutRate(0.2).seed(3L).build();
                 Tensor<Float> x = backend.upload(new float[] {1, 2, 3, 4}, 1, 4);
                 Tensor<Float> y = adapter.forward(x)) {
                assertThat(y.shape()).containsExactly(1, 3);
            }
            assertThat(backend.liveAllocations()).isZero();
        }
    }
}
