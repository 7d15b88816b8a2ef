package dev.loradrop.core.jit;

import dev.loradrop.api.ComputationGraph;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.AbstractLayer;
import java.util.Objects;
import java.util.function.Function;

/**
 * A compiled inference function: the layer's graph folded into dense stages (one GEMM, a bias add
 * and an activation each), run on one backend.
 *
 * <h2>Threads</h2>
 * {@link #apply} may be called from many threads at once: the folded weights are immutable and
 * every call allocates its own buffers, relying on the backend's promise that calls on distinct
 * tensors may run concurrently (see {@link ComputeBackend}). {@link #refresh()} and {@link #close()}
 * may run while calls are in flight: those calls finish with the weights they started with, which
 * are released afterwards.
 *
 * <h2>Staleness</h2>
 * The function holds a copy of the weights as they were at compilation (or the last
 * {@link #refresh()}). When the source layer's {@linkplain AbstractLayer#modificationCount()
 * modification count} has moved since, {@link #apply} throws {@link IllegalStateException} rather
 * than serve old weights; {@link #refresh()} folds the current weights again. A modification counts
 * conservatively (handing out live tensors counts), so a function may report stale although no
 * value changed; it never serves weights it knows may be old.
 *
 * @param <T> element type
 */
public final class CompiledFunction<T extends Number>
        implements Function<Tensor<T>, Tensor<T>>, AutoCloseable {

    private final JitSource<T> source;
    private final ComputeBackend backend;
    private volatile Program<T> program;
    private volatile boolean closed;

    CompiledFunction(JitSource<T> source, ComputeBackend backend, Program<T> program) {
        this.source = source;
        this.backend = backend;
        this.program = program;
    }

    /**
     * Runs the compiled inference. Thread-safe.
     *
     * @param input {@code [..., inputSize]}, a tensor of {@link #backend()} and the source's type
     * @return a new {@code [..., outputSize]} tensor the caller owns
     * @throws IllegalStateException if the function is closed or stale
     * @throws IllegalArgumentException if the input's width, type or backend is wrong
     */
    @Override
    public Tensor<T> apply(Tensor<T> input) {
        Program<T> p = acquire();
        try {
            int rows = AbstractLayer.checkRows(input, "input", backend, source.numericType(),
                    p.inputSize());
            long now = source.modificationCount();
            if (now != p.version()) {
                throw new IllegalStateException("apply: compiled function is stale: the weights"
                        + " of " + source + " may have changed since it was compiled"
                        + " (modification count " + p.version() + ", now " + now
                        + "); call refresh() or compile again");
            }
            return p.run(backend, input, rows, input.shape());
        } finally {
            p.release();
        }
    }

    private Program<T> acquire() {
        while (true) {
            if (closed) {
                throw new IllegalStateException("apply: compiled function is closed");
            }
            Program<T> p = program;
            if (p.acquire()) {
                return p;
            }
        }
    }

    /** @return whether the source's weights may have changed since compilation or refresh */
    public boolean isStale() {
        return source.modificationCount() != program.version();
    }

    /**
     * Folds the source's current weights again. Call it on the thread that owns the source layer
     * (layers are not thread-safe); calls in flight finish with the old weights. If it fails the
     * function is unchanged.
     *
     * @throws IllegalStateException if the function or the source is closed
     */
    public synchronized void refresh() {
        if (closed) {
            throw new IllegalStateException("refresh: compiled function is closed");
        }
        Program<T> next = JitCompiler.build(source, backend);
        Program<T> old = program;
        program = next;
        old.retire();
    }

    /** @return the graph the current weights were folded from */
    public ComputationGraph graph() {
        return program.graph();
    }

    /** @return the backend the function runs on */
    public ComputeBackend backend() {
        return backend;
    }

    /** @return the element type */
    public NumericType<T> numericType() {
        return source.numericType();
    }

    /** @return the input's last axis */
    public int inputSize() {
        return program.inputSize();
    }

    /** @return the output's last axis */
    public int outputSize() {
        return program.outputSize();
    }

    /** @return the number of dense stages (GEMMs) per call */
    public int stageCount() {
        return program.stages().size();
    }

    /**
     * Releases the folded weights once the calls in flight have finished; later calls fail.
     * Idempotent.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            program.retire();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("CompiledFunction[");
        for (FoldedStage<T> s : program.stages()) {
            sb.append(s.inputSize()).append(" -> ").append(s.outputSize()).append(' ')
                    .append(s.activation()).append(s.weight() == null ? " (identity)" : "")
                    .append(", ");
        }
        return sb.append(source.numericType()).append(", backend ").append(backend.id())
                .append(closed ? ", closed]" : "]").toString();
    }
}
