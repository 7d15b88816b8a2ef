package dev.loradrop.core.io;

import dev.loradrop.api.ILayer;
import dev.loradrop.api.IWeightLoadable;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.core.LoRAAdapterBase;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.optim.Optimizer;
import dev.loradrop.core.optim.OptimizerState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Training checkpoints: one safetensors file with every weight of a model (base layers and
 * adapters, under {@code model.<name>}), the optimiser's state (under {@code optimizer.<buffer>}),
 * and in the metadata the training step, the optimiser's kind and step count (and Adam's count for
 * each parameter), and each LoRA-drop adapter's mask position ({@code maskStep}) with its seed and
 * stream. Everything is stored in the
 * model's precision, so resuming continues bit for bit as if training had not stopped.
 *
 * <pre>{@code
 * Checkpoint.save(Path.of("run/ckpt.safetensors"), model, adam, step);   // atomic
 * long step = Checkpoint.load(Path.of("run/ckpt.safetensors"), model, adam);
 * }</pre>
 */
public final class Checkpoint {

    /** Metadata key and value that mark a loradrop checkpoint. */
    static final String FORMAT_KEY = "loradrop.checkpoint";
    static final String FORMAT = "1";
    private static final String MODEL = "model.";
    private static final String OPTIMIZER = "optimizer.";
    /** Metadata key of a parameter's own step count (Adam), before the parameter's name. */
    private static final String PARAMETER_STEP = "optimizer.step/";

    private Checkpoint() {
    }

    /**
     * Writes a checkpoint atomically (a temporary file beside it, then a rename).
     *
     * @param file the file, created or replaced
     * @param model the model
     * @param optimizer its optimiser, or null to store none
     * @param step the training step to resume from, {@code >= 0}
     * @param <T> element type
     * @param <M> a layer with named weights, such as any {@link dev.loradrop.core.AbstractLayer}
     * @throws IOException if writing fails; a previous file is then left as it was
     */
    public static <T extends Number, M extends ILayer<T> & IWeightLoadable<T>> void save(
            Path file, M model, Optimizer optimizer, long step) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(model, "model");
        if (step < 0) {
            throw new IllegalArgumentException("step: expected >= 0, got " + step);
        }
        SafetensorsDType dtype = model.numericType() == NumericType.FLOAT32
                ? SafetensorsDType.F32 : SafetensorsDType.F64;
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata(FORMAT_KEY, FORMAT)
                .metadata("step", Long.toString(step));
        for (String name : model.weightNames()) {
            try (Tensor<T> t = model.getWeight(name)) {
                w.add(MODEL + name, t, dtype);
            }
        }
        if (optimizer != null) {
            OptimizerState state = optimizer.exportState(model.parameters());
            w.metadata("optimizer", state.optimizer())
                    .metadata("optimizer.step", Long.toString(state.step()))
                    .metadata("optimizer.description", optimizer.toString());
            for (Map.Entry<String, double[]> e : state.buffers().entrySet()) {
                w.add(OPTIMIZER + e.getKey(), dtype, new int[] {e.getValue().length},
                        e.getValue());
            }
            state.parameterSteps().forEach((name, count) ->
                    w.metadata(PARAMETER_STEP + name, Long.toString(count)));
        }
        for (Map.Entry<String, LoRAAdapterBase<T>> e : Modules.adapters(model).entrySet()) {
            if (e.getValue() instanceof LoRADropAdapter<T> a) {
                w.metadata("mask_step/" + e.getKey(), Integer.toString(a.maskStep()))
                        .metadata("seed/" + e.getKey(), Long.toString(a.seed()))
                        .metadata("stream/" + e.getKey(), Integer.toString(a.stream()));
            }
        }
        w.write(file);
    }

    /**
     * Restores a model (and optimiser) from a checkpoint, all or nothing: every weight of the
     * model must be in the file with its shape, the optimiser must be of the kind saved, and
     * every LoRA-drop adapter must have the seed and stream saved (build it with them), so that
     * its masks continue where they stopped.
     *
     * @param file the checkpoint
     * @param model the model, built as the one saved
     * @param optimizer its optimiser, or null to restore none
     * @param <T> element type
     * @param <M> a layer with named weights
     * @return the training step saved
     * @throws SafetensorsFormatException if the file breaks a rule or is not a checkpoint
     * @throws IllegalArgumentException if it does not fit the model or optimiser; nothing changes
     * @throws IOException if reading fails
     */
    public static <T extends Number, M extends ILayer<T> & IWeightLoadable<T>> long load(
            Path file, M model, Optimizer optimizer) throws IOException {
        Objects.requireNonNull(model, "model");
        List<Tensor<T>> uploaded = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(Objects.requireNonNull(file, "file"))) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get(FORMAT_KEY))) {
                throw new SafetensorsFormatException(f.path(), null, "metadata: expected "
                        + FORMAT_KEY + " = " + FORMAT + " (a loradrop checkpoint), got "
                        + meta.get(FORMAT_KEY));
            }
            long step = integer(f, "step", 0, Long.MAX_VALUE);
            // Adapters' mask positions: checked before anything changes.
            Map<LoRADropAdapter<T>, Integer> maskSteps = new LinkedHashMap<>();
            for (Map.Entry<String, LoRAAdapterBase<T>> e : Modules.adapters(model).entrySet()) {
                if (e.getValue() instanceof LoRADropAdapter<T> a) {
                    String path = e.getKey();
                    long seed = integer(f, "seed/" + path, Long.MIN_VALUE, Long.MAX_VALUE);
                    long stream = integer(f, "stream/" + path, Integer.MIN_VALUE,
                            Integer.MAX_VALUE);
                    if (seed != a.seed() || stream != a.stream()) {
                        throw new IllegalArgumentException("model: adapter '" + path + "' has "
                                + "seed " + a.seed() + " and stream " + a.stream() + ", the "
                                + "checkpoint " + seed + " and " + stream + "; build the adapter "
                                + "with the checkpoint's seed and stream to resume its masks");
                    }
                    maskSteps.put(a, (int) integer(f, "mask_step/" + path, Integer.MIN_VALUE,
                            Integer.MAX_VALUE));
                }
            }
            Map<String, Tensor<T>> weights = new LinkedHashMap<>();
            Map<String, double[]> buffers = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (name.startsWith(MODEL)) {
                    Tensor<T> t = f.read(name, model.backend(), model.numericType());
                    uploaded.add(t);
                    weights.put(name.substring(MODEL.length()), t);
                } else if (name.startsWith(OPTIMIZER)) {
                    buffers.put(name.substring(OPTIMIZER.length()), f.readDoubles(name));
                } else {
                    throw new SafetensorsFormatException(f.path(), name, "name: expected '"
                            + MODEL + "...' or '" + OPTIMIZER + "...' in a checkpoint");
                }
            }
            var validation = model.validateWeights(weights);
            if (!validation.isExactMatch()) {
                throw new IllegalArgumentException("file: " + f.path() + " does not fit the model;"
                        + " unknown " + validation.unmatched() + ", missing "
                        + validation.missing() + ", wrong shapes " + validation.shapeMismatches());
            }
            if (optimizer != null) {
                String kind = meta.get("optimizer");
                if (kind == null) {
                    throw new IllegalArgumentException("optimizer: " + f.path() + " holds no "
                            + "optimiser state; pass null to restore the model only");
                }
                Map<String, Long> parameterSteps = new LinkedHashMap<>();
                for (String key : meta.keySet()) {
                    if (key.startsWith(PARAMETER_STEP)) {
                        parameterSteps.put(key.substring(PARAMETER_STEP.length()),
                                integer(f, key, 0, Long.MAX_VALUE));
                    }
                }
                // Validates everything, then applies: the first change to anything.
                optimizer.importState(model.parameters(), new OptimizerState(kind,
                        integer(f, "optimizer.step", 0, Long.MAX_VALUE), buffers, parameterSteps));
            }
            model.loadWeights(weights, true); // validated above: cannot fail now
            maskSteps.forEach(LoRADropAdapter::setMaskStep);
            return step;
        } finally {
            uploaded.forEach(Tensor::close);
        }
    }

    /** @return the metadata value {@code key}, an integer in {@code [min, max]} */
    private static long integer(SafetensorsFile f, String key, long min, long max)
            throws SafetensorsFormatException {
        String v = f.metadata().get(key);
        try {
            long n = Long.parseLong(Objects.requireNonNull(v));
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException | NullPointerException e) {
            throw new SafetensorsFormatException(f.path(), null, "metadata: " + key
                    + " expected an integer in [" + min + ", " + max + "], got " + v);
        }
    }
}
