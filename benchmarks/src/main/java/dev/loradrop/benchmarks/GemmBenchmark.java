package dev.loradrop.benchmarks;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
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
 * Square GEMM {@code C = A B} on the loradrop CPU backend ({@code via = cpu}, 2 threads) and on
 * raw ND4J ({@code via = nd4j}: {@code Nd4j.gemm} into an F-order result, OpenBLAS with
 * {@code OMP_NUM_THREADS} threads), in one run. GFLOP/s = {@code 2 n^3} times the throughput.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class GemmBenchmark {

    /** n: the matrices are n x n. */
    @Param({"1024", "2048"})
    public int size;

    /** float (sgemm) or double (dgemm). */
    @Param({"float", "double"})
    public String type;

    /**
     * cpu: loradrop's pure-Java backend; nd4j: raw ND4J. Named to sort after the other parameters:
     * JMH runs the combinations in the order of the parameters' names, the first varying slowest,
     * so each cpu case is followed directly by its nd4j peer, and the two see the machine at
     * nearly the same time (this machine's speed drifts over minutes).
     */
    @Param({"cpu", "nd4j"})
    public String via;

    /** Worker threads of the CPU backend. */
    @Param({"2"})
    public int threads;

    private ComputeBackend backend;
    private Tensor<?> a;
    private Tensor<?> b;
    private Tensor<?> c;
    private INDArray na;
    private INDArray nb;
    private INDArray nc;

    /** Random operands. */
    @Setup(Level.Trial)
    public void setUp() {
        NumericType<?> t = type.equals("float") ? NumericType.FLOAT32 : NumericType.FLOAT64;
        double[] av = Inputs.uniform(size * size, 1);
        double[] bv = Inputs.uniform(size * size, 2);
        if (via.equals("cpu")) {
            backend = BackendRegistry.discover().create("cpu",
                    BackendConfig.defaults().withThreads(threads));
            a = backend.upload(t, av, size, size);
            b = backend.upload(t, bv, size, size);
            c = backend.allocate(t, size, size);
        } else {
            DataType dt = type.equals("float") ? DataType.FLOAT : DataType.DOUBLE;
            na = Nd4j.create(av, new long[] {size, size}, 'c').castTo(dt);
            nb = Nd4j.create(bv, new long[] {size, size}, 'c').castTo(dt);
            nc = Nd4j.create(dt, new long[] {size, size}, 'f');
        }
    }

    /** @return C, so the work is not eliminated */
    @Benchmark
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Object gemm() {
        if (backend != null) {
            backend.gemm(false, false, size, size, size, 1.0, (Tensor) a, (Tensor) b, 0.0,
                    (Tensor) c);
            return c;
        }
        return Nd4j.gemm(na, nb, nc, false, false, 1.0, 0.0);
    }

    /** Releases the backend. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }
}
