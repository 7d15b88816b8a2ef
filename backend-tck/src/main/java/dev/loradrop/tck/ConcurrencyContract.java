package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Concurrency contract: calls on distinct output tensors may run at once from many threads (the
 * SPI's promise that compiled inference and data-parallel training rely on). Eight threads share
 * read-only inputs (A, W, a bias, a loss target, a mask they are the first to apply) and each
 * runs, 40 times, the {@link SpiWorkload}:
 * every method of the SPI on its own tensors and masks, then reads and closes everything. Every
 * tensor, mask and scalar result must equal, bit for bit, the same workload run on one thread, the
 * shared inputs must be unchanged, and {@code liveAllocations()} must return to its start.
 */
public abstract class ConcurrencyContract extends ContractSupport {

    private static final int THREADS = 8;
    private static final int ROUNDS = 40;

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
        // The one-thread results come from an identical copy of the shared inputs, so that the
        // threads are the first to apply the shared mask after its generation.
        SpiWorkload.Shared<T> reference = own(SpiWorkload.upload(b, type, 13, 31, 64));
        List<Map<String, double[]>> expected = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            expected.add(SpiWorkload.run(b, type, reference, t));
        }
        SpiWorkload.Shared<T> shared = own(SpiWorkload.upload(b, type, 13, 31, 64));
        double[][] sharedBefore = shared.snapshot();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int mismatches = 0;
                    String first = null;
                    for (int r = 0; r < ROUNDS; r++) {
                        String diff = SpiWorkload.difference(
                                SpiWorkload.run(b, type, shared, thread), expected.get(thread));
                        if (diff != null) {
                            mismatches++;
                            first = first == null ? diff : first;
                        }
                    }
                    return mismatches == 0 ? null : mismatches + " of " + ROUNDS
                            + " rounds differ from the one-thread run; first: " + first;
                }));
            }
            start.countDown();
            for (int t = 0; t < THREADS; t++) {
                assertThat(results.get(t).get(5, TimeUnit.MINUTES))
                        .as("%s: thread %d of %d, each running every kernel on its own tensors"
                                + " (shared read-only inputs)", label(type), t, THREADS)
                        .isNull();
            }
        } finally {
            pool.shutdownNow();
        }
        shared.assertUnchanged(sharedBefore);
    }
}
