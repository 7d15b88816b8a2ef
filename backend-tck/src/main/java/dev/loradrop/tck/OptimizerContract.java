package dev.loradrop.tck;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Optimiser contract: several consecutive {@code sgdStep} (with and without velocity, momentum and
 * weight decay) and {@code adamStep} (Adam and AdamW, bias correction, non-default betas) calls,
 * each step compared with a float64 reference computed from the state the backend held before it,
 * so errors do not accumulate. With momentum 0 a given velocity buffer may be left untouched (as
 * PyTorch keeps none) or set to {@code g}. Parameter tolerance: {@code c * eps * 8 * (|param| + |update| *
 * (1 + 1 / (1 - beta1^t) + 1 / (1 - beta2^t)))}; buffers {@code c * eps * 4 * (|beta m| + |g|)} (and {@code |beta v| + g^2}), which allows
 * {@code 1 - beta} to be formed from the float-rounded or the double scalar.
 */
public abstract class OptimizerContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected OptimizerContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    private static final int STEPS = 5;

    @Test
    @DisplayName("sgdStep: plain, momentum, weight decay, velocity with momentum 0; several steps")
    void sgdStep() {
        double[][] cases = {
            // lr, momentum, weightDecay, withVelocity
            {0.1, 0, 0, 0}, {0.05, 0.9, 0, 1}, {0.05, 0.9, 0.01, 1}, {0.1, 0, 0.1, 0}, {0.1, 0, 0, 1},
            {0.3, 0.5, 0.2, 1},
        };
        for (NumericType<?> type : TYPES) {
            for (int n : new int[] {1, 13, 257}) {
                for (double[] c : cases) {
                    sgdCase(type, n, c[0], c[1], c[2], c[3] != 0);
                }
            }
        }
    }

    private <T extends Number> void sgdCase(NumericType<T> type, int n, double lr, double momentum,
                                            double wd, boolean withVelocity) {
        Tensor<T> param = tensor(type, random(n, n, -1, 1), n);
        Tensor<T> grad = zeros(type, n);
        Tensor<T> vel = withVelocity ? zeros(type, n) : null;
        double l = round(type, lr);
        double mo = round(type, momentum);
        double w = round(type, wd);
        for (int step = 1; step <= STEPS; step++) {
            double[] g = round(type, random(n * 10L + step, n, -1, 1));
            backend().write(grad, 0, g, 0, n);
            double[] p = param.toDoubleArray();
            double[] v = withVelocity ? vel.toDoubleArray() : null;
            backend().sgdStep(param, grad, vel, lr, momentum, wd);
            double[] pExp = new double[n];
            double[] pScale = new double[n];
            double[] vExp = new double[n];
            double[] vScale = new double[n];
            for (int i = 0; i < n; i++) {
                double gi = g[i] + w * p[i];
                double gAbs = Math.abs(g[i]) + Math.abs(w * p[i]);
                double upd = gi;
                double updAbs = gAbs;
                if (withVelocity) {
                    upd = mo * v[i] + gi;
                    updAbs = Math.abs(mo * v[i]) + gAbs;
                    vExp[i] = upd;
                    vScale[i] = updAbs;
                }
                pExp[i] = p[i] - l * upd;
                pScale[i] = Math.abs(p[i]) + Math.abs(l) * updAbs;
            }
            String what = "sgdStep(" + type + " param[" + n + "], lr=" + lr + ", momentum=" + momentum
                    + ", weightDecay=" + wd + ", velocity=" + (withVelocity ? "given" : "null")
                    + ") step " + step;
            assertClose(what + ": param", type, param.toDoubleArray(), pExp, pScale, 6, 0);
            if (withVelocity && momentum != 0) {
                assertClose(what + ": velocity", type, vel.toDoubleArray(), vExp, vScale, 4, 0);
            } else if (withVelocity) {
                // momentum 0: PyTorch keeps no buffer, the javadoc's formula gives v = g; accept both
                double[] actual = vel.toDoubleArray();
                if (!Arrays.equals(actual, v)) {
                    assertClose(what + ": velocity (neither untouched nor v = g)", type, actual, vExp,
                            vScale, 4, 0);
                }
            }
            assertExactly(what + " must not change grad", grad.toDoubleArray(), g);
        }
    }

    @Test
    @DisplayName("adamStep: Adam and AdamW, with weight decay and bias correction; several steps")
    void adamStep() {
        double[][] cases = {
            // lr, beta1, beta2, epsilon, weightDecay, decoupled
            {1e-3, 0.9, 0.999, 1e-8, 0, 0}, {1e-3, 0.9, 0.999, 1e-8, 0.01, 0},
            {1e-3, 0.9, 0.999, 1e-8, 0.01, 1}, {0.1, 0.5, 0.7, 1e-3, 0.1, 1},
            {0.05, 0.8, 0.9, 1e-6, 0.05, 0},
        };
        for (NumericType<?> type : TYPES) {
            for (int n : new int[] {1, 13, 257}) {
                for (double[] c : cases) {
                    adamCase(type, n, c[0], c[1], c[2], c[3], c[4], c[5] != 0);
                }
            }
        }
    }

    private <T extends Number> void adamCase(NumericType<T> type, int n, double lr, double beta1,
                                             double beta2, double epsilon, double wd,
                                             boolean decoupled) {
        Tensor<T> param = tensor(type, random(n + 3, n, -1, 1), n);
        Tensor<T> grad = zeros(type, n);
        Tensor<T> mT = zeros(type, n);
        Tensor<T> vT = zeros(type, n);
        double l = round(type, lr);
        double b1 = round(type, beta1);
        double b2 = round(type, beta2);
        double e = round(type, epsilon);
        double w = round(type, wd);
        for (int step = 1; step <= STEPS; step++) {
            double[] g0 = round(type, random(n * 31L + step, n, -1, 1));
            if (n > 1) {
                g0[0] = 0; // a zero gradient must not produce NaN
            }
            backend().write(grad, 0, g0, 0, n);
            double[] p = param.toDoubleArray();
            double[] m = mT.toDoubleArray();
            double[] v = vT.toDoubleArray();
            backend().adamStep(param, grad, mT, vT, lr, beta1, beta2, epsilon, wd, decoupled, step);
            double c1 = 1 - Math.pow(b1, step);
            double c2 = 1 - Math.pow(b2, step);
            double[] pExp = new double[n];
            double[] pScale = new double[n];
            double[] mExp = new double[n];
            double[] mScale = new double[n];
            double[] vExp = new double[n];
            double[] vScale = new double[n];
            for (int i = 0; i < n; i++) {
                double pi = decoupled ? p[i] * (1 - l * w) : p[i];
                double g = decoupled ? g0[i] : g0[i] + w * p[i];
                double gAbs = Math.abs(g0[i]) + (decoupled ? 0 : Math.abs(w * p[i]));
                mExp[i] = b1 * m[i] + (1 - b1) * g;
                // |g| rather than (1 - beta1) |g|: 1 - beta may be formed from the rounded or the
                // unrounded scalar (FLOAT32 kernels may compute in higher precision), which changes
                // it by up to eps * beta
                mScale[i] = Math.abs(b1 * m[i]) + gAbs;
                vExp[i] = b2 * v[i] + (1 - b2) * g * g;
                vScale[i] = Math.abs(b2 * v[i]) + gAbs * gAbs;
                double update = l * (mExp[i] / c1) / (Math.sqrt(vExp[i] / c2) + e);
                pExp[i] = pi - update;
                pScale[i] = Math.abs(p[i]) + Math.abs(update) * (1 + 1 / c1 + 1 / c2)
                        + Math.abs(l * w * p[i]);
            }
            String what = (decoupled ? "adamStep(AdamW, " : "adamStep(Adam, ") + type + " param[" + n
                    + "], lr=" + lr + ", beta1=" + beta1 + ", beta2=" + beta2 + ", epsilon="
                    + epsilon + ", weightDecay=" + wd + ", step=" + step + ")";
            assertClose(what + ": m", type, mT.toDoubleArray(), mExp, mScale, 4, 0);
            assertClose(what + ": v", type, vT.toDoubleArray(), vExp, vScale, 4, 0);
            assertClose(what + ": param", type, param.toDoubleArray(), pExp, pScale, 8, 0);
            assertExactly(what + " must not change grad", grad.toDoubleArray(), g0);
        }
    }
}
