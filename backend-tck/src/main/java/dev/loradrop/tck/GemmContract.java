package dev.loradrop.tck;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * GEMM contract: {@code C = alpha op(A) op(B) + beta C} against a float64 reference for both types,
 * every transpose combination, awkward sizes (each of 0, 1, 3, 7, 8, 13, 31, 64, 100, 257 appears
 * in each of m, n and k) and alpha/beta variety, including {@code beta = 0} with a NaN-filled C
 * (which must be ignored) and {@code beta = 1}. Tolerance per element:
 * {@code c * eps * (k + 2) * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|)}. With {@code alpha = 0}
 * the javadoc says A and B are not read: A and B full of NaN and infinities must give exactly
 * {@code beta * C} (zeros for {@code beta = 0}, even where C held NaN or infinities).
 */
public abstract class GemmContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected GemmContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    /** {alpha, beta}; a beta of 0 is run with a NaN-filled C. */
    private static final double[][] ALPHA_BETA = {
        {1, 0}, {1, 1}, {-0.5, 2}, {2.5, 0}, {0.75, -1}, {1, 0.5}, {0, 1.5}, {-1, 0},
    };

    /** (m, n, k) triples: three rotations of the awkward sizes, so each appears in every slot. */
    static List<int[]> sizes() {
        List<int[]> triples = new ArrayList<>();
        int[] d = AWKWARD;
        int len = d.length;
        for (int[] shift : new int[][] {{1, 2}, {5, 8}, {3, 7}}) {
            for (int i = 0; i < len; i++) {
                triples.add(new int[] {d[i], d[(i + shift[0]) % len], d[(i + shift[1]) % len]});
            }
        }
        triples.add(new int[] {257, 100, 64});
        triples.add(new int[] {64, 257, 100});
        return triples;
    }

    /**
     * The float64 reference {@code alpha op(A) op(B) + beta C} (C ignored when beta is 0).
     *
     * @param transA A stored transposed
     * @param transB B stored transposed
     * @param m rows
     * @param n columns
     * @param k inner dimension
     * @param alpha alpha
     * @param a A
     * @param b B
     * @param beta beta
     * @param c C
     * @param scale receives {@code |alpha| sum |a b| + |beta c|} per element
     * @return the result
     */
    static double[] reference(boolean transA, boolean transB, int m, int n, int k, double alpha,
                              double[] a, double[] b, double beta, double[] c, double[] scale) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double abs = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? a[p * m + i] : a[i * k + p];
                    double y = transB ? b[j * k + p] : b[p * n + j];
                    s += x * y;
                    abs += Math.abs(x * y);
                }
                double old = beta == 0 ? 0 : beta * c[i * n + j];
                out[i * n + j] = alpha * s + old;
                scale[i * n + j] = Math.abs(alpha) * abs + Math.abs(old);
            }
        }
        return out;
    }

    @TestFactory
    @DisplayName("gemm matches the float64 reference for every transpose, awkward sizes, alpha/beta")
    Stream<DynamicTest> gemmMatchesReference() {
        List<DynamicTest> tests = new ArrayList<>();
        List<int[]> triples = sizes();
        int variant = 0;
        for (NumericType<?> type : TYPES) {
            for (int t = 0; t < triples.size(); t++) {
                int[] mnk = triples.get(t);
                for (int trans = 0; trans < 4; trans++) {
                    boolean ta = (trans & 1) != 0;
                    boolean tb = (trans & 2) != 0;
                    double[] ab = ALPHA_BETA[variant++ % ALPHA_BETA.length];
                    long seed = 1000L * t + trans;
                    tests.add(DynamicTest.dynamicTest(
                            describe(type, ta, tb, mnk[0], mnk[1], mnk[2], ab[0], ab[1]),
                            () -> gemmCase(type, ta, tb, mnk[0], mnk[1], mnk[2], ab[0], ab[1], seed)));
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    @DisplayName("gemm with beta = 0 ignores a NaN-filled C; k = 0 gives beta * C")
    Stream<DynamicTest> gemmBetaZeroAndEmptyInner() {
        List<DynamicTest> tests = new ArrayList<>();
        int[][] triples = {{7, 13, 31}, {1, 1, 1}, {8, 64, 3}, {13, 7, 0}, {3, 3, 0}, {0, 5, 4}};
        for (NumericType<?> type : TYPES) {
            for (int[] mnk : triples) {
                for (int trans = 0; trans < 4; trans++) {
                    boolean ta = (trans & 1) != 0;
                    boolean tb = (trans & 2) != 0;
                    for (double[] ab : new double[][] {{1, 0}, {-2, 0}, {1, 1}, {0.5, -3}}) {
                        tests.add(DynamicTest.dynamicTest(
                                describe(type, ta, tb, mnk[0], mnk[1], mnk[2], ab[0], ab[1]),
                                () -> gemmCase(type, ta, tb, mnk[0], mnk[1], mnk[2], ab[0], ab[1],
                                        77)));
                    }
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    @DisplayName("gemm with alpha = 0 does not read A and B: NaN and infinities in them give exactly"
            + " beta * C")
    Stream<DynamicTest> gemmAlphaZeroIgnoresAandB() {
        List<DynamicTest> tests = new ArrayList<>();
        int[][] triples = {{1, 1, 1}, {7, 13, 31}, {13, 7, 0}, {33, 65, 17}, {0, 5, 4}, {64, 100, 257}};
        for (NumericType<?> type : TYPES) {
            for (int[] mnk : triples) {
                for (int trans = 0; trans < 4; trans++) {
                    boolean ta = (trans & 1) != 0;
                    boolean tb = (trans & 2) != 0;
                    for (double beta : new double[] {0, 1, -0.375, 3}) {
                        for (double alpha : new double[] {0.0, -0.0}) {
                            tests.add(DynamicTest.dynamicTest(
                                    describeAlphaZero(type, ta, tb, mnk[0], mnk[1], mnk[2], alpha,
                                            beta),
                                    () -> gemmAlphaZeroCase(type, ta, tb, mnk[0], mnk[1], mnk[2],
                                            alpha, beta)));
                        }
                    }
                }
            }
        }
        return tests.stream();
    }

    private static String describeAlphaZero(NumericType<?> type, boolean ta, boolean tb, int m,
                                            int n, int k, double alpha, double beta) {
        return "gemm(transA=" + ta + ", transB=" + tb + ", m=" + m + ", n=" + n + ", k=" + k
                + ", alpha=" + alpha + ", beta=" + beta + ") with A and B full of NaN and"
                + " infinities" + (beta == 0 ? " and C full of NaN and infinities" : "") + " "
                + type;
    }

    /** NaN, +Inf, -Inf, NaN, ... */
    private static double[] nonFinite(int n, int phase) {
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = specials[(i + phase) % specials.length];
        }
        return x;
    }

    private <T extends Number> void gemmAlphaZeroCase(NumericType<T> type, boolean ta, boolean tb,
                                                      int m, int n, int k, double alpha,
                                                      double beta) {
        double[] a = nonFinite(m * k, 0);
        double[] b = nonFinite(k * n, 1);
        double[] c = beta == 0 ? nonFinite(m * n, 2) : round(type, random(m * 31L + n, m * n, -4, 4));
        Tensor<T> ta1 = tensor(type, a, ta ? k : m, ta ? m : k);
        Tensor<T> tb1 = tensor(type, b, tb ? n : k, tb ? k : n);
        Tensor<T> tc = tensor(type, c, m, n);
        backend().gemm(ta, tb, m, n, k, alpha, ta1, tb1, beta, tc);
        // beta * c rounded once to the type: the product of two floats is exact in double.
        double rb = round(type, beta);
        double[] expected = new double[m * n];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = beta == 0 ? 0 : round(type, rb * c[i]);
        }
        double[] actual = tc.toDoubleArray();
        String what = describeAlphaZero(type, ta, tb, m, n, k, alpha, beta);
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length,
                () -> what + ": result has " + actual.length + " elements");
        for (int i = 0; i < expected.length; i++) {
            // == so that the sign of a zero is free (0 * x + beta * c may give +0 for -0)
            if (!(actual[i] == expected[i])) {
                int at = i;
                org.junit.jupiter.api.Assertions.fail(what + ": element [" + at / n + ", " + at % n
                        + "] (flat " + at + ") is " + actual[at] + ", expected exactly "
                        + expected[at] + " (beta * C; with alpha = 0 A and B must not be read, so"
                        + " their NaN and infinities must not reach C)");
            }
        }
        assertExactly("gemm must not change A", ta1.toDoubleArray(), round(type, a));
        assertExactly("gemm must not change B", tb1.toDoubleArray(), round(type, b));
    }

    private static String describe(NumericType<?> type, boolean ta, boolean tb, int m, int n, int k,
                                   double alpha, double beta) {
        return "gemm(transA=" + ta + ", transB=" + tb + ", m=" + m + ", n=" + n + ", k=" + k
                + ", alpha=" + alpha + ", beta=" + beta + (beta == 0 ? " with NaN-filled C" : "")
                + ") " + type;
    }

    private <T extends Number> void gemmCase(NumericType<T> type, boolean ta, boolean tb, int m,
                                             int n, int k, double alpha, double beta, long seed) {
        double[] a = round(type, random(seed, m * k, -1, 1));
        double[] b = round(type, random(seed + 1, k * n, -1, 1));
        double[] c = beta == 0 ? filled(m * n, Double.NaN) : round(type, random(seed + 2, m * n, -1, 1));
        Tensor<T> ta1 = tensor(type, a, ta ? k : m, ta ? m : k);
        Tensor<T> tb1 = tensor(type, b, tb ? n : k, tb ? k : n);
        Tensor<T> tc = tensor(type, c, m, n);
        backend().gemm(ta, tb, m, n, k, alpha, ta1, tb1, beta, tc);
        double[] scale = new double[m * n];
        double[] expected = reference(ta, tb, m, n, k, round(type, alpha), a, b, round(type, beta), c,
                scale);
        assertClose(describe(type, ta, tb, m, n, k, alpha, beta), type, tc.toDoubleArray(), expected,
                scale, k + 2, n);
        assertExactly("gemm must not change A", ta1.toDoubleArray(), a);
        assertExactly("gemm must not change B", tb1.toDoubleArray(), b);
    }
}
