package dev.loradrop.core;

import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.IDiagnosticsProvider;
import dev.loradrop.api.IJitCompilable;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.IWeightLoadable;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.WeightValidation;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.CompiledFunction;
import dev.loradrop.core.jit.GraphBuilder;
import dev.loradrop.core.jit.JitCompiler;
import dev.loradrop.core.jit.JitSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What every layer shares: its backend and type, the training flag, input checks, the flat and
 * named parameter views built on {@link #parameterList()} and {@link #weights()}, the
 * {@linkplain #modificationCount() modification count}, and graph export and compilation
 * ({@link IJitCompilable}) for the layers that describe themselves with {@link #appendGraph}.
 *
 * <h2>Modification count</h2>
 * Compiled functions ({@link #compile}) hold their own copy of the weights and must notice when the
 * layer's weights change. Every path that can write a weight counts: the layer's own writes
 * ({@link #setParameters}, {@link #updateParameters}, {@link #setWeight}, {@link #loadWeights}), and,
 * conservatively, every hand-out of live weight tensors ({@link #parameters()}, and accessors such
 * as {@link DenseLayer#weight()} or {@link LoRALayer#loraA()}), since the caller may write through
 * them (optimisers do). Read-only views ({@link #getParameters()}, {@link #getWeight}, forward
 * passes) do not count. A composite layer counts its children's modifications too, and a hand-out
 * by a composite counts for its children. Writes through live tensors obtained <em>before</em> a
 * compilation are not seen by it: fetch them again ({@code Optimizer.step(layer)} does, on every
 * step).
 *
 * @param <T> element type
 */
public abstract class AbstractLayer<T extends Number>
        implements ILayer<T>, IWeightLoadable<T>, IDiagnosticsProvider, IJitCompilable<T> {

    /** The backend all of this layer's tensors live on. */
    protected final ComputeBackend backend;
    /** The element type. */
    protected final NumericType<T> type;
    private boolean training = true;
    private boolean closed;
    /** Written by the layer's (single) owning thread, read by compiled functions on any thread. */
    private volatile long modifications;

    /**
     * @param backend the backend
     * @param type the element type
     */
    protected AbstractLayer(ComputeBackend backend, NumericType<T> type) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.type = Objects.requireNonNull(type, "type");
    }

    @Override
    public ComputeBackend backend() {
        return backend;
    }

    @Override
    public NumericType<T> numericType() {
        return type;
    }

    @Override
    public void setTrainingMode(boolean training) {
        this.training = training;
    }

    @Override
    public boolean isTrainingMode() {
        return training;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Hands out live tensors, so it counts as a possible modification (see the class comment).
     */
    @Override
    public final List<Parameter<T>> parameters() {
        ensureOpen();
        markModified();
        return parameterList();
    }

    /**
     * The trainable parameters as {@link #parameters()} returns them, without counting a
     * modification: for the layer's own use.
     *
     * @return live parameter/gradient pairs
     */
    protected abstract List<Parameter<T>> parameterList();

    /**
     * @param layer a layer
     * @param <T> element type
     * @return its parameters, without counting a modification when it is an {@code AbstractLayer}
     */
    static <T extends Number> List<Parameter<T>> parameterListOf(ILayer<T> layer) {
        return layer instanceof AbstractLayer ? ((AbstractLayer<T>) layer).parameterList()
                : layer.parameters();
    }

    /**
     * A number that grows whenever this layer's weights (or, for a composite, its children's) may
     * have changed; see the class comment for what counts. Safe to read from any thread.
     *
     * @return the modification count
     */
    public long modificationCount() {
        return modifications;
    }

    /**
     * Records that the layer's weights may change now; composites pass it on to their children.
     * Called by the owning thread only.
     */
    protected void markModified() {
        modifications++; // single writer: the layer is not thread-safe; the volatile publishes it
    }

    /**
     * @param layer a layer
     * @return its modification count, 0 for a layer that does not keep one
     */
    static long modificationCountOf(ILayer<?> layer) {
        return layer instanceof AbstractLayer ? ((AbstractLayer<?>) layer).modificationCount() : 0;
    }

    /** @param layer a layer whose modification to record, if it keeps a count */
    static void markModified(ILayer<?> layer) {
        if (layer instanceof AbstractLayer) {
            ((AbstractLayer<?>) layer).markModified();
        }
    }

    /**
     * All weights by name, trainable or frozen: the layer's live tensors (never close them). By
     * default the values of {@link #parameterList()}.
     *
     * @return an insertion-ordered map
     */
    protected Map<String, Tensor<T>> weights() {
        Map<String, Tensor<T>> m = new LinkedHashMap<>();
        for (Parameter<T> p : parameterList()) {
            m.put(p.name(), p.value());
        }
        return m;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The layer's class, sizes, type, backend and mode; subclasses add their own entries.
     */
    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("layer", getClass().getSimpleName());
        d.put("inputSize", Integer.toString(inputSize()));
        d.put("outputSize", Integer.toString(outputSize()));
        d.put("type", type.name());
        d.put("backend", backend.id());
        d.put("training", Boolean.toString(isTrainingMode()));
        return d;
    }

    // ------------------------------------------------------------------ checks

    /** @throws IllegalStateException if the layer is closed */
    protected final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        }
    }

    /**
     * Checks a tensor argument: not null, open, of this layer's backend and type, last axis
     * {@code width}.
     *
     * @param t the tensor
     * @param name the argument's name for messages
     * @param width the required last-axis extent
     * @return the number of rows (the product of the leading axes)
     */
    protected final int checkRows(Tensor<T> t, String name, int width) {
        return checkRows(t, name, backend, type, width);
    }

    /**
     * Checks a tensor argument as layers do: not null, open, of the given backend and type, last
     * axis {@code width}. For code that takes tensors on a layer's behalf, such as compiled
     * functions.
     *
     * @param t the tensor
     * @param name the argument's name for messages
     * @param backend the backend it must belong to
     * @param type the type it must have
     * @param width the required last-axis extent
     * @param <T> element type
     * @return the number of rows (the product of the leading axes)
     * @throws NullPointerException naming the argument if it is null
     * @throws IllegalStateException if it is closed
     * @throws IllegalArgumentException if its backend, type or width is wrong
     */
    public static <T extends Number> int checkRows(Tensor<T> t, String name,
            ComputeBackend backend, NumericType<T> type, int width) {
        checkTensor(t, name, backend, type);
        int last = t.dim(t.rank() - 1);
        if (last != width) {
            throw new IllegalArgumentException(name + ": expected last axis " + width + ", got shape "
                    + Arrays.toString(t.shape()));
        }
        return width == 0 ? 0 : t.size() / width;
    }

    /**
     * Checks a tensor argument: not null, open, of this layer's backend and type.
     *
     * @param t the tensor
     * @param name the argument's name for messages
     */
    protected final void checkTensor(Tensor<T> t, String name) {
        checkTensor(t, name, backend, type);
    }

    private static <T extends Number> void checkTensor(Tensor<T> t, String name,
            ComputeBackend backend, NumericType<T> type) {
        Objects.requireNonNull(t, name);
        if (t.isClosed()) {
            throw new IllegalStateException(name + ": tensor is closed");
        }
        if (t.backend() != backend) {
            throw new IllegalArgumentException(name + ": tensor belongs to backend '"
                    + t.backend().id() + "' (" + t.backend() + "), not to the expected backend '"
                    + backend.id() + "' (" + backend + ")");
        }
        if (t.type() != type) {
            throw new IllegalArgumentException(name + ": expected " + type + ", got " + t.type());
        }
    }

    /**
     * Checks the gradient given to {@code backward}.
     *
     * @param outputGradient the gradient
     * @param lastInput the input of the last forward pass, null if there was none
     * @return the rows
     * @throws IllegalStateException if no forward pass precedes the call, or its input is closed
     * @throws IllegalArgumentException if the gradient's shape differs from the last output's
     */
    protected final int checkBackward(Tensor<T> outputGradient, Tensor<T> lastInput) {
        ensureOpen();
        if (lastInput == null) {
            throw new IllegalStateException("backward: no forward pass to differentiate; call "
                    + "forward first");
        }
        if (lastInput.isClosed()) {
            throw new IllegalStateException("backward: the input of the last forward pass is "
                    + "closed; keep it open until backward has run");
        }
        int rows = checkRows(outputGradient, "outputGradient", outputSize());
        boolean same = outputGradient.rank() == lastInput.rank();
        for (int axis = 0; same && axis < lastInput.rank() - 1; axis++) { // allocates nothing
            same = outputGradient.dim(axis) == lastInput.dim(axis);
        }
        if (!same) {
            throw new IllegalArgumentException("outputGradient: expected shape "
                    + Arrays.toString(withLastAxis(lastInput.shape(), outputSize()))
                    + " like the last output, got " + Arrays.toString(outputGradient.shape()));
        }
        return rows;
    }

    /**
     * @param shape a shape the caller owns, such as the copy {@link Tensor#shape()} returns; it is
     *     changed in place
     * @param width the new last-axis extent
     * @return {@code shape}, with its last axis replaced
     */
    protected static int[] withLastAxis(int[] shape, int width) {
        shape[shape.length - 1] = width;
        return shape;
    }

    /**
     * @param value a number
     * @param name its name for messages
     * @return the value, if finite
     */
    protected static double checkFinite(double value, String name) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + ": expected a finite value, got " + value);
        }
        return value;
    }

    // ------------------------------------------------------------------ flat parameters

    @Override
    public void updateParameters(double learningRate) {
        ensureOpen();
        checkFinite(learningRate, "learningRate");
        markModified();
        for (Parameter<T> p : parameterList()) {
            backend.axpby(-learningRate, p.gradient(), 1.0, p.value());
        }
    }

    @Override
    public int parameterCount() {
        long n = 0;
        for (Parameter<T> p : parameterList()) {
            n += p.value().size();
        }
        return Math.toIntExact(n);
    }

    @Override
    public Tensor<T> getParameters() {
        return flatten(false);
    }

    @Override
    public Tensor<T> getParameterGradients() {
        return flatten(true);
    }

    private Tensor<T> flatten(boolean gradients) {
        ensureOpen();
        Tensor<T> flat = backend.allocate(type, parameterCount());
        int offset = 0;
        for (Parameter<T> p : parameterList()) {
            Tensor<T> src = gradients ? p.gradient() : p.value();
            backend.copy(src, 0, flat, offset, src.size());
            offset += src.size();
        }
        return flat;
    }

    @Override
    public void setParameters(Tensor<T> flat) {
        ensureOpen();
        checkTensor(flat, "flat");
        if (flat.size() != parameterCount()) {
            throw new IllegalArgumentException("flat: expected " + parameterCount()
                    + " elements, got " + flat.size());
        }
        markModified();
        int offset = 0;
        for (Parameter<T> p : parameterList()) {
            backend.copy(flat, offset, p.value(), 0, p.value().size());
            offset += p.value().size();
        }
    }

    @Override
    public void clearGradients() {
        ensureOpen();
        for (Parameter<T> p : parameterList()) {
            backend.fill(p.gradient(), 0.0);
        }
    }

    // ------------------------------------------------------------------ named weights

    @Override
    public List<String> weightNames() {
        ensureOpen();
        return List.copyOf(weights().keySet());
    }

    @Override
    public int[] weightShape(String name) {
        return weight(name).shape();
    }

    @Override
    public Tensor<T> getWeight(String name) {
        return backend.copyOf(weight(name));
    }

    @Override
    public void setWeight(String name, Tensor<T> value) {
        Tensor<T> dst = weight(name);
        checkWeightValue(name, dst, value);
        markModified();
        copyInto(value, dst);
    }

    @Override
    public WeightValidation validateWeights(Map<String, Tensor<T>> given) {
        ensureOpen();
        Objects.requireNonNull(given, "weights");
        Map<String, Tensor<T>> own = weights();
        List<String> matched = new ArrayList<>();
        List<String> unmatched = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        Map<String, String> mismatches = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor<T>> e : given.entrySet()) {
            Tensor<T> dst = own.get(e.getKey());
            if (dst == null) {
                unmatched.add(e.getKey());
            } else if (e.getValue() == null || !Arrays.equals(dst.shape(), e.getValue().shape())) {
                mismatches.put(e.getKey(), "expected " + Arrays.toString(dst.shape()) + ", got "
                        + (e.getValue() == null ? "null" : Arrays.toString(e.getValue().shape())));
            } else {
                matched.add(e.getKey());
            }
        }
        for (String name : own.keySet()) {
            if (!given.containsKey(name)) {
                missing.add(name);
            }
        }
        return new WeightValidation(matched, unmatched, missing, mismatches);
    }

    @Override
    public WeightValidation loadWeights(Map<String, Tensor<T>> given, boolean strict) {
        WeightValidation v = validateWeights(given);
        if (strict && !v.isExactMatch()) {
            throw new IllegalArgumentException("weights: strict load needs an exact match; unknown "
                    + v.unmatched() + ", missing " + v.missing() + ", wrong shapes "
                    + v.shapeMismatches());
        }
        Map<String, Tensor<T>> own = weights();
        for (String name : v.matched()) { // check everything before changing anything
            checkWeightValue(name, own.get(name), given.get(name));
        }
        if (!v.matched().isEmpty()) {
            markModified();
        }
        for (String name : v.matched()) {
            copyInto(given.get(name), own.get(name));
        }
        return v;
    }

    private Tensor<T> weight(String name) {
        ensureOpen();
        Tensor<T> t = weights().get(Objects.requireNonNull(name, "name"));
        if (t == null) {
            throw new IllegalArgumentException("name: unknown weight '" + name + "'; this "
                    + getClass().getSimpleName() + " has " + weights().keySet());
        }
        return t;
    }

    private void checkWeightValue(String name, Tensor<T> dst, Tensor<T> value) {
        Objects.requireNonNull(value, name);
        if (value.isClosed()) {
            throw new IllegalStateException(name + ": tensor is closed");
        }
        if (value.type() != type) {
            throw new IllegalArgumentException(name + ": expected " + type + ", got "
                    + value.type());
        }
        if (value.size() != dst.size()) {
            throw new IllegalArgumentException(name + ": expected shape "
                    + Arrays.toString(dst.shape()) + ", got " + Arrays.toString(value.shape()));
        }
    }

    /** Copies on the backend when possible, through the host when the value lives elsewhere. */
    private void copyInto(Tensor<T> value, Tensor<T> dst) {
        if (value.backend() == backend) {
            backend.copy(value, 0, dst, 0, dst.size());
        } else {
            double[] host = value.toDoubleArray();
            backend.write(dst, 0, host, 0, host.length);
        }
    }

    // ------------------------------------------------------------------ graph export and compilation

    /**
     * {@inheritDoc}
     *
     * <p>False unless the layer type describes its inference computation ({@link DenseLayer}, a
     * LoRA adapter over a dense layer, and a {@link SequentialModel} of such layers do).
     */
    @Override
    public boolean supportsJitCompilation() {
        return false;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The graph names parameters as {@link #weightNames()} does.
     */
    @Override
    public ComputationGraph exportComputationGraph() {
        ensureOpen();
        requireJit("exportComputationGraph");
        GraphBuilder graph = new GraphBuilder();
        return graph.build(appendGraph(graph, graph.input(inputSize()), ""));
    }

    /**
     * {@inheritDoc}
     *
     * <p>The returned function holds its own copy of the folded weights on {@code backend} (which
     * may differ from the layer's); it reports staleness as {@link CompiledFunction} describes.
     */
    @Override
    public CompiledFunction<T> compile(ComputeBackend backend) {
        ensureOpen();
        requireJit("compile");
        Objects.requireNonNull(backend, "backend");
        AbstractLayer<T> self = this;
        return JitCompiler.compile(new JitSource<T>() {
            @Override
            public NumericType<T> numericType() {
                return type;
            }

            @Override
            public ComputeBackend backend() {
                return self.backend;
            }

            @Override
            public ComputationGraph exportComputationGraph() {
                return self.exportComputationGraph();
            }

            @Override
            public Tensor<T> weight(String name) {
                return self.weight(name);
            }

            @Override
            public long modificationCount() {
                return self.modificationCount();
            }

            @Override
            public String toString() {
                return self.toString();
            }
        }, backend);
    }

    /**
     * Appends this layer's inference computation to a graph under construction. Layers that
     * support compilation override it.
     *
     * @param graph the graph
     * @param input the node holding this layer's input
     * @param prefix prepended to parameter names (a model's {@code "<index>."})
     * @return the node holding this layer's output
     */
    protected int appendGraph(GraphBuilder graph, int input, String prefix) {
        throw new UnsupportedOperationException(unsupportedJit("appendGraph"));
    }

    private void requireJit(String method) {
        if (!supportsJitCompilation()) {
            throw new UnsupportedOperationException(unsupportedJit(method));
        }
    }

    private String unsupportedJit(String method) {
        return method + ": " + this + " does not support graph export and compilation";
    }

    // ------------------------------------------------------------------ lifecycle

    /** @return whether {@link #close()} has run */
    protected final boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            releaseResources();
        }
    }

    /** Releases the layer's tensors; called once by {@link #close()}. */
    protected abstract void releaseResources();
}
