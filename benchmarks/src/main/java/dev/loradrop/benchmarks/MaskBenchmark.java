package dev.loradrop.benchmarks;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Mask generation alone, an ELEMENT mask of 64 x 4096 at p = 0.1: loradrop's bit-packed Philox
 * mask on the CPU backend ({@code via = cpu}) against ND4J's Bernoulli draw into a float array
 * ({@code via = nd4j}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MaskBenchmark {

    /** cpu or nd4j (named as in {@link GemmBenchmark#via}). */
    @Param({"cpu", "nd4j"})
    public String via;

    private static final int SIZE = 64 * 4096;
    private ComputeBackend backend;
    private BitMask mask;
    private INDArray dense;
    private int step;

    /** Allocates the mask. */
    @Setup(Level.Trial)
    public void setUp() {
        if (via.equals("cpu")) {
            backend = BackendRegistry.discover().create("cpu", BackendConfig.defaults());
            mask = backend.allocateMask(SIZE);
        } else {
            dense = Nd4j.create(DataType.FLOAT, 64, 4096);
        }
    }

    /** @return the mask */
    @Benchmark
    public Object generate() {
        if (backend != null) {
            backend.generateMask(mask, 42L, 0, step++, 0.1);
            return mask;
        }
        return Nd4j.getExecutioner().exec(new BernoulliDistribution(dense, 0.9));
    }

    /** Releases the backend. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) {
            mask.close();
            backend.close();
        }
    }
}
