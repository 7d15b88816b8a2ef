package dev.loradrop.core.jit;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.ComputationGraph.Node;
import dev.loradrop.api.ComputationGraph.Op;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a {@link ComputationGraph} node by node, inferring and checking shapes. Each method
 * appends one node and returns its id. The batch axis is {@code -1}.
 *
 * <pre>{@code
 * GraphBuilder g = new GraphBuilder();
 * int x = g.input(784);
 * int y = g.activation(g.add(g.matmul(x, g.parameter("weight", 256, 784)),
 *         g.parameter("bias", 256)), Activation.RELU);
 * ComputationGraph graph = g.build(y);
 * }</pre>
 */
public final class GraphBuilder {

    /** The batch axis in node shapes. */
    public static final int BATCH = -1;

    private final List<Node> nodes = new ArrayList<>();

    /**
     * @param width the input's last axis, {@code >= 0}
     * @return the {@code INPUT} node, {@code [-1, width]}; a graph has one
     */
    public int input(int width) {
        requireNonNegative(width, "width");
        for (Node n : nodes) {
            if (n.op() == Op.INPUT) {
                throw new IllegalStateException("input: the graph already has an input, node "
                        + n.id());
            }
        }
        return add(Op.INPUT, List.of(), List.of(BATCH, width), Map.of());
    }

    /**
     * @param name the parameter's name, as the layer's weight names
     * @param shape its extents (one or two axes)
     * @return the {@code PARAMETER} node
     */
    public int parameter(String name, int... shape) {
        Objects.requireNonNull(name, "name");
        if (shape.length < 1 || shape.length > 2) {
            throw new IllegalArgumentException("shape: expected one or two axes, got "
                    + Arrays.toString(shape));
        }
        List<Integer> dims = new ArrayList<>();
        for (int d : shape) {
            requireNonNegative(d, "shape");
            dims.add(d);
        }
        return add(Op.PARAMETER, List.of(), dims, Map.of("name", name));
    }

    /**
     * @param a {@code [batch, k]}
     * @param b a 2-d node {@code [n, k]}
     * @return {@code a * b^T}, {@code [batch, n]}
     */
    public int matmul(int a, int b) {
        return matmul(a, b, true);
    }

    /**
     * @param a {@code [batch, k]}
     * @param b a 2-d node, {@code [n, k]} when {@code transposeB}, else {@code [k, n]}
     * @param transposeB whether b is used transposed
     * @return {@code a * b^T} or {@code a * b}, {@code [batch, n]}
     */
    public int matmul(int a, int b, boolean transposeB) {
        List<Integer> sa = shape(a, "a");
        List<Integer> sb = shape(b, "b");
        if (sb.size() != 2) {
            throw new IllegalArgumentException("b: expected a 2-d node, got shape " + sb);
        }
        int k = sa.get(sa.size() - 1);
        int bk = transposeB ? sb.get(1) : sb.get(0);
        if (k != bk) {
            throw new IllegalArgumentException("b: expected inner dimension " + k + " (the last "
                    + "axis of node " + a + "), got shape " + sb + (transposeB ? " used transposed"
                    : ""));
        }
        List<Integer> out = new ArrayList<>(sa);
        out.set(out.size() - 1, transposeB ? sb.get(0) : sb.get(1));
        return add(Op.MATMUL, List.of(a, b), out, Map.of("transposeB",
                Boolean.toString(transposeB)));
    }

    /**
     * @param a a node
     * @param b a node of the same shape, or a 1-d node as wide as the last axis of {@code a}
     *     (added to every row), or the other way round
     * @return the sum, shaped as the wider operand
     */
    public int add(int a, int b) {
        List<Integer> sa = shape(a, "a");
        List<Integer> sb = shape(b, "b");
        List<Integer> out;
        if (sa.equals(sb)) {
            out = sa;
        } else if (sb.size() == 1 && sb.get(0).equals(sa.get(sa.size() - 1))) {
            out = sa;
        } else if (sa.size() == 1 && sa.get(0).equals(sb.get(sb.size() - 1))) {
            out = sb;
        } else {
            throw new IllegalArgumentException("b: expected shape " + sa + " or ["
                    + sa.get(sa.size() - 1) + "] to add to node " + a + ", got " + sb);
        }
        return add(Op.ADD, List.of(a, b), out, Map.of());
    }

    /**
     * @param a a node
     * @param factor a finite factor
     * @return {@code factor * a}
     */
    public int scale(int a, double factor) {
        if (!Double.isFinite(factor)) {
            throw new IllegalArgumentException("factor: expected a finite value, got " + factor);
        }
        return add(Op.SCALE, List.of(a), shape(a, "a"), Map.of("factor",
                Double.toString(factor)));
    }

    /**
     * @param a a node
     * @param activation the function
     * @return {@code activation(a)}
     */
    public int activation(int a, Activation activation) {
        Objects.requireNonNull(activation, "activation");
        return add(Op.ACTIVATION, List.of(a), shape(a, "a"), Map.of("activation",
                activation.name()));
    }

    /**
     * @param a a node
     * @param rate the training dropout rate
     * @param granularity where the training mask applies, for the reader
     * @return dropout of {@code a}: the identity at inference
     */
    public int dropout(int a, double rate, String granularity) {
        Objects.requireNonNull(granularity, "granularity");
        return add(Op.DROPOUT, List.of(a), shape(a, "a"), Map.of("rate", Double.toString(rate),
                "granularity", granularity));
    }

    /**
     * @param output the output node, which must be the last one added
     * @return the graph
     */
    public ComputationGraph build(int output) {
        if (output != nodes.size() - 1) {
            throw new IllegalArgumentException("output: expected the last node, "
                    + (nodes.size() - 1) + ", got " + output);
        }
        return new ComputationGraph(nodes);
    }

    private int add(Op op, List<Integer> inputs, List<Integer> shape,
                    Map<String, String> attributes) {
        int id = nodes.size();
        nodes.add(new Node(id, op, inputs, shape, attributes));
        return id;
    }

    private List<Integer> shape(int node, String name) {
        if (node < 0 || node >= nodes.size()) {
            throw new IllegalArgumentException(name + ": expected a node id in [0, "
                    + nodes.size() + "), got " + node);
        }
        return nodes.get(node).shape();
    }

    private static void requireNonNegative(int v, String name) {
        if (v < 0) {
            throw new IllegalArgumentException(name + ": expected extents >= 0, got " + v);
        }
    }
}
