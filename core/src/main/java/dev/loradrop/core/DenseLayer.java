package dev.loradrop.core;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Parameter;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * A fully connected layer {@code y = act(x W^T + b)} with {@code W [out, in]} and {@code b [out]},
 * as PyTorch's {@code nn.Linear} followed by an activation.
 *
 * @param <T> element type
 */
public final class DenseLayer<T extends Number> extends AbstractLayer<T> {

    private final int in;
    private final int out;
    private final Activation activation;
    private final Tensor<T> weight;
    private final Tensor<T> bias;
    private final Tensor<T> weightGrad;
    private final Tensor<T> biasGrad;
    private final Workspace<T> pre;
    private final Workspace<T> post;
    private final Workspace<T> dPre;
    private final List<Parameter<T>> parameters;
    private Tensor<T> lastInput;

    private DenseLayer(ComputeBackend backend, NumericType<T> type, Tensor<T> weight,
                       Tensor<T> bias, Activation activation) {
        super(backend, type);
        this.out = weight.dim(0);
        this.in = weight.dim(1);
        this.activation = Objects.requireNonNull(activation, "activation");
        this.weight = weight;
        this.bias = bias;
        this.weightGrad = backend.allocate(type, out, in);
        this.biasGrad = backend.allocate(type, out);
        this.pre = new Workspace<>(backend, type);
        this.post = new Workspace<>(backend, type);
        this.dPre = new Workspace<>(backend, type);
        this.parameters = List.of(new Parameter<>("weight", weight, weightGrad),
                new Parameter<>("bias", bias, biasGrad));
    }

    /**
     * Creates a layer initialised as PyTorch's {@code nn.Linear}: weight and bias uniform in
     * {@code [-1/sqrt(in), 1/sqrt(in)]}, drawn from {@code java.util.Random(seed)}.
     *
     * @param backend the backend
     * @param type the element type
     * @param inputSize in, {@code >= 1}
     * @param outputSize out, {@code >= 1}
     * @param activation the activation
     * @param seed the initialisation seed
     * @param <T> element type
     * @return a new layer
     */
    public static <T extends Number> DenseLayer<T> create(ComputeBackend backend,
            NumericType<T> type, int inputSize, int outputSize, Activation activation, long seed) {
        checkSizes(inputSize, outputSize);
        Random random = new Random(seed);
        double bound = 1.0 / Math.sqrt(inputSize);
        double[] w = new double[Math.multiplyExact(outputSize, inputSize)];
        double[] b = new double[outputSize];
        for (int i = 0; i < w.length; i++) {
            w[i] = (2.0 * random.nextDouble() - 1.0) * bound;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (2.0 * random.nextDouble() - 1.0) * bound;
        }
        return fromWeights(backend, type, w, b, outputSize, inputSize, activation);
    }

    /**
     * Creates a layer from host weights (copied).
     *
     * @param backend the backend
     * @param type the element type
     * @param weight row-major {@code [out, in]}
     * @param bias {@code [out]}
     * @param outputSize out
     * @param inputSize in
     * @param activation the activation
     * @param <T> element type
     * @return a new layer
     */
    public static <T extends Number> DenseLayer<T> fromWeights(ComputeBackend backend,
            NumericType<T> type, double[] weight, double[] bias, int outputSize, int inputSize,
            Activation activation) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(weight, "weight");
        Objects.requireNonNull(bias, "bias");
        Objects.requireNonNull(activation, "activation");
        checkSizes(inputSize, outputSize);
        if (weight.length != (long) outputSize * inputSize) {
            throw new IllegalArgumentException("weight: expected " + outputSize + " x " + inputSize
                    + " = " + (long) outputSize * inputSize + " values, got " + weight.length);
        }
        if (bias.length != outputSize) {
            throw new IllegalArgumentException("bias: expected " + outputSize + " values, got "
                    + bias.length);
        }
        Tensor<T> w = backend.upload(type, weight, outputSize, inputSize);
        Tensor<T> b = null;
        try {
            b = backend.upload(type, bias, outputSize);
            return new DenseLayer<>(backend, type, w, b, activation);
        } catch (RuntimeException e) {
            w.close();
            if (b != null) {
                b.close();
            }
            throw e;
        }
    }

    /**
     * Creates a layer that takes ownership of two tensors of one backend.
     *
     * @param weight {@code [out, in]}, owned by the new layer afterwards
     * @param bias {@code [out]}, owned by the new layer afterwards
     * @param activation the activation
     * @param <T> element type
     * @return a new layer
     */
    static <T extends Number> DenseLayer<T> adopt(Tensor<T> weight, Tensor<T> bias,
                                                 Activation activation) {
        return new DenseLayer<>(weight.backend(), weight.type(), weight, bias, activation);
    }

    private static void checkSizes(int inputSize, int outputSize) {
        if (inputSize < 1) {
            throw new IllegalArgumentException("inputSize: expected >= 1, got " + inputSize);
        }
        if (outputSize < 1) {
            throw new IllegalArgumentException("outputSize: expected >= 1, got " + outputSize);
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

    /** @return the activation */
    public Activation activation() {
        return activation;
    }

    /**
     * @return the live weight tensor {@code [out, in]}; do not close it. Counts as a possible
     *     modification (see {@link AbstractLayer})
     */
    public Tensor<T> weight() {
        ensureOpen();
        markModified();
        return weight;
    }

    /**
     * @return the live bias tensor {@code [out]}; do not close it. Counts as a possible
     *     modification (see {@link AbstractLayer})
     */
    public Tensor<T> bias() {
        ensureOpen();
        markModified();
        return bias;
    }

    Tensor<T> weightGradient() {
        return weightGrad;
    }

    Tensor<T> biasGradient() {
        return biasGrad;
    }

    /**
     * Writes the pre-activation {@code x W^T + b} of {@code rows} rows into {@code dst}.
     */
    void affine(Tensor<T> x, int rows, Tensor<T> dst) {
        backend.gemm(false, true, rows, out, in, 1.0, x, weight, 0.0, dst);
        backend.addBias(dst, bias);
    }

    /**
     * From the gradient of the pre-activation: stores {@code dW = g^T x} and {@code db} (when
     * {@code parameterGradients}), and writes {@code dx = g W} into {@code dx} (unless it is null).
     */
    void affineBackward(Tensor<T> g, Tensor<T> x, int rows, boolean parameterGradients,
                        Tensor<T> dx) {
        if (dx != null) {
            backend.gemm(false, false, rows, in, out, 1.0, g, weight, 0.0, dx);
        }
        if (parameterGradients) {
            backend.gemm(true, false, out, in, rows, 1.0, g, x, 0.0, weightGrad);
            backend.columnSums(g, 0.0, biasGrad);
        }
    }

    /**
     * The gradient of the pre-activation from the output gradient, in a workspace of the caller's.
     */
    Tensor<T> activationGradient(Tensor<T> preActivation, Tensor<T> dy, int rows,
                                 Workspace<T> dPre, Workspace<T> post) {
        if (activation == Activation.IDENTITY) {
            return dy;
        }
        Tensor<T> y = post.get(rows, out);
        backend.activate(activation, preActivation, y);
        Tensor<T> g = dPre.get(rows, out);
        backend.activationBackward(activation, preActivation, y, dy, g);
        return g;
    }

    @Override
    public Tensor<T> forward(Tensor<T> input) {
        ensureOpen();
        int rows = checkRows(input, "input", in);
        Tensor<T> p = pre.get(rows, out);
        affine(input, rows, p);
        Tensor<T> y = backend.allocate(type, withLastAxis(input.shape(), out));
        backend.activate(activation, p, y);
        lastInput = input;
        return y;
    }

    @Override
    public Tensor<T> backward(Tensor<T> outputGradient) {
        int rows = checkBackward(outputGradient, lastInput);
        Tensor<T> g = activationGradient(pre.current(), outputGradient, rows, dPre, post);
        Tensor<T> dx = backend.allocate(type, lastInput.shape());
        try {
            affineBackward(g, lastInput, rows, true, dx);
        } catch (RuntimeException | Error e) {
            dx.close();
            throw e;
        }
        return dx;
    }

    /** {@inheritDoc} Skips the GEMM of the input gradient. */
    @Override
    public void backwardParameters(Tensor<T> outputGradient) {
        int rows = checkBackward(outputGradient, lastInput);
        Tensor<T> g = activationGradient(pre.current(), outputGradient, rows, dPre, post);
        affineBackward(g, lastInput, rows, true, null);
    }

    /** @return true: a dense layer compiles to one GEMM, a bias add and its activation */
    @Override
    public boolean supportsJitCompilation() {
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@code ACTIVATION(ADD(MATMUL(x, weight^T), bias))}.
     */
    @Override
    protected int appendGraph(GraphBuilder graph, int input, String prefix) {
        return graph.activation(appendAffine(graph, input, prefix), activation);
    }

    /**
     * Appends {@code x W^T + b}, the pre-activation, to a graph.
     *
     * @return the node of the pre-activation
     */
    int appendAffine(GraphBuilder graph, int input, String prefix) {
        int product = graph.matmul(input, graph.parameter(prefix + "weight", out, in));
        return graph.add(product, graph.parameter(prefix + "bias", out));
    }

    @Override
    protected List<Parameter<T>> parameterList() {
        return parameters;
    }

    @Override
    public void resetState() {
        lastInput = null;
        pre.close();
        post.close();
        dPre.close();
    }

    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = super.getDiagnostics();
        d.put("activation", activation.name());
        return d;
    }

    @Override
    protected void releaseResources() {
        resetState();
        weight.close();
        bias.close();
        weightGrad.close();
        biasGrad.close();
    }

    @Override
    public String toString() {
        return "DenseLayer[" + in + " -> " + out + ", " + activation + ", " + type + "]";
    }
}
