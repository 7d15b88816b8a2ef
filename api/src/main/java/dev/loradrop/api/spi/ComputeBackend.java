package dev.loradrop.api.spi;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Map;

/**
 * A compute backend: memory for tensors and masks, and the kernels LoRA-drop layers need.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Tensors are dense and row-major. Kernels see them as flat arrays; where a kernel needs a
 *       matrix it takes the dimensions explicitly (as BLAS does) and requires the element count to
 *       match.</li>
 *   <li>Scalars are passed as {@code double}; a FLOAT32 kernel rounds them to float and computes in
 *       float (it may compute intermediates, such as {@code 1 - beta}, and accumulate in higher
 *       precision; the conformance kit's tolerances allow for either).</li>
 *   <li>All tensors of one call have the same {@link NumericType}, belong to this backend and are
 *       open. Violations throw {@link IllegalArgumentException} (wrong sizes, types or owner) or
 *       {@link IllegalStateException} (closed tensor or mask, closed backend) before anything is
 *       written. Offsets, lengths, extents and other scalar arguments out of range are
 *       {@link IllegalArgumentException} too, and a null tensor, mask or array is a
 *       {@link NullPointerException}. {@code core} checks shapes before it calls a kernel, so these
 *       checks guard against bugs, not user input.</li>
 *   <li>The message of such an exception names the argument at fault: it begins with the
 *       argument's name exactly as spelled in the method's signature (case-sensitive), followed by
 *       a character that cannot continue a Java identifier, as {@link Checks} writes it
 *       ({@code "dst: expected 6 elements (the size of src), got 7"}), or is the name alone, as
 *       {@code Objects.requireNonNull(dst, "dst")} writes it. Where sizes disagree, the argument at
 *       fault is the one whose description below states the constraint ({@code y} of
 *       {@link #axpby}: "same size as x"); where types are mixed, the tensor whose type differs
 *       from the others' (either of two); where several arguments are wrong, any of them. Only a
 *       closed backend, which is no argument, is exempt. The conformance kit checks this.</li>
 *   <li>An output never aliases an input unless the method says it may.</li>
 *   <li>{@code beta == 0} means the old contents of the output are ignored (even NaN), as in
 *       BLAS.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * Calls on <em>distinct</em> tensors and masks may run concurrently from many threads: allocation,
 * upload, read, write, release and every kernel whose outputs no other running call reads or
 * writes. Several calls may read the same tensor or mask at once (for example the shared weights
 * of a compiled inference function), also the first calls to read a mask after its generation.
 * Each call's results must be exactly those it would give run alone.
 * Calls that write a tensor or mask another running call reads or writes need the caller's
 * synchronisation, and {@link #close()} must not overlap other calls. A backend may use worker
 * threads internally; results must not depend on the number of threads. The conformance kit
 * checks this with several threads sharing read-only inputs.
 */
public interface ComputeBackend extends AutoCloseable {

    /**
     * @return the id of the provider that made this backend, for example {@code "cpu"}; answers
     *     after {@link #close()} too
     */
    String id();

    /**
     * @return facts for bug reports and logs: device, threads, code path, versions; insertion
     *     ordered
     */
    Map<String, String> describe();

    // ---------------------------------------------------------------- memory

    /**
     * Allocates a zero-filled tensor.
     *
     * @param type element type
     * @param shape extents, each {@code >= 0}, at least one axis
     * @param <T> element type
     * @return a new tensor the caller owns
     */
    <T extends Number> Tensor<T> allocate(NumericType<T> type, int... shape);

    /**
     * Copies host floats into a new FLOAT32 tensor.
     *
     * @param data elements in row-major order; its length must equal the product of the shape
     * @param shape extents
     * @return a new tensor the caller owns
     */
    Tensor<Float> upload(float[] data, int... shape);

    /**
     * Copies host doubles into a new FLOAT64 tensor.
     *
     * @param data elements in row-major order; its length must equal the product of the shape
     * @param shape extents
     * @return a new tensor the caller owns
     */
    Tensor<Double> upload(double[] data, int... shape);

    /**
     * Copies host doubles into a new tensor of the given type, rounding for FLOAT32.
     *
     * @param type element type
     * @param data elements in row-major order
     * @param shape extents
     * @param <T> element type
     * @return a new tensor the caller owns
     */
    @SuppressWarnings("unchecked")
    default <T extends Number> Tensor<T> upload(NumericType<T> type, double[] data, int... shape) {
        java.util.Objects.requireNonNull(type, "type");
        java.util.Objects.requireNonNull(data, "data");
        if (type == NumericType.FLOAT64) {
            return (Tensor<T>) upload(data, shape);
        }
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return (Tensor<T>) upload(f, shape);
    }

    /**
     * Allocates a tensor with the same type and shape as {@code src} and copies its elements.
     *
     * @param src the tensor to copy
     * @param <T> element type
     * @return a new tensor the caller owns
     */
    default <T extends Number> Tensor<T> copyOf(Tensor<T> src) {
        java.util.Objects.requireNonNull(src, "src");
        Tensor<T> dst = allocate(src.type(), src.shape());
        try {
            copy(src, 0, dst, 0, src.size());
        } catch (RuntimeException e) {
            dst.close();
            throw e;
        }
        return dst;
    }

    /**
     * Copies {@code length} elements between two tensors of this backend (no host round trip).
     *
     * @param src source
     * @param srcOffset first source element
     * @param dst destination; may be {@code src} if the ranges do not overlap (overlapping ranges
     *     are an {@link IllegalArgumentException})
     * @param dstOffset first destination element
     * @param length number of elements
     * @param <T> element type
     */
    <T extends Number> void copy(Tensor<T> src, int srcOffset, Tensor<T> dst, int dstOffset,
                                 int length);

    /**
     * Writes host floats into part of a tensor, rounding or widening to its type.
     *
     * @param dst destination tensor
     * @param dstOffset first destination element
     * @param src host array
     * @param srcOffset first source element
     * @param length number of elements
     */
    void write(Tensor<?> dst, int dstOffset, float[] src, int srcOffset, int length);

    /**
     * Writes host doubles into part of a tensor, rounding to its type.
     *
     * @param dst destination tensor
     * @param dstOffset first destination element
     * @param src host array
     * @param srcOffset first source element
     * @param length number of elements
     */
    void write(Tensor<?> dst, int dstOffset, double[] src, int srcOffset, int length);

    /**
     * Reads part of a tensor into a host float array.
     *
     * @param src source tensor
     * @param srcOffset first source element
     * @param dst host array
     * @param dstOffset first destination element
     * @param length number of elements
     */
    void read(Tensor<?> src, int srcOffset, float[] dst, int dstOffset, int length);

    /**
     * Reads part of a tensor into a host double array.
     *
     * @param src source tensor
     * @param srcOffset first source element
     * @param dst host array
     * @param dstOffset first destination element
     * @param length number of elements
     */
    void read(Tensor<?> src, int srcOffset, double[] dst, int dstOffset, int length);

    /**
     * Sets every element to {@code value}.
     *
     * @param t the tensor
     * @param value the value
     */
    void fill(Tensor<?> t, double value);

    /**
     * Allocates a bit mask with every bit cleared.
     *
     * @param size number of elements, {@code >= 0}
     * @return a new mask the caller owns
     */
    BitMask allocateMask(int size);

    /**
     * @return tensors, masks and prepared linears made by this backend and not yet closed (the
     *     default {@link #prepareLinear} holds two tensors); a conformance test checks it returns
     *     to its starting value. Answers after {@link #close()} too (then 0)
     */
    long liveAllocations();

    /**
     * Releases every tensor and mask still open; every later call but {@link #id()},
     * {@link #liveAllocations()} and {@code close()} fails with {@link IllegalStateException}.
     * Idempotent.
     */
    @Override
    void close();

    // ---------------------------------------------------------------- linear algebra

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C}, where {@code op(A)} is {@code m x k} and
     * {@code op(B)} is {@code k x n}. {@code A} is stored {@code m x k} (or {@code k x m} when
     * {@code transA}), {@code B} is stored {@code k x n} (or {@code n x k} when {@code transB}),
     * {@code C} is {@code m x n}, all row-major and contiguous. Any dimension may be 0. With
     * {@code alpha == 0}, A and B are not read (as in BLAS), so NaN in them does not spread.
     *
     * @param transA whether A is stored transposed
     * @param transB whether B is stored transposed
     * @param m rows of C
     * @param n columns of C
     * @param k the inner dimension
     * @param alpha scale of the product
     * @param a matrix A
     * @param b matrix B
     * @param beta scale of the old C
     * @param c matrix C, overwritten
     * @param <T> element type
     */
    <T extends Number> void gemm(boolean transA, boolean transB, int m, int n, int k,
                                 double alpha, Tensor<T> a, Tensor<T> b, double beta, Tensor<T> c);

    /**
     * Prepares {@code y = f(x W^T + b)} for repeated calls with these weights (compiled
     * inference): the result reads {@code weight} and {@code bias} now, and later changes to them
     * do not affect it. The default takes private copies and runs {@link #gemm}, {@link #addBias}
     * and {@link #activate} on each call; a backend may override it to keep the weights in the form
     * its GEMM reads fastest and to fuse the bias and activation into the product's write-out.
     *
     * @param weight {@code [out, in]}, {@code out * in} elements
     * @param bias {@code [out]}, or null for none
     * @param activation {@code f}
     * @param out rows of the weight, the columns of y
     * @param in columns of the weight, the columns of x
     * @param <T> element type
     * @return the prepared computation, which the caller closes before this backend
     * @throws IllegalArgumentException naming the argument, for wrong sizes, types or owner
     */
    default <T extends Number> PreparedLinear<T> prepareLinear(Tensor<T> weight, Tensor<T> bias,
                                                               Activation activation, int out,
                                                               int in) {
        Checks.linearArguments(weight, bias, activation, out, in);
        return new GemmLinear<>(this, weight, bias, activation, out, in);
    }

    /**
     * {@code y = alpha * x + beta * y}, elementwise.
     *
     * @param alpha scale of x
     * @param x input
     * @param beta scale of the old y
     * @param y output, same size as x
     * @param <T> element type
     */
    <T extends Number> void axpby(double alpha, Tensor<T> x, double beta, Tensor<T> y);

    /**
     * Adds a bias row to every row: {@code y[r, c] += bias[c]}, with {@code cols = bias.size()}.
     *
     * @param y matrix, size a multiple of {@code bias.size()}
     * @param bias the bias
     * @param <T> element type
     */
    <T extends Number> void addBias(Tensor<T> y, Tensor<T> bias);

    /**
     * Column sums (the bias gradient): {@code dst[c] = sum_r src[r, c] + beta * dst[c]}, with
     * {@code cols = dst.size()}.
     *
     * @param src matrix, size a multiple of {@code dst.size()}
     * @param beta scale of the old dst
     * @param dst the sums
     * @param <T> element type
     */
    <T extends Number> void columnSums(Tensor<T> src, double beta, Tensor<T> dst);

    // ---------------------------------------------------------------- activations

    /**
     * {@code out = f(pre)} elementwise, with {@code f} as defined by {@link Activation#apply}.
     *
     * @param activation the function
     * @param pre input
     * @param out output, same size; may be {@code pre}
     * @param <T> element type
     */
    <T extends Number> void activate(Activation activation, Tensor<T> pre, Tensor<T> out);

    /**
     * {@code dPre = dOut * f'(pre)} elementwise, with {@code f'} as defined by
     * {@link Activation#derivative}.
     *
     * @param activation the function
     * @param pre the activation's input
     * @param out the activation's output {@code f(pre)} (backends may use it for tanh, sigmoid)
     * @param dOut gradient with respect to the output
     * @param dPre gradient with respect to the input, written; may be {@code dOut}
     * @param <T> element type
     */
    <T extends Number> void activationBackward(Activation activation, Tensor<T> pre,
                                               Tensor<T> out, Tensor<T> dOut, Tensor<T> dPre);

    // ---------------------------------------------------------------- masks

    /**
     * Fills a mask with the bits {@link dev.loradrop.api.MaskStream} defines, bit for bit.
     *
     * @param mask the mask; all its {@code size()} bits are written
     * @param seed 64-bit seed
     * @param stream stream number
     * @param step training call number
     * @param dropoutRate p in {@code [0, 1)}
     */
    void generateMask(BitMask mask, long seed, int stream, int step, double dropoutRate);

    /**
     * The fused masked scale-add: {@code dst[r, c] = scale * m(r, c) * src[r, c] + beta *
     * dst[r, c]}, where {@code m} is 1 for a kept element and 0 for a dropped one. With
     * {@code broadcastRows} the mask has one bit per column ({@code cols = mask.size()}) shared by
     * every row; otherwise it has one bit per element ({@code mask.size() == src.size()}). A
     * {@code null} mask keeps everything.
     *
     * @param src input
     * @param mask the keep-mask, or null
     * @param broadcastRows whether one mask row is shared by all rows
     * @param scale factor for kept elements
     * @param beta scale of the old dst
     * @param dst output, same size as src; may be src when {@code beta == 0}
     * @param <T> element type
     */
    <T extends Number> void maskedScaleAdd(Tensor<T> src, BitMask mask, boolean broadcastRows,
                                           double scale, double beta, Tensor<T> dst);

    // ---------------------------------------------------------------- reductions

    /**
     * @param t the tensor
     * @return the sum of all elements, accumulated in double precision
     */
    double sum(Tensor<?> t);

    /**
     * @param t the tensor
     * @return whether no element is NaN or infinite
     */
    boolean allFinite(Tensor<?> t);

    // ---------------------------------------------------------------- losses

    /**
     * Mean squared error {@code sum((pred - target)^2) / N} and, if {@code grad} is not null, its
     * gradient {@code 2 (pred - target) / N}.
     *
     * @param pred predictions
     * @param target targets, same size
     * @param grad gradient output, same size, or null
     * @param <T> element type
     * @return the loss
     */
    <T extends Number> double meanSquaredError(Tensor<T> pred, Tensor<T> target, Tensor<T> grad);

    /**
     * Softmax cross-entropy averaged over rows: with {@code s = softmax(logits[r])} and
     * {@code t = target[r]} (class probabilities, typically one-hot), the loss is
     * {@code -(1/rows) sum_r sum_c t[c] log s[c]} and, if {@code grad} is not null, the gradient is
     * {@code grad[r, c] = (s[c] * sum(t) - t[c]) / rows}. Computed stably (max subtracted).
     *
     * @param classes columns per row
     * @param logits scores, {@code rows x classes}
     * @param target class probabilities, same size
     * @param grad gradient output, same size, or null
     * @param <T> element type
     * @return the loss
     */
    <T extends Number> double softmaxCrossEntropy(int classes, Tensor<T> logits, Tensor<T> target,
                                                  Tensor<T> grad);

    // ---------------------------------------------------------------- optimisers

    /**
     * One SGD step as PyTorch defines it (no dampening, no Nesterov): {@code g = grad + weightDecay
     * * param}; with a velocity {@code v = momentum * v + g, param -= lr * v}; without,
     * {@code param -= lr * g}.
     *
     * @param param parameters, updated
     * @param grad gradients, same size
     * @param velocity momentum buffer, same size, updated by the formula whenever it is given (with
     *     momentum 0 it ends up holding {@code g}); may be null only when momentum is 0, otherwise
     *     a {@link NullPointerException} naming {@code velocity}
     * @param learningRate lr
     * @param momentum momentum factor
     * @param weightDecay L2 factor
     * @param <T> element type
     */
    <T extends Number> void sgdStep(Tensor<T> param, Tensor<T> grad, Tensor<T> velocity,
                                    double learningRate, double momentum, double weightDecay);

    /**
     * One Adam or AdamW step as PyTorch defines them. With {@code decoupledWeightDecay} (AdamW):
     * {@code param *= 1 - lr * weightDecay}, {@code g = grad}; otherwise {@code g = grad +
     * weightDecay * param}. Then {@code m = beta1 m + (1 - beta1) g}, {@code v = beta2 v + (1 -
     * beta2) g^2}, {@code param -= lr * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) +
     * epsilon)}.
     *
     * @param param parameters, updated
     * @param grad gradients
     * @param m first-moment buffer, updated
     * @param v second-moment buffer, updated
     * @param learningRate lr
     * @param beta1 first-moment decay
     * @param beta2 second-moment decay
     * @param epsilon denominator guard
     * @param weightDecay decay factor
     * @param decoupledWeightDecay AdamW when true
     * @param step the 1-based step number, for bias correction; below 1 is an
     *     {@link IllegalArgumentException}
     * @param <T> element type
     */
    <T extends Number> void adamStep(Tensor<T> param, Tensor<T> grad, Tensor<T> m, Tensor<T> v,
                                     double learningRate, double beta1, double beta2,
                                     double epsilon, double weightDecay,
                                     boolean decoupledWeightDecay, int step);
}
