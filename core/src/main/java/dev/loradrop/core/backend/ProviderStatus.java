package dev.loradrop.core.backend;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What discovery learnt about one provider: its id, description, priority and availability, or
 * why it failed (could not be loaded, or threw from {@code id()}, {@code description()},
 * {@code priority()} or {@code probe()}). Immutable.
 *
 * <p>A failed provider is never selected. Its availability is unavailable, with the failure as
 * the reason.
 */
public final class ProviderStatus {

    private final String providerClass;
    private final String id;
    private final String description;
    private final Integer priority;
    private final Availability availability;
    private final String failure;
    private final ComputeBackendProvider provider;

    private ProviderStatus(String providerClass, String id, String description, Integer priority,
                           Availability availability, String failure,
                           ComputeBackendProvider provider) {
        this.providerClass = Objects.requireNonNull(providerClass, "providerClass");
        this.id = id;
        this.description = description == null ? "" : description;
        this.priority = priority;
        this.availability = Objects.requireNonNull(availability, "availability");
        this.failure = failure;
        this.provider = provider;
    }

    static ProviderStatus healthy(ComputeBackendProvider provider, String id, String description,
                                  int priority, Availability availability) {
        return new ProviderStatus(provider.getClass().getName(), id, description, priority,
                availability, null, provider);
    }

    /**
     * The registry's placeholder for a healthy provider before its probe: the facts, and an
     * availability that says it was not probed. Never handed out by the registry.
     */
    static ProviderStatus unprobed(ComputeBackendProvider provider, String id, String description,
                                   int priority) {
        return healthy(provider, id, description, priority,
                Availability.unavailable("not probed yet"));
    }

    static ProviderStatus failed(String providerClass, String id, String description,
                                 Integer priority, String failure,
                                 ComputeBackendProvider provider) {
        return new ProviderStatus(providerClass, id, description, priority,
                Availability.unavailable(failure), failure, provider);
    }

    /**
     * @return the provider's class name; for a provider that could not be loaded, the name found
     *     in the service configuration error, or {@code "<unknown>"}
     */
    public String providerClass() {
        return providerClass;
    }

    /** @return the provider's id; empty if it could not be loaded or {@code id()} failed */
    public Optional<String> id() {
        return Optional.ofNullable(id);
    }

    /** @return the one-line description; empty if unknown */
    public String description() {
        return description;
    }

    /** @return the priority; empty if unknown */
    public OptionalInt priority() {
        return priority == null ? OptionalInt.empty() : OptionalInt.of(priority);
    }

    /** @return the probe's answer; for a failed provider, unavailable with the failure */
    public Availability availability() {
        return availability;
    }

    /** @return whether the provider can be selected: discovered cleanly and available */
    public boolean isAvailable() {
        return failure == null && availability.available();
    }

    /** @return whether discovery failed for this provider */
    public boolean isFailed() {
        return failure != null;
    }

    /** @return why discovery failed for this provider; empty if it did not */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /** @return the provider instance; empty if it could not be instantiated */
    public Optional<ComputeBackendProvider> provider() {
        return Optional.ofNullable(provider);
    }

    /** @return the id, or {@code "?"} when unknown; for listings */
    String displayId() {
        return id == null ? "?" : id;
    }

    /** @return the reason a user reads: the failure, or the probe's reason */
    String reason() {
        return failure != null ? "failed: " + failure : availability.reason();
    }

    @Override
    public String toString() {
        return "ProviderStatus{id=" + displayId() + ", class=" + providerClass
                + ", priority=" + (priority == null ? "?" : priority)
                + ", " + (failure != null ? "failed: " + failure : availability) + "}";
    }
}
