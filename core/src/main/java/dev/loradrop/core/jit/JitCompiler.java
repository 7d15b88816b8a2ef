package dev.loradrop.core.jit;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.ComputationGraph.Node;
import dev.loradrop.api.ComputationGraph.Op;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles a {@link ComputationGraph} into dense stages and an inference function.
 *
 * <h2>Folding</h2>
 * Between two non-linear points (the input, {@code ACTIVATION} nodes, the output) every value is an
 * affine function {@code s * M^T + c} of the last non-linear value {@code s}. {@code MATMUL} by a
 * parameter, {@code SCALE}, {@code ADD} of two such values or of a bias vector, and {@code DROPOUT}
 * (the identity at inference) keep it affine; each non-linear point becomes one
 * {@link FoldedStage} whose weight is {@code M} evaluated once, at compile time. For a LoRA adapter
 * {@code M = W + c * (alpha / r) * B A}: the first term is copied and each further matrix product is
 * one GEMM accumulated into it, in graph order, exactly as a merge computes it. A whole
 * {@code SequentialModel} becomes one stage per layer.
 *
 * <p>Supported: one input; {@code MATMUL} whose second operand is a {@code PARAMETER}; values that
 * stay on one chain (no skip connections). Anything else is an
 * {@link UnsupportedOperationException} naming the node.
 */
public final class JitCompiler {

    private static final Logger LOG = LoggerFactory.getLogger(JitCompiler.class);

    private JitCompiler() {
    }

    /**
     * Compiles a source's graph for a backend.
     *
     * @param source what to compile
     * @param target the backend the function runs on (may differ from the source's)
     * @param <T> element type
     * @return the compiled function, which the caller closes
     * @throws UnsupportedOperationException if the graph has an unsupported shape
     */
    public static <T extends Number> CompiledFunction<T> compile(JitSource<T> source,
                                                                 ComputeBackend target) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "backend");
        CompiledFunction<T> f = new CompiledFunction<>(source, target, build(source, target));
        LOG.debug("compiled {} for backend '{}': {}", source, target.id(), f);
        return f;
    }

    /** Folds the source's current weights into a program on the target backend. */
    static <T extends Number> Program<T> build(JitSource<T> source, ComputeBackend target) {
        long version = source.modificationCount(); // before reading: a later write shows as stale
        ComputationGraph graph = source.exportComputationGraph();
        List<FoldedStage<T>> stages = fold(graph, source::weight, source.numericType(),
                source.backend());
        if (target != source.backend()) {
            stages = moveTo(stages, target, source.numericType());
        }
        return new Program<>(graph, stages, version, target);
    }

    /**
     * Folds a graph into dense stages, computed on {@code backend}.
     *
     * @param graph the graph
     * @param weights the tensor of each {@code PARAMETER} name, on {@code backend}
     * @param type the element type
     * @param backend the backend to compute on
     * @param <T> element type
     * @return the stages in order, whose tensors the caller owns
     * @throws UnsupportedOperationException if the graph has an unsupported shape
     * @throws IllegalArgumentException if a weight is missing or has the wrong size
     */
    public static <T extends Number> List<FoldedStage<T>> fold(ComputationGraph graph,
            Function<String, Tensor<T>> weights, NumericType<T> type, ComputeBackend backend) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(backend, "backend");
        List<Plan> plans = plan(graph);
        List<FoldedStage<T>> stages = new ArrayList<>();
        try {
            for (Plan p : plans) {
                stages.add(new Evaluator<>(weights, type, backend).stage(p));
            }
        } catch (RuntimeException e) {
            stages.forEach(FoldedStage::close);
            throw e;
        }
        return stages;
    }

    // ------------------------------------------------------------------ planning

    /** A matrix factor of a product: a parameter, used as stored or transposed. */
    private record Factor(String name, int rows, int cols, boolean transposed) {
        int outRows() {
            return transposed ? cols : rows;
        }

        int outCols() {
            return transposed ? rows : cols;
        }
    }

    /**
     * {@code factor * chain[0] * chain[1] * ...}: an {@code [out, in]} matrix (the identity when
     * the chain is empty), or, for a bias, the vector {@code vector} carried through the chain:
     * {@code factor * vector * (chain product)^T}.
     */
    private record Term(double factor, List<Factor> chain, String vector) {
        Term scaled(double f) {
            return new Term(factor * f, chain, vector);
        }

        Term prepend(Factor p) {
            List<Factor> c = new ArrayList<>();
            c.add(p);
            c.addAll(chain);
            return new Term(factor, c, vector);
        }
    }

    /** {@code s * M^T + c} for the value of node {@code source}. */
    private record Affine(int source, int width, List<Term> weights, List<Term> biases) {
    }

    /** A stage to evaluate: the affine value at a non-linear point, then an activation. */
    private record Plan(int node, Affine affine, Activation activation) {
    }

    private record Param(String name, List<Integer> shape) {
    }

    private static List<Plan> plan(ComputationGraph graph) {
        List<Node> nodes = graph.nodes();
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("graph: expected at least an input node, got none");
        }
        boolean[] live = new boolean[nodes.size()];
        live[nodes.size() - 1] = true;
        for (int i = nodes.size() - 1; i >= 0; i--) {
            if (live[i]) {
                for (int in : nodes.get(i).inputs()) {
                    live[in] = true;
                }
            }
        }
        Object[] value = new Object[nodes.size()];
        List<Plan> plans = new ArrayList<>();
        int head = -1; // the current non-linear value every stage must start from
        for (Node n : nodes) {
            if (!live[n.id()]) {
                continue;
            }
            switch (n.op()) {
                case INPUT:
                    head = n.id();
                    value[n.id()] = identity(n.id(), last(n.shape()));
                    break;
                case PARAMETER:
                    value[n.id()] = new Param(attribute(n, "name"), n.shape());
                    break;
                case DROPOUT:
                    value[n.id()] = affine(value, n, 0);
                    break;
                case SCALE: {
                    double f = Double.parseDouble(attribute(n, "factor"));
                    Affine a = affine(value, n, 0);
                    value[n.id()] = new Affine(a.source(), a.width(), map(a.weights(), t ->
                            t.scaled(f)), map(a.biases(), t -> t.scaled(f)));
                    break;
                }
                case MATMUL: {
                    Affine a = affine(value, n, 0);
                    Object b = value[n.inputs().get(1)];
                    if (!(b instanceof Param) || ((Param) b).shape().size() != 2) {
                        throw unsupported(n, "the second operand of MATMUL must be a 2-d "
                                + "PARAMETER");
                    }
                    Param p = (Param) b;
                    Factor f = new Factor(p.name(), p.shape().get(0), p.shape().get(1),
                            !Boolean.parseBoolean(attribute(n, "transposeB")));
                    value[n.id()] = new Affine(a.source(), a.width(),
                            map(a.weights(), t -> t.prepend(f)), map(a.biases(),
                                    t -> t.prepend(f)));
                    break;
                }
                case ADD:
                    value[n.id()] = add(value, n);
                    break;
                case ACTIVATION: {
                    Affine a = affine(value, n, 0);
                    if (a.source() != head) {
                        throw unsupported(n, "it does not continue from node " + head
                                + ", the last non-linear value (skip connections are not "
                                + "supported)");
                    }
                    plans.add(new Plan(n.id(), a, Activation.valueOf(attribute(n, "activation"))));
                    head = n.id();
                    value[n.id()] = identity(n.id(), last(n.shape()));
                    break;
                }
                default:
                    throw unsupported(n, "unknown operation");
            }
        }
        if (head < 0) {
            throw new IllegalArgumentException("graph: expected an INPUT node, found none");
        }
        Node out = nodes.get(nodes.size() - 1);
        if (!(value[out.id()] instanceof Affine)) {
            throw unsupported(out, "the output must depend on the input");
        }
        Affine a = (Affine) value[out.id()];
        boolean done = a.source() == out.id() && out.op() == Op.ACTIVATION;
        if (!done) {
            if (a.source() != head) {
                throw unsupported(out, "it does not continue from node " + head);
            }
            plans.add(new Plan(out.id(), a, Activation.IDENTITY));
        }
        return plans;
    }

    private static Affine identity(int node, int width) {
        return new Affine(node, width, List.of(new Term(1.0, List.of(), null)), List.of());
    }

    private static Object add(Object[] value, Node n) {
        Object a = value[n.inputs().get(0)];
        Object b = value[n.inputs().get(1)];
        if (a instanceof Param && b instanceof Affine) {
            Object t = a;
            a = b;
            b = t;
        }
        if (!(a instanceof Affine)) {
            throw unsupported(n, "ADD of two parameters");
        }
        Affine x = (Affine) a;
        if (b instanceof Param) {
            Param p = (Param) b;
            if (p.shape().size() != 1) {
                throw unsupported(n, "only a 1-d PARAMETER (a bias) can be added to a computed "
                        + "value");
            }
            List<Term> biases = new ArrayList<>(x.biases());
            biases.add(new Term(1.0, List.of(), p.name()));
            return new Affine(x.source(), x.width(), x.weights(), biases);
        }
        Affine y = (Affine) b;
        if (x.source() != y.source()) {
            throw unsupported(n, "its operands continue from different nodes (" + x.source()
                    + " and " + y.source() + ")");
        }
        List<Term> w = new ArrayList<>(x.weights());
        w.addAll(y.weights());
        List<Term> c = new ArrayList<>(x.biases());
        c.addAll(y.biases());
        return new Affine(x.source(), x.width(), w, c);
    }

    private static Affine affine(Object[] value, Node n, int operand) {
        Object v = value[n.inputs().get(operand)];
        if (!(v instanceof Affine)) {
            throw unsupported(n, "operand " + operand + " must be computed from the input, not a "
                    + "PARAMETER");
        }
        return (Affine) v;
    }

    private static List<Term> map(List<Term> terms, java.util.function.UnaryOperator<Term> f) {
        List<Term> out = new ArrayList<>(terms.size());
        for (Term t : terms) {
            out.add(f.apply(t));
        }
        return out;
    }

    private static int last(List<Integer> shape) {
        return shape.get(shape.size() - 1);
    }

    private static String attribute(Node n, String key) {
        String v = n.attributes().get(key);
        if (v == null) {
            throw new IllegalArgumentException("graph: node " + n.id() + " (" + n.op()
                    + ") has no attribute '" + key + "'");
        }
        return v;
    }

    private static UnsupportedOperationException unsupported(Node n, String why) {
        return new UnsupportedOperationException("graph: cannot compile node " + n.id() + " ("
                + n.op() + "): " + why);
    }

    // ------------------------------------------------------------------ evaluation

    /** Evaluates plans into tensors on one backend. */
    private static final class Evaluator<T extends Number> {
        private final Function<String, Tensor<T>> weights;
        private final NumericType<T> type;
        private final ComputeBackend backend;

        Evaluator(Function<String, Tensor<T>> weights, NumericType<T> type,
                  ComputeBackend backend) {
            this.weights = weights;
            this.type = type;
            this.backend = backend;
        }

        FoldedStage<T> stage(Plan p) {
            Affine a = p.affine();
            int in = a.width();
            Tensor<T> w = null;
            Tensor<T> b = null;
            try {
                int out;
                if (a.weights().size() == 1 && a.weights().get(0).chain().isEmpty()) {
                    if (a.weights().get(0).factor() != 1.0) {
                        throw new UnsupportedOperationException("graph: cannot compile node "
                                + p.node() + ": a scaled identity");
                    }
                    out = in;
                } else {
                    out = a.weights().get(0).chain().isEmpty() ? in
                            : a.weights().get(0).chain().get(0).outRows();
                    w = weightMatrix(a.weights(), out, in, p.node());
                }
                if (!a.biases().isEmpty()) {
                    b = biasVector(a.biases(), out);
                }
                return new FoldedStage<>(w, b, p.activation(), in, out);
            } catch (RuntimeException e) {
                close(w);
                close(b);
                throw e;
            }
        }

        /** {@code sum factor_i * chain_i}: the first term copied, the rest accumulated. */
        private Tensor<T> weightMatrix(List<Term> terms, int out, int in, int node) {
            Tensor<T> acc = null;
            try {
                for (Term t : terms) {
                    List<Factor> chain = t.chain();
                    if (chain.isEmpty()) {
                        throw new UnsupportedOperationException("graph: cannot compile node "
                                + node + ": the identity plus a matrix (a residual connection)");
                    }
                    Factor first = chain.get(0);
                    if (first.outRows() != out) {
                        throw new IllegalArgumentException("graph: node " + node + " sums "
                                + "matrices of " + out + " and " + first.outRows() + " rows");
                    }
                    if (chain.size() == 1) {
                        if (first.transposed()) {
                            throw new UnsupportedOperationException("graph: cannot compile node "
                                    + node + ": a lone MATMUL with transposeB=false");
                        }
                        Tensor<T> p = tensor(first);
                        if (acc == null && t.factor() == 1.0) {
                            acc = backend.copyOf(p);
                        } else {
                            if (acc == null) {
                                acc = backend.allocate(type, out, in);
                            }
                            backend.axpby(t.factor(), p, 1.0, acc);
                        }
                        continue;
                    }
                    Operand r = product(chain.subList(1, chain.size()));
                    try {
                        double beta = acc == null ? 0.0 : 1.0;
                        if (acc == null) {
                            acc = backend.allocate(type, out, in);
                        }
                        backend.gemm(first.transposed(), r.transposed, out, in,
                                first.outCols(), t.factor(), tensor(first), r.tensor, beta, acc);
                    } finally {
                        r.release();
                    }
                }
                return acc;
            } catch (RuntimeException e) {
                close(acc);
                throw e;
            }
        }

        /** The product of a chain of factors, as an operand of a GEMM. */
        private Operand product(List<Factor> chain) {
            Factor lastF = chain.get(chain.size() - 1);
            Operand r = new Operand(tensor(lastF), lastF.transposed(), false, lastF.outRows(),
                    lastF.outCols());
            for (int j = chain.size() - 2; j >= 0; j--) {
                Factor f = chain.get(j);
                Tensor<T> next = backend.allocate(type, f.outRows(), r.cols);
                try {
                    backend.gemm(f.transposed(), r.transposed, f.outRows(), r.cols, f.outCols(),
                            1.0, tensor(f), r.tensor, 0.0, next);
                } catch (RuntimeException e) {
                    next.close();
                    r.release();
                    throw e;
                }
                r.release();
                r = new Operand(next, false, true, f.outRows(), r.cols);
            }
            return r;
        }

        /** {@code sum factor_i * v_i * (chain_i)^T}, each chain applied from its last factor. */
        private Tensor<T> biasVector(List<Term> terms, int out) {
            Term only = terms.get(0);
            if (terms.size() == 1 && only.chain().isEmpty() && only.factor() == 1.0) {
                return backend.copyOf(vector(only.vector(), out));
            }
            Tensor<T> acc = backend.allocate(type, out);
            try {
                for (Term t : terms) {
                    Tensor<T> v = vector(t.vector(), -1);
                    boolean owned = false;
                    try {
                        for (int j = t.chain().size() - 1; j >= 0; j--) {
                            Factor f = t.chain().get(j);
                            // v * f^T with f oriented [outRows, outCols]
                            Tensor<T> next = backend.allocate(type, f.outRows());
                            backend.gemm(false, !f.transposed(), 1, f.outRows(), f.outCols(),
                                    1.0, v, tensor(f), 0.0, next);
                            if (owned) {
                                v.close();
                            }
                            v = next;
                            owned = true;
                        }
                        backend.axpby(t.factor(), v, 1.0, acc);
                    } finally {
                        if (owned) {
                            v.close();
                        }
                    }
                }
                return acc;
            } catch (RuntimeException e) {
                acc.close();
                throw e;
            }
        }

        private Tensor<T> vector(String name, int size) {
            Tensor<T> v = lookup(name);
            if (size >= 0 && v.size() != size) {
                throw new IllegalArgumentException("weights: '" + name + "' has " + v.size()
                        + " elements, expected " + size);
            }
            return v;
        }

        private Tensor<T> tensor(Factor f) {
            Tensor<T> t = lookup(f.name());
            if (t.size() != f.rows() * f.cols()) {
                throw new IllegalArgumentException("weights: '" + f.name() + "' has shape "
                        + Arrays.toString(t.shape()) + ", the graph says [" + f.rows() + ", "
                        + f.cols() + "]");
            }
            return t;
        }

        private Tensor<T> lookup(String name) {
            Tensor<T> t = weights.apply(name);
            if (t == null) {
                throw new IllegalArgumentException("weights: no tensor for parameter '" + name
                        + "'");
            }
            if (t.type() != type) {
                throw new IllegalArgumentException("weights: '" + name + "' is " + t.type()
                        + ", expected " + type);
            }
            return t;
        }

        /** A GEMM operand: a tensor, its orientation, whether it is a temporary to close. */
        private final class Operand {
            final Tensor<T> tensor;
            final boolean transposed;
            final boolean owned;
            final int rows;
            final int cols;

            Operand(Tensor<T> tensor, boolean transposed, boolean owned, int rows, int cols) {
                this.tensor = tensor;
                this.transposed = transposed;
                this.owned = owned;
                this.rows = rows;
                this.cols = cols;
            }

            void release() {
                if (owned) {
                    tensor.close();
                }
            }
        }
    }

    private static void close(Tensor<?> t) {
        if (t != null) {
            t.close();
        }
    }

    /** Copies stages to another backend through the host; closes the originals. */
    private static <T extends Number> List<FoldedStage<T>> moveTo(List<FoldedStage<T>> stages,
            ComputeBackend target, NumericType<T> type) {
        List<FoldedStage<T>> moved = new ArrayList<>();
        try {
            for (FoldedStage<T> s : stages) {
                Tensor<T> w = null;
                Tensor<T> b = null;
                try {
                    w = s.weight() == null ? null
                            : target.upload(type, s.weight().toDoubleArray(), s.weight().shape());
                    b = s.bias() == null ? null
                            : target.upload(type, s.bias().toDoubleArray(), s.bias().shape());
                } catch (RuntimeException e) {
                    close(w);
                    throw e;
                }
                moved.add(new FoldedStage<>(w, b, s.activation(), s.inputSize(),
                        s.outputSize()));
            }
        } catch (RuntimeException e) {
            moved.forEach(FoldedStage::close);
            throw e;
        } finally {
            stages.forEach(FoldedStage::close);
        }
        return moved;
    }
}
