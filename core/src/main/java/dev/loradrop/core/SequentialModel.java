package dev.loradrop.core;

import dev.loradrop.api.ILayer;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.core.jit.GraphBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Layers applied one after another; itself a layer. Parameters and weights are named
 * {@code "<index>.<name>"}, for example {@code "0.lora_A.weight"}.
 *
 * <p>The model owns its layers (closing it closes them) and the intermediate activations between
 * them, which it keeps until the next forward pass for the backward pass.
 *
 * @param <T> element type
 */
public final class SequentialModel<T extends Number> extends AbstractLayer<T> {

    private final List<ILayer<T>> layers;
    private final List<Tensor<T>> intermediates = new ArrayList<>();
    private final List<Parameter<T>> parameters;

    private SequentialModel(List<ILayer<T>> layers) {
        super(layers.get(0).backend(), layers.get(0).numericType());
        this.layers = layers;
        List<Parameter<T>> all = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            for (Parameter<T> p : parameterListOf(layers.get(i))) {
                all.add(new Parameter<>(i + "." + p.name(), p.value(), p.gradient()));
            }
        }
        this.parameters = List.copyOf(all);
    }

    /**
     * @param layers at least one layer, all on one backend and type, each one's output width equal
     *     to the next one's input width; owned by the model from now on
     * @param <T> element type
     * @return the model
     */
    @SafeVarargs
    @SuppressWarnings("varargs") // List.of copies the array and never writes to it
    public static <T extends Number> SequentialModel<T> of(ILayer<T>... layers) {
        return of(List.of(layers));
    }

    /**
     * @param layers as {@link #of(ILayer[])}
     * @param <T> element type
     * @return the model
     */
    public static <T extends Number> SequentialModel<T> of(List<? extends ILayer<T>> layers) {
        Objects.requireNonNull(layers, "layers");
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("layers: expected at least one layer, got none");
        }
        List<ILayer<T>> copy = List.copyOf(layers);
        for (int i = 1; i < copy.size(); i++) {
            ILayer<T> prev = copy.get(i - 1);
            ILayer<T> next = copy.get(i);
            if (prev.outputSize() != next.inputSize()) {
                throw new IllegalArgumentException("layers: layer " + (i - 1) + " outputs "
                        + prev.outputSize() + " features but layer " + i + " takes "
                        + next.inputSize());
            }
            if (next.backend() != copy.get(0).backend()
                    || next.numericType() != copy.get(0).numericType()) {
                throw new IllegalArgumentException("layers: layer " + i
                        + " uses another backend or numeric type than layer 0");
            }
        }
        return new SequentialModel<>(copy);
    }

    /** @return the layers, unmodifiable */
    public List<ILayer<T>> layers() {
        return layers;
    }

    @Override
    public int inputSize() {
        return layers.get(0).inputSize();
    }

    @Override
    public int outputSize() {
        return layers.get(layers.size() - 1).outputSize();
    }

    @Override
    public Tensor<T> forward(Tensor<T> input) {
        ensureOpen();
        checkRows(input, "input", inputSize());
        releaseIntermediates();
        Tensor<T> x = input;
        for (int i = 0; i < layers.size(); i++) {
            Tensor<T> y = layers.get(i).forward(x);
            if (i < layers.size() - 1) {
                intermediates.add(y);
            }
            x = y;
        }
        return x;
    }

    @Override
    public Tensor<T> backward(Tensor<T> outputGradient) {
        return backwardTo(0, outputGradient);
    }

    /** {@inheritDoc} The first layer's input gradient is not computed. */
    @Override
    public void backwardParameters(Tensor<T> outputGradient) {
        Tensor<T> g = backwardTo(1, outputGradient);
        try {
            layers.get(0).backwardParameters(g);
        } finally {
            if (g != outputGradient) {
                g.close();
            }
        }
    }

    /**
     * Back-propagates through layers {@code [first, size)}, the last first, closing each
     * intermediate gradient (also on failure).
     *
     * @return the gradient with respect to the input of layer {@code first}: a new tensor, or
     *     {@code outputGradient} itself when no layer ran
     */
    private Tensor<T> backwardTo(int first, Tensor<T> outputGradient) {
        ensureOpen();
        checkRows(outputGradient, "outputGradient", outputSize());
        Tensor<T> g = outputGradient;
        for (int i = layers.size() - 1; i >= first; i--) {
            Tensor<T> next;
            try {
                next = layers.get(i).backward(g);
            } finally {
                if (g != outputGradient) {
                    g.close();
                }
            }
            g = next;
        }
        return g;
    }

    @Override
    protected List<Parameter<T>> parameterList() {
        return parameters;
    }

    @Override
    protected Map<String, Tensor<T>> weights() {
        Map<String, Tensor<T>> all = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i) instanceof AbstractLayer) {
                for (Map.Entry<String, Tensor<T>> e
                        : ((AbstractLayer<T>) layers.get(i)).weights().entrySet()) {
                    all.put(i + "." + e.getKey(), e.getValue());
                }
            }
        }
        return all;
    }

    /** @return the sum of the model's own count and its layers' */
    @Override
    public long modificationCount() {
        long n = super.modificationCount();
        for (ILayer<T> layer : layers) {
            n += modificationCountOf(layer);
        }
        return n;
    }

    @Override
    protected void markModified() {
        super.markModified();
        for (ILayer<T> layer : layers) {
            markModified(layer);
        }
    }

    /** @return whether every layer supports compilation: the model then compiles into one function */
    @Override
    public boolean supportsJitCompilation() {
        for (ILayer<T> layer : layers) {
            if (!(layer instanceof AbstractLayer)
                    || !((AbstractLayer<T>) layer).supportsJitCompilation()) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The layers' graphs one after another, parameters prefixed {@code "<index>."}.
     */
    @Override
    protected int appendGraph(GraphBuilder graph, int input, String prefix) {
        int node = input;
        for (int i = 0; i < layers.size(); i++) {
            node = ((AbstractLayer<T>) layers.get(i)).appendGraph(graph, node, prefix + i + ".");
        }
        return node;
    }

    @Override
    public void setTrainingMode(boolean training) {
        super.setTrainingMode(training);
        for (ILayer<T> layer : layers) {
            layer.setTrainingMode(training);
        }
    }

    @Override
    public void resetState() {
        releaseIntermediates();
        for (ILayer<T> layer : layers) {
            layer.resetState();
        }
    }

    private void releaseIntermediates() {
        for (Tensor<T> t : intermediates) {
            t.close();
        }
        intermediates.clear();
    }

    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = super.getDiagnostics();
        d.put("layers", Integer.toString(layers.size()));
        for (int i = 0; i < layers.size(); i++) {
            d.put("layer." + i, layers.get(i).toString());
        }
        d.put("trainableParameters", Integer.toString(parameterCount()));
        return d;
    }

    @Override
    protected void releaseResources() {
        releaseIntermediates();
        for (ILayer<T> layer : layers) {
            layer.close();
        }
    }

    @Override
    public String toString() {
        return "SequentialModel" + layers;
    }
}
