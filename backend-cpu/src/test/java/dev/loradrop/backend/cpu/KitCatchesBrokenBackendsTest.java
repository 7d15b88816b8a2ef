package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectNestedMethod;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.Checks;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The conformance kit catches a backend that breaks one rule: each case runs one kit test against
 * the CPU backend behind a {@link ForwardingBackend} (which must pass it) and against a subclass
 * that breaks exactly that rule (which must fail it). The kit classes below are static nested
 * classes, which surefire does not run on its own.
 */
class KitCatchesBrokenBackendsTest {

    private static final String KIT = ComputeBackendContractTest.class.getName();

    /** A provider of the CPU backend behind a wrapper. */
    static class WrappingProvider implements ComputeBackendProvider {
        private final CpuBackendProvider cpu = new CpuBackendProvider();
        private final BiFunction<ComputeBackend, BackendConfig, ComputeBackend> wrap;

        WrappingProvider(Function<ComputeBackend, ComputeBackend> wrap) {
            this((backend, config) -> wrap.apply(backend));
        }

        /** For a wrapper that depends on the configuration the backend was made with. */
        WrappingProvider(BiFunction<ComputeBackend, BackendConfig, ComputeBackend> wrap) {
            this.wrap = wrap;
        }

        @Override
        public String id() {
            return cpu.id();
        }

        @Override
        public int priority() {
            return cpu.priority();
        }

        @Override
        public Availability probe() {
            return cpu.probe();
        }

        @Override
        public ComputeBackend create(BackendConfig config) {
            return wrap.apply(cpu.create(config), config);
        }
    }

    /** The CPU backend behind the unbroken wrapper: passes every case below. */
    static class Unbroken extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(ForwardingBackend::new);
        }
    }

    /** A naive GEMM that reads A and B even when alpha is 0, so their NaN reaches C. */
    static class GemmReadsOperandsAtAlphaZero extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                @Override
                public <T extends Number> void gemm(boolean transA, boolean transB, int m, int n,
                                                    int k, double alpha, Tensor<T> a, Tensor<T> b,
                                                    double beta, Tensor<T> c) {
                    if (alpha != 0) {
                        super.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
                        return;
                    }
                    double[] av = a.toDoubleArray();
                    double[] bv = b.toDoubleArray();
                    double[] cv = c.toDoubleArray();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int p = 0; p < k; p++) {
                                s += (transA ? av[p * m + i] : av[i * k + p])
                                        * (transB ? bv[j * k + p] : bv[p * n + j]);
                            }
                            cv[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * cv[i * n + j]);
                        }
                    }
                    delegate.write(c, 0, cv, 0, cv.length);
                }
            });
        }
    }

    @Test
    void gemmThatReadsAandBWhenAlphaIsZero() {
        assertCaught(GemmReadsOperandsAtAlphaZero.class, "Gemm", "gemmAlphaZeroIgnoresAandB",
                "must not reach C");
    }

    /**
     * A {@code sum} that keeps its scratch copy in a field shared by all calls: correct on one
     * thread, wrong when two threads sum at once.
     */
    static class SumNotThreadSafe extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                private double[] scratch;

                @Override
                public double sum(Tensor<?> t) {
                    scratch = t.toDoubleArray();
                    try {
                        Thread.sleep(1); // let another thread overwrite it
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    double s = 0;
                    for (double x : scratch) {
                        s += x;
                    }
                    return s;
                }
            });
        }
    }

    @Test
    void sumThatIsNotThreadSafe() {
        assertCaught(SumNotThreadSafe.class, "Concurrency",
                "callsOnDistinctTensorsMayRunConcurrently", "sum, allFinite");
    }

    /** A copy that allows overlapping ranges within one tensor (it copies as memmove does). */
    static class CopyAllowsOverlap extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                @Override
                public <T extends Number> void copy(Tensor<T> src, int srcOffset, Tensor<T> dst,
                                                    int dstOffset, int length) {
                    if (src != dst) {
                        super.copy(src, srcOffset, dst, dstOffset, length);
                        return;
                    }
                    delegate.write(dst, dstOffset, src.toDoubleArray(), srcOffset, length);
                }
            });
        }
    }

    @Test
    void copyThatAllowsOverlappingRanges() {
        assertCaught(CopyAllowsOverlap.class, "Memory", "copyWithinOneTensorRejectsOverlap",
                "overlapping ranges must throw IllegalArgumentException (it threw nothing)");
    }

    /**
     * An activationBackward that checks its sizes itself, with a slip: it names the gradient it
     * writes, dPre, when dOut has the wrong size. It still throws IllegalArgumentException before
     * it writes anything.
     */
    static class MessageNamesTheWrongArgument extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                @Override
                public <T extends Number> void activationBackward(Activation activation,
                                                                  Tensor<T> pre, Tensor<T> out,
                                                                  Tensor<T> dOut,
                                                                  Tensor<T> dPre) {
                    Checks.requireSameSize(pre, "pre", dOut, "dPre");
                    super.activationBackward(activation, pre, out, dOut, dPre);
                }
            });
        }
    }

    @Test
    void errorMessageThatNamesTheWrongArgument() {
        assertCaught(MessageNamesTheWrongArgument.class, "BadInput", "elementwise",
                "which must begin with the name of the argument at fault, dOut");
    }

    /**
     * A sum that adds one partial sum per thread, as a parallel reduction does: within the
     * tolerance, and the same on every call, but its rounding depends on the thread count.
     */
    static class SumDependsOnThreadCount extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider((b, config) -> new ForwardingBackend(b) {
                private final int parts = config.threads() == 0
                        ? Runtime.getRuntime().availableProcessors() : config.threads();

                @Override
                public double sum(Tensor<?> t) {
                    super.sum(t); // checks t
                    double[] x = t.toDoubleArray();
                    double total = 0;
                    for (int part = 0; part < parts; part++) {
                        double partial = 0;
                        for (int i = WorkerPool.start(part, x.length, parts);
                             i < WorkerPool.start(part + 1, x.length, parts); i++) {
                            partial += x[i];
                        }
                        total += partial;
                    }
                    return total;
                }
            });
        }
    }

    @Test
    void sumThatDependsOnTheThreadCount() {
        assertCaught(SumDependsOnThreadCount.class, "Provider", "resultsDoNotDependOnThreads",
                "sum, allFinite: element [0]");
    }

    /**
     * A FLOAT32 sigmoid that returns 0 below -10 (where the reference is below 4.6e-5), as if it
     * underflowed there. (In FLOAT64 the old absolute tolerance caught it already.)
     */
    static class SigmoidFlushesToZero extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                @Override
                public <T extends Number> void activate(Activation activation, Tensor<T> pre,
                                                        Tensor<T> out) {
                    boolean flush = activation == Activation.SIGMOID
                            && pre.type() == NumericType.FLOAT32;
                    double[] x = flush ? pre.toDoubleArray() : null; // before out = pre changes
                    super.activate(activation, pre, out);
                    if (flush) {
                        double[] y = out.toDoubleArray();
                        for (int i = 0; i < x.length; i++) {
                            y[i] = x[i] < -10 ? 0 : y[i];
                        }
                        delegate.write(out, 0, y, 0, y.length);
                    }
                }
            });
        }
    }

    @Test
    void sigmoidThatFlushesSmallResultsToZero() {
        assertCaught(SigmoidFlushesToZero.class, "Elementwise", "activate",
                "activate(SIGMOID, pre[");
    }

    /** A provider whose probe wrongly says unavailable: every test that needs a backend skips. */
    static class ProbeSaysUnavailable extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(ForwardingBackend::new) {
                @Override
                public Availability probe() {
                    return Availability.unavailable("deliberately broken probe");
                }
            };
        }
    }

    /** The same, in a test that declares unavailability expected here. */
    static class ProbeSaysUnavailableAsExpected extends ProbeSaysUnavailable {
        @Override
        protected boolean expectAvailable() {
            return false;
        }
    }

    @Test
    void probeThatWronglySaysUnavailable() {
        assertCaught(ProbeSaysUnavailable.class, "Provider", "probeReportsAvailable",
                "override expectAvailable()");
    }

    @Test
    void probeThatSaysUnavailableWhereThatIsExpectedSkips() {
        TestExecutionSummary s = run(ProbeSaysUnavailableAsExpected.class, "Provider",
                "probeReportsAvailable");
        assertThat(s.getTestsFoundCount()).isEqualTo(1);
        assertThat(s.getTestsAbortedCount()).as("skipped").isEqualTo(1);
        assertThat(s.getTotalFailureCount()).isZero();
    }

    /**
     * A backend that keeps what it derived from a mask's first generation (as a cached 0/1 vector
     * that is never refreshed would): maskedScaleAdd applies those bits after the mask is
     * regenerated.
     */
    static class MaskAppliedWithItsFirstBits extends ComputeBackendContractTest {
        @Override
        protected ComputeBackendProvider provider() {
            return new WrappingProvider(b -> new ForwardingBackend(b) {
                /** The arguments of each mask's first generateMask. */
                private final Map<BitMask, Object[]> first =
                        Collections.synchronizedMap(new IdentityHashMap<>());

                @Override
                public void generateMask(BitMask mask, long seed, int stream, int step,
                                         double dropoutRate) {
                    super.generateMask(mask, seed, stream, step, dropoutRate);
                    first.putIfAbsent(mask, new Object[] {seed, stream, step, dropoutRate});
                }

                @Override
                public <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask,
                                                              boolean broadcastRows, double scale,
                                                              double beta, Tensor<T> dst) {
                    Object[] g = mask == null ? null : first.get(mask);
                    if (g == null) {
                        super.maskedScaleAdd(src, mask, broadcastRows, scale, beta, dst);
                        return;
                    }
                    try (BitMask stale = delegate.allocateMask(mask.size())) {
                        delegate.generateMask(stale, (long) g[0], (int) g[1], (int) g[2],
                                (double) g[3]);
                        super.maskedScaleAdd(src, stale, broadcastRows, scale, beta, dst);
                    }
                }
            });
        }
    }

    @Test
    void maskAppliedWithTheBitsOfItsFirstGeneration() {
        assertCaught(MaskAppliedWithItsFirstBits.class, "Masks", "maskedScaleAddSeesRegeneratedBits",
                "after generateMask(step=1)");
    }

    /**
     * Runs one kit test against the unbroken wrapper (it must pass) and against the broken
     * backend (it must fail, with a message containing {@code messagePart}).
     */
    private static void assertCaught(Class<? extends ComputeBackendContractTest> broken,
                                     String group, String method, String messagePart) {
        TestExecutionSummary ok = run(Unbroken.class, group, method);
        assertThat(ok.getTestsFoundCount()).as("kit tests %s.%s found", group, method).isPositive();
        assertThat(ok.getTestsSucceededCount()).as("kit tests %s.%s passed by the unbroken wrapper",
                group, method).isEqualTo(ok.getTestsFoundCount());
        TestExecutionSummary bad = run(broken, group, method);
        assertThat(bad.getTotalFailureCount())
                .as("kit tests %s.%s failed by %s", group, method, broken.getSimpleName())
                .isPositive();
        assertThat(bad.getFailures()).as("failures of %s", broken.getSimpleName())
                .anySatisfy(f -> assertThat(f.getException()).hasMessageContaining(messagePart));
    }

    static TestExecutionSummary run(Class<?> kit, String group, String method) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectNestedMethod(List.of(kit.getName()), KIT + "$" + group, method))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        return listener.getSummary();
    }
}
