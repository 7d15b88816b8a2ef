package dev.loradrop.tck;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackendProvider;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;

/**
 * The conformance kit for {@link dev.loradrop.api.spi.ComputeBackend} implementations. A backend's
 * test suite extends it once:
 *
 * <pre>{@code
 * class MyBackendConformanceTest extends ComputeBackendContractTest {
 *     protected ComputeBackendProvider provider() { return new MyProvider(); }
 * }
 * }</pre>
 *
 * <p>The tests live in {@link Nested} groups (provider, reference self-check, memory, lifecycle,
 * GEMM, elementwise kernels, masks, losses, optimisers, concurrency, bad input). Every test that
 * needs a
 * backend creates a fresh one through {@link #provider()} and {@link #config()}, closes it after,
 * and checks {@code liveAllocations()} for leaks. If {@link ComputeBackendProvider#probe()} reports
 * the backend unavailable (for example its native library is missing), those tests are
 * <em>aborted</em> (reported as skipped) with the probe's reason instead of failing; the one test
 * that asserts availability fails then, unless {@link #expectAvailable()} says unavailability is
 * expected here.
 */
public abstract class ComputeBackendContractTest {

    /** For subclasses. */
    protected ComputeBackendContractTest() {
    }

    /**
     * @return a new instance of the provider under test (it must also be registered for
     *     {@link java.util.ServiceLoader})
     */
    protected abstract ComputeBackendProvider provider();

    /** @return the configuration the tests create backends with; defaults unless overridden */
    protected BackendConfig config() {
        return BackendConfig.defaults();
    }

    /**
     * Whether the backend is expected to be available where the kit runs. With the default, true,
     * the provider test "probe() reports the backend available" <em>fails</em> when
     * {@link ComputeBackendProvider#probe()} says unavailable, so a probe that wrongly says so
     * cannot pass the kit by skipping every test. Override it to return false where unavailability
     * is expected (no device or driver on this machine, a test run that hides the native library):
     * then that test is skipped with the probe's reason, like the others. Decide it without asking
     * the provider under test, or a broken probe decides its own verdict.
     *
     * @return whether {@code probe()} must report the backend available here
     */
    protected boolean expectAvailable() {
        return true;
    }

    /**
     * The factor {@code c} of every tolerance {@code c * eps(type) * terms * scale} (see
     * {@link ContractSupport}). The default, 4, allows any summation order and fused
     * multiply-add; raise it only with a reason (for example a documented fast-math mode).
     *
     * @param type element type
     * @return the factor
     */
    protected double toleranceFactor(NumericType<?> type) {
        return 4.0;
    }

    /** Provider registration, probe, ids, creation, thread-count independence. */
    @Nested
    @DisplayName("provider")
    class Provider extends ProviderContract {
        Provider() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** The kit's own reference (Philox known-answer vectors). */
    @Nested
    @DisplayName("reference self-check")
    class ReferenceSelfCheck extends ReferenceSelfCheckContract {
        ReferenceSelfCheck() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Allocation, upload, download, copy, fill, conversions. */
    @Nested
    @DisplayName("memory")
    class Memory extends MemoryContract {
        Memory() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Use after close, idempotent close, allocation counting, backend close. */
    @Nested
    @DisplayName("lifecycle")
    class Lifecycle extends LifecycleContract {
        Lifecycle() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** GEMM against a float64 reference. */
    @Nested
    @DisplayName("gemm")
    class Gemm extends GemmContract {
        Gemm() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** prepareLinear against gemm, addBias and activate. */
    @Nested
    @DisplayName("prepared linear")
    class PreparedLinear extends PreparedLinearContract {
        PreparedLinear() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** axpby, bias, column sums, activations, masked scale-add, reductions. */
    @Nested
    @DisplayName("elementwise and reductions")
    class Elementwise extends ElementwiseContract {
        Elementwise() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Mask bits against {@link dev.loradrop.api.MaskStream#reference}. */
    @Nested
    @DisplayName("masks")
    class Masks extends MaskContract {
        Masks() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Mean squared error and softmax cross-entropy. */
    @Nested
    @DisplayName("losses")
    class Losses extends LossContract {
        Losses() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** SGD and Adam/AdamW steps. */
    @Nested
    @DisplayName("optimisers")
    class Optimisers extends OptimizerContract {
        Optimisers() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Calls on distinct tensors from many threads at once. */
    @Nested
    @DisplayName("concurrency")
    class Concurrency extends ConcurrencyContract {
        Concurrency() {
            super(ComputeBackendContractTest.this);
        }
    }

    /** Rejection of bad arguments, leaving outputs unchanged. */
    @Nested
    @DisplayName("bad input")
    class BadInput extends BadInputContract {
        BadInput() {
            super(ComputeBackendContractTest.this);
        }
    }
}
