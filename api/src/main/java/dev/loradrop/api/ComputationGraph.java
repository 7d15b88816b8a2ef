package dev.loradrop.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A small typed description of a layer's inference computation, as exported by
 * {@link IJitCompilable#exportComputationGraph()}: nodes in topological order, the last being the
 * output.
 *
 * @param nodes the nodes, each referring only to earlier nodes
 */
public record ComputationGraph(List<Node> nodes) {

    /** The operations a graph may contain. */
    public enum Op {
        /** The graph's input, {@code [batch, width]}. */
        INPUT,
        /** A named parameter tensor (attribute {@code name}). */
        PARAMETER,
        /** {@code inputs[0] * inputs[1]^T} (attribute {@code transposeB} = true) or without T. */
        MATMUL,
        /** Elementwise or row-broadcast sum of its inputs. */
        ADD,
        /** {@code inputs[0]} times the attribute {@code factor}. */
        SCALE,
        /** An {@link Activation} (attribute {@code activation}). */
        ACTIVATION,
        /** Dropout (attribute {@code rate}); the identity at inference. */
        DROPOUT
    }

    /**
     * One node.
     *
     * @param id position in {@link ComputationGraph#nodes()}
     * @param op the operation
     * @param inputs ids of earlier nodes
     * @param shape the output shape, {@code -1} for the batch axis
     * @param attributes operation-specific values, as strings
     */
    public record Node(int id, Op op, List<Integer> inputs, List<Integer> shape,
                       Map<String, String> attributes) {

        /**
         * @param id id
         * @param op op
         * @param inputs inputs
         * @param shape shape
         * @param attributes attributes
         */
        public Node {
            Objects.requireNonNull(op, "op");
            inputs = List.copyOf(inputs);
            shape = List.copyOf(shape);
            attributes = Map.copyOf(attributes);
        }
    }

    /**
     * @param nodes nodes in topological order
     */
    public ComputationGraph {
        nodes = List.copyOf(nodes);
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (n.id() != i) {
                throw new IllegalArgumentException("nodes: node at position " + i + " has id "
                        + n.id());
            }
            for (int in : n.inputs()) {
                if (in < 0 || in >= i) {
                    throw new IllegalArgumentException("nodes: node " + i
                            + " refers to node " + in + ", which is not an earlier node");
                }
            }
        }
    }

    /** @return one line per node, for debugging */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Node n : nodes) {
            sb.append('%').append(n.id()).append(" = ").append(n.op());
            if (!n.inputs().isEmpty()) {
                sb.append(' ');
                for (int j = 0; j < n.inputs().size(); j++) {
                    sb.append(j == 0 ? "" : ", ").append('%').append(n.inputs().get(j));
                }
            }
            sb.append(' ').append(n.shape()).append(n.attributes().isEmpty() ? "" : " "
                    + new java.util.TreeMap<>(n.attributes())).append('\n');
        }
        return sb.toString();
    }
}
