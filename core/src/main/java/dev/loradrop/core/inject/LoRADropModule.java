package dev.loradrop.core.inject;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.LoRADropFactory;
import dev.loradrop.core.backend.BackendRegistry;
import jakarta.inject.Singleton;
import java.util.Objects;
import java.util.Optional;

/**
 * Guice bindings for loradrop.
 *
 * <ul>
 *   <li>{@link BackendRegistry}: a singleton discovered with {@link BackendRegistry#discover()}
 *       when first needed. Override it (for example with {@code Modules.override(new
 *       LoRADropModule()).with(...)}) to use a registry of your own providers.</li>
 *   <li>{@link ComputeBackend}: a singleton made by the registry from the backend id given to this
 *       module, else the system property, the environment variable or priority (see {@link
 *       BackendRegistry}), with the module's {@link BackendConfig}.</li>
 *   <li>{@link LoRADropFactory}: a singleton that creates layers and LoRA-drop adapters on that
 *       backend.</li>
 * </ul>
 *
 * <p><b>Closing.</b> Guice does not close anything: the application owns the {@link
 * ComputeBackend} it gets from the injector and must close it when done, for example {@code
 * injector.getInstance(ComputeBackend.class).close()} at shutdown.
 */
public class LoRADropModule extends AbstractModule {

    private final String backendId;
    private final BackendConfig config;

    /** Binds a backend chosen by the system property, the environment variable or priority. */
    public LoRADropModule() {
        this(null, BackendConfig.defaults());
    }

    /**
     * Binds the backend with the given id; it must be available.
     *
     * @param backendId the backend to use, for example {@code "cpu"}
     */
    public LoRADropModule(String backendId) {
        this(Objects.requireNonNull(backendId, "backendId"), BackendConfig.defaults());
    }

    /**
     * Binds a backend chosen by the system property, the environment variable or priority,
     * created with the given configuration.
     *
     * @param config settings for the backend
     */
    public LoRADropModule(BackendConfig config) {
        this(null, config);
    }

    /**
     * Binds a backend with the given id, or a chosen one when the id is null, created with the
     * given configuration.
     *
     * @param backendId the backend to use, or null for the default choice
     * @param config settings for the backend
     * @throws IllegalArgumentException if backendId is blank
     */
    public LoRADropModule(String backendId, BackendConfig config) {
        if (backendId != null && backendId.isBlank()) {
            throw new IllegalArgumentException(
                    "backendId: expected a backend id, or null for the default choice, got '"
                            + backendId + "'");
        }
        this.backendId = backendId;
        this.config = Objects.requireNonNull(config, "config");
    }

    /** @return the backend id given to this module; empty for the default choice */
    public Optional<String> backendId() {
        return Optional.ofNullable(backendId);
    }

    /** @return the configuration the backend is created with */
    public BackendConfig config() {
        return config;
    }

    @Override
    protected void configure() {
        // Bindings are the @Provides methods below.
    }

    /**
     * @return the registry, discovered on the thread's context class loader
     */
    @Provides
    @Singleton
    BackendRegistry backendRegistry() {
        return BackendRegistry.discover();
    }

    /**
     * @param registry the registry to choose from
     * @return the backend; the application closes it
     */
    @Provides
    @Singleton
    ComputeBackend computeBackend(BackendRegistry registry) {
        return registry.create(backendId, config);
    }

    /**
     * @param backend the selected backend
     * @return a factory of layers and adapters on it
     */
    @Provides
    @Singleton
    LoRADropFactory loraDropFactory(ComputeBackend backend) {
        return new LoRADropFactory(backend);
    }

    @Override
    public String toString() {
        return "LoRADropModule{backend=" + (backendId == null ? "<default choice>" : backendId)
                + ", " + config + "}";
    }
}
