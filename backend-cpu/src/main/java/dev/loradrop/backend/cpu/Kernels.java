package dev.loradrop.backend.cpu;

import dev.loradrop.api.Activation;

/**
 * The elementwise arithmetic of the {@link CpuBackend} (GEMM is {@link GemmEngine}'s), on host
 * arrays, with every argument already validated
 * by the backend (sizes match, nothing is closed, aliasing is allowed only where the SPI allows
 * it). One implementation per code path: {@link ScalarKernels} always; a Vector API path can
 * implement this interface (or extend {@code ScalarKernels}) and be chosen at backend creation.
 *
 * <p>Scalars arrive as {@code double}; float kernels round them to float first. Semantics are
 * those of the same-named methods of {@link dev.loradrop.api.spi.ComputeBackend}; array lengths
 * carry the sizes.
 */
interface Kernels {

    /** @return the code path, for {@code describe()}: for example {@code "scalar"} */
    String path();

    void axpby(double alpha, float[] x, double beta, float[] y);

    void axpby(double alpha, double[] x, double beta, double[] y);

    void addBias(float[] y, float[] bias);

    void addBias(double[] y, double[] bias);

    void columnSums(float[] src, double beta, float[] dst);

    void columnSums(double[] src, double beta, double[] dst);

    void activate(Activation activation, float[] pre, float[] out);

    void activate(Activation activation, double[] pre, double[] out);

    void activationBackward(Activation activation, float[] pre, float[] out, float[] dOut,
                            float[] dPre);

    void activationBackward(Activation activation, double[] pre, double[] out, double[] dOut,
                            double[] dPre);

    /**
     * @param mask keep bits, or null to keep all
     * @param cols with a mask: the mask size when {@code broadcastRows}, else ignored
     */
    void maskedScaleAdd(float[] src, long[] mask, boolean broadcastRows, int cols, double scale,
                        double beta, float[] dst);

    /** @see #maskedScaleAdd(float[], long[], boolean, int, double, double, float[]) */
    void maskedScaleAdd(double[] src, long[] mask, boolean broadcastRows, int cols, double scale,
                        double beta, double[] dst);

    /**
     * Words {@code [fromWord, toWord)} of a keep mask: the bits of
     * {@link dev.loradrop.api.MaskStream#fillWords}, which is the scalar path.
     *
     * @param size the number of elements of the whole mask
     * @param threshold {@link dev.loradrop.api.MaskStream#keepThreshold(double)}
     */
    void fillMask(long[] words, int fromWord, int toWord, long seed, int stream, int step,
                  int size, long threshold);

    double sum(float[] t);

    double sum(double[] t);

    boolean allFinite(float[] t);

    boolean allFinite(double[] t);

    /** @param grad gradient output or null */
    double meanSquaredError(float[] pred, float[] target, float[] grad);

    /** @param grad gradient output or null */
    double meanSquaredError(double[] pred, double[] target, double[] grad);

    /** @param grad gradient output or null; may be logits or target */
    double softmaxCrossEntropy(int classes, float[] logits, float[] target, float[] grad);

    /** @param grad gradient output or null; may be logits or target */
    double softmaxCrossEntropy(int classes, double[] logits, double[] target, double[] grad);

    /** @param velocity momentum buffer or null */
    void sgdStep(float[] param, float[] grad, float[] velocity, double learningRate,
                 double momentum, double weightDecay);

    /** @param velocity momentum buffer or null */
    void sgdStep(double[] param, double[] grad, double[] velocity, double learningRate,
                 double momentum, double weightDecay);

    void adamStep(float[] param, float[] grad, float[] m, float[] v, double learningRate,
                  double beta1, double beta2, double epsilon, double weightDecay,
                  boolean decoupledWeightDecay, int step);

    void adamStep(double[] param, double[] grad, double[] m, double[] v, double learningRate,
                  double beta1, double beta2, double epsilon, double weightDecay,
                  boolean decoupledWeightDecay, int step);
}
