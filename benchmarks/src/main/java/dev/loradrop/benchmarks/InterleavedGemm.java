package dev.loradrop.benchmarks;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Square GEMM on the loradrop CPU backend and on raw ND4J, one call of each in turn in one
 * process, so that both see the same machine from moment to moment; each call after a pause, so
 * that neither library's idle threads still spin into the other's call. On a shared machine whose
 * speed drifts over tens of seconds, this compares the two more fairly than JMH, which measures
 * one after the other. Not a JMH benchmark: no forks, no blackholes; the work is a 2 n^3 GEMM per
 * call, which nothing can eliminate.
 */
@Command(name = "bench-interleaved", mixinStandardHelpOptions = true,
        description = "Alternates loradrop CPU and raw ND4J GEMM calls and prints the ratio.")
public final class InterleavedGemm implements Callable<Integer> {

    @Option(names = "--size", defaultValue = "2048",
            description = "n: the matrices are n x n (default ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--type", defaultValue = "float",
            description = "float or double (default ${DEFAULT-VALUE})")
    String type;

    @Option(names = "--calls", defaultValue = "30",
            description = "calls of each, the first fifth not counted (default ${DEFAULT-VALUE})")
    int calls;

    @Option(names = "--threads", defaultValue = "2", description = "CPU backend threads; "
            + "OMP_NUM_THREADS sets ND4J's (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--pause-ms", defaultValue = "300", description = "pause before each call, so "
            + "that the other library's idle threads are asleep: OpenBLAS's worker spins for about "
            + "100 ms after a call, a whole core busy (default ${DEFAULT-VALUE})")
    long pauseMs;

    /** @param args see {@code --help} */
    public static void main(String[] args) {
        System.exit(new CommandLine(new InterleavedGemm()).execute(args));
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Integer call() {
        require(size >= 1, "--size: expected at least 1, got " + size);
        require(calls >= 5, "--calls: expected at least 5, got " + calls);
        require(threads >= 1, "--threads: expected at least 1, got " + threads);
        require(pauseMs >= 0, "--pause-ms: expected at least 0, got " + pauseMs);
        require(type.equals("float") || type.equals("double"),
                "--type: expected float or double, got " + type);
        NumericType<?> t = type.equals("float") ? NumericType.FLOAT32 : NumericType.FLOAT64;
        DataType dt = type.equals("float") ? DataType.FLOAT : DataType.DOUBLE;
        double[] av = Inputs.uniform(size * size, 1);
        double[] bv = Inputs.uniform(size * size, 2);
        double[] cpu = new double[calls];
        double[] nd4j = new double[calls];
        try (ComputeBackend backend = BackendRegistry.discover().create("cpu",
                BackendConfig.defaults().withThreads(threads))) {
            Tensor a = backend.upload(t, av, size, size);
            Tensor b = backend.upload(t, bv, size, size);
            Tensor c = backend.allocate(t, size, size);
            INDArray na = Nd4j.create(av, new long[] {size, size}, 'c').castTo(dt);
            INDArray nb = Nd4j.create(bv, new long[] {size, size}, 'c').castTo(dt);
            INDArray nc = Nd4j.create(dt, new long[] {size, size}, 'f');
            for (int i = 0; i < calls; i++) {
                pause();
                long s = System.nanoTime();
                backend.gemm(false, false, size, size, size, 1.0, a, b, 0.0, c);
                cpu[i] = (System.nanoTime() - s) / 1e6;
                pause();
                s = System.nanoTime();
                Nd4j.gemm(na, nb, nc, false, false, 1.0, 0.0);
                nd4j[i] = (System.nanoTime() - s) / 1e6;
                System.out.printf("call %3d: cpu %7.1f ms, nd4j %7.1f ms%n", i + 1, cpu[i], nd4j[i]);
            }
        }
        int from = calls / 5;
        double cpuMean = mean(cpu, from);
        double nd4jMean = mean(nd4j, from);
        double gflop = 2.0 * size * size * (double) size / 1e9;
        System.out.printf("%s gemm %d^3, calls %d..%d: cpu mean %.1f ms (%.1f GFLOP/s), median %.1f;"
                        + " nd4j mean %.1f ms (%.1f GFLOP/s), median %.1f%n", type, size, from + 1, calls,
                cpuMean, gflop / cpuMean * 1e3, median(cpu, from), nd4jMean,
                gflop / nd4jMean * 1e3, median(nd4j, from));
        System.out.printf("cpu / nd4j throughput: %.2f%n", nd4jMean / cpuMean);
        return 0;
    }

    private void pause() {
        try {
            Thread.sleep(pauseMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new CommandLine.ParameterException(new CommandLine(this), message);
        }
    }

    private static double mean(double[] v, int from) {
        return Arrays.stream(v, from, v.length).average().orElseThrow();
    }

    private static double median(double[] v, int from) {
        double[] s = Arrays.copyOfRange(v, from, v.length);
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
