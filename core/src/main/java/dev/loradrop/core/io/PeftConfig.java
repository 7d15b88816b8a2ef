package dev.loradrop.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The contents of a PEFT {@code adapter_config.json}: every key as read (unknown keys included,
 * so they survive a rewrite), with typed access to the ones loradrop uses. loradrop's own fields
 * carry the prefix {@code loradrop_}.
 *
 * @param fields the keys and values, sorted by key
 */
public record PeftConfig(Map<String, Object> fields) {

    /** The file name PEFT uses. */
    public static final String FILE_NAME = "adapter_config.json";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    /**
     * @param fields the keys and values, copied
     */
    public PeftConfig {
        fields = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(fields,
                "fields")));
    }

    /**
     * Reads and checks a config file.
     *
     * @param file an {@code adapter_config.json}
     * @return its contents
     * @throws SafetensorsFormatException if it is not a JSON object, its {@code peft_type} is not
     *     {@code LORA}, or {@code r} / {@code lora_alpha} are not numbers
     * @throws IOException if it cannot be read
     */
    public static PeftConfig read(Path file) throws IOException {
        Map<String, Object> map;
        try {
            map = MAPPER.readValue(Files.readAllBytes(file), new TypeReference<>() { });
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(file, null, "invalid JSON: "
                    + e.getOriginalMessage().replaceAll("\\s+", " "), e);
        }
        if (map == null) {
            throw new SafetensorsFormatException(file, null, "expected a JSON object, got null");
        }
        PeftConfig config = new PeftConfig(map);
        Object type = map.get("peft_type");
        if (type != null && !"LORA".equals(type)) {
            throw new SafetensorsFormatException(file, null, "peft_type: expected \"LORA\", got "
                    + type);
        }
        for (String key : List.of("r", "lora_alpha", "lora_dropout")) {
            if (map.get(key) != null && !(map.get(key) instanceof Number)) {
                throw new SafetensorsFormatException(file, null, key + ": expected a number, got "
                        + map.get(key));
            }
        }
        for (String key : List.of("rank_pattern", "alpha_pattern")) {
            Object v = map.get(key);
            if (v != null && !(v instanceof Map<?, ?> m
                    && m.values().stream().allMatch(Number.class::isInstance))) {
                throw new SafetensorsFormatException(file, null, key
                        + ": expected an object of numbers, got " + v);
            }
        }
        return config;
    }

    /** @return the config as pretty-printed JSON, keys sorted */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("PeftConfig: cannot serialise " + fields, e);
        }
    }

    /**
     * @param key a key
     * @return its value as a number, or null when absent
     */
    private Number number(String key) {
        return (Number) fields.get(key);
    }

    /** @return {@code r}, the default rank, or 8 (PEFT's default) when absent */
    public int r() {
        Number n = number("r");
        return n == null ? 8 : n.intValue();
    }

    /** @return {@code lora_alpha}, or 8 (PEFT's default) when absent */
    public double loraAlpha() {
        Number n = number("lora_alpha");
        return n == null ? 8 : n.doubleValue();
    }

    /** @return {@code lora_dropout}, or 0 when absent */
    public double loraDropout() {
        Number n = number("lora_dropout");
        return n == null ? 0 : n.doubleValue();
    }

    /** @return {@code use_rslora}: whether the scaling is {@code alpha / sqrt(r)} */
    public boolean useRslora() {
        return Boolean.TRUE.equals(fields.get("use_rslora"));
    }

    /**
     * The scaling PEFT applies to one module: {@code alpha / r} (or {@code alpha / sqrt(r)} with
     * rsLoRA), with {@code alpha_pattern} entries for the module taking precedence.
     *
     * @param module the module path
     * @param rank the module's rank (from its tensors)
     * @return the scaling
     */
    public double scaling(String module, int rank) {
        double alpha = loraAlpha();
        Object pattern = fields.get("alpha_pattern");
        if (pattern instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String key = String.valueOf(e.getKey());
                if (module.equals(key) || module.endsWith("." + key)) {
                    alpha = ((Number) e.getValue()).doubleValue();
                }
            }
        }
        return useRslora() ? alpha / Math.sqrt(rank) : alpha / rank;
    }
}
