package dev.loradrop.backend.gpu;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;

/**
 * Provider of the OpenCL GPU through JOCL and CLBlast backend.
 *
 * <p>Registered for discovery so that listings show it, but its kernels are not implemented yet
 * (the OpenCL GPU backend issue fills them): {@link #probe()} reports it unavailable and {@link #create} refuses.
 */
public final class GpuBackendProvider implements ComputeBackendProvider {

    /** The id users select this backend by. */
    public static final String ID = "gpu";

    static final String NOT_IMPLEMENTED = "not implemented yet in this version of loradrop";

    /** Creates the provider; does no native work. */
    public GpuBackendProvider() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "OpenCL GPU through JOCL and CLBlast";
    }

    @Override
    public int priority() {
        return 80;
    }

    @Override
    public Availability probe() {
        return Availability.unavailable(NOT_IMPLEMENTED);
    }

    @Override
    public ComputeBackend create(BackendConfig config) {
        throw new IllegalStateException("backend '" + ID + "' is unavailable: " + NOT_IMPLEMENTED);
    }
}
