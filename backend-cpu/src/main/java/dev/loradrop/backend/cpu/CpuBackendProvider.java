package dev.loradrop.backend.cpu;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.Objects;

/**
 * Provider of the pure-Java backend: always available, the default when nothing with a higher
 * priority is.
 */
public final class CpuBackendProvider implements ComputeBackendProvider {

    /** The id users select this backend by. */
    public static final String ID = "cpu";

    /** The priority of this backend among providers; the highest available wins. */
    public static final int PRIORITY = 100;

    /** Creates the provider; does no work. */
    public CpuBackendProvider() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "pure Java (default)";
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public Availability probe() {
        return Availability.ok("pure Java, " + (CpuPaths.vectorUnavailableReason() == null
                ? "Java Vector API GEMM" : "scalar path"));
    }

    @Override
    public ComputeBackend create(BackendConfig config) {
        Objects.requireNonNull(config, "config");
        return new CpuBackend(config, CpuPaths.defaultKernels(), CpuPaths.defaultKernel());
    }

    @Override
    public String toString() {
        return "CpuBackendProvider[" + ID + "]";
    }
}
