package dev.loradrop.core.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.core.backend.BackendSelection.Reason;
import dev.loradrop.core.backend.fixture.FixtureProvider;
import dev.loradrop.core.backend.fixture.FixtureTwinProvider;
import dev.loradrop.core.backend.fixture.NotAProvider;
import dev.loradrop.core.backend.fixture.ThrowingConstructorProvider;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Real {@link java.util.ServiceLoader} discovery through explicit class loaders. */
class BackendRegistryDiscoveryTest {

    private static final Function<String, String> NONE = name -> null;

    /** A loader that sees the test classes and, in addition, the services file under {@code dir}. */
    private static URLClassLoader fixtureLoader(String dir) {
        URL root = Objects.requireNonNull(
                BackendRegistryDiscoveryTest.class.getClassLoader().getResource(dir + "/"), dir);
        return new URLClassLoader(new URL[] {root},
                BackendRegistryDiscoveryTest.class.getClassLoader());
    }

    private static Optional<ProviderStatus> byClass(BackendRegistry registry, String className) {
        return registry.providers().stream()
                .filter(s -> s.providerClass().equals(className))
                .findFirst();
    }

    @Test
    void brokenEntriesAreReportedAndSkipped() throws IOException {
        try (URLClassLoader loader = fixtureLoader("registry-fixture")) {
            BackendRegistry registry = BackendRegistry.discover(loader).withLookups(NONE, NONE);

            ProviderStatus good = byClass(registry, FixtureProvider.class.getName()).orElseThrow();
            assertThat(good.id()).hasValue(FixtureProvider.ID);
            assertThat(good.isAvailable()).isTrue();
            assertThat(good.description()).isEqualTo("fixture for ServiceLoader discovery");
            assertThat(registry.find(FixtureProvider.ID)).get()
                    .isInstanceOf(FixtureProvider.class);

            ProviderStatus throwing = byClass(registry,
                    ThrowingConstructorProvider.class.getName()).orElseThrow();
            assertThat(throwing.isFailed()).isTrue();
            assertThat(throwing.id()).isEmpty();
            assertThat(throwing.provider()).isEmpty();
            assertThat(throwing.failure()).hasValueSatisfying(f -> assertThat(f)
                    .contains("could not be instantiated")
                    .contains("constructor boom"));

            ProviderStatus missing = byClass(registry,
                    "dev.loradrop.core.backend.fixture.DoesNotExist").orElseThrow();
            assertThat(missing.isFailed()).isTrue();
            assertThat(missing.failure()).hasValueSatisfying(f -> assertThat(f)
                    .contains("not found"));

            ProviderStatus notAProvider = byClass(registry, NotAProvider.class.getName())
                    .orElseThrow();
            assertThat(notAProvider.isFailed()).isTrue();
            assertThat(notAProvider.failure()).hasValueSatisfying(f -> assertThat(f)
                    .contains("not a subtype"));

            // Whatever the test class path adds (backend-cpu, perhaps), the fixture was
            // selectable and the broken entries never are.
            assertThat(registry.select(FixtureProvider.ID).reason()).isEqualTo(Reason.EXPLICIT);
            List<String> failedClasses = registry.providers().stream()
                    .filter(ProviderStatus::isFailed)
                    .map(ProviderStatus::providerClass)
                    .collect(Collectors.toList());
            assertThat(failedClasses).contains(ThrowingConstructorProvider.class.getName(),
                    "dev.loradrop.core.backend.fixture.DoesNotExist",
                    NotAProvider.class.getName());
            assertThat(registry.describe()).contains("ServiceLoader on")
                    .contains("constructor boom")
                    .contains("DoesNotExist");
        }
    }

    @Test
    void duplicateIdsOnTheClassPathFailDiscovery() throws IOException {
        try (URLClassLoader loader = fixtureLoader("registry-duplicate")) {
            assertThatThrownBy(() -> BackendRegistry.discover(loader))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'" + FixtureProvider.ID + "'")
                    .hasMessageContaining(FixtureProvider.class.getName())
                    .hasMessageContaining(FixtureTwinProvider.class.getName());
        }
    }

    @Test
    void discoverUsesTheContextClassLoader() throws IOException {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try (URLClassLoader loader = fixtureLoader("registry-fixture")) {
            thread.setContextClassLoader(loader);
            assertThat(BackendRegistry.discover().find(FixtureProvider.ID)).isPresent();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Test
    void theTestClassPathDoesNotSeeTheFixture() {
        BackendRegistry registry = BackendRegistry.discover(
                BackendRegistryDiscoveryTest.class.getClassLoader());

        assertThat(registry.find(FixtureProvider.ID)).isEmpty();
        assertThat(registry.providers()).noneMatch(ProviderStatus::isFailed);
    }

    @Test
    void classNamesAreReadFromServiceLoaderMessages() {
        String service = "dev.loradrop.api.spi.ComputeBackendProvider: ";
        assertThat(BackendRegistry.classNameIn(new java.util.ServiceConfigurationError(
                service + "Provider a.b.C not found"))).isEqualTo("a.b.C");
        assertThat(BackendRegistry.classNameIn(new java.util.ServiceConfigurationError(
                service + "a.b.NotAProvider not a subtype"))).isEqualTo("a.b.NotAProvider");
        assertThat(BackendRegistry.classNameIn(new java.util.ServiceConfigurationError(
                service + "a.b.C Unable to get public no-arg constructor"))).isEqualTo("a.b.C");
        assertThat(BackendRegistry.classNameIn(new java.util.ServiceConfigurationError(
                service + "Error reading configuration file"))).isEqualTo("<unknown>");
        assertThat(BackendRegistry.classNameIn(new java.util.ServiceConfigurationError(
                service + "file:/x/services/y:1: Illegal provider-class name: 1x")))
                .isEqualTo("<unknown>");
        assertThat(BackendRegistry.classNameIn(new NoClassDefFoundError())).isEqualTo("<unknown>");
    }

    @Test
    void explainIncludesTheCause() {
        String text = BackendRegistry.explain(new IllegalStateException("outer",
                new IOException("inner")));

        assertThat(text).isEqualTo("java.lang.IllegalStateException: outer; caused by "
                + "java.io.IOException: inner");
    }
}
