package dev.loradrop.core.jit;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Immutable folded stages on one backend, plus a count of the calls using them so that a refresh
 * or close releases them only once the last call in flight has finished.
 */
final class Program<T extends Number> {

    private final ComputationGraph graph;
    private final List<FoldedStage<T>> stages;
    private final long version;
    /** Twice the number of calls in flight, plus 1 once retired. */
    private final AtomicInteger state = new AtomicInteger();

    Program(ComputationGraph graph, List<FoldedStage<T>> stages, long version) {
        this.graph = graph;
        this.stages = List.copyOf(stages);
        this.version = version;
    }

    ComputationGraph graph() {
        return graph;
    }

    List<FoldedStage<T>> stages() {
        return stages;
    }

    long version() {
        return version;
    }

    int inputSize() {
        return stages.get(0).inputSize();
    }

    int outputSize() {
        return stages.get(stages.size() - 1).outputSize();
    }

    /** @return whether the call may use the program; false once it is retired */
    boolean acquire() {
        while (true) {
            int s = state.get();
            if ((s & 1) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 2)) {
                return true;
            }
        }
    }

    void release() {
        if (state.addAndGet(-2) == 1) {
            free();
        }
    }

    /** No new calls; the tensors are released when the calls in flight have finished. */
    void retire() {
        if (state.getAndUpdate(s -> s | 1) == 0) {
            free();
        }
    }

    private void free() {
        stages.forEach(FoldedStage::close);
    }

    /**
     * Runs the stages; every buffer is this call's own.
     *
     * @param x the checked input, {@code rows} rows
     * @param shape the input's shape
     */
    Tensor<T> run(ComputeBackend backend, Tensor<T> x, int rows, int[] shape) {
        Tensor<T> cur = x;
        for (int i = 0; i < stages.size(); i++) {
            FoldedStage<T> s = stages.get(i);
            int[] outShape;
            if (i == stages.size() - 1) {
                outShape = shape.clone();
                outShape[outShape.length - 1] = s.outputSize();
            } else {
                outShape = new int[] {rows, s.outputSize()};
            }
            Tensor<T> y = backend.allocate(x.type(), outShape);
            try {
                if (s.weight() != null) {
                    backend.gemm(false, true, rows, s.outputSize(), s.inputSize(), 1.0, cur,
                            s.weight(), 0.0, y);
                } else {
                    backend.copy(cur, 0, y, 0, y.size());
                }
                if (s.bias() != null) {
                    backend.addBias(y, s.bias());
                }
                if (s.activation() != Activation.IDENTITY) {
                    backend.activate(s.activation(), y, y);
                }
            } catch (RuntimeException e) {
                y.close();
                throw e;
            } finally {
                if (cur != x) {
                    cur.close();
                }
            }
            cur = y;
        }
        return cur;
    }
}
