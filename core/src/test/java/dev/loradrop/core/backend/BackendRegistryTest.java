package dev.loradrop.core.backend;

import static dev.loradrop.core.backend.FakeProvider.available;
import static dev.loradrop.core.backend.FakeProvider.unavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.core.backend.BackendSelection.Reason;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BackendRegistryTest {

    private static final Function<String, String> NONE = name -> null;

    /** A registry of the given providers that sees no property and no environment variable. */
    private static BackendRegistry registry(ComputeBackendProvider... providers) {
        return BackendRegistry.of(List.of(providers)).withLookups(NONE, NONE);
    }

    private static Function<String, String> only(String name, String value) {
        return Map.of(name, value)::get;
    }

    private static Function<String, String> property(String value) {
        return only(BackendRegistry.PROPERTY, value);
    }

    private static Function<String, String> env(String value) {
        return only(BackendRegistry.ENVIRONMENT, value);
    }

    @Test
    void constantsNameThePropertyAndTheEnvironmentVariable() {
        assertThat(BackendRegistry.PROPERTY).isEqualTo("loradrop.backend");
        assertThat(BackendRegistry.ENVIRONMENT).isEqualTo("LORADROP_BACKEND");
    }

    @Nested
    class Listing {

        @Test
        void listsEveryProviderInOrderWithItsFacts() {
            FakeProvider a = available("a", 10);
            FakeProvider b = unavailable("b", 20, "no device");
            BackendRegistry registry = registry(a, b);

            assertThat(registry.providers()).hasSize(2);
            ProviderStatus first = registry.providers().get(0);
            assertThat(first.id()).hasValue("a");
            assertThat(first.description()).isEqualTo("fake backend a");
            assertThat(first.priority()).hasValue(10);
            assertThat(first.isAvailable()).isTrue();
            assertThat(first.isFailed()).isFalse();
            assertThat(first.failure()).isEmpty();
            assertThat(first.providerClass()).isEqualTo(FakeProvider.class.getName());
            assertThat(first.provider()).containsSame(a);

            ProviderStatus second = registry.providers().get(1);
            assertThat(second.id()).hasValue("b");
            assertThat(second.isAvailable()).isFalse();
            assertThat(second.isFailed()).isFalse();
            assertThat(second.availability().reason()).isEqualTo("no device");
        }

        @Test
        void listingIsImmutable() {
            BackendRegistry registry = registry(available("a", 1));
            assertThatThrownBy(() -> registry.providers().clear())
                    .isInstanceOf(UnsupportedOperationException.class);
        }

        @Test
        void findReturnsProvidersByIdAvailableOrNot() {
            FakeProvider a = available("a", 10);
            FakeProvider b = unavailable("b", 20, "no device");
            BackendRegistry registry = registry(a, b);

            assertThat(registry.find("a")).containsSame(a);
            assertThat(registry.find("b")).containsSame(b);
            assertThat(registry.find("c")).isEmpty();
        }

        @Test
        void nullProviderIsRejected() {
            assertThatThrownBy(() -> BackendRegistry.of(java.util.Arrays.asList(
                    available("a", 1), null)))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("providers[1]");
        }
    }

    @Nested
    class BrokenProviders {

        @Test
        void providerThrowingInProbeIsKeptAsFailedAndSkipped() {
            FakeProvider broken = available("broken", 500)
                    .failingProbe(new IllegalStateException("probe boom"));
            BackendRegistry registry = registry(broken, available("ok", 1));

            ProviderStatus status = registry.providers().get(0);
            assertThat(status.isFailed()).isTrue();
            assertThat(status.isAvailable()).isFalse();
            assertThat(status.id()).hasValue("broken");
            assertThat(status.priority()).hasValue(500);
            assertThat(status.failure()).hasValueSatisfying(f -> assertThat(f)
                    .contains("probe()").contains("IllegalStateException").contains("probe boom"));
            assertThat(status.availability().available()).isFalse();
            assertThat(registry.select().id()).isEqualTo("ok");
        }

        @Test
        void providerThrowingInIdIsKeptAsFailedWithoutAnId() {
            FakeProvider broken = available("x", 500)
                    .failingId(new UnsupportedOperationException("id boom"));
            BackendRegistry registry = registry(broken, available("ok", 1));

            ProviderStatus status = registry.providers().get(0);
            assertThat(status.isFailed()).isTrue();
            assertThat(status.id()).isEmpty();
            assertThat(status.providerClass()).isEqualTo(FakeProvider.class.getName());
            assertThat(status.failure()).hasValueSatisfying(f ->
                    assertThat(f).contains("id()").contains("id boom"));
            assertThat(registry.find("x")).isEmpty();
            assertThat(registry.select().id()).isEqualTo("ok");
        }

        @Test
        void providerThrowingInPriorityIsKeptAsFailedAndSkipped() {
            FakeProvider broken = available("broken", 500)
                    .failingPriority(new ArithmeticException("priority boom"));
            BackendRegistry registry = registry(broken, available("ok", 1));

            ProviderStatus status = registry.providers().get(0);
            assertThat(status.isFailed()).isTrue();
            assertThat(status.priority()).isEmpty();
            assertThat(status.failure()).hasValueSatisfying(f ->
                    assertThat(f).contains("priority()").contains("priority boom"));
            assertThat(registry.select().id()).isEqualTo("ok");
        }

        @Test
        void probeReturningNullIsAFailure() {
            FakeProvider broken = new FakeProvider("broken", 500, null);
            BackendRegistry registry = registry(broken);

            assertThat(registry.providers().get(0).failure()).hasValue("probe() returned null");
        }

        @Test
        void blankIdIsAFailure() {
            BackendRegistry registry = registry(available(" ", 5), available("ok", 1));

            assertThat(registry.providers().get(0).isFailed()).isTrue();
            assertThat(registry.providers().get(0).failure()).hasValueSatisfying(f ->
                    assertThat(f).contains("id() returned ' '"));
        }

        @Test
        void explicitChoiceOfAFailedProviderGivesItsFailure() {
            BackendRegistry registry = registry(available("broken", 500)
                    .failingProbe(new IllegalStateException("probe boom")));

            assertThatThrownBy(() -> registry.select("broken"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'broken'")
                    .hasMessageContaining("probe boom");
        }

        @Test
        void createReturningNullIsAnError() {
            BackendRegistry registry = registry(available("a", 1).returningNullBackend());

            assertThatThrownBy(registry::create)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'a'")
                    .hasMessageContaining("returned null");
        }
    }

    @Nested
    class Duplicates {

        @Test
        void duplicateIdsAreRejectedNamingTheIdAndBothClasses() {
            assertThatThrownBy(() -> BackendRegistry.of(List.of(
                    available("same", 1), available("other", 2), new FakeProvider.Twin("same", 3))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'same'")
                    .hasMessageContaining(FakeProvider.class.getName())
                    .hasMessageContaining(FakeProvider.Twin.class.getName());
        }

        @Test
        void duplicateIdsAreRejectedEvenWhenOneIsUnavailable() {
            assertThatThrownBy(() -> BackendRegistry.of(List.of(
                    unavailable("same", 1, "nope"), available("same", 2))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Duplicate loradrop backend id 'same'");
        }
    }

    @Nested
    class LazyProbing {

        @Test
        void makingTheRegistryProbesNothing() {
            FakeProvider a = available("a", 10);
            FakeProvider b = unavailable("b", 20, "no device");
            BackendRegistry registry = registry(a, b);

            assertThat(registry.find("b")).containsSame(b);
            assertThat(registry.toString()).isEqualTo("BackendRegistry[a, b]");
            assertThat(a.probes).hasValue(0);
            assertThat(b.probes).hasValue(0);
        }

        @Test
        void theDefaultChoiceProbesFromTheHighestPriorityDownToTheFirstAvailable() {
            FakeProvider off = unavailable("off", 300, "no device");
            FakeProvider best = available("best", 200);
            FakeProvider lower = available("lower", 100);
            FakeProvider lowest = available("lowest", 1);
            BackendRegistry registry = registry(lowest, lower, off, best);

            assertThat(registry.select().id()).isEqualTo("best");
            assertThat(off.probes).hasValue(1);
            assertThat(best.probes).hasValue(1);
            assertThat(lower.probes).hasValue(0);
            assertThat(lowest.probes).hasValue(0);
        }

        @Test
        void aNamedChoiceProbesOnlyThatProvider() {
            FakeProvider a = available("a", 10);
            FakeProvider b = available("b", 20);

            assertThat(registry(a, b).select("a").id()).isEqualTo("a");
            assertThat(a.probes).hasValue(1);
            assertThat(b.probes).hasValue(0);
        }

        @Test
        void eachProviderIsProbedOnceAndTheAnswerKept() {
            FakeProvider a = available("a", 10);
            FakeProvider b = unavailable("b", 20, "no device");
            BackendRegistry registry = registry(a, b);

            registry.select();
            registry.select("a");
            ProviderStatus first = registry.providers().get(1);
            registry.describe();
            registry.withLookups(NONE, NONE).select();

            assertThat(registry.providers().get(1)).isSameAs(first);
            assertThat(a.probes).hasValue(1);
            assertThat(b.probes).hasValue(1);
        }

        @Test
        void listingProbesEveryProvider() {
            FakeProvider a = available("a", 10);
            FakeProvider b = unavailable("b", 20, "no device");

            assertThat(registry(a, b).providers()).extracting(ProviderStatus::isAvailable)
                    .containsExactly(true, false);
            assertThat(a.probes).hasValue(1);
            assertThat(b.probes).hasValue(1);
        }

        @Test
        void concurrentChoicesProbeOnce() throws Exception {
            FakeProvider a = available("a", 10);
            BackendRegistry registry = registry(a, available("b", 1));
            int threads = 8;
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<String>> ids = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    ids.add(pool.submit(() -> {
                        start.await();
                        return registry.select().id();
                    }));
                }
                start.countDown();
                for (Future<String> id : ids) {
                    assertThat(id.get(10, TimeUnit.SECONDS)).isEqualTo("a");
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(a.probes).hasValue(1);
        }
    }

    @Nested
    class Priority {

        @Test
        void highestPriorityAmongAvailableWins() {
            FakeProvider high = available("high", 100);
            BackendRegistry registry = registry(available("low", 10), high,
                    unavailable("higher", 200, "no device"));

            BackendSelection selection = registry.select();

            assertThat(selection.id()).isEqualTo("high");
            assertThat(selection.provider()).isSameAs(high);
            assertThat(selection.reason()).isEqualTo(Reason.PRIORITY);
            assertThat(selection.detail()).contains("100");
        }

        @Test
        void tiesAreBrokenById() {
            BackendRegistry registry = registry(available("zeta", 50), available("beta", 50),
                    available("alpha", 50), available("low", 1));

            BackendSelection selection = registry.select();

            assertThat(selection.id()).isEqualTo("alpha");
            assertThat(selection.reason()).isEqualTo(Reason.PRIORITY);
            assertThat(selection.detail()).contains("tie with beta, zeta broken by id");
        }

        @Test
        void negativePrioritiesWork() {
            assertThat(registry(available("a", -5), available("b", -1)).select().id())
                    .isEqualTo("b");
        }
    }

    @Nested
    class PropertyAndEnvironment {

        private final BackendRegistry base = BackendRegistry.of(List.of(
                available("best", 100), available("prop", 50), available("env", 10),
                available("arg", 1), unavailable("off", 200, "driver missing")));

        @Test
        void propertyBeatsPriority() {
            BackendSelection s = base.withLookups(property("prop"), NONE).select();

            assertThat(s.id()).isEqualTo("prop");
            assertThat(s.reason()).isEqualTo(Reason.SYSTEM_PROPERTY);
            assertThat(s.detail()).isEqualTo("system property loradrop.backend=prop");
        }

        @Test
        void environmentBeatsPriority() {
            BackendSelection s = base.withLookups(NONE, env("env")).select();

            assertThat(s.id()).isEqualTo("env");
            assertThat(s.reason()).isEqualTo(Reason.ENVIRONMENT);
            assertThat(s.detail()).isEqualTo("environment variable LORADROP_BACKEND=env");
        }

        @Test
        void propertyBeatsEnvironment() {
            BackendSelection s = base.withLookups(property("prop"), env("env")).select();

            assertThat(s.id()).isEqualTo("prop");
            assertThat(s.reason()).isEqualTo(Reason.SYSTEM_PROPERTY);
        }

        @Test
        void explicitBeatsPropertyAndEnvironment() {
            BackendSelection s = base.withLookups(property("prop"), env("env")).select("arg");

            assertThat(s.id()).isEqualTo("arg");
            assertThat(s.reason()).isEqualTo(Reason.EXPLICIT);
        }

        @Test
        void blankValuesAreIgnored() {
            BackendSelection s = base.withLookups(property("  "), env("")).select();

            assertThat(s.id()).isEqualTo("best");
            assertThat(s.reason()).isEqualTo(Reason.PRIORITY);
        }

        @Test
        void blankPropertyFallsBackToEnvironment() {
            BackendSelection s = base.withLookups(property(" "), env("env")).select();

            assertThat(s.id()).isEqualTo("env");
        }

        @Test
        void valuesAreTrimmed() {
            assertThat(base.withLookups(property(" prop\n"), NONE).select().id())
                    .isEqualTo("prop");
            assertThat(base.withLookups(NONE, NONE).select(" arg ").id()).isEqualTo("arg");
        }

        @Test
        void withLookupsDoesNotChangeTheOriginal() {
            BackendRegistry custom = base.withLookups(property("prop"), NONE);

            assertThat(custom.providers()).containsExactlyElementsOf(base.providers());
            assertThat(base.withLookups(NONE, NONE).select().id()).isEqualTo("best");
        }

        @Test
        void unknownPropertyFailsListingTheKnownIds() {
            BackendRegistry registry = base.withLookups(property("nope"), env("env"));

            assertThatThrownBy(registry::select)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'nope'")
                    .hasMessageContaining("system property loradrop.backend=nope")
                    .hasMessageContaining("arg, best, env, off (unavailable), prop");
        }

        @Test
        void unavailableEnvironmentChoiceFailsWithItsReason() {
            BackendRegistry registry = base.withLookups(NONE, env("off"));

            assertThatThrownBy(registry::select)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'off'")
                    .hasMessageContaining("environment variable LORADROP_BACKEND=off")
                    .hasMessageContaining("driver missing");
        }
    }

    @Nested
    class Explicit {

        private final BackendRegistry registry = registry(available("a", 1),
                unavailable("b", 2, "needs a GPU"));

        @Test
        void unknownExplicitIdFailsListingTheKnownIds() {
            assertThatThrownBy(() -> registry.select("c"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Unknown loradrop backend 'c'")
                    .hasMessageContaining("known ids: a, b (unavailable)");
        }

        @Test
        void unavailableExplicitChoiceFailsWithItsReason() {
            assertThatThrownBy(() -> registry.select("b"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'b'")
                    .hasMessageContaining("explicit choice")
                    .hasMessageContaining("unavailable: needs a GPU");
        }

        @Test
        void blankExplicitIdIsAnArgumentError() {
            assertThatThrownBy(() -> registry.select(" "))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("explicitId");
        }

        @Test
        void nullExplicitIdMeansTheDefaultChoice() {
            assertThat(registry.select(null).reason()).isEqualTo(Reason.PRIORITY);
        }
    }

    @Nested
    class NothingAvailable {

        @Test
        void errorListsEveryProviderWithItsReasonAndTheFix() {
            BackendRegistry registry = registry(unavailable("gpu", 80, "no OpenCL platform"),
                    unavailable("nd4j", 60, "libopenblas not found"),
                    available("broken", 1).failingProbe(new IllegalStateException("probe boom")));

            assertThatThrownBy(registry::select)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("No loradrop compute backend is available")
                    .hasMessageContaining("gpu (" + FakeProvider.class.getName() + ", priority 80)")
                    .hasMessageContaining("no OpenCL platform")
                    .hasMessageContaining("nd4j")
                    .hasMessageContaining("libopenblas not found")
                    .hasMessageContaining("probe boom")
                    .hasMessageContaining("loradrop-backend-cpu")
                    .hasMessageContaining("-Dloradrop.backend=<id>")
                    .hasMessageContaining("LORADROP_BACKEND=<id>");
        }

        @Test
        void emptyRegistrySaysNothingWasFound() {
            BackendRegistry registry = registry();

            assertThat(registry.providers()).isEmpty();
            assertThatThrownBy(registry::create)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("No provider was found")
                    .hasMessageContaining("META-INF/services/dev.loradrop.api.spi.ComputeBackendProvider")
                    .hasMessageContaining("loradrop-backend-cpu");
        }

        @Test
        void unknownIdInAnEmptyRegistrySaysSo() {
            assertThatThrownBy(() -> registry().select("cpu"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("known ids: none");
        }
    }

    @Nested
    class Create {

        @Test
        void createUsesTheSelectionAndDefaultConfig() {
            FakeProvider a = available("a", 10);
            BackendRegistry registry = registry(a, available("b", 1));

            try (ComputeBackend backend = registry.create()) {
                assertThat(backend.id()).isEqualTo("a");
            }
            assertThat(a.lastConfig).isSameAs(BackendConfig.defaults());
        }

        @Test
        void createWithExplicitIdPassesTheConfig() {
            FakeProvider b = available("b", 1);
            BackendRegistry registry = registry(available("a", 10), b);
            BackendConfig config = BackendConfig.defaults().withThreads(3);

            try (ComputeBackend backend = registry.create("b", config)) {
                assertThat(backend.id()).isEqualTo("b");
            }
            assertThat(b.lastConfig).isSameAs(config);
        }

        @Test
        void createWithNullIdFollowsTheProperty() {
            BackendRegistry registry = BackendRegistry.of(List.of(available("a", 10),
                    available("b", 1))).withLookups(property("b"), NONE);

            try (ComputeBackend backend = registry.create(null, BackendConfig.defaults())) {
                assertThat(backend.id()).isEqualTo("b");
            }
        }

        @Test
        void createRejectsNullConfig() {
            assertThatThrownBy(() -> registry(available("a", 1)).create("a", null))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("config");
        }
    }

    @Nested
    class Describe {

        @Test
        void describeReportsEnvironmentProvidersAndChoice() {
            BackendRegistry registry = BackendRegistry.of(List.of(available("a", 10),
                    unavailable("b", 20, "needs a GPU"),
                    available("c", 5).failingProbe(new IllegalStateException("probe boom"))))
                    .withLookups(property("a"), env(" "));

            String report = registry.describe();

            assertThat(report)
                    .contains("java:", System.getProperty("java.version"),
                            System.getProperty("java.vendor"))
                    .contains("os:", System.getProperty("os.name"), System.getProperty("os.arch"))
                    .contains("loradrop.backend='a'")
                    .contains("LORADROP_BACKEND=' ' (blank, ignored)")
                    .contains("explicit list")
                    .contains(FakeProvider.class.getName())
                    .contains("priority 10", "priority 20", "priority 5")
                    .contains("available", "unavailable", "FAILED")
                    .contains("needs a GPU", "probe boom")
                    .contains("fake backend b")
                    .contains("selected:    a (system property loradrop.backend=a)");
        }

        @Test
        void describeShowsUnsetValuesAndAnExplicitChoice() {
            String report = registry(available("a", 10), available("b", 1)).describe("b");

            assertThat(report)
                    .contains("loradrop.backend=<not set>")
                    .contains("LORADROP_BACKEND=<not set>")
                    .contains("explicit:    'b'")
                    .contains("selected:    b (explicit choice)");
        }

        @Test
        void describeShowsWhyNothingCanBeSelected() {
            String report = registry(unavailable("b", 20, "needs a GPU")).describe();

            assertThat(report).contains("selected:    none: No loradrop compute backend is available");
        }

        @Test
        void describeOfAnEmptyRegistry() {
            assertThat(registry().describe()).contains("providers (0")
                    .contains("none; nothing is registered");
        }
    }
}
