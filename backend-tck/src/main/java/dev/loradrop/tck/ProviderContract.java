package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Provider contract: registration for {@link ServiceLoader} (found by id, same class as the
 * instance under test), a probe that never throws, lower-case ids, creation with default and
 * single-thread configurations, and results of every SPI method ({@link SpiWorkload}) that do not
 * depend on the thread count.
 */
public abstract class ProviderContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected ProviderContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    /**
     * Finds the registered provider with the given id through {@link ServiceLoader}.
     *
     * @param id the id
     * @return every registered provider with that id (providers that fail to load are skipped)
     */
    static List<ComputeBackendProvider> registered(String id) {
        List<ComputeBackendProvider> found = new ArrayList<>();
        Iterator<ComputeBackendProvider> it =
                ServiceLoader.load(ComputeBackendProvider.class).iterator();
        while (true) {
            ComputeBackendProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                continue; // another, broken provider on the class path: not ours to judge
            }
            if (id.equals(p.id())) {
                found.add(p);
            }
        }
        return found;
    }

    @Test
    @DisplayName("is registered for ServiceLoader under its id, exactly once, with the same class")
    void registeredForServiceLoader() {
        ComputeBackendProvider p = provider();
        List<ComputeBackendProvider> found = registered(p.id());
        assertThat(found)
                .as("providers with id '%s' found by ServiceLoader.load(ComputeBackendProvider.class);"
                        + " register %s in META-INF/services/%s and with 'provides' in module-info",
                        p.id(), p.getClass().getName(), ComputeBackendProvider.class.getName())
                .hasSize(1);
        assertThat(found.get(0).getClass())
                .as("class of the registered provider with id '%s'", p.id())
                .isEqualTo(p.getClass());
    }

    @Test
    @DisplayName("probe() never throws, returns a reason, and is idempotent")
    void probeNeverThrows() {
        ComputeBackendProvider p = provider();
        Availability first = assertDoesNotThrow(p::probe, "probe() must never throw");
        assertThat(first).as("probe() of '%s'", p.id()).isNotNull();
        assertThat(first.reason()).as("probe().reason()").isNotNull();
        for (int i = 0; i < 2; i++) {
            Availability again = assertDoesNotThrow(p::probe, "probe() must never throw");
            assertThat(again.available()).as("probe() must be idempotent").isEqualTo(first.available());
        }
        Availability fresh = assertDoesNotThrow(() -> provider().probe(),
                "probe() on a new provider instance");
        assertThat(fresh.available()).as("probe() on a new provider instance")
                .isEqualTo(first.available());
    }

    @Test
    @DisplayName("probe() reports the backend available (fails unless the test expects otherwise)")
    void probeReportsAvailable() {
        if (!kit.expectAvailable()) {
            assumeAvailable(); // unavailability is expected here: skip with the probe's reason
            return;
        }
        ComputeBackendProvider p = provider();
        Availability a = p.probe();
        assertThat(a).as("probe() of '%s'", p.id()).isNotNull();
        assertThat(a.available())
                .as("probe() of '%s' says the backend is unavailable (%s), so every kit test that"
                        + " needs a backend is skipped; if that is expected on this machine, override"
                        + " expectAvailable() in %s to return false here", p.id(), a.reason(),
                        kit.getClass().getName())
                .isTrue();
    }

    @Test
    @DisplayName("id() is short, non-empty and lower-case; description() is not null")
    void idIsLowerCase() {
        ComputeBackendProvider p = provider();
        String id = p.id();
        assertThat(id).as("provider id").isNotNull().isNotEmpty()
                .isEqualTo(id.toLowerCase(Locale.ROOT))
                .matches("[a-z0-9][a-z0-9._-]*");
        assertThat(p.description()).as("description() of '%s'", id).isNotNull();
    }

    @Test
    @DisplayName("create() works with defaults and with one thread; the backend reports the id")
    void createWithDefaultsAndOneThread() {
        for (BackendConfig config : List.of(BackendConfig.defaults(),
                BackendConfig.defaults().withThreads(1))) {
            ComputeBackend b = newBackend(config);
            assertThat(b.id()).as("id() of a backend made with %s", config)
                    .isEqualTo(provider().id());
            assertThat(b.describe()).as("describe() of a backend made with %s", config).isNotNull();
            long start = b.liveAllocations();
            try (Tensor<Float> t = b.upload(new float[] {1, 2, 3}, 3)) {
                assertThat(t.toFloatArray()).as("round trip on a backend made with %s", config)
                        .containsExactly(1, 2, 3);
            }
            assertThat(b.liveAllocations()).as("liveAllocations() with %s", config).isEqualTo(start);
        }
    }

    @Test
    @DisplayName("every SPI method gives the same bits with 1, 3 and the default number of threads")
    void resultsDoNotDependOnThreads() {
        BackendConfig base = kit.config();
        List<BackendConfig> configs = List.of(base.withThreads(1), base.withThreads(3),
                base.threads() == 1 || base.threads() == 3 ? base.withThreads(0) : base);
        for (NumericType<?> type : TYPES) {
            threadCountCase(type, configs);
        }
    }

    /**
     * Runs the {@link SpiWorkload} on one backend per configuration, at sizes past the point
     * where a backend would split work between threads (masks and tensors of 512 x 257 =
     * 131 584 elements, a GEMM of 2.6e7 multiply-adds), and compares the results with the first
     * configuration's bit for bit.
     */
    private <T extends Number> void threadCountCase(NumericType<T> type,
                                                    List<BackendConfig> configs) {
        int m = 512;
        int n = 257;
        int k = 200;
        List<Map<String, double[]>> results = new ArrayList<>();
        for (BackendConfig config : configs) {
            ComputeBackend be = newBackend(config);
            try (SpiWorkload.Shared<T> shared = SpiWorkload.upload(be, type, m, n, k)) {
                results.add(SpiWorkload.run(be, type, shared, 0));
            }
        }
        for (int i = 1; i < configs.size(); i++) {
            String diff = SpiWorkload.difference(results.get(i), results.get(0));
            assertThat(diff).as("%s: every SPI method (m=%d, n=%d, k=%d) with %s vs %s: results"
                    + " must not depend on the number of threads", label(type), m, n, k,
                    configs.get(i), configs.get(0)).isNull();
        }
    }
}
