/*
 * loradrop's OpenCL C kernels (everything but GEMM, which CLBlast does).
 *
 * Compiled once per context for each element type with
 *   -DREAL=float|double   the element type of tensors
 *   -DACC=float|double    the accumulation type (double whenever the device has cl_khr_fp64)
 *   -DHAS_FP64            when the device has cl_khr_fp64
 *   -DWG=n                the work-group size of the reductions (a power of two)
 * The formulas follow backend-cpu's ScalarKernels (the reference of the SPI), so both backends
 * round at the same places: FLOAT32 elementwise kernels compute in float; activations,
 * reductions, losses and optimiser steps compute in ACC and round once when they store.
 */
#ifdef HAS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* v + beta * old, or v when beta is 0 (old ignored, even NaN). */
#define MIX(v, beta, old) ((beta) == 0 ? (v) : (v) + (beta) * (old))

/* -------------------------------------------------------------------- elementwise */

__kernel void axpby(const int n, const REAL alpha, __global const REAL* x, const REAL beta,
                    __global REAL* y) {
    int i = get_global_id(0);
    if (i < n) {
        y[i] = MIX(alpha * x[i], beta, y[i]);
    }
}

/* c *= beta, where beta 0 clears (even NaN): GEMM with k = 0 or alpha = 0, and beta = 0. */
__kernel void scale(const int n, const REAL beta, __global REAL* c) {
    int i = get_global_id(0);
    if (i < n) {
        c[i] = beta == 0 ? (REAL) 0 : c[i] * beta;
    }
}

__kernel void add_bias(const int n, const int cols, __global REAL* y, __global const REAL* bias) {
    int i = get_global_id(0);
    if (i < n) {
        y[i] += bias[i % cols];
    }
}

__kernel void column_sums(const int rows, const int cols, __global const REAL* src,
                          const REAL beta, __global REAL* dst) {
    int c = get_global_id(0);
    if (c < cols) {
        ACC acc = 0;
        for (int r = 0; r < rows; r++) {
            acc += src[r * cols + c];
        }
        dst[c] = (REAL) MIX(acc, (ACC) beta, (ACC) dst[c]);
    }
}

/* -------------------------------------------------------------------- activations */

#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_TANH 2
#define ACT_SIGMOID 3
#define ACT_GELU 4

#define GELU_C ((ACC) 0.7978845608028654)
#define GELU_K ((ACC) 0.044715)

ACC act_apply(const int act, const ACC x) {
    switch (act) {
        case ACT_TANH: return tanh(x);
        case ACT_SIGMOID: return 1 / (1 + exp(-x));
        case ACT_GELU: return (ACC) 0.5 * x * (1 + tanh(GELU_C * (x + GELU_K * x * x * x)));
        default: return x;
    }
}

ACC act_derivative(const int act, const ACC x) {
    switch (act) {
        case ACT_TANH: {
            ACC t = tanh(x);
            return 1 - t * t;
        }
        case ACT_SIGMOID: {
            ACC s = 1 / (1 + exp(-x));
            return s * (1 - s);
        }
        case ACT_GELU: {
            ACC u = GELU_C * (x + GELU_K * x * x * x);
            ACC t = tanh(u);
            ACC du = GELU_C * (1 + 3 * GELU_K * x * x);
            return (ACC) 0.5 * (1 + t) + (ACC) 0.5 * x * (1 - t * t) * du;
        }
        default: return 1;
    }
}

__kernel void activate(const int n, const int act, __global const REAL* pre, __global REAL* out) {
    int i = get_global_id(0);
    if (i < n) {
        REAL x = pre[i];
        if (act == ACT_IDENTITY) {
            out[i] = x;
        } else if (act == ACT_RELU) {
            out[i] = x > 0 ? x : (REAL) 0;
        } else {
            out[i] = (REAL) act_apply(act, (ACC) x);
        }
    }
}

/* The derivative is taken from pre (the definition), as in backend-cpu. */
__kernel void activation_backward(const int n, const int act, __global const REAL* pre,
                                  __global const REAL* dOut, __global REAL* dPre) {
    int i = get_global_id(0);
    if (i < n) {
        REAL x = pre[i];
        REAL g = dOut[i];
        if (act == ACT_IDENTITY) {
            dPre[i] = g;
        } else if (act == ACT_RELU) {
            dPre[i] = g * (x > 0 ? (REAL) 1 : (REAL) 0);
        } else {
            dPre[i] = (REAL) ((ACC) g * act_derivative(act, (ACC) x));
        }
    }
}

/* -------------------------------------------------------------------- masks */

/* Philox4x32-10 (Salmon et al., SC'11), as dev.loradrop.api.Philox4x32. */
uint4 philox4x32_10(uint4 c, uint k0, uint k1) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint hi0 = mul_hi(0xD2511F53u, c.x);
        uint lo0 = 0xD2511F53u * c.x;
        uint hi1 = mul_hi(0xCD9E8D57u, c.z);
        uint lo1 = 0xCD9E8D57u * c.z;
        c = (uint4) (hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
    }
    return c;
}

/*
 * One 64-bit mask word per work item, as dev.loradrop.api.MaskStream#fillWords: element i uses
 * word i % 4 of the block at counter (i / 4, step, stream) and is kept iff that word is below
 * threshold (in (0, 2^32]). Bits past size are cleared.
 */
__kernel void generate_mask(const int words, const int size, const uint k0, const uint k1,
                            const uint step, const uint stream, const ulong threshold,
                            __global ulong* mask) {
    int w = get_global_id(0);
    if (w < words) {
        ulong bits = 0;
        long base = (long) w << 6;
        for (int b = 0; b < 16; b++) {
            ulong counter = ((ulong) base >> 2) + b;
            uint4 r = philox4x32_10((uint4) ((uint) counter, (uint) (counter >> 32), step, stream),
                                    k0, k1);
            uint out[4] = {r.x, r.y, r.z, r.w};
            for (int j = 0; j < 4; j++) {
                ulong keep = ((ulong) out[j] - threshold) >> 63;
                bits |= keep << (b * 4 + j);
            }
        }
        long valid = size - base;
        if (valid < 64) {
            bits &= valid <= 0 ? 0UL : (~0UL >> (64 - valid));
        }
        mask[w] = bits;
    }
}

/*
 * dst = scale * m * src + beta * dst; mode 0: no mask (keep all), 1: one bit per element,
 * 2: one bit per column shared by every row. A dropped element is multiplied by 0 (NaN stays NaN).
 */
__kernel void masked_scale_add(const int n, const int mode, const int cols,
                               __global const REAL* src, __global const ulong* mask,
                               const REAL scale, const REAL beta, __global REAL* dst) {
    int i = get_global_id(0);
    if (i < n) {
        REAL s = scale;
        if (mode != 0) {
            int bit = mode == 2 ? i % cols : i;
            s = ((mask[bit >> 6] >> (bit & 63)) & 1UL) != 0 ? scale : (REAL) 0;
        }
        dst[i] = MIX(s * src[i], beta, dst[i]);
    }
}

/* -------------------------------------------------------------------- reductions */

/*
 * Work-group tree reduction of one value per work item; item 0 writes the group's partial.
 * Launched with a fixed number of groups that depends only on n, so results are reproducible.
 */
#define REDUCE_TO_PARTIAL(value, scratch, partials)                                   \
    do {                                                                              \
        int lid = get_local_id(0);                                                    \
        scratch[lid] = (value);                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                 \
        for (int stride = WG / 2; stride > 0; stride >>= 1) {                            \
            if (lid < stride) {                                                       \
                scratch[lid] += scratch[lid + stride];                                \
            }                                                                         \
            barrier(CLK_LOCAL_MEM_FENCE);                                             \
        }                                                                             \
        if (lid == 0) {                                                               \
            partials[get_group_id(0)] = scratch[0];                                   \
        }                                                                             \
    } while (0)

#ifdef HAS_FP64
/*
 * Partial sums of x in double (the SPI requires double accumulation for sum). The grid-stride
 * loops here count in long: in int, i + the global size wraps negative for n near 2^31.
 */
__kernel void sum_partials(const int n, __global const REAL* x, __global double* partials) {
    __local double scratch[WG];
    double acc = 0;
    for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
        acc += x[i];
    }
    REDUCE_TO_PARTIAL(acc, scratch, partials);
}
#endif

/* Partial sums of an ACC vector (per-row losses). */
__kernel void acc_partials(const int n, __global const ACC* x, __global ACC* partials) {
    __local ACC scratch[WG];
    ACC acc = 0;
    for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
        acc += x[i];
    }
    REDUCE_TO_PARTIAL(acc, scratch, partials);
}

/* flag[0] = 1 if some element is NaN or infinite (flag cleared by the host first). */
__kernel void all_finite(const int n, __global const REAL* x, __global int* flag) {
    int i = get_global_id(0);
    if (i < n && !isfinite(x[i])) {
        flag[0] = 1;
    }
}

/* -------------------------------------------------------------------- losses */

/* Partial sums of (pred - target)^2; with hasGrad, grad = 2 (pred - target) / n. */
__kernel void mse(const int n, __global const REAL* pred, __global const REAL* target,
                  const int hasGrad, __global REAL* grad, __global ACC* partials) {
    __local ACC scratch[WG];
    ACC acc = 0;
    for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
        ACC d = (ACC) pred[i] - (ACC) target[i];
        acc += d * d;
        if (hasGrad) {
            grad[i] = (REAL) (2 * d / n);
        }
    }
    REDUCE_TO_PARTIAL(acc, scratch, partials);
}

/*
 * One row per work item: rowLoss[r] = -sum_c t log softmax(l)_c, and with hasGrad
 * grad = (softmax * sum(t) - t) / rows. Element c of grad is written after logits[c] and
 * target[c] of its row are last read, so grad may alias either.
 */
__kernel void softmax_ce(const int rows, const int classes, __global const REAL* logits,
                         __global const REAL* target, const int hasGrad, __global REAL* grad,
                         __global ACC* rowLoss) {
    int r = get_global_id(0);
    if (r < rows) {
        int off = r * classes;
        ACC mx = -INFINITY;
        ACC sumT = 0;
        for (int c = 0; c < classes; c++) {
            mx = fmax(mx, (ACC) logits[off + c]);
            sumT += target[off + c];
        }
        ACC z = 0;
        for (int c = 0; c < classes; c++) {
            z += exp((ACC) logits[off + c] - mx);
        }
        ACC logZ = log(z);
        ACC loss = 0;
        for (int c = 0; c < classes; c++) {
            ACC shifted = (ACC) logits[off + c] - mx;
            ACC t = target[off + c];
            if (t != 0) {
                loss -= t * (shifted - logZ);
            }
            if (hasGrad) {
                grad[off + c] = (REAL) ((exp(shifted) / z * sumT - t) / rows);
            }
        }
        rowLoss[r] = loss;
    }
}

/* -------------------------------------------------------------------- optimisers */

/* SGD as PyTorch defines it; the scalars arrive rounded to REAL, the update runs in ACC. */
__kernel void sgd_step(const int n, __global REAL* param, __global const REAL* grad,
                       const int hasVelocity, __global REAL* velocity, const ACC lr,
                       const ACC momentum, const ACC weightDecay) {
    int i = get_global_id(0);
    if (i < n) {
        ACC p = param[i];
        ACC g = weightDecay == 0 ? (ACC) grad[i] : (ACC) grad[i] + weightDecay * p;
        if (hasVelocity) {
            g = momentum * (ACC) velocity[i] + g;
            velocity[i] = (REAL) g;
        }
        param[i] = (REAL) (p - lr * g);
    }
}

/* Adam / AdamW; shrink = 1 - lr wd for AdamW (else 1), coupled = wd for Adam (else 0). */
__kernel void adam_step(const int n, __global REAL* param, __global const REAL* grad,
                        __global REAL* m, __global REAL* v, const ACC lr, const ACC beta1,
                        const ACC beta2, const ACC epsilon, const ACC shrink, const ACC coupled,
                        const ACC bc1, const ACC bc2) {
    int i = get_global_id(0);
    if (i < n) {
        ACC p = param[i];
        ACC g = coupled == 0 ? (ACC) grad[i] : (ACC) grad[i] + coupled * p;
        p *= shrink;
        ACC mi = beta1 * (ACC) m[i] + (1 - beta1) * g;
        ACC vi = beta2 * (ACC) v[i] + (1 - beta2) * g * g;
        m[i] = (REAL) mi;
        v[i] = (REAL) vi;
        param[i] = (REAL) (p - lr * (mi / bc1) / (sqrt(vi / bc2) + epsilon));
    }
}
