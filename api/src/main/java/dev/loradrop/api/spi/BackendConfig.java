package dev.loradrop.api.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Settings passed to {@link ComputeBackendProvider#create}: a thread count and free-form string
 * properties a backend documents (for example {@code loradrop.gpu.device}). Immutable.
 */
public final class BackendConfig {

    private static final BackendConfig DEFAULTS = new BackendConfig(0, Map.of());

    private final int threads;
    private final Map<String, String> properties;

    private BackendConfig(int threads, Map<String, String> properties) {
        this.threads = threads;
        this.properties = Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    /** @return the default configuration: threads chosen by the backend, no properties */
    public static BackendConfig defaults() {
        return DEFAULTS;
    }

    /**
     * @param threads worker threads the backend may use; 0 lets the backend choose
     * @return a copy with that thread count
     * @throws IllegalArgumentException if threads is negative
     */
    public BackendConfig withThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads: expected >= 0 (0 = backend's choice), got "
                    + threads);
        }
        return new BackendConfig(threads, properties);
    }

    /**
     * @param key property name
     * @param value property value
     * @return a copy with that property set
     */
    public BackendConfig withProperty(String key, String value) {
        Map<String, String> copy = new LinkedHashMap<>(properties);
        copy.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new BackendConfig(threads, copy);
    }

    /** @return worker threads; 0 means the backend chooses (usually the available processors) */
    public int threads() {
        return threads;
    }

    /**
     * @param key property name
     * @return the property, if set
     */
    public Optional<String> property(String key) {
        return Optional.ofNullable(properties.get(key));
    }

    /** @return all properties, unmodifiable */
    public Map<String, String> properties() {
        return properties;
    }

    @Override
    public String toString() {
        return "BackendConfig{threads=" + threads + ", properties=" + properties + "}";
    }
}
