package dev.loradrop.backend.nd4j;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;

/**
 * Provider of the ND4J (OpenBLAS) backend.
 *
 * <p>Registered for discovery so that listings show it, but its kernels are not implemented yet
 * (the ND4J backend issue fills them): {@link #probe()} reports it unavailable and {@link #create} refuses.
 */
public final class Nd4jBackendProvider implements ComputeBackendProvider {

    /** The id users select this backend by. */
    public static final String ID = "nd4j";

    static final String NOT_IMPLEMENTED = "not implemented yet in this version of loradrop";

    /** Creates the provider; does no native work. */
    public Nd4jBackendProvider() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "ND4J (OpenBLAS)";
    }

    @Override
    public int priority() {
        return 60;
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
