package dev.loradrop.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that breaks a rule of the safetensors format (or of a PEFT adapter folder). The message is
 * one line naming the file, the tensor (when one is at fault) and the rule.
 */
public final class SafetensorsFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensor;
    private final String rule;

    /**
     * @param file the file
     * @param tensor the tensor at fault, or null when the fault is not one tensor's
     * @param rule the rule broken, with what was expected and what was found
     */
    public SafetensorsFormatException(Path file, String tensor, String rule) {
        this(file, tensor, rule, null);
    }

    /**
     * @param file the file
     * @param tensor the tensor at fault, or null
     * @param rule the rule broken
     * @param cause the underlying error, for example a JSON parse error
     */
    public SafetensorsFormatException(Path file, String tensor, String rule, Throwable cause) {
        super(file + ": " + (tensor == null ? "" : "tensor '" + tensor + "': ") + rule, cause);
        this.file = file;
        this.tensor = tensor;
        this.rule = rule;
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /** @return the tensor at fault, or null */
    public String tensor() {
        return tensor;
    }

    /** @return the rule broken */
    public String rule() {
        return rule;
    }
}
