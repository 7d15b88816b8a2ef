package dev.loradrop.api;

import java.util.List;
import java.util.Map;

/**
 * How a set of named tensors matches a layer's named parameters.
 *
 * @param matched names present on both sides with the right shape
 * @param unmatched names given that the layer does not have
 * @param missing names the layer has that were not given
 * @param shapeMismatches name to "expected [..], got [..]" for names whose shapes differ
 */
public record WeightValidation(List<String> matched, List<String> unmatched, List<String> missing,
                               Map<String, String> shapeMismatches) {

    /**
     * @param matched matched names
     * @param unmatched unknown names
     * @param missing absent names
     * @param shapeMismatches wrong shapes
     */
    public WeightValidation {
        matched = List.copyOf(matched);
        unmatched = List.copyOf(unmatched);
        missing = List.copyOf(missing);
        shapeMismatches = Map.copyOf(shapeMismatches);
    }

    /** @return whether every name matched with the right shape and none is missing or unknown */
    public boolean isExactMatch() {
        return unmatched.isEmpty() && missing.isEmpty() && shapeMismatches.isEmpty();
    }
}
