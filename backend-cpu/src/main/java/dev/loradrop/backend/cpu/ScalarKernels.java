package dev.loradrop.backend.cpu;

import dev.loradrop.api.Activation;
import dev.loradrop.api.MaskStream;
import java.util.Arrays;

/**
 * The plain-Java kernels, single-threaded: the path that always exists and the reference a faster
 * path is tested against. Float and double loops are written separately (no boxing); each pair
 * follows the same structure, and transcendental functions use the double-precision definitions
 * of {@link Activation} for both, so there is one formula per idea.
 *
 * <p>Float kernels round their scalar arguments to float and compute in float, except reductions
 * (sums, column sums, losses) and optimiser updates, which use double intermediates and round once
 * when they store.
 */
class ScalarKernels implements Kernels {

    /** The shared, stateless instance. */
    static final ScalarKernels INSTANCE = new ScalarKernels();

    ScalarKernels() {
    }

    @Override
    public String path() {
        return "scalar";
    }

    // ------------------------------------------------------------------ helpers

    /** @return {@code v + beta * old}, or {@code v} when beta is 0 (old ignored, even NaN) */
    static float mix(float v, float beta, float old) {
        return beta == 0f ? v : v + beta * old;
    }

    /** @return {@code v + beta * old}, or {@code v} when beta is 0 (old ignored, even NaN) */
    static double mix(double v, double beta, double old) {
        return beta == 0.0 ? v : v + beta * old;
    }

    /**
     * @return {@code scale} where bit {@code i} of the mask is set, else {@code +0}, without a
     *     branch: the bits are random, so a branch mispredicts on every other element. The
     *     branch-free form made a [64, 4096] ELEMENT mask-scale-add 3.9 times as fast (1544 to
     *     395 us), the same bits.
     */
    static float keptOrZero(long[] mask, int i, float scale) {
        int keep = -(int) (mask[i >>> 6] >>> i & 1L);
        return Float.intBitsToFloat(Float.floatToRawIntBits(scale) & keep);
    }

    /** The double twin of {@link #keptOrZero(long[], int, float)}. */
    static double keptOrZero(long[] mask, int i, double scale) {
        long keep = -(mask[i >>> 6] >>> i & 1L);
        return Double.longBitsToDouble(Double.doubleToRawLongBits(scale) & keep);
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void axpby(double alphaD, float[] x, double betaD, float[] y) {
        float alpha = (float) alphaD;
        float beta = (float) betaD;
        for (int i = 0; i < x.length; i++) {
            y[i] = mix(alpha * x[i], beta, y[i]);
        }
    }

    @Override
    public void axpby(double alpha, double[] x, double beta, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] = mix(alpha * x[i], beta, y[i]);
        }
    }

    @Override
    public void addBias(float[] y, float[] bias) {
        int cols = bias.length;
        for (int r = 0; r < y.length; r += cols) {
            for (int c = 0; c < cols; c++) {
                y[r + c] += bias[c];
            }
        }
    }

    @Override
    public void addBias(double[] y, double[] bias) {
        int cols = bias.length;
        for (int r = 0; r < y.length; r += cols) {
            for (int c = 0; c < cols; c++) {
                y[r + c] += bias[c];
            }
        }
    }

    /** Columns summed at a time by {@link #columnSums}: 4 KiB of accumulators, kept in L1. */
    private static final int COLUMN_BLOCK = 512;
    /**
     * The accumulators of {@link #columnSums}, one array per thread: the kernels are shared by
     * concurrent calls, and the bias gradient runs every training step, which must not allocate
     * in proportion to the tensors (an array of {@code cols} doubles per call did).
     */
    private static final ThreadLocal<double[]> COLUMN_ACC =
            ThreadLocal.withInitial(() -> new double[COLUMN_BLOCK]);

    /*
     * Column sums a block of columns at a time, each column's accumulator added to over the rows
     * in order: the same bits as one accumulator per column over the whole matrix.
     */

    @Override
    public void columnSums(float[] src, double betaD, float[] dst) {
        float beta = (float) betaD;
        int cols = dst.length;
        double[] acc = COLUMN_ACC.get();
        for (int c0 = 0, width; c0 < cols; c0 += width) {
            width = Math.min(COLUMN_BLOCK, cols - c0);
            Arrays.fill(acc, 0, width, 0.0);
            for (int r = 0; r < src.length; r += cols) {
                for (int c = 0, s = r + c0; c < width; c++, s++) {
                    acc[c] += src[s];
                }
            }
            for (int c = 0; c < width; c++) {
                dst[c0 + c] = (float) mix(acc[c], beta, dst[c0 + c]);
            }
        }
    }

    @Override
    public void columnSums(double[] src, double beta, double[] dst) {
        int cols = dst.length;
        double[] acc = COLUMN_ACC.get();
        for (int c0 = 0, width; c0 < cols; c0 += width) {
            width = Math.min(COLUMN_BLOCK, cols - c0);
            Arrays.fill(acc, 0, width, 0.0);
            for (int r = 0; r < src.length; r += cols) {
                for (int c = 0, s = r + c0; c < width; c++, s++) {
                    acc[c] += src[s];
                }
            }
            for (int c = 0; c < width; c++) {
                dst[c0 + c] = mix(acc[c], beta, dst[c0 + c]);
            }
        }
    }

    // ------------------------------------------------------------------ activations

    @Override
    public void activate(Activation activation, float[] pre, float[] out) {
        if (activation == Activation.IDENTITY) {
            if (out != pre) {
                System.arraycopy(pre, 0, out, 0, pre.length);
            }
            return;
        }
        for (int i = 0; i < pre.length; i++) {
            out[i] = activate(activation, pre[i]);
        }
    }

    /** The activation of one float: what {@link #activate(Activation, float[], float[])} computes. */
    static float activate(Activation f, float v) {
        switch (f) {
            case IDENTITY:
                return v;
            case RELU:
                return v > 0f ? v : 0f;
            default:
                return (float) f.apply(v);
        }
    }

    @Override
    public void activate(Activation activation, double[] pre, double[] out) {
        if (activation == Activation.IDENTITY) {
            if (out != pre) {
                System.arraycopy(pre, 0, out, 0, pre.length);
            }
            return;
        }
        for (int i = 0; i < pre.length; i++) {
            out[i] = activate(activation, pre[i]);
        }
    }

    /** The activation of one double: what {@link #activate(Activation, double[], double[])} computes. */
    static double activate(Activation f, double v) {
        switch (f) {
            case IDENTITY:
                return v;
            case RELU:
                return v > 0.0 ? v : 0.0;
            default:
                return f.apply(v);
        }
    }

    /** @return {@code dOut} times ReLU's derivative at {@code pre} (1 above 0, else 0) */
    static float reluBackward(float pre, float dOut) {
        return dOut * (pre > 0f ? 1f : 0f);
    }

    /** The double twin of {@link #reluBackward(float, float)}. */
    static double reluBackward(double pre, double dOut) {
        return dOut * (pre > 0.0 ? 1.0 : 0.0);
    }

    /*
     * The derivative is taken from pre (the definition), not from out: it is exact for every
     * activation and does not depend on out having been computed by the same backend.
     */

    @Override
    public void activationBackward(Activation activation, float[] pre, float[] out, float[] dOut,
                                   float[] dPre) {
        switch (activation) {
            case IDENTITY:
                if (dPre != dOut) {
                    System.arraycopy(dOut, 0, dPre, 0, dOut.length);
                }
                break;
            case RELU:
                for (int i = 0; i < pre.length; i++) {
                    dPre[i] = reluBackward(pre[i], dOut[i]);
                }
                break;
            default:
                for (int i = 0; i < pre.length; i++) {
                    dPre[i] = (float) (dOut[i] * activation.derivative(pre[i]));
                }
        }
    }

    @Override
    public void activationBackward(Activation activation, double[] pre, double[] out,
                                   double[] dOut, double[] dPre) {
        switch (activation) {
            case IDENTITY:
                if (dPre != dOut) {
                    System.arraycopy(dOut, 0, dPre, 0, dOut.length);
                }
                break;
            case RELU:
                for (int i = 0; i < pre.length; i++) {
                    dPre[i] = reluBackward(pre[i], dOut[i]);
                }
                break;
            default:
                for (int i = 0; i < pre.length; i++) {
                    dPre[i] = dOut[i] * activation.derivative(pre[i]);
                }
        }
    }

    // ------------------------------------------------------------------ masks

    /*
     * A dropped element is multiplied by 0, as the contract's formula (and PyTorch's dropout)
     * says: a dropped NaN or infinity gives NaN.
     */

    @Override
    public void maskedScaleAdd(float[] src, long[] mask, boolean broadcastRows, int cols,
                               double scaleD, double betaD, float[] dst) {
        float scale = (float) scaleD;
        float beta = (float) betaD;
        if (mask == null) {
            for (int i = 0; i < src.length; i++) {
                dst[i] = mix(scale * src[i], beta, dst[i]);
            }
        } else if (!broadcastRows) {
            for (int i = 0; i < src.length; i++) {
                dst[i] = mix(keptOrZero(mask, i, scale) * src[i], beta, dst[i]);
            }
        } else {
            for (int r = 0; r < src.length; r += cols) {
                for (int c = 0; c < cols; c++) {
                    int i = r + c;
                    dst[i] = mix(keptOrZero(mask, c, scale) * src[i], beta, dst[i]);
                }
            }
        }
    }

    @Override
    public void maskedScaleAdd(double[] src, long[] mask, boolean broadcastRows, int cols,
                               double scale, double beta, double[] dst) {
        if (mask == null) {
            for (int i = 0; i < src.length; i++) {
                dst[i] = mix(scale * src[i], beta, dst[i]);
            }
        } else if (!broadcastRows) {
            for (int i = 0; i < src.length; i++) {
                dst[i] = mix(keptOrZero(mask, i, scale) * src[i], beta, dst[i]);
            }
        } else {
            for (int r = 0; r < src.length; r += cols) {
                for (int c = 0; c < cols; c++) {
                    int i = r + c;
                    dst[i] = mix(keptOrZero(mask, c, scale) * src[i], beta, dst[i]);
                }
            }
        }
    }

    // ------------------------------------------------------------------ masks

    @Override
    public void fillMask(long[] words, int fromWord, int toWord, long seed, int stream, int step,
                         int size, long threshold) {
        MaskStream.fillWords(words, fromWord, toWord, seed, stream, step, size, threshold);
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public double sum(float[] t) {
        double s = 0.0;
        for (float x : t) {
            s += x;
        }
        return s;
    }

    @Override
    public double sum(double[] t) {
        double s = 0.0;
        for (double x : t) {
            s += x;
        }
        return s;
    }

    @Override
    public boolean allFinite(float[] t) {
        for (float x : t) {
            if (!Float.isFinite(x)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean allFinite(double[] t) {
        for (double x : t) {
            if (!Double.isFinite(x)) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ losses

    /* An empty batch gives NaN (0 / 0), as PyTorch's mean reductions do. */

    @Override
    public double meanSquaredError(float[] pred, float[] target, float[] grad) {
        int n = pred.length;
        double s = 0.0;
        for (int i = 0; i < n; i++) {
            double d = (double) pred[i] - target[i];
            s += d * d;
            if (grad != null) {
                grad[i] = (float) (2.0 * d / n);
            }
        }
        return s / n;
    }

    @Override
    public double meanSquaredError(double[] pred, double[] target, double[] grad) {
        int n = pred.length;
        double s = 0.0;
        for (int i = 0; i < n; i++) {
            double d = pred[i] - target[i];
            s += d * d;
            if (grad != null) {
                grad[i] = 2.0 * d / n;
            }
        }
        return s / n;
    }

    /*
     * Per row: the max and sum(t), then Z = sum exp(l - max), then log s = l - max - log Z.
     * Element c of grad is written after logits[c] and target[c] of its row are last read, so
     * grad may alias either. Terms with t = 0 contribute nothing (even where log s = -inf).
     */

    @Override
    public double softmaxCrossEntropy(int classes, float[] logits, float[] target, float[] grad) {
        int rows = logits.length / classes;
        double loss = 0.0;
        for (int off = 0; off < logits.length; off += classes) {
            double max = Double.NEGATIVE_INFINITY;
            double sumT = 0.0;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[off + c]);
                sumT += target[off + c];
            }
            double z = 0.0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(logits[off + c] - max);
            }
            double logZ = Math.log(z);
            for (int c = 0; c < classes; c++) {
                double shifted = logits[off + c] - max;
                double t = target[off + c];
                if (t != 0.0) {
                    loss -= t * (shifted - logZ);
                }
                if (grad != null) {
                    grad[off + c] = (float) ((Math.exp(shifted) / z * sumT - t) / rows);
                }
            }
        }
        return loss / rows;
    }

    @Override
    public double softmaxCrossEntropy(int classes, double[] logits, double[] target,
                                      double[] grad) {
        int rows = logits.length / classes;
        double loss = 0.0;
        for (int off = 0; off < logits.length; off += classes) {
            double max = Double.NEGATIVE_INFINITY;
            double sumT = 0.0;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[off + c]);
                sumT += target[off + c];
            }
            double z = 0.0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(logits[off + c] - max);
            }
            double logZ = Math.log(z);
            for (int c = 0; c < classes; c++) {
                double shifted = logits[off + c] - max;
                double t = target[off + c];
                if (t != 0.0) {
                    loss -= t * (shifted - logZ);
                }
                if (grad != null) {
                    grad[off + c] = (Math.exp(shifted) / z * sumT - t) / rows;
                }
            }
        }
        return loss / rows;
    }

    // ------------------------------------------------------------------ optimisers

    /*
     * Float steps round the scalars to float (the SPI's rule), then update each element with
     * double intermediates and round once per stored value.
     */

    @Override
    public void sgdStep(float[] param, float[] grad, float[] velocity, double lrD,
                        double momentumD, double weightDecayD) {
        double lr = (float) lrD;
        double momentum = (float) momentumD;
        double weightDecay = (float) weightDecayD;
        for (int i = 0; i < param.length; i++) {
            double g = weightDecay == 0.0 ? grad[i] : grad[i] + weightDecay * param[i];
            if (velocity != null) {
                g = momentum * velocity[i] + g;
                velocity[i] = (float) g;
            }
            param[i] = (float) (param[i] - lr * g);
        }
    }

    @Override
    public void sgdStep(double[] param, double[] grad, double[] velocity, double lr,
                        double momentum, double weightDecay) {
        for (int i = 0; i < param.length; i++) {
            double g = weightDecay == 0.0 ? grad[i] : grad[i] + weightDecay * param[i];
            if (velocity != null) {
                g = momentum * velocity[i] + g;
                velocity[i] = g;
            }
            param[i] = param[i] - lr * g;
        }
    }

    /**
     * Adam's scalars for one call, as every path uses them: the hyper-parameters (for float
     * tensors rounded to float first), the bias corrections {@code 1 - beta^step}, AdamW's shrink
     * factor {@code 1 - lr * weightDecay} (else 1) and Adam's coupled weight decay (else 0).
     */
    record AdamScalars(double lr, double beta1, double beta2, double epsilon, double bc1,
                       double bc2, double shrink, double coupled) {

        static AdamScalars of(double lr, double beta1, double beta2, double epsilon,
                              double weightDecay, boolean decoupled, int step) {
            return new AdamScalars(lr, beta1, beta2, epsilon, 1.0 - Math.pow(beta1, step),
                    1.0 - Math.pow(beta2, step), decoupled ? 1.0 - lr * weightDecay : 1.0,
                    decoupled ? 0.0 : weightDecay);
        }

        static AdamScalars ofFloats(double lr, double beta1, double beta2, double epsilon,
                                    double weightDecay, boolean decoupled, int step) {
            return of((float) lr, (float) beta1, (float) beta2, (float) epsilon,
                    (float) weightDecay, decoupled, step);
        }
    }

    @Override
    public void adamStep(float[] param, float[] grad, float[] m, float[] v, double lr,
                         double beta1, double beta2, double epsilon, double weightDecay,
                         boolean decoupled, int step) {
        adamStep(param, grad, m, v, AdamScalars.ofFloats(lr, beta1, beta2, epsilon, weightDecay,
                decoupled, step), 0, param.length);
    }

    /** Adam on elements {@code [from, to)}, in double, rounding once when it stores. */
    static void adamStep(float[] param, float[] grad, float[] m, float[] v, AdamScalars a,
                         int from, int to) {
        for (int i = from; i < to; i++) {
            double p = param[i];
            double g = a.coupled() == 0.0 ? grad[i] : grad[i] + a.coupled() * p;
            p *= a.shrink();
            double mi = a.beta1() * m[i] + (1.0 - a.beta1()) * g;
            double vi = a.beta2() * v[i] + (1.0 - a.beta2()) * g * g;
            m[i] = (float) mi;
            v[i] = (float) vi;
            param[i] = (float) (p - a.lr() * (mi / a.bc1())
                    / (Math.sqrt(vi / a.bc2()) + a.epsilon()));
        }
    }

    @Override
    public void adamStep(double[] param, double[] grad, double[] m, double[] v, double lr,
                         double beta1, double beta2, double epsilon, double weightDecay,
                         boolean decoupled, int step) {
        adamStep(param, grad, m, v, AdamScalars.of(lr, beta1, beta2, epsilon, weightDecay,
                decoupled, step), 0, param.length);
    }

    /** The double twin of {@link #adamStep(float[], float[], float[], float[], AdamScalars, int, int)}. */
    static void adamStep(double[] param, double[] grad, double[] m, double[] v, AdamScalars a,
                         int from, int to) {
        for (int i = from; i < to; i++) {
            double p = param[i];
            double g = a.coupled() == 0.0 ? grad[i] : grad[i] + a.coupled() * p;
            p *= a.shrink();
            double mi = a.beta1() * m[i] + (1.0 - a.beta1()) * g;
            double vi = a.beta2() * v[i] + (1.0 - a.beta2()) * g * g;
            m[i] = mi;
            v[i] = vi;
            param[i] = p - a.lr() * (mi / a.bc1()) / (Math.sqrt(vi / a.bc2()) + a.epsilon());
        }
    }
}
