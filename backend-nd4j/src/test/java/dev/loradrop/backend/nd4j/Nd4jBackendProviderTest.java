package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class Nd4jBackendProviderTest {

    @Test
    void isRegisteredByIdAndAvailableWithTheBlasItFound() {
        ComputeBackendProvider found = ServiceLoader.load(ComputeBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.id().equals("nd4j"))
                .findFirst()
                .orElseThrow();
        assertThat(found).isInstanceOf(Nd4jBackendProvider.class);
        assertThat(found.priority()).isEqualTo(60).isLessThan(100);
        assertThat(found.description()).contains("ND4J").contains("1.0.0-M2.1");
        Availability availability = found.probe();
        assertThat(availability.available()).as(availability.reason()).isTrue();
        assertThat(availability.reason()).contains("CpuBackend").contains("OPENBLAS");
        try (ComputeBackend backend = found.create(BackendConfig.defaults())) {
            assertThat(backend).isInstanceOf(Nd4jBackend.class);
            Map<String, String> facts = backend.describe();
            assertThat(facts.keySet()).startsWith("id", "nd4j.version", "nd4j.backend", "blas");
            assertThat(facts).containsEntry("id", "nd4j").containsEntry("blas", "OPENBLAS")
                    .containsEntry("threads.scope", "process-wide (ND4J)");
            assertThat(Integer.parseInt(facts.get("threads"))).isPositive();
        }
    }

    @Test
    void createRejectsNullConfigAndGivesIndependentInstances() {
        Nd4jBackendProvider provider = new Nd4jBackendProvider();
        assertThatThrownBy(() -> provider.create(null))
                .isInstanceOf(NullPointerException.class).hasMessage("config");
        ComputeBackend a = provider.create(BackendConfig.defaults());
        try (ComputeBackend b = provider.create(BackendConfig.defaults().withThreads(2))) {
            b.upload(new float[] {1}, 1);
            a.close();
            assertThat(b.liveAllocations()).as("closing one instance leaves the other").isOne();
        }
    }

    /**
     * Discovery instantiates every provider; that must touch no ND4J or JavaCPP class (and so no
     * native code). Checked in a class loader of its own that records every class it defines.
     */
    @Test
    void discoveryAndTheConstructorTouchNoNd4jClass() throws Exception {
        URL[] classPath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(path -> {
                    try {
                        return new File(path).toURI().toURL();
                    } catch (java.net.MalformedURLException e) {
                        throw new IllegalStateException(e);
                    }
                })
                .toArray(URL[]::new);
        List<String> defined = new CopyOnWriteArrayList<>();
        try (URLClassLoader isolated = new URLClassLoader(classPath,
                ClassLoader.getPlatformClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                defined.add(name);
                return super.findClass(name);
            }
        }) {
            Class<?> spi = isolated.loadClass(ComputeBackendProvider.class.getName());
            List<String> ids = new ArrayList<>();
            for (Object p : ServiceLoader.load(spi, isolated)) {
                ids.add(spi.getMethod("id").invoke(p) + ":" + spi.getMethod("priority").invoke(p)
                        + ":" + spi.getMethod("description").invoke(p));
            }
            assertThat(ids).anyMatch(s -> s.startsWith("nd4j:60:ND4J"));
            assertThat(defined).contains(Nd4jBackendProvider.class.getName());
            assertThat(defined).as("classes loaded by discovery")
                    .noneMatch(name -> name.startsWith("org.nd4j.")
                            || name.startsWith("org.bytedeco."));
            // the recorder sees ND4J classes when they are loaded
            isolated.loadClass("org.nd4j.linalg.factory.Nd4j");
            assertThat(defined).contains("org.nd4j.linalg.factory.Nd4j");
        }
    }
}
