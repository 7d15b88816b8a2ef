package dev.loradrop.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The child JVM of {@link JitProfilesTest}: runs vector code at shapes other than the vector
 * path's (as an application's own Vector API code might, or Adam's half-width floats), then the
 * vector GEMM until a call allocates nothing. Exits 0 then, 1 if none does within the time limit
 * (the vectors stayed boxed), printing the bytes a call allocated.
 */
public final class OtherShapesFirst {

    private static final long LIMIT_NANOS = 120_000_000_000L;

    private OtherShapesFirst() {
    }

    public static void main(String[] args) {
        VectorShape preferred = VectorShape.preferredShape();
        for (VectorShape shape : VectorShape.values()) {
            if (shape != preferred && shape != VectorShape.S_Max_BIT
                    && shape.vectorBitSize() <= preferred.vectorBitSize()) {
                otherShape(FloatVector.SPECIES_64.withShape(shape), DoubleVector.SPECIES_64
                        .withShape(shape));
            }
        }
        float[] p = new float[1024];
        float[] g = new float[1024];
        float[] m = new float[1024];
        float[] v = new float[1024];
        java.util.Arrays.fill(g, 1e-3f);
        Kernels kernels = new VectorKernels();
        for (int step = 1; step <= 20_000; step++) {
            kernels.adamStep(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, false, step);
        }
        System.exit(gemm() ? 0 : 1);
    }

    /** Fused multiply-adds, sums and stores at one shape, until C2 has profiled them. */
    @SuppressWarnings("unchecked")
    private static void otherShape(VectorSpecies<?> floats, VectorSpecies<?> doubles) {
        VectorSpecies<Float> fs = (VectorSpecies<Float>) floats;
        VectorSpecies<Double> ds = (VectorSpecies<Double>) doubles;
        float[] f = new float[fs.length()];
        double[] d = new double[ds.length()];
        for (int i = 0; i < 50_000; i++) {
            FloatVector x = FloatVector.fromArray(fs, f, 0);
            x.fma(x, x).add(x).mul(0.5f).intoArray(f, 0);
            DoubleVector y = DoubleVector.fromArray(ds, d, 0);
            y.fma(y, y).add(y).mul(0.5).intoArray(d, 0);
        }
    }

    /** @return whether a float and a double GEMM call came to allocate nothing */
    private static boolean gemm() {
        int m = 48;
        int n = 64;
        int k = 256;
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        double[] ad = new double[m * k];
        double[] bd = new double[k * n];
        double[] cd = new double[m * n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextDouble();
            ad[i] = a[i];
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) r.nextDouble();
            bd[i] = b[i];
        }
        long start = System.nanoTime();
        long perCall = Long.MAX_VALUE;
        try (GemmEngine engine = new GemmEngine(1, new VectorTileKernel())) {
            while (System.nanoTime() - start < LIMIT_NANOS) {
                long before = Fixtures.allocatedBytes();
                for (int i = 0; i < 100; i++) {
                    engine.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
                    engine.gemm(false, false, m, n, k, 1.0, ad, bd, 0.0, cd);
                }
                perCall = (Fixtures.allocatedBytes() - before) / 200;
                if (perCall < 64) {
                    System.out.println("a call allocated " + perCall + " bytes");
                    return true;
                }
            }
        }
        System.out.println("a call still allocated " + perCall + " bytes after "
                + LIMIT_NANOS / 1_000_000_000L + " s: the GEMM's vectors are boxed");
        return false;
    }
}
