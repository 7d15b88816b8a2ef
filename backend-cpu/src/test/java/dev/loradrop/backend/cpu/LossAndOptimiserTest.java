package dev.loradrop.backend.cpu;

import static dev.loradrop.backend.cpu.Fixtures.assertClose;
import static dev.loradrop.backend.cpu.Fixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Losses and optimiser steps against float64 references written from the javadoc. */
@SuppressWarnings({"unchecked", "rawtypes"})
class LossAndOptimiserTest {

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void meanSquaredError(NumericType<?> type) {
        Random rnd = new Random(21);
        for (int n : new int[] {1, 2, 7, 64, 101}) {
            double[] p = random(rnd, n, type);
            double[] t = random(rnd, n, type);
            double loss = 0;
            double[] grad = new double[n];
            for (int i = 0; i < n; i++) {
                loss += (p[i] - t[i]) * (p[i] - t[i]);
                grad[i] = 2 * (p[i] - t[i]) / n;
            }
            loss /= n;
            try (Tensor tp = backend.upload(type, p, n); Tensor tt = backend.upload(type, t, n);
                 Tensor tg = backend.allocate(type, n)) {
                assertClose("mse", backend.meanSquaredError(tp, tt, null), loss, loss, 2,
                        NumericType.FLOAT64);
                assertClose("mse", backend.meanSquaredError(tp, tt, tg), loss, loss, 2,
                        NumericType.FLOAT64);
                assertClose("mse grad", tg.toDoubleArray(), grad, null, 2, type);
            }
        }
    }

    private static double softmaxCrossEntropy(int classes, double[] l, double[] t, double[] grad) {
        int rows = l.length / classes;
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            double sumT = 0;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, l[r * classes + c]);
                sumT += t[r * classes + c];
            }
            double z = 0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(l[r * classes + c] - max);
            }
            for (int c = 0; c < classes; c++) {
                double s = Math.exp(l[r * classes + c] - max) / z;
                loss -= t[r * classes + c] * Math.log(s);
                grad[r * classes + c] = (s * sumT - t[r * classes + c]) / rows;
            }
        }
        return loss / rows;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void softmaxCrossEntropyWithOneHotAndSoftTargets(NumericType<?> type) {
        Random rnd = new Random(22);
        for (int rows : new int[] {1, 2, 5}) {
            for (int classes : new int[] {1, 2, 3, 10}) {
                double[] l = random(rnd, rows * classes, type);
                double[] oneHot = new double[rows * classes];
                double[] soft = new double[rows * classes];
                for (int r = 0; r < rows; r++) {
                    oneHot[r * classes + rnd.nextInt(classes)] = 1;
                    for (int c = 0; c < classes; c++) {
                        soft[r * classes + c] = Fixtures.round(type, rnd.nextDouble() / classes);
                    }
                }
                for (double[] t : new double[][] {oneHot, soft}) {
                    double[] grad = new double[t.length];
                    double loss = softmaxCrossEntropy(classes, l, t, grad);
                    try (Tensor tl = backend.upload(type, l, rows, classes);
                         Tensor tt = backend.upload(type, t, rows, classes);
                         Tensor tg = backend.allocate(type, rows, classes)) {
                        assertClose("ce", backend.softmaxCrossEntropy(classes, tl, tt, tg), loss,
                                Math.abs(loss), classes + 2, type);
                        assertClose("ce grad", tg.toDoubleArray(), grad, null, classes + 2, type);
                        assertClose("ce no grad", backend.softmaxCrossEntropy(classes, tl, tt,
                                null), loss, Math.abs(loss), classes + 2, type);
                        // the gradient may overwrite the logits
                        backend.softmaxCrossEntropy(classes, tl, tt, tl);
                        assertClose("ce grad into logits", tl.toDoubleArray(), grad, null,
                                classes + 2, type);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void softmaxCrossEntropyIsStableForHugeLogits(NumericType<?> type) {
        try (Tensor l = backend.upload(type, new double[] {1000, 0, -1000, 3e4, 3e4 - 1, 3e4}, 2,
                3);
             Tensor t = backend.upload(type, new double[] {1, 0, 0, 0, 1, 0}, 2, 3);
             Tensor g = backend.allocate(type, 2, 3)) {
            double loss = backend.softmaxCrossEntropy(3, l, t, g);
            // row 0: loss ~ 0; row 1: -log(e^-1 / (2 + e^-1))
            double row1 = -Math.log(Math.exp(-1) / (2 + Math.exp(-1)));
            assertThat(loss).isCloseTo(row1 / 2, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(backend.allFinite(g)).isTrue();
        }
    }

    private static void sgdReference(double[] p, double[] g, double[] v, double lr, double mom,
                                     double wd) {
        for (int i = 0; i < p.length; i++) {
            double gi = g[i] + wd * p[i];
            if (v != null) {
                v[i] = mom * v[i] + gi;
                gi = v[i];
            }
            p[i] -= lr * gi;
        }
    }

    /** Scalars are rounded to the type first, as the SPI says a FLOAT32 kernel does. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void sgdStepWithAndWithoutMomentum(NumericType<?> type) {
        Random rnd = new Random(23);
        // lr, momentum, weight decay, whether a velocity is given
        for (double[] cfg : new double[][] {{0.1, 0, 0, 0}, {0.1, 0, 0.01, 0}, {0.05, 0.9, 0, 1},
                {0.05, 0.9, 0.1, 1}, {0.1, 0, 0, 1}}) {
            int n = 37;
            double[] p = random(rnd, n, type);
            double[] v = cfg[3] == 0 ? null : new double[n];
            try (Tensor tp = backend.upload(type, p, n);
                 Tensor tv = backend.allocate(type, n)) {
                for (int step = 0; step < 3; step++) {
                    double[] g = random(rnd, n, type);
                    sgdReference(p, g, v, Fixtures.round(type, cfg[0]),
                            Fixtures.round(type, cfg[1]), Fixtures.round(type, cfg[2]));
                    try (Tensor tg = backend.upload(type, g, n)) {
                        backend.sgdStep(tp, tg, v == null ? null : tv, cfg[0], cfg[1], cfg[2]);
                    }
                    assertClose("sgd param " + step, tp.toDoubleArray(), p, null, 8, type);
                    if (v != null) {
                        assertClose("sgd velocity " + step, tv.toDoubleArray(), v, null, 8, type);
                    }
                }
            }
        }
    }

    @Test
    void sgdWithMomentumNeedsAVelocity() {
        try (Tensor<Float> p = backend.upload(new float[] {1}, 1);
             Tensor<Float> g = backend.upload(new float[] {1}, 1)) {
            assertThatThrownBy(() -> backend.sgdStep(p, g, null, 0.1, 0.9, 0))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessageStartingWith("velocity");
            assertThat(p.toFloatArray()).containsExactly(1f);
        }
    }

    private static void adamReference(double[] p, double[] g, double[] m, double[] v, double lr,
                                      double b1, double b2, double eps, double wd,
                                      boolean decoupled, int step) {
        for (int i = 0; i < p.length; i++) {
            double gi = g[i];
            if (decoupled) {
                p[i] *= 1 - lr * wd;
            } else {
                gi += wd * p[i];
            }
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mHat = m[i] / (1 - Math.pow(b1, step));
            double vHat = v[i] / (1 - Math.pow(b2, step));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void adamAndAdamW(NumericType<?> type) {
        Random rnd = new Random(24);
        for (boolean decoupled : new boolean[] {false, true}) {
            for (double wd : new double[] {0, 0.01}) {
                int n = 29;
                double[] p = random(rnd, n, type);
                double[] m = new double[n];
                double[] v = new double[n];
                try (Tensor tp = backend.upload(type, p, n);
                     Tensor tm = backend.allocate(type, n);
                     Tensor tv = backend.allocate(type, n)) {
                    for (int step = 1; step <= 4; step++) {
                        double[] g = random(rnd, n, type);
                        adamReference(p, g, m, v, Fixtures.round(type, 1e-2),
                                Fixtures.round(type, 0.9), Fixtures.round(type, 0.999),
                                Fixtures.round(type, 1e-8), Fixtures.round(type, wd), decoupled,
                                step);
                        try (Tensor tg = backend.upload(type, g, n)) {
                            backend.adamStep(tp, tg, tm, tv, 1e-2, 0.9, 0.999, 1e-8, wd,
                                    decoupled, step);
                        }
                        String what = "adam decoupled=" + decoupled + " wd=" + wd + " step="
                                + step;
                        assertClose(what + " param", tp.toDoubleArray(), p, null, 8, type);
                        assertClose(what + " m", tm.toDoubleArray(), m, null, 8, type);
                        assertClose(what + " v", tv.toDoubleArray(), v, null, 8, type);
                    }
                }
            }
        }
    }

    @Test
    void adamRejectsStepZero() {
        try (Tensor<Double> p = backend.upload(new double[] {1}, 1);
             Tensor<Double> g = backend.upload(new double[] {1}, 1);
             Tensor<Double> m = backend.allocate(NumericType.FLOAT64, 1);
             Tensor<Double> v = backend.allocate(NumericType.FLOAT64, 1)) {
            assertThatThrownBy(() -> backend.adamStep(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0,
                    false, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("step: expected >= 1 (1-based), got 0");
            assertThat(p.toDoubleArray()).containsExactly(1.0);
        }
    }
}
