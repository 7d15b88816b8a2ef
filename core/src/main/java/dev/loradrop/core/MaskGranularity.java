package dev.loradrop.core;

/**
 * Where the LoRA-drop keep-mask applies, and so how many independent keep decisions a training
 * call draws.
 */
public enum MaskGranularity {
    /**
     * One decision per output feature, shared by the whole batch (the default, as in the reference
     * system): the mask has shape {@code [out]}.
     */
    FEATURE,
    /** One decision per element of the LoRA output: mask shape {@code [batch, out]}. */
    ELEMENT,
    /**
     * One decision per element of the input, on the LoRA branch only (as PEFT's
     * {@code lora_dropout} does): mask shape {@code [batch, in]}.
     */
    INPUT,
    /** One decision per element of the rank-r activation {@code x A^T}: mask shape {@code [batch, r]}. */
    RANK;

    /**
     * Looks a granularity up by name, case-insensitively.
     *
     * @param name for example {@code "feature"}
     * @return the granularity
     * @throws IllegalArgumentException naming the accepted values if the name is unknown
     */
    public static MaskGranularity forName(String name) {
        for (MaskGranularity g : values()) {
            if (g.name().equalsIgnoreCase(name == null ? "" : name.trim())) {
                return g;
            }
        }
        throw new IllegalArgumentException("granularity: expected one of "
                + java.util.Arrays.toString(values()) + ", got '" + name + "'");
    }
}
