package dev.loradrop.api.spi;

/**
 * The {@link java.util.ServiceLoader} entry point of a backend.
 *
 * <p>Register an implementation in {@code META-INF/services/dev.loradrop.api.spi.ComputeBackendProvider}
 * and with {@code provides} in {@code module-info.java}. The public no-argument constructor must do
 * no native or expensive work: discovery instantiates every provider on the class path.
 */
public interface ComputeBackendProvider {

    /** @return a short, unique, lower-case id such as {@code "cpu"}; users select backends by it */
    String id();

    /** @return one line for listings, for example "pure Java, Vector API fast path" */
    default String description() {
        return id();
    }

    /**
     * @return the rank used when nothing selects a backend explicitly; the highest available wins,
     *     ties broken by id. The pure-Java CPU backend uses 100.
     */
    int priority();

    /**
     * Checks whether the backend can run here. Idempotent, and never throws: every failure
     * (missing native library, no device) is returned as {@link Availability#unavailable}. It may
     * load native libraries: loradrop's registry calls it only when it needs the answer (a
     * default choice stops at the first available backend by priority), and once.
     *
     * @return the availability and its reason
     */
    Availability probe();

    /**
     * Creates a backend instance. The caller owns it and closes it.
     *
     * @param config settings
     * @return a new backend
     * @throws IllegalStateException if the backend is unavailable, with the reason
     */
    ComputeBackend create(BackendConfig config);
}
