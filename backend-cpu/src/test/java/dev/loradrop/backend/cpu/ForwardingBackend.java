package dev.loradrop.backend.cpu;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.PreparedLinear;
import java.util.Map;

/**
 * A backend that forwards every call to a CPU backend; {@link KitCatchesBrokenBackendsTest}
 * subclasses it to break one rule at a time. Tensors belong to the delegate.
 */
class ForwardingBackend implements ComputeBackend {

    /** The backend every call goes to. */
    protected final ComputeBackend delegate;

    ForwardingBackend(ComputeBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public String id() {
        return delegate.id();
    }

    @Override
    public Map<String, String> describe() {
        return delegate.describe();
    }

    @Override
    public <T extends Number> Tensor<T> allocate(NumericType<T> type, int... shape) {
        return delegate.allocate(type, shape);
    }

    @Override
    public Tensor<Float> upload(float[] data, int... shape) {
        return delegate.upload(data, shape);
    }

    @Override
    public Tensor<Double> upload(double[] data, int... shape) {
        return delegate.upload(data, shape);
    }

    @Override
    public <T extends Number> Tensor<T> upload(NumericType<T> type, double[] data, int... shape) {
        return delegate.upload(type, data, shape);
    }

    @Override
    public <T extends Number> Tensor<T> copyOf(Tensor<T> src) {
        return delegate.copyOf(src);
    }

    @Override
    public <T extends Number> void copy(Tensor<T> src, int srcOffset, Tensor<T> dst, int dstOffset,
                                        int length) {
        delegate.copy(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, float[] src, int srcOffset, int length) {
        delegate.write(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void write(Tensor<?> dst, int dstOffset, double[] src, int srcOffset, int length) {
        delegate.write(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, float[] dst, int dstOffset, int length) {
        delegate.read(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void read(Tensor<?> src, int srcOffset, double[] dst, int dstOffset, int length) {
        delegate.read(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public void fill(Tensor<?> t, double value) {
        delegate.fill(t, value);
    }

    @Override
    public BitMask allocateMask(int size) {
        return delegate.allocateMask(size);
    }

    @Override
    public long liveAllocations() {
        return delegate.liveAllocations();
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public <T extends Number> void gemm(boolean transA, boolean transB, int m, int n, int k,
                                        double alpha, Tensor<T> a, Tensor<T> b, double beta,
                                        Tensor<T> c) {
        delegate.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    public <T extends Number> PreparedLinear<T> prepareLinear(Tensor<T> weight, Tensor<T> bias,
                                                              Activation activation, int out,
                                                              int in) {
        return delegate.prepareLinear(weight, bias, activation, out, in);
    }

    @Override
    public <T extends Number> void axpby(double alpha, Tensor<T> x, double beta, Tensor<T> y) {
        delegate.axpby(alpha, x, beta, y);
    }

    @Override
    public <T extends Number> void addBias(Tensor<T> y, Tensor<T> bias) {
        delegate.addBias(y, bias);
    }

    @Override
    public <T extends Number> void columnSums(Tensor<T> src, double beta, Tensor<T> dst) {
        delegate.columnSums(src, beta, dst);
    }

    @Override
    public <T extends Number> void activate(Activation activation, Tensor<T> pre, Tensor<T> out) {
        delegate.activate(activation, pre, out);
    }

    @Override
    public <T extends Number> void activationBackward(Activation activation, Tensor<T> pre,
                                                      Tensor<T> out, Tensor<T> dOut,
                                                      Tensor<T> dPre) {
        delegate.activationBackward(activation, pre, out, dOut, dPre);
    }

    @Override
    public void generateMask(BitMask mask, long seed, int stream, int step, double dropoutRate) {
        delegate.generateMask(mask, seed, stream, step, dropoutRate);
    }

    @Override
    public <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask,
                                                  boolean broadcastRows, double scale, double beta,
                                                  Tensor<T> dst) {
        delegate.maskedScaleAdd(src, mask, broadcastRows, scale, beta, dst);
    }

    @Override
    public double sum(Tensor<?> t) {
        return delegate.sum(t);
    }

    @Override
    public boolean allFinite(Tensor<?> t) {
        return delegate.allFinite(t);
    }

    @Override
    public <T extends Number> double meanSquaredError(Tensor<T> pred, Tensor<T> target,
                                                      Tensor<T> grad) {
        return delegate.meanSquaredError(pred, target, grad);
    }

    @Override
    public <T extends Number> double softmaxCrossEntropy(int classes, Tensor<T> logits,
                                                         Tensor<T> target, Tensor<T> grad) {
        return delegate.softmaxCrossEntropy(classes, logits, target, grad);
    }

    @Override
    public <T extends Number> void sgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity,
                                           double learningRate, double momentum,
                                           double weightDecay) {
        delegate.sgdStep(param, grad, velocity, learningRate, momentum, weightDecay);
    }

    @Override
    public <T extends Number> void adamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m,
                                            Tensor<T> v, double learningRate, double beta1,
                                            double beta2, double epsilon, double weightDecay,
                                            boolean decoupledWeightDecay, int step) {
        delegate.adamStep(param, grad, m, v, learningRate, beta1, beta2, epsilon, weightDecay,
                decoupledWeightDecay, step);
    }
}
