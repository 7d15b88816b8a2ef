package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Concurrency contract: calls on distinct output tensors may run at once from many threads (the
 * SPI's promise that compiled inference relies on). Eight threads share read-only inputs and each
 * runs, 200 times, allocate, upload, GEMM, bias add, an in-place activation, a mask and a masked
 * scale-add on its own tensors, then reads and closes them. Every result must equal, bit for bit,
 * the same sequence run on one thread, and {@code liveAllocations()} must return to its start.
 */
public abstract class ConcurrencyContract extends ContractSupport {

    private static final int THREADS = 8;
    private static final int ROUNDS = 200;

    /**
     * @param kit the enclosing kit
     */
    protected ConcurrencyContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    @Test
    void callsOnDistinctTensorsMayRunConcurrently() throws Exception {
        for (NumericType<?> type : TYPES) {
            run(type);
        }
    }

    private <T extends Number> void run(NumericType<T> type) throws Exception {
        ComputeBackend b = backend();
        int m = 13;
        int n = 31;
        int k = 64;
        Tensor<T> a = tensor(type, random(1, m * k, -1, 1), m, k);
        Tensor<T> w = tensor(type, random(2, n * k, -1, 1), n, k);
        Tensor<T> bias = vector(type, random(3, n, -1, 1));
        double[][] expected = new double[THREADS][];
        for (int t = 0; t < THREADS; t++) {
            expected[t] = work(b, type, a, w, bias, t, m, n, k);
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int mismatches = 0;
                    for (int r = 0; r < ROUNDS; r++) {
                        double[] got = work(b, type, a, w, bias, thread, m, n, k);
                        if (!java.util.Arrays.equals(got, expected[thread])) {
                            mismatches++;
                        }
                    }
                    return mismatches;
                }));
            }
            start.countDown();
            for (int t = 0; t < THREADS; t++) {
                assertThat(results.get(t).get(5, TimeUnit.MINUTES))
                        .as("%s: rounds of thread %d whose results differ from one thread's",
                                label(type), t)
                        .isZero();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One thread's work on its own tensors; reads the shared inputs only. */
    private static <T extends Number> double[] work(ComputeBackend b, NumericType<T> type,
            Tensor<T> a, Tensor<T> w, Tensor<T> bias, int thread, int m, int n, int k) {
        try (Tensor<T> c = b.allocate(type, m, n);
             Tensor<T> d = b.upload(type, random(10 + thread, m * n, -1, 1), m, n);
             BitMask mask = b.allocateMask(m * n)) {
            b.gemm(false, true, m, n, k, 1.0, a, w, 0.0, c);
            b.addBias(c, bias);
            b.activate(Activation.TANH, c, c);
            b.generateMask(mask, 42 + thread, thread, 7, 0.25);
            b.maskedScaleAdd(c, mask, false, 1.5, 0.5, d);
            double[] out = d.toDoubleArray();
            double[] host = new double[m * n];
            b.read(c, 0, host, 0, host.length);
            double[] both = java.util.Arrays.copyOf(out, 2 * out.length);
            System.arraycopy(host, 0, both, out.length, host.length);
            return both;
        }
    }
}
