package dev.loradrop.api.spi;

import java.util.Objects;

/**
 * The answer of {@link ComputeBackendProvider#probe()}: available, or unavailable with a reason a
 * user can act on.
 *
 * @param available whether {@link ComputeBackendProvider#create} can be expected to succeed
 * @param reason why not (for example "libOpenCL.so not found"); a short note when available
 */
public record Availability(boolean available, String reason) {

    /**
     * @param available whether the backend is available
     * @param reason the reason; must not be null
     */
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    /** @return an available answer with no note */
    public static Availability ok() {
        return new Availability(true, "");
    }

    /**
     * @param note a short note, for example the device found
     * @return an available answer with that note
     */
    public static Availability ok(String note) {
        return new Availability(true, note);
    }

    /**
     * @param reason why the backend cannot be used
     * @return an unavailable answer
     */
    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }

    @Override
    public String toString() {
        return available ? (reason.isEmpty() ? "available" : "available (" + reason + ")")
                : "unavailable: " + reason;
    }
}
