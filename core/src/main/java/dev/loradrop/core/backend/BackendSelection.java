package dev.loradrop.core.backend;

import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.Objects;

/**
 * The provider {@link BackendRegistry#select} chose, and why.
 *
 * @param id the chosen provider's id
 * @param provider the chosen provider
 * @param reason how it was chosen
 * @param detail a short explanation for logs, for example {@code "system property
 *     loradrop.backend=cpu"}
 */
public record BackendSelection(String id, ComputeBackendProvider provider, Reason reason,
                               String detail) {

    /** How a backend was chosen, in order of precedence. */
    public enum Reason {
        /** Named by the caller (an API argument or a Guice module setting). */
        EXPLICIT,
        /** Named by the system property {@value BackendRegistry#PROPERTY}. */
        SYSTEM_PROPERTY,
        /** Named by the environment variable {@value BackendRegistry#ENVIRONMENT}. */
        ENVIRONMENT,
        /** The available provider with the highest priority (ties broken by id). */
        PRIORITY
    }

    /**
     * @param id the chosen provider's id
     * @param provider the chosen provider
     * @param reason how it was chosen
     * @param detail a short explanation
     */
    public BackendSelection {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
    }

    @Override
    public String toString() {
        return id + " (" + detail + ")";
    }
}
