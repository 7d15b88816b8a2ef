package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import dev.loradrop.api.BitMask;
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
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Provider contract: registration for {@link ServiceLoader} (found by id, same class as the
 * instance under test), a probe that never throws, lower-case ids, creation with default and
 * single-thread configurations, and results that do not depend on the thread count.
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
    @DisplayName("GEMM, column sums and masks do not depend on the thread count (bit for bit)")
    void resultsDoNotDependOnThreads() {
        List<BackendConfig> configs = List.of(BackendConfig.defaults().withThreads(1),
                BackendConfig.defaults().withThreads(3), BackendConfig.defaults());
        int m = 257;
        int n = 200;
        int k = 301;
        double[] a = random(11, m * k, -1, 1);
        double[] b = random(12, k * n, -1, 1);
        int maskSize = 1 << 20;
        List<double[]> gemm32 = new ArrayList<>();
        List<double[]> gemm64 = new ArrayList<>();
        List<double[]> sums = new ArrayList<>();
        List<long[]> masks = new ArrayList<>();
        for (BackendConfig config : configs) {
            ComputeBackend be = newBackend(config);
            try (Tensor<Float> a32 = be.upload(NumericType.FLOAT32, a, m, k);
                 Tensor<Float> b32 = be.upload(NumericType.FLOAT32, b, n, k);
                 Tensor<Float> c32 = be.allocate(NumericType.FLOAT32, m, n);
                 Tensor<Double> a64 = be.upload(a, k, m);
                 Tensor<Double> b64 = be.upload(b, k, n);
                 Tensor<Double> c64 = be.allocate(NumericType.FLOAT64, m, n);
                 Tensor<Float> s32 = be.allocate(NumericType.FLOAT32, k);
                 BitMask mask = be.allocateMask(maskSize)) {
                be.gemm(false, true, m, n, k, 1.0, a32, b32, 0.0, c32);
                be.gemm(true, false, m, n, k, 0.5, a64, b64, 0.0, c64);
                be.columnSums(a32, 0.0, s32);
                be.generateMask(mask, 0x5EEDL, 3, 17, 0.3);
                gemm32.add(c32.toDoubleArray());
                gemm64.add(c64.toDoubleArray());
                sums.add(s32.toDoubleArray());
                masks.add(mask.toLongArray());
            }
        }
        for (int i = 1; i < configs.size(); i++) {
            String vs = " with " + configs.get(i) + " vs " + configs.get(0);
            assertExactly("gemm(false, true, m=" + m + ", n=" + n + ", k=" + k + ") FLOAT32" + vs,
                    gemm32.get(i), gemm32.get(0));
            assertExactly("gemm(true, false, m=" + m + ", n=" + n + ", k=" + k + ") FLOAT64" + vs,
                    gemm64.get(i), gemm64.get(0));
            assertExactly("columnSums(" + m + " x " + k + ") FLOAT32" + vs, sums.get(i), sums.get(0));
            assertThat(masks.get(i)).as("generateMask(size=%d)%s", maskSize, vs)
                    .isEqualTo(masks.get(0));
        }
    }
}
