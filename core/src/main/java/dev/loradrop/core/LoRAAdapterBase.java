package dev.loradrop.core;

import dev.loradrop.api.ILayer;
import dev.loradrop.api.ILoRAAdapter;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.core.jit.FoldedStage;
import dev.loradrop.core.jit.GraphBuilder;
import dev.loradrop.core.jit.JitCompiler;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A base layer plus a {@link LoRALayer} branch, joined before the base layer's activation:
 * {@code y = act(x W^T + b + branch(x))} for a {@link DenseLayer} base, so that merging is exact
 * for every activation. For a base layer without a weight matrix the branch is added to its output
 * and merging is refused.
 *
 * <p>The adapter owns its base layer: closing the adapter closes it. Subclasses decide how the
 * branch is masked and scaled on each forward pass.
 *
 * @param <T> element type
 */
public abstract class LoRAAdapterBase<T extends Number> extends AbstractLayer<T>
        implements ILoRAAdapter<T> {

    private final ILayer<T> base;
    private final DenseLayer<T> dense; // base as a dense layer, or null
    private final LoRALayer<T> lora;
    private final boolean frozen;
    private final Workspace<T> pre;
    private final Workspace<T> post;
    private final Workspace<T> dPre;
    private final List<Parameter<T>> parameters;
    private Tensor<T> lastInput;

    LoRAAdapterBase(ILayer<T> baseLayer, int rank, double alpha, boolean freezeBaseLayer,
                    long seed) {
        super(Objects.requireNonNull(baseLayer, "baseLayer").backend(), baseLayer.numericType());
        LoRALayer.checkRank(rank, baseLayer.inputSize(), baseLayer.outputSize());
        checkNames(baseLayer, freezeBaseLayer);
        this.base = baseLayer;
        this.dense = baseLayer instanceof DenseLayer ? (DenseLayer<T>) baseLayer : null;
        this.frozen = freezeBaseLayer;
        this.lora = new LoRALayer<>(backend, type, baseLayer.inputSize(), baseLayer.outputSize(),
                rank, alpha, seed);
        this.pre = new Workspace<>(backend, type);
        this.post = new Workspace<>(backend, type);
        this.dPre = new Workspace<>(backend, type);
        base.setTrainingMode(isTrainingMode());
        List<Parameter<T>> params = new ArrayList<>();
        if (!frozen) {
            params.addAll(parameterListOf(base));
        }
        params.addAll(lora.parameterList());
        this.parameters = List.copyOf(params);
    }

    /**
     * The adapter's weights and parameters are its base layer's and then the branch's, under
     * their own names: a base already using the branch's names (another adapter) is refused.
     */
    private static <T extends Number> void checkNames(ILayer<T> base, boolean frozen) {
        Set<String> names = new TreeSet<>();
        if (base instanceof AbstractLayer) {
            names.addAll(((AbstractLayer<T>) base).weights().keySet());
        }
        if (!frozen) {
            parameterListOf(base).forEach(p -> names.add(p.name()));
        }
        names.retainAll(List.of(LoRALayer.A_NAME, LoRALayer.B_NAME));
        if (!names.isEmpty()) {
            throw new IllegalArgumentException("baseLayer: already has weights named " + names
                    + ", the names of the adapter's own; to adapt an adapter, merge it first "
                    + "(mergeToOriginalLayer) or wrap its base layer");
        }
    }

    /**
     * The masking and scaling of the branch for the forward pass about to run.
     *
     * @param rows the batch rows of this pass
     * @return the dropout to apply, kept for the matching backward pass
     */
    abstract LoRALayer.Dropout branchDropout(int rows);

    /** @return the factor the branch carries at inference, and so in a merged layer */
    abstract double inferenceFactor();

    /** @return p, the dropout rate of the branch during training (for the exported graph) */
    abstract double dropoutRate();

    /** @return where the training mask applies (for the exported graph) */
    abstract MaskGranularity granularity();

    @Override
    public ILayer<T> baseLayer() {
        return base;
    }

    @Override
    public LoRALayer<T> loraLayer() {
        return lora;
    }

    @Override
    public boolean isBaseLayerFrozen() {
        return frozen;
    }

    @Override
    public int rank() {
        return lora.rank();
    }

    @Override
    public double alpha() {
        return lora.alpha();
    }

    @Override
    public int inputSize() {
        return base.inputSize();
    }

    @Override
    public int outputSize() {
        return base.outputSize();
    }

    @Override
    public void setTrainingMode(boolean training) {
        super.setTrainingMode(training);
        base.setTrainingMode(training);
        lora.setTrainingMode(training);
    }

    @Override
    public Tensor<T> forward(Tensor<T> input) {
        ensureOpen();
        int rows = checkRows(input, "input", inputSize());
        LoRALayer.Dropout d = branchDropout(rows);
        int[] outShape = withLastAxis(input.shape(), outputSize());
        Tensor<T> y;
        if (dense != null) {
            Tensor<T> p = pre.get(rows, outputSize());
            dense.affine(input, rows, p);
            lora.addBranch(input, rows, d, p, 1.0);
            y = backend.allocate(type, outShape);
            backend.activate(dense.activation(), p, y);
        } else {
            y = base.forward(input);
            lora.addBranch(input, rows, d, y, 1.0);
        }
        lastInput = input;
        return y;
    }

    @Override
    public Tensor<T> backward(Tensor<T> outputGradient) {
        return backward(outputGradient, true);
    }

    /**
     * {@inheritDoc} With a frozen dense base, that leaves only the branch's small GEMMs: the base
     * layer's {@code dy W} was the largest of the step.
     */
    @Override
    public void backwardParameters(Tensor<T> outputGradient) {
        backward(outputGradient, false);
    }

    /** @return the input gradient, a new tensor; null when not {@code inputGradient} */
    private Tensor<T> backward(Tensor<T> outputGradient, boolean inputGradient) {
        int rows = checkBackward(outputGradient, lastInput);
        Tensor<T> dx = null;
        try {
            if (dense == null) {
                if (inputGradient) {
                    dx = base.backward(outputGradient);
                } else {
                    base.backwardParameters(outputGradient);
                }
                lora.backwardBranch(outputGradient, rows, dx, 1.0);
                return dx;
            }
            Tensor<T> g = dense.activationGradient(pre.current(), outputGradient, rows, dPre,
                    post);
            dx = inputGradient ? backend.allocate(type, lastInput.shape()) : null;
            dense.affineBackward(g, lastInput, rows, !frozen, dx);
            lora.backwardBranch(g, rows, dx, 1.0);
            return dx;
        } catch (RuntimeException | Error e) {
            if (dx != null) {
                dx.close();
            }
            throw e;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The base layer's parameters (unless frozen) then {@code lora_A} and {@code lora_B}; the
     * list is built once, so a base layer's parameter list must not change after wrapping.
     */
    @Override
    protected List<Parameter<T>> parameterList() {
        return parameters;
    }

    /** @return the sum of the adapter's own count and those of its base layer and branch */
    @Override
    public long modificationCount() {
        return super.modificationCount() + modificationCountOf(base) + lora.modificationCount();
    }

    @Override
    protected void markModified() {
        super.markModified();
        markModified(base);
        lora.markModified();
    }

    /** @return whether the base layer is a {@link DenseLayer}, into which the branch folds */
    @Override
    public boolean supportsJitCompilation() {
        return dense != null;
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@code ACTIVATION(ADD(ADD(MATMUL(x, weight^T), bias), SCALE(MATMUL(MATMUL(x,
     * lora_A^T), lora_B^T), c * alpha / rank)))}, with a {@code DROPOUT} node where the training
     * mask applies; the branch shares the base's input node.
     */
    @Override
    protected int appendGraph(GraphBuilder graph, int input, String prefix) {
        int affine = dense.appendAffine(graph, input, prefix);
        int branch = lora.appendBranch(graph, input, prefix, dropoutRate(), granularity(),
                inferenceFactor());
        return graph.activation(graph.add(affine, branch), dense.activation());
    }

    @Override
    protected Map<String, Tensor<T>> weights() {
        Map<String, Tensor<T>> m = new LinkedHashMap<>();
        if (base instanceof AbstractLayer) {
            m.putAll(((AbstractLayer<T>) base).weights());
        }
        m.putAll(lora.weights());
        return m;
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@code W' = W + c * (alpha / rank) * B A}, where {@code c} is the inference factor of the
     * scaling mode; the bias is copied. Every weight is checked for finiteness first. The fold is
     * the one compilation uses ({@link JitCompiler#fold}), so a merged layer and a compiled
     * adapter hold the same weights. The merged layer is in inference mode, as the reference has
     * it.
     */
    @Override
    public ILayer<T> mergeToOriginalLayer() {
        ensureOpen();
        if (dense == null) {
            throw new UnsupportedOperationException("mergeToOriginalLayer: base layer type "
                    + base.getClass().getName() + " has no weight matrix to merge into; only "
                    + DenseLayer.class.getSimpleName() + " bases can be merged");
        }
        Map<String, Tensor<T>> weights = weights();
        requireFinite(weights.get("weight"), "base weight");
        requireFinite(weights.get("bias"), "base bias");
        requireFinite(weights.get(LoRALayer.A_NAME), "lora_A");
        requireFinite(weights.get(LoRALayer.B_NAME), "lora_B");
        List<FoldedStage<T>> stages = JitCompiler.fold(exportComputationGraph(), weights::get,
                type, backend);
        FoldedStage<T> s = stages.get(0); // one dense stage: checked by the graph's shape
        try {
            requireFinite(s.weight(), "merged weight");
            DenseLayer<T> merged = DenseLayer.adopt(s.weight(), s.bias(), s.activation());
            merged.setTrainingMode(false);
            return merged;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void requireFinite(Tensor<T> t, String what) {
        if (!backend.allFinite(t)) {
            throw new IllegalStateException("mergeToOriginalLayer: " + what
                    + " contains NaN or infinite values; nothing was merged");
        }
    }

    @Override
    public void resetState() {
        lastInput = null;
        pre.close();
        post.close();
        dPre.close();
        base.resetState();
        lora.resetState();
    }

    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = super.getDiagnostics();
        d.put("baseLayer", base.toString());
        d.put("baseLayerFrozen", Boolean.toString(frozen));
        d.put("rank", Integer.toString(rank()));
        d.put("alpha", Double.toString(alpha()));
        d.put("scaling", Double.toString(lora.scaling()));
        d.put("trainableParameters", Integer.toString(parameterCount()));
        return d;
    }

    @Override
    protected void releaseResources() {
        resetState();
        lora.close();
        base.close();
    }
}
