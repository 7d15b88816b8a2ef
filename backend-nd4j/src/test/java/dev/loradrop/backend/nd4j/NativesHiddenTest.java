package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.backend.BackendSelection;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs only in the surefire execution {@code natives-hidden}: a fresh JVM started with
 * {@code -Dorg.bytedeco.javacpp.platform=linux-armhf}, so JavaCPP looks for natives that are not on
 * the class path and ND4J really fails to load. Its surefire report must show 2 tests run, none
 * skipped.
 */
class NativesHiddenTest {

    @BeforeAll
    static void runsInTheJvmWhoseNativesAreHidden() {
        // skipped where the natives are not hidden (e.g. picked by -Dtest in the default run)
        Assumptions.assumeTrue("true".equals(System.getProperty("loradrop.test.nativesHidden")),
                "runs only in the 'natives-hidden' surefire execution");
    }

    @Test
    void probeReportsUnavailableWithTheReasonAndNeverThrows() {
        Nd4jBackendProvider provider = new Nd4jBackendProvider();
        Availability availability = provider.probe();

        assertThat(availability.available()).isFalse();
        assertThat(availability.reason())
                .contains("ND4J's native backend did not load")
                .contains("UnsatisfiedLinkError")
                .contains("org.nd4j:nd4j-native:" + Nd4jBackendProvider.ND4J_VERSION)
                .contains("linux-armhf");
        assertThat(new Nd4jBackendProvider().probe()).as("idempotent").isEqualTo(availability);
        assertThatThrownBy(() -> provider.create(BackendConfig.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("backend 'nd4j' is unavailable: " + availability.reason());
    }

    @Test
    void selectionFallsBackToTheNextAvailableBackend() {
        // nd4j (priority 60) would win over this CPU provider (priority 10) if it were available
        ComputeBackendProvider lowCpu = new LowPriorityCpu();
        BackendRegistry registry = BackendRegistry.of(List.of(new Nd4jBackendProvider(), lowCpu))
                .withLookups(key -> null, key -> null);

        BackendSelection selection = registry.select();
        assertThat(selection.id()).isEqualTo("cpu-low");
        assertThat(selection.reason()).isEqualTo(BackendSelection.Reason.PRIORITY);
        assertThat(registry.describe()).contains("nd4j").contains("did not load");
        try (ComputeBackend backend = registry.create()) {
            assertThat(backend.id()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> registry.select("nd4j"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not load");

        // and through ServiceLoader, with the real providers on this class path
        BackendRegistry discovered = BackendRegistry.discover().withLookups(key -> null, key -> null);
        assertThat(discovered.select().id()).isEqualTo("cpu");
    }

    /** The CPU backend under another id, ranked below nd4j. */
    private static final class LowPriorityCpu implements ComputeBackendProvider {
        private final CpuBackendProvider cpu = new CpuBackendProvider();

        @Override
        public String id() {
            return "cpu-low";
        }

        @Override
        public int priority() {
            return 10;
        }

        @Override
        public Availability probe() {
            return cpu.probe();
        }

        @Override
        public ComputeBackend create(BackendConfig config) {
            return cpu.create(config);
        }
    }
}
