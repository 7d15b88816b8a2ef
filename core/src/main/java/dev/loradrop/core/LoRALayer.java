package dev.loradrop.core;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The low-rank branch {@code s * x A^T B^T} with {@code A = lora_A [r, in]},
 * {@code B = lora_B [out, r]} and {@code s = alpha / r}.
 *
 * <p>As a layer on its own it computes the plain branch. Adapters drive it through
 * {@link #addBranch} and {@link #backwardBranch}, which apply a dropout mask at the point a
 * {@link MaskGranularity} names without materialising more than the masked intermediate.
 *
 * <p>Initialisation follows PEFT: {@code B = 0}, so the adapter starts as its base layer, and
 * {@code A} uniform in {@code [-1/sqrt(in), 1/sqrt(in)]} (Kaiming-uniform with {@code a = sqrt(5)}),
 * drawn from {@code java.util.Random(seed)}.
 *
 * @param <T> element type
 */
public final class LoRALayer<T extends Number> extends AbstractLayer<T> {

    /**
     * How the branch is masked and scaled in one pass.
     *
     * @param granularity where the mask applies
     * @param mask the keep-mask, or null for no masking
     * @param factor the factor for kept values ({@code 1/(1-p)} inverted training, {@code 1-p}
     *     classic inference, 1 otherwise), on top of {@code alpha / rank}
     */
    record Dropout(MaskGranularity granularity, BitMask mask, double factor) {
        static final Dropout NONE = new Dropout(MaskGranularity.FEATURE, null, 1.0);
    }

    /** The names of A and B, as PEFT has them. */
    static final String A_NAME = "lora_A.weight";
    static final String B_NAME = "lora_B.weight";

    private final int in;
    private final int out;
    private final int rank;
    private final double alpha;
    private final double scaling;
    private final Tensor<T> a;
    private final Tensor<T> b;
    private final Tensor<T> aGrad;
    private final Tensor<T> bGrad;
    // Forward caches, reused across calls.
    private final Workspace<T> h;       // x A^T, or (masked x) A^T for INPUT       [rows, r]
    private final Workspace<T> masked;  // masked x (INPUT), masked h (RANK), z (FEATURE/ELEMENT)
    // Backward scratch.
    private final Workspace<T> dh;      // [rows, r]
    private final Workspace<T> dWide;   // [rows, in] for INPUT, [rows, out] for FEATURE/ELEMENT
    private final List<Parameter<T>> parameters;
    private Tensor<T> lastInput;
    private Dropout lastDropout;

    /**
     * Creates a branch for a layer of {@code inputSize -> outputSize}.
     *
     * @param backend the backend
     * @param type the element type
     * @param inputSize in
     * @param outputSize out
     * @param rank r in {@code [1, min(in, out)]}
     * @param alpha alpha; negative means {@code rank}
     * @param seed the seed of A's initialisation
     */
    public LoRALayer(ComputeBackend backend, NumericType<T> type, int inputSize, int outputSize,
                     int rank, double alpha, long seed) {
        super(backend, type);
        if (inputSize < 1 || outputSize < 1) {
            throw new IllegalArgumentException("inputSize/outputSize: expected >= 1, got "
                    + inputSize + " -> " + outputSize);
        }
        checkRank(rank, inputSize, outputSize);
        if (Double.isNaN(alpha) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha: expected a finite value (negative means rank),"
                    + " got " + alpha);
        }
        this.in = inputSize;
        this.out = outputSize;
        this.rank = rank;
        this.alpha = alpha < 0 ? rank : alpha;
        this.scaling = this.alpha / rank;
        Random random = new Random(seed);
        double bound = 1.0 / Math.sqrt(inputSize);
        double[] init = new double[rank * inputSize];
        for (int i = 0; i < init.length; i++) {
            init[i] = (2.0 * random.nextDouble() - 1.0) * bound;
        }
        this.a = backend.upload(type, init, rank, inputSize);
        this.b = backend.allocate(type, outputSize, rank);
        this.aGrad = backend.allocate(type, rank, inputSize);
        this.bGrad = backend.allocate(type, outputSize, rank);
        this.h = new Workspace<>(backend, type);
        this.masked = new Workspace<>(backend, type);
        this.dh = new Workspace<>(backend, type);
        this.dWide = new Workspace<>(backend, type);
        this.parameters = List.of(new Parameter<>(A_NAME, a, aGrad),
                new Parameter<>(B_NAME, b, bGrad));
    }

    /**
     * Checks a rank against a layer's sizes.
     *
     * @param rank the rank
     * @param inputSize in
     * @param outputSize out
     * @throws IllegalArgumentException naming {@code rank} if it is outside {@code [1, min(in, out)]}
     */
    static void checkRank(int rank, int inputSize, int outputSize) {
        int max = Math.min(inputSize, outputSize);
        if (rank < 1 || rank > max) {
            throw new IllegalArgumentException("rank: expected a value in [1, " + max
                    + "] (min of inputSize " + inputSize + " and outputSize " + outputSize
                    + "), got " + rank);
        }
    }

    @Override
    public int inputSize() {
        return in;
    }

    @Override
    public int outputSize() {
        return out;
    }

    /** @return the rank r */
    public int rank() {
        return rank;
    }

    /** @return alpha (already resolved: {@code rank} when constructed negative) */
    public double alpha() {
        return alpha;
    }

    /** @return {@code alpha / rank} */
    public double scaling() {
        return scaling;
    }

    /**
     * @return the live {@code lora_A [r, in]}; do not close it. Counts as a possible modification
     *     (see {@link AbstractLayer})
     */
    public Tensor<T> loraA() {
        ensureOpen();
        markModified();
        return a;
    }

    /**
     * @return the live {@code lora_B [out, r]}; do not close it. Counts as a possible modification
     *     (see {@link AbstractLayer})
     */
    public Tensor<T> loraB() {
        ensureOpen();
        markModified();
        return b;
    }

    /**
     * Appends the inference branch {@code factor * s * D(x A^T B^T)} to a graph, with a
     * {@code DROPOUT} node (the identity at inference) where the granularity applies the mask
     * during training, when {@code dropoutRate > 0}.
     *
     * @return the node of the scaled branch
     */
    int appendBranch(GraphBuilder graph, int input, String prefix, double dropoutRate,
                     MaskGranularity granularity, double factor) {
        boolean drop = dropoutRate > 0;
        String where = granularity.name();
        int x = drop && granularity == MaskGranularity.INPUT
                ? graph.dropout(input, dropoutRate, where) : input;
        int hh = graph.matmul(x, graph.parameter(prefix + A_NAME, rank, in));
        if (drop && granularity == MaskGranularity.RANK) {
            hh = graph.dropout(hh, dropoutRate, where);
        }
        int z = graph.matmul(hh, graph.parameter(prefix + B_NAME, out, rank));
        if (drop && (granularity == MaskGranularity.FEATURE
                || granularity == MaskGranularity.ELEMENT)) {
            z = graph.dropout(z, dropoutRate, where);
        }
        return graph.scale(z, scaling * factor); // as addBranch at inference computes it
    }

    /**
     * {@code acc = beta * acc + s * D(x A^T B^T)} for {@code rows} rows, caching what
     * {@link #backwardBranch} needs.
     */
    void addBranch(Tensor<T> x, int rows, Dropout d, Tensor<T> acc, double beta) {
        Tensor<T> hh = h.get(rows, rank);
        BitMask m = d.mask();
        if (m != null && d.granularity() == MaskGranularity.INPUT) {
            Tensor<T> xm = masked.get(rows, in);
            backend.maskedScaleAdd(x, m, false, d.factor(), 0.0, xm);
            backend.gemm(false, true, rows, rank, in, 1.0, xm, a, 0.0, hh);
            backend.gemm(false, true, rows, out, rank, scaling, hh, b, beta, acc);
        } else if (m != null && d.granularity() == MaskGranularity.RANK) {
            backend.gemm(false, true, rows, rank, in, 1.0, x, a, 0.0, hh);
            Tensor<T> hm = masked.get(rows, rank);
            backend.maskedScaleAdd(hh, m, false, d.factor(), 0.0, hm);
            backend.gemm(false, true, rows, out, rank, scaling, hm, b, beta, acc);
        } else if (m != null) { // FEATURE or ELEMENT: mask the branch output
            backend.gemm(false, true, rows, rank, in, 1.0, x, a, 0.0, hh);
            Tensor<T> z = masked.get(rows, out);
            backend.gemm(false, true, rows, out, rank, 1.0, hh, b, 0.0, z);
            backend.maskedScaleAdd(z, m, d.granularity() == MaskGranularity.FEATURE,
                    scaling * d.factor(), beta, acc);
        } else {
            backend.gemm(false, true, rows, rank, in, 1.0, x, a, 0.0, hh);
            backend.gemm(false, true, rows, out, rank, scaling * d.factor(), hh, b, beta, acc);
        }
        lastInput = x;
        lastDropout = d;
    }

    /**
     * From {@code g}, the gradient of the sum the branch was added to: stores the gradients of A
     * and B and sets {@code dx = beta * dx + (gradient of the branch with respect to x)}, unless
     * {@code dx} is null.
     */
    void backwardBranch(Tensor<T> g, int rows, Tensor<T> dx, double beta) {
        Dropout d = lastDropout;
        BitMask m = d.mask();
        Tensor<T> x = lastInput;
        Tensor<T> dhh = dh.get(rows, rank);
        if (m != null && d.granularity() == MaskGranularity.INPUT) {
            Tensor<T> xm = masked.current();
            backend.gemm(true, false, out, rank, rows, scaling, g, h.current(), 0.0, bGrad);
            backend.gemm(false, false, rows, rank, out, scaling, g, b, 0.0, dhh);
            backend.gemm(true, false, rank, in, rows, 1.0, dhh, xm, 0.0, aGrad);
            if (dx == null) {
                return;
            }
            Tensor<T> dxm = dWide.get(rows, in);
            backend.gemm(false, false, rows, in, rank, 1.0, dhh, a, 0.0, dxm);
            backend.maskedScaleAdd(dxm, m, false, d.factor(), beta, dx);
            return;
        }
        if (m != null && d.granularity() == MaskGranularity.RANK) {
            backend.gemm(true, false, out, rank, rows, scaling, g, masked.current(), 0.0, bGrad);
            backend.gemm(false, false, rows, rank, out, scaling, g, b, 0.0, dhh);
            backend.maskedScaleAdd(dhh, m, false, d.factor(), 0.0, dhh);
        } else {
            Tensor<T> gz = g;
            double c = scaling * d.factor();
            if (m != null) { // FEATURE or ELEMENT
                gz = dWide.get(rows, out);
                backend.maskedScaleAdd(g, m, d.granularity() == MaskGranularity.FEATURE, c, 0.0,
                        gz);
                c = 1.0;
            }
            backend.gemm(true, false, out, rank, rows, c, gz, h.current(), 0.0, bGrad);
            backend.gemm(false, false, rows, rank, out, c, gz, b, 0.0, dhh);
        }
        backend.gemm(true, false, rank, in, rows, 1.0, dhh, x, 0.0, aGrad);
        if (dx != null) {
            backend.gemm(false, false, rows, in, rank, 1.0, dhh, a, beta, dx);
        }
    }

    @Override
    public Tensor<T> forward(Tensor<T> input) {
        ensureOpen();
        int rows = checkRows(input, "input", in);
        Tensor<T> y = backend.allocate(type, withLastAxis(input.shape(), out));
        addBranch(input, rows, Dropout.NONE, y, 0.0);
        return y;
    }

    @Override
    public Tensor<T> backward(Tensor<T> outputGradient) {
        int rows = checkBackward(outputGradient, lastInput);
        Tensor<T> dx = backend.allocate(type, lastInput.shape());
        try {
            backwardBranch(outputGradient, rows, dx, 0.0);
        } catch (RuntimeException | Error e) {
            dx.close();
            throw e;
        }
        return dx;
    }

    @Override
    public void backwardParameters(Tensor<T> outputGradient) {
        backwardBranch(outputGradient, checkBackward(outputGradient, lastInput), null, 0.0);
    }

    @Override
    protected List<Parameter<T>> parameterList() {
        return parameters;
    }

    @Override
    public void resetState() {
        lastInput = null;
        lastDropout = null;
        h.close();
        masked.close();
        dh.close();
        dWide.close();
    }

    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = super.getDiagnostics();
        d.put("rank", Integer.toString(rank));
        d.put("alpha", Double.toString(alpha));
        d.put("scaling", Double.toString(scaling));
        return d;
    }

    @Override
    protected void releaseResources() {
        resetState();
        a.close();
        b.close();
        aGrad.close();
        bGrad.close();
    }

    @Override
    public String toString() {
        return "LoRALayer[" + in + " -> " + out + ", rank " + rank + ", alpha " + alpha + ", "
                + type + "]";
    }
}
