package dev.loradrop.core.jit;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Immutable folded stages on one backend, plus a count of the calls using them so that a refresh
 * or close releases them only once the last call in flight has finished.
 */
final class Program<T extends Number> {

    private final ComputationGraph graph;
    /** What each stage computes; their tensors are closed once prepared. */
    private final List<FoldedStage<T>> stages;
    /** Each stage prepared on the backend, null for an identity stage. */
    private final List<PreparedLinear<T>> prepared;
    private final long version;
    /** Twice the number of calls in flight, plus 1 once retired. */
    private final AtomicInteger state = new AtomicInteger();

    /**
     * Prepares each dense stage on the backend ({@link ComputeBackend#prepareLinear}) and closes
     * its folded tensors, which the prepared stage no longer needs; identity stages keep theirs. On
     * failure closes everything.
     *
     * @param stages folded stages on {@code backend}, which this takes over
     */
    Program(ComputationGraph graph, List<FoldedStage<T>> stages, long version,
            ComputeBackend backend) {
        this.graph = graph;
        this.stages = List.copyOf(stages);
        this.version = version;
        List<PreparedLinear<T>> prepared = new ArrayList<>();
        try {
            for (FoldedStage<T> s : stages) {
                prepared.add(s.weight() == null ? null : backend.prepareLinear(s.weight(),
                        s.bias(), s.activation(), s.outputSize(), s.inputSize()));
            }
        } catch (RuntimeException e) {
            prepared.stream().filter(Objects::nonNull).forEach(PreparedLinear::close);
            stages.forEach(FoldedStage::close);
            throw e;
        }
        stages.stream().filter(st -> st.weight() != null).forEach(FoldedStage::close);
        this.prepared = Collections.unmodifiableList(prepared);
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
        prepared.stream().filter(Objects::nonNull).forEach(PreparedLinear::close);
        stages.stream().filter(st -> st.weight() == null).forEach(FoldedStage::close);
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
                PreparedLinear<T> linear = prepared.get(i);
                if (linear != null) {
                    linear.apply(rows, cur, y);
                } else {
                    backend.copy(cur, 0, y, 0, y.size());
                    if (s.bias() != null) {
                        backend.addBias(y, s.bias());
                    }
                    if (s.activation() != Activation.IDENTITY) {
                        backend.activate(s.activation(), y, y);
                    }
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
