package dev.loradrop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.jit.CompiledFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One compiled function shared by many threads gives exactly the single-thread results. */
class CompiledFunctionConcurrencyTest {

    private static final int THREADS = 8;
    private static final int CALLS = 1_000;
    private static final int INPUTS = 16;

    @Test
    void eightThreadsTimesAThousandCallsMatchTheSingleThreadResultsBitForBit() throws Exception {
        try (ComputeBackend backend = Fixtures.cpu();
             SequentialModel<Float> model = JitCompilationTest.model(backend,
                     NumericType.FLOAT32)) {
            model.setTrainingMode(false);
            List<Tensor<Float>> inputs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            long before = backend.liveAllocations();
            CompiledFunction<Float> f = model.compile(backend);
            for (int i = 0; i < INPUTS; i++) {
                Tensor<Float> x = JitCompilationTest.input(backend, NumericType.FLOAT32, 100 + i,
                        1 + i % 5, 13);
                inputs.add(x);
                try (Tensor<Float> y = f.apply(x)) {
                    expected.add(y.toFloatArray());
                }
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
                        for (int c = 0; c < CALLS; c++) {
                            int i = (thread * 7 + c) % INPUTS;
                            try (Tensor<Float> y = f.apply(inputs.get(i))) {
                                if (!java.util.Arrays.equals(y.toFloatArray(), expected.get(i))) {
                                    mismatches++;
                                }
                            }
                        }
                        return mismatches;
                    }));
                }
                start.countDown();
                for (Future<Integer> r : results) {
                    assertThat(r.get(5, TimeUnit.MINUTES)).isZero();
                }
            } finally {
                pool.shutdownNow();
            }
            inputs.forEach(Tensor::close);
            f.close();
            assertThat(backend.liveAllocations()).as("per-call buffers all released")
                    .isEqualTo(before);
        }
    }

    @Test
    void refreshAndCloseWhileCallsAreInFlightNeverBreakACall() throws Exception {
        try (ComputeBackend backend = Fixtures.cpu();
             SequentialModel<Double> model = JitCompilationTest.model(backend,
                     NumericType.FLOAT64)) {
            model.setTrainingMode(false);
            long before = backend.liveAllocations();
            CompiledFunction<Double> f = model.compile(backend);
            double[] expected;
            try (Tensor<Double> x = JitCompilationTest.input(backend, NumericType.FLOAT64, 1, 3,
                    13); Tensor<Double> y = f.apply(x)) {
                expected = y.toDoubleArray();
                ExecutorService pool = Executors.newFixedThreadPool(4);
                try {
                    List<Future<Integer>> results = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        results.add(pool.submit(() -> {
                            int mismatches = 0;
                            for (int c = 0; c < 300; c++) {
                                try (Tensor<Double> out = f.apply(x)) {
                                    if (!java.util.Arrays.equals(out.toDoubleArray(), expected)) {
                                        mismatches++;
                                    }
                                }
                            }
                            return mismatches;
                        }));
                    }
                    for (int r = 0; r < 50; r++) {
                        f.refresh(); // same weights: results must not change
                    }
                    for (Future<Integer> r : results) {
                        assertThat(r.get(5, TimeUnit.MINUTES)).isZero();
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
            f.close();
            assertThat(backend.liveAllocations()).isEqualTo(before);
        }
    }
}
