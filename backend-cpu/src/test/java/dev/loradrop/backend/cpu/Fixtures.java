package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.BackendConfig;
import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.stream.Stream;

/** Shared helpers of the tests: seeded data, the two types, and tolerant comparisons. */
final class Fixtures {

    private Fixtures() {
    }

    /**
     * @return the bytes the calling thread has allocated so far, from
     *     {@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes} (called reflectively:
     *     the module does not read jdk.management), or -1 where the JVM does not measure it. A
     *     call itself allocates a few dozen bytes.
     */
    static long allocatedBytes() {
        try {
            Object threads = ManagementFactory.getThreadMXBean();
            Class<?> type = Class.forName("com.sun.management.ThreadMXBean");
            if (!type.isInstance(threads) || !(Boolean) type
                    .getMethod("isThreadAllocatedMemoryEnabled").invoke(threads)) {
                return -1;
            }
            return (Long) type.getMethod("getThreadAllocatedBytes", long.class)
                    .invoke(threads, Thread.currentThread().getId());
        } catch (ReflectiveOperationException | UnsupportedOperationException e) {
            return -1;
        }
    }

    static CpuBackend newBackend() {
        return (CpuBackend) new CpuBackendProvider().create(BackendConfig.defaults());
    }

    static Stream<NumericType<?>> types() {
        return Stream.of(NumericType.FLOAT32, NumericType.FLOAT64);
    }

    /**
     * @return {@code n} values uniform in [-2, 2), already rounded to the type, so that a float64
     *     reference sees exactly what the backend stores
     */
    static double[] random(Random rnd, int n, NumericType<?> type) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = round(type, rnd.nextDouble() * 4 - 2);
        }
        return x;
    }

    static double round(NumericType<?> type, double v) {
        return type == NumericType.FLOAT32 ? (float) v : v;
    }

    /** The relative tolerance per unit of magnitude for computations of this type. */
    static double tolerance(NumericType<?> type) {
        return type == NumericType.FLOAT32 ? 2e-6 : 1e-14;
    }

    /**
     * Asserts {@code |got[i] - want[i]| <= tol * (terms) * max(1, magnitude[i])}.
     *
     * @param magnitude a bound of the sum of absolute terms that made want[i], or null for |want|
     * @param terms number of rounding steps involved
     */
    static void assertClose(String what, double[] got, double[] want, double[] magnitude,
                            int terms, NumericType<?> type) {
        assertThat(got).as(what + ": length").hasSize(want.length);
        double tol = tolerance(type) * Math.max(1, terms);
        for (int i = 0; i < want.length; i++) {
            double mag = magnitude == null ? Math.abs(want[i]) : magnitude[i];
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= tol * Math.max(1.0, mag)) && !(Double.isNaN(got[i])
                    && Double.isNaN(want[i])) && got[i] != want[i]) {
                throw new AssertionError(what + " [" + type + "] element " + i + ": expected "
                        + want[i] + ", got " + got[i] + " (error " + err + ", tolerance "
                        + tol * Math.max(1.0, mag) + ")");
            }
        }
    }

    static void assertClose(String what, double got, double want, double magnitude, int terms,
                            NumericType<?> type) {
        assertClose(what, new double[] {got}, new double[] {want}, new double[] {magnitude},
                terms, type);
    }
}
