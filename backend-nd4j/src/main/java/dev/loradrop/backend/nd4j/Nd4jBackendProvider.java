package dev.loradrop.backend.nd4j;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provider of the ND4J (OpenBLAS) backend, id {@code nd4j}, priority 60 (below the pure-Java
 * {@code cpu} backend, so it is used when selected explicitly).
 *
 * <p>The constructor touches no ND4J class and no native code. {@link #probe()} loads ND4J's
 * native backend the first time it is called (ND4J starts once per JVM) and reports the outcome,
 * also when the natives for this platform are missing; it never throws.
 */
public final class Nd4jBackendProvider implements ComputeBackendProvider {

    /** The id users select this backend by. */
    public static final String ID = "nd4j";

    /** The priority of this backend among providers; below the CPU backend's 100. */
    public static final int PRIORITY = 60;

    /** The ND4J version this backend is built and tested with. */
    public static final String ND4J_VERSION = "1.0.0-M2.1";

    private static final Logger LOG = LoggerFactory.getLogger(Nd4jBackendProvider.class);
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    /** Creates the provider; does no native work. */
    public Nd4jBackendProvider() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "ND4J " + ND4J_VERSION + " (native, OpenBLAS)";
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public Availability probe() {
        try {
            return Nd4jRuntime.availability();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            // nd4j-api itself missing from the class path, for example
            return Availability.unavailable("ND4J is not on the class path: " + e);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@code config.threads()} is not applied: ND4J's thread pools are process-wide (set
     * {@code OMP_NUM_THREADS} before start-up); the backend reports them in {@code describe()}.
     */
    @Override
    public ComputeBackend create(BackendConfig config) {
        Objects.requireNonNull(config, "config");
        Availability availability = probe();
        if (!availability.available()) {
            throw new IllegalStateException("backend '" + ID + "' is unavailable: "
                    + availability.reason());
        }
        Nd4jBackend backend = new Nd4jBackend(Nd4jRuntime.facts());
        // INFO once per JVM (ND4J starts once), DEBUG for every later instance
        boolean first = !LOGGED.getAndSet(true);
        (first ? LOG.atInfo() : LOG.atDebug()).log("ND4J backend created: {} backend, BLAS {}, {} threads (process-wide){}",
                backend.describe().get("nd4j.backend"), backend.describe().get("blas"),
                backend.describe().get("threads"),
                config.threads() == 0 ? "" : "; threads=" + config.threads()
                        + " not applied, ND4J's threads are process-wide (OMP_NUM_THREADS)");
        return backend;
    }

    @Override
    public String toString() {
        return "Nd4jBackendProvider[" + ID + "]";
    }
}
