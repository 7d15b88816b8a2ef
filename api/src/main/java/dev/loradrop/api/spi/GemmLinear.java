package dev.loradrop.api.spi;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;

/**
 * The default {@link PreparedLinear}: private copies of the weights, then {@code gemm},
 * {@code addBias} and {@code activate} on each call.
 */
final class GemmLinear<T extends Number> implements PreparedLinear<T> {

    private final ComputeBackend backend;
    private final Tensor<T> weight;
    private final Tensor<T> bias;
    private final Activation activation;
    private final int in;
    private final int out;
    private volatile boolean closed;

    GemmLinear(ComputeBackend backend, Tensor<T> weight, Tensor<T> bias, Activation activation,
               int out, int in) {
        this.backend = backend;
        this.activation = activation;
        this.in = in;
        this.out = out;
        this.weight = backend.copyOf(weight);
        try {
            this.bias = bias == null ? null : backend.copyOf(bias);
        } catch (RuntimeException e) {
            this.weight.close();
            throw e;
        }
    }

    @Override
    public NumericType<T> type() {
        return weight.type();
    }

    @Override
    public int inputSize() {
        return in;
    }

    @Override
    public int outputSize() {
        return out;
    }

    @Override
    public Activation activation() {
        return activation;
    }

    @Override
    public void apply(int rows, Tensor<T> x, Tensor<T> y) {
        if (closed) {
            throw new IllegalStateException("this prepared linear is closed");
        }
        Checks.linearCall(rows, x, y, in, out);
        // checked here, not left to gemm, so that the message names x or y rather than gemm's a, c
        Checks.requireOwned(x, "x", backend);
        Checks.requireOwned(y, "y", backend);
        Checks.sameType(weight, "weight", x, "x");
        Checks.sameType(weight, "weight", y, "y");
        backend.gemm(false, true, rows, out, in, 1.0, x, weight, 0.0, y);
        if (bias != null && rows > 0) {
            backend.addBias(y, bias);
        }
        if (activation != Activation.IDENTITY) {
            backend.activate(activation, y, y);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            weight.close();
            if (bias != null) {
                bias.close();
            }
        }
    }
}
