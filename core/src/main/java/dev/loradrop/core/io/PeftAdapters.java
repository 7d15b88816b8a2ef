package dev.loradrop.core.io;

import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.WeightValidation;
import dev.loradrop.core.LoRAAdapterBase;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.LoRALayer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hugging Face PEFT adapter folders: {@code adapter_config.json} plus
 * {@code adapter_model.safetensors} with tensors {@code base_model.model.<module>.lora_A.weight}
 * {@code [r, in]} and {@code base_model.model.<module>.lora_B.weight} {@code [out, r]}, for every
 * adapter of a model, by module path ({@code "0"}, {@code "1"}, ... in a {@link
 * dev.loradrop.core.SequentialModel}, {@code "2.0"} in a nested one).
 *
 * <p>The config has PEFT's fields ({@code peft_type "LORA"}, {@code r}, {@code lora_alpha},
 * {@code lora_dropout}, {@code target_modules}, {@code fan_in_fan_out}, {@code bias},
 * {@code use_rslora}, and {@code rank_pattern} / {@code alpha_pattern} for modules that differ
 * from the first) and loradrop's own under {@code loradrop_}: {@code loradrop_granularity},
 * {@code loradrop_dropout_scaling}, and {@code loradrop_modules} with each module's settings.
 *
 * <p>Import accepts keys with {@code base_model.model.}, {@code base_model.} or no prefix, and with
 * an adapter name ({@code lora_A.default.weight}); unknown config keys are ignored. It checks that
 * each adapter's scaling equals the file's ({@code alpha / r}, or {@code alpha / sqrt(r)} with
 * rsLoRA) and loads all or nothing.
 */
public final class PeftAdapters {

    /** The tensor file name PEFT uses. */
    public static final String MODEL_FILE = "adapter_model.safetensors";

    private static final Logger LOG = LoggerFactory.getLogger(PeftAdapters.class);
    private static final String PREFIX = "base_model.model.";
    private static final Pattern ADAPTER_NAME =
            Pattern.compile("^(.*?)(lora_[AB])\\.[^.]+\\.weight$");
    private static final List<String> TENSORS = List.of("lora_A.weight", "lora_B.weight");

    private PeftAdapters() {
    }

    /**
     * @param model a model, an adapter, or any layer
     * @param <T> element type
     * @return every adapter of the model by module path ({@code ""} if the model is one), in order
     */
    public static <T extends Number> Map<String, LoRAAdapterBase<T>> adapters(ILayer<T> model) {
        return Modules.adapters(Objects.requireNonNull(model, "model"));
    }

    /**
     * Saves every adapter of a model in the model's own precision (F32 or F64), bit for bit.
     *
     * @param model the model
     * @param dir the folder, created if needed; both files are replaced atomically
     * @param <T> element type
     * @throws IOException if writing fails
     * @throws IllegalArgumentException if the model has no adapter
     */
    public static <T extends Number> void save(ILayer<T> model, Path dir) throws IOException {
        save(model, dir, model.numericType() == NumericType.FLOAT32 ? SafetensorsDType.F32
                : SafetensorsDType.F64);
    }

    /**
     * Saves every adapter of a model.
     *
     * @param model the model
     * @param dir the folder, created if needed; both files are replaced atomically
     * @param dtype how to store the tensors (F16 and BF16 round to nearest even)
     * @param <T> element type
     * @throws IOException if writing fails
     * @throws IllegalArgumentException if the model has no adapter
     */
    public static <T extends Number> void save(ILayer<T> model, Path dir, SafetensorsDType dtype)
            throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(dtype, "dtype");
        Map<String, LoRAAdapterBase<T>> adapters = adapters(model);
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("model: expected at least one LoRA adapter, got "
                    + "none in " + model);
        }
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        Map<String, Object> config = new TreeMap<>();
        LoRAAdapterBase<T> first = adapters.values().iterator().next();
        Map<String, Object> rankPattern = new TreeMap<>();
        Map<String, Object> alphaPattern = new TreeMap<>();
        Map<String, Object> modules = new LinkedHashMap<>();
        for (Map.Entry<String, LoRAAdapterBase<T>> e : adapters.entrySet()) {
            String path = e.getKey();
            LoRALayer<T> lora = e.getValue().loraLayer();
            writer.add(PREFIX + Modules.join(path, "lora_A.weight"), lora.loraA(), dtype);
            writer.add(PREFIX + Modules.join(path, "lora_B.weight"), lora.loraB(), dtype);
            if (lora.rank() != first.rank()) {
                rankPattern.put(path, lora.rank());
            }
            if (lora.alpha() != first.alpha()) {
                alphaPattern.put(path, lora.alpha());
            }
            Map<String, Object> m = new TreeMap<>();
            m.put("r", lora.rank());
            m.put("lora_alpha", lora.alpha());
            if (e.getValue() instanceof LoRADropAdapter<T> a) {
                m.put("lora_dropout", a.dropoutRate());
                m.put("granularity", a.granularity().name());
                m.put("dropout_scaling", a.dropoutScaling().name());
            }
            modules.put(path, m);
        }
        config.put("peft_type", "LORA");
        config.put("r", first.rank());
        config.put("lora_alpha", first.alpha());
        config.put("target_modules", new ArrayList<>(adapters.keySet()));
        config.put("fan_in_fan_out", false);
        config.put("bias", "none");
        config.put("use_rslora", false);
        config.put("rank_pattern", rankPattern);
        config.put("alpha_pattern", alphaPattern);
        config.put("inference_mode", true);
        config.put("loradrop_modules", modules);
        if (first instanceof LoRADropAdapter<T> a) {
            config.put("lora_dropout", a.dropoutRate());
            config.put("loradrop_granularity", a.granularity().name());
            config.put("loradrop_dropout_scaling", a.dropoutScaling().name());
        } else {
            config.put("lora_dropout", 0.0);
        }
        byte[] json = new PeftConfig(config).toJson().getBytes(StandardCharsets.UTF_8);
        writer.write(dir.resolve(MODEL_FILE));
        AtomicFiles.write(dir.resolve(PeftConfig.FILE_NAME), out -> out.write(json));
        LOG.debug("Saved {} adapters to {}", adapters.size(), dir);
    }

    /**
     * Loads every adapter of a model from a PEFT folder, all or nothing.
     *
     * @param model the model, with adapters at the files' module paths
     * @param dir the folder with {@code adapter_config.json} and {@code adapter_model.safetensors}
     * @param strict whether every adapter tensor must be in the file and every file tensor in
     *     the model (lenient: load the matches and report the rest)
     * @param <T> element type
     * @return how the file's tensors matched, named as the model names its weights
     *     ({@code "0.lora_A.weight"})
     * @throws SafetensorsFormatException if a file breaks a rule
     * @throws IllegalArgumentException in strict mode when the match is not exact, or when an
     *     adapter's scaling differs from the file's; nothing changes then
     * @throws IOException if reading fails
     */
    public static <T extends Number> WeightValidation load(ILayer<T> model, Path dir,
                                                           boolean strict) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Map<String, LoRAAdapterBase<T>> adapters = adapters(model);
        PeftConfig config = PeftConfig.read(dir.resolve(PeftConfig.FILE_NAME));
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(MODEL_FILE))) {
            Map<String, String> byName = new LinkedHashMap<>(); // model name -> file name
            for (String key : file.names()) {
                String name = normalise(key);
                String clash = byName.put(name, key);
                if (clash != null) {
                    throw new SafetensorsFormatException(file.path(), key, "duplicate name: '"
                            + clash + "' and it both name '" + name + "'");
                }
            }
            Map<String, Tensor<T>> own = new LinkedHashMap<>();
            for (Map.Entry<String, LoRAAdapterBase<T>> e : adapters.entrySet()) {
                LoRALayer<T> lora = e.getValue().loraLayer();
                own.put(Modules.join(e.getKey(), TENSORS.get(0)), lora.loraA());
                own.put(Modules.join(e.getKey(), TENSORS.get(1)), lora.loraB());
            }
            List<String> matched = new ArrayList<>();
            List<String> unmatched = new ArrayList<>();
            Map<String, String> mismatches = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : byName.entrySet()) {
                Tensor<T> dst = own.get(e.getKey());
                long[] shape = file.info(e.getValue()).shape();
                if (dst == null) {
                    unmatched.add(e.getKey());
                } else if (!Arrays.equals(Arrays.stream(dst.shape()).asLongStream().toArray(),
                        shape)) {
                    mismatches.put(e.getKey(), "expected " + Arrays.toString(dst.shape())
                            + ", got " + Arrays.toString(shape));
                } else {
                    matched.add(e.getKey());
                }
            }
            List<String> missing = new ArrayList<>(own.keySet());
            missing.removeAll(byName.keySet());
            WeightValidation v = new WeightValidation(matched, unmatched, missing, mismatches);
            if (strict && !v.isExactMatch()) {
                throw new IllegalArgumentException("dir: strict load of " + dir + " needs an exact "
                        + "match; unknown " + v.unmatched() + ", missing " + v.missing()
                        + ", wrong shapes " + v.shapeMismatches());
            }
            for (Map.Entry<String, LoRAAdapterBase<T>> e : adapters.entrySet()) {
                String path = e.getKey();
                LoRALayer<T> lora = e.getValue().loraLayer();
                boolean loads = matched.contains(Modules.join(path, TENSORS.get(0)))
                        || matched.contains(Modules.join(path, TENSORS.get(1)));
                double expected = config.scaling(path, lora.rank());
                if (loads && Math.abs(expected - lora.scaling())
                        > 1e-12 * Math.max(1, Math.abs(expected))) {
                    throw new IllegalArgumentException("model: adapter '" + path + "' has scaling "
                            + lora.scaling() + " (alpha " + lora.alpha() + ", rank " + lora.rank()
                            + ") but " + dir + " expects " + expected + "; build it with alpha "
                            + expected * lora.rank());
                }
            }
            // Read and convert everything before changing anything.
            List<Object> values = new ArrayList<>();
            for (String name : matched) {
                values.add(model.numericType() == NumericType.FLOAT32
                        ? file.readFloats(byName.get(name)) : file.readDoubles(byName.get(name)));
            }
            for (int i = 0; i < matched.size(); i++) {
                Tensor<T> dst = own.get(matched.get(i));
                if (values.get(i) instanceof float[] f) {
                    dst.backend().write(dst, 0, f, 0, f.length);
                } else {
                    double[] d = (double[]) values.get(i);
                    dst.backend().write(dst, 0, d, 0, d.length);
                }
            }
            if (!v.isExactMatch()) {
                LOG.warn("Lenient load of {}: unknown {}, missing {}, wrong shapes {}", dir,
                        v.unmatched(), v.missing(), v.shapeMismatches());
            }
            return v;
        }
    }

    /** Strips PEFT's prefixes and adapter names: the name the model gives the tensor. */
    static String normalise(String key) {
        String name = key.startsWith(PREFIX) ? key.substring(PREFIX.length())
                : key.startsWith("base_model.") ? key.substring("base_model.".length()) : key;
        Matcher m = ADAPTER_NAME.matcher(name);
        return m.matches() ? m.group(1) + m.group(2) + ".weight" : name;
    }
}
