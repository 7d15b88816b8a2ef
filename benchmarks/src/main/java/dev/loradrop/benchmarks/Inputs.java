package dev.loradrop.benchmarks;

import java.util.SplittableRandom;

/** Seeded benchmark inputs. */
final class Inputs {

    private Inputs() {
    }

    /** @return n values uniform in [-1, 1) from the given seed */
    static double[] uniform(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble(-1, 1);
        }
        return v;
    }

    /** @return the values scaled by {@code scale} */
    static double[] scaled(double[] v, double scale) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * scale;
        }
        return out;
    }
}
