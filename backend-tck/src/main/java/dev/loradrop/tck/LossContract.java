package dev.loradrop.tck;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Loss contract against float64 references: mean squared error and softmax cross-entropy, each
 * with and without a gradient (the loss must be the same either way); one-hot, soft and unnormalised
 * targets; logits around 1000 and -1000 must not overflow.
 *
 * <p>Tolerances: MSE loss {@code c * eps * (N + 4) * loss}, gradient {@code c * eps * 4 * |grad|};
 * cross-entropy loss {@code c * eps * (classes + 8) * (mean_r sum_c |t| (|z - max| + log S) + 1)},
 * gradient {@code c * eps * (classes + 8) * (sum |t_r| + 1) / rows}.
 */
public abstract class LossContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected LossContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    @Test
    @DisplayName("meanSquaredError: loss and gradient 2 (pred - target) / N, with and without grad")
    void meanSquaredError() {
        for (NumericType<?> type : TYPES) {
            for (int n : new int[] {1, 3, 7, 100, 257, 4098}) {
                mseCase(type, n);
            }
        }
    }

    private <T extends Number> void mseCase(NumericType<T> type, int n) {
        double[] pred = round(type, random(n, n, -3, 3));
        double[] target = round(type, random(n + 1, n, -3, 3));
        Tensor<T> tp = tensor(type, pred, n);
        Tensor<T> tt = tensor(type, target, n);
        Tensor<T> grad = tensor(type, filled(n, Double.NaN), n);
        double loss = 0;
        double[] g = new double[n];
        double[] gScale = new double[n];
        for (int i = 0; i < n; i++) {
            double d = pred[i] - target[i];
            loss += d * d;
            g[i] = 2 * d / n;
            gScale[i] = Math.abs(g[i]);
        }
        loss /= n;
        String what = "meanSquaredError(" + type + " pred[" + n + "], target";
        double without = backend().meanSquaredError(tp, tt, null);
        assertClose(what + ", grad = null)", type, without, loss, loss, n + 4);
        double with = backend().meanSquaredError(tp, tt, grad);
        assertClose(what + ", grad)", type, with, loss, loss, n + 4);
        assertClose(what + ", grad): the gradient", type, grad.toDoubleArray(), g, gScale, 4, 0);
        assertExactly("meanSquaredError must not change pred", tp.toDoubleArray(), pred);
        assertExactly("meanSquaredError must not change target", tt.toDoubleArray(), target);
    }

    @Test
    @DisplayName("softmaxCrossEntropy: one-hot, soft and unnormalised targets, with and without grad")
    void softmaxCrossEntropy() {
        for (NumericType<?> type : TYPES) {
            for (int rows : new int[] {1, 3, 13}) {
                for (int classes : new int[] {1, 2, 7, 100}) {
                    for (String targets : new String[] {"one-hot", "soft", "unnormalised"}) {
                        double[] logits = random(rows * 100L + classes, rows * classes, -5, 5);
                        sceCase(type, rows, classes, logits, targets(targets, rows, classes),
                                targets + " targets, logits in [-5, 5)");
                    }
                }
            }
        }
    }

    @Test
    @DisplayName("softmaxCrossEntropy: large logits (1000, -1000) do not overflow")
    void softmaxCrossEntropyLargeLogits() {
        for (NumericType<?> type : TYPES) {
            int rows = 4;
            int classes = 3;
            double[] logits = {1000, -1000, 0, 1000, 1000, 1000, -1000, -999, -1000, 1005, 1000,
                998};
            for (String targets : new String[] {"one-hot", "soft"}) {
                sceCase(type, rows, classes, logits, targets(targets, rows, classes),
                        targets + " targets, logits around +-1000");
            }
            double[] wide = random(7, 5 * 50, 990, 1010);
            sceCase(type, 5, 50, wide, targets("soft", 5, 50), "soft targets, logits in [990, 1010)");
        }
    }

    private static double[] targets(String kind, int rows, int classes) {
        SplittableRandom r = new SplittableRandom(rows * 7919L + classes);
        double[] t = new double[rows * classes];
        for (int row = 0; row < rows; row++) {
            if (kind.equals("one-hot")) {
                t[row * classes + r.nextInt(classes)] = 1;
            } else {
                double s = 0;
                for (int c = 0; c < classes; c++) {
                    t[row * classes + c] = r.nextDouble();
                    s += t[row * classes + c];
                }
                double norm = kind.equals("soft") ? s : s / 0.7;
                for (int c = 0; c < classes; c++) {
                    t[row * classes + c] /= norm;
                }
            }
        }
        return t;
    }

    private <T extends Number> void sceCase(NumericType<T> type, int rows, int classes,
                                            double[] logitsIn, double[] targetIn, String kind) {
        double[] z = round(type, logitsIn);
        double[] t = round(type, targetIn);
        double loss = 0;
        double lossScale = 0;
        double[] g = new double[rows * classes];
        double[] gScale = new double[rows * classes];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, z[r * classes + c]);
            }
            double s = 0;
            double sumT = 0;
            double sumAbsT = 0;
            for (int c = 0; c < classes; c++) {
                s += Math.exp(z[r * classes + c] - max);
                sumT += t[r * classes + c];
                sumAbsT += Math.abs(t[r * classes + c]);
            }
            double logS = Math.log(s);
            for (int c = 0; c < classes; c++) {
                int i = r * classes + c;
                double logSoft = z[i] - max - logS;
                loss -= t[i] * logSoft;
                lossScale += Math.abs(t[i]) * (Math.abs(z[i] - max) + logS);
                g[i] = (Math.exp(logSoft) * sumT - t[i]) / rows;
            }
            for (int c = 0; c < classes; c++) {
                gScale[r * classes + c] = (sumAbsT + 1) / rows;
            }
        }
        loss /= rows;
        lossScale = lossScale / rows + 1;
        Tensor<T> tz = tensor(type, z, rows, classes);
        Tensor<T> tt = tensor(type, t, rows, classes);
        Tensor<T> grad = tensor(type, filled(rows * classes, Double.NaN), rows, classes);
        String what = "softmaxCrossEntropy(classes=" + classes + ", " + type + " logits[" + rows
                + " x " + classes + "], " + kind;
        double terms = classes + 8;
        double without = backend().softmaxCrossEntropy(classes, tz, tt, null);
        assertClose(what + ", grad = null)", type, without, loss, lossScale, terms);
        double with = backend().softmaxCrossEntropy(classes, tz, tt, grad);
        assertClose(what + ", grad)", type, with, loss, lossScale, terms);
        assertClose(what + ", grad): the gradient", type, grad.toDoubleArray(), g, gScale, terms,
                classes);
        assertExactly("softmaxCrossEntropy must not change logits", tz.toDoubleArray(), z);
        assertExactly("softmaxCrossEntropy must not change target", tt.toDoubleArray(), t);
    }
}
