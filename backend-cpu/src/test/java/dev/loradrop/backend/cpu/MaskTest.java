package dev.loradrop.backend.cpu;

import static dev.loradrop.backend.cpu.Fixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** generateMask against MaskStream.reference, and maskedScaleAdd. */
@SuppressWarnings({"unchecked", "rawtypes"})
class MaskTest {

    private final CpuBackend backend = Fixtures.newBackend();

    @AfterEach
    void closeBackend() {
        assertThat(backend.liveAllocations()).isZero();
        backend.close();
    }

    @Test
    void generatedBitsEqualTheReferenceStream() {
        long[] seeds = {0L, -1L, 0x0123456789ABCDEFL, 42L};
        int[] sizes = {0, 1, 3, 4, 5, 63, 64, 65, 127, 128, 129, 1000};
        double[] rates = {0.0, 0.1, 0.5, 0.9, 0.999};
        for (int size : sizes) {
            try (BitMask mask = backend.allocateMask(size)) {
                assertThat(mask.size()).isEqualTo(size);
                assertThat(mask.toLongArray()).containsExactly(new long[(size + 63) / 64]);
                for (long seed : seeds) {
                    for (int stream : new int[] {0, 3}) {
                        for (int step : new int[] {0, 1, 7, Integer.MAX_VALUE, -1}) {
                            for (double p : rates) {
                                backend.generateMask(mask, seed, stream, step, p);
                                assertThat(mask.toLongArray())
                                        .as("size=%d seed=%d stream=%d step=%d p=%s", size, seed,
                                                stream, step, p)
                                        .containsExactly(MaskStream.reference(seed, stream, step,
                                                size, p));
                            }
                        }
                    }
                }
            }
        }
    }

    /** Large masks are split between the worker threads; the bits must not change. */
    @Test
    void largeMasksSplitBetweenThreadsEqualTheReferenceStream() {
        try (CpuBackend threaded = (CpuBackend) new CpuBackendProvider().create(
                dev.loradrop.api.spi.BackendConfig.defaults().withThreads(3))) {
            for (int size : new int[] {64 * 1024, 64 * 4096 + 37, 3 * 65536 - 1}) {
                try (BitMask mask = threaded.allocateMask(size)) {
                    threaded.generateMask(mask, 0x5EEDL, 2, 11, 0.3);
                    assertThat(mask.toLongArray()).as("size=%d", size)
                            .containsExactly(MaskStream.reference(0x5EEDL, 2, 11, size, 0.3));
                }
            }
        }
    }

    @Test
    void zeroRateKeepsEverythingAndBitsPastSizeAreZero() {
        try (BitMask mask = backend.allocateMask(70)) {
            backend.generateMask(mask, 5, 0, 0, 0.0);
            long[] words = mask.toLongArray();
            assertThat(words).containsExactly(-1L, (1L << 6) - 1);
        }
    }

    @Test
    void invalidRateIsRejectedAndLeavesTheMaskAlone() {
        try (BitMask mask = backend.allocateMask(10)) {
            backend.generateMask(mask, 5, 0, 0, 0.0);
            for (double p : new double[] {-0.1, 1.0, Double.NaN}) {
                assertThatThrownBy(() -> backend.generateMask(mask, 5, 0, 1, p))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("dropoutRate");
            }
            assertThat(mask.toLongArray()).containsExactly((1L << 10) - 1);
        }
    }

    private static double[] reference(double[] src, long[] mask, boolean broadcast, int cols,
                                      double scale, double beta, double[] dst) {
        double[] out = new double[src.length];
        for (int i = 0; i < src.length; i++) {
            boolean keep = mask == null || BitMask.isSet(mask, broadcast ? i % cols : i);
            double v = (keep ? scale : 0.0) * src[i];
            out[i] = beta == 0 ? v : v + beta * dst[i];
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void maskedScaleAddMatchesTheReference(NumericType<?> type) {
        Random rnd = new Random(11);
        for (int rows : new int[] {0, 1, 3, 9}) {
            for (int cols : new int[] {1, 5, 64, 70}) {
                int n = rows * cols;
                double[] src = random(rnd, n, type);
                double[] old = random(rnd, n, type);
                for (double[] sb : new double[][] {{1, 0}, {2, 0}, {1.25, 1}, {-0.5, 0.5}}) {
                    for (int kind = 0; kind < 3; kind++) {
                        boolean broadcast = kind == 1;
                        int bits = broadcast ? cols : n;
                        try (BitMask mask = backend.allocateMask(bits);
                             Tensor ts = backend.upload(type, src, rows, cols);
                             Tensor td = backend.upload(type, old, rows, cols)) {
                            backend.generateMask(mask, 99, 1, rows, 0.4);
                            long[] words = kind == 2 ? null : mask.toLongArray();
                            backend.maskedScaleAdd(ts, kind == 2 ? null : mask, broadcast, sb[0],
                                    sb[1], td);
                            double[] want = reference(src, words, broadcast, cols, sb[0], sb[1],
                                    old);
                            Fixtures.assertClose("maskedScaleAdd rows=" + rows + " cols=" + cols
                                    + " kind=" + kind, td.toDoubleArray(), want, null, 3, type);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.loradrop.backend.cpu.Fixtures#types")
    void maskedScaleAddInPlaceWithBetaZeroAndNaNDestination(NumericType<?> type) {
        try (BitMask mask = backend.allocateMask(3);
             Tensor src = backend.upload(type, new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
             Tensor dst = backend.allocate(type, 2, 3)) {
            backend.generateMask(mask, 0, 0, 0, 0.0); // keep all
            backend.fill(dst, Double.NaN);
            backend.maskedScaleAdd(src, mask, true, 2.0, 0.0, dst);
            assertThat(dst.toDoubleArray()).containsExactly(2, 4, 6, 8, 10, 12);
            backend.maskedScaleAdd(src, null, false, 0.5, 0.0, src);
            assertThat(src.toDoubleArray()).containsExactly(0.5, 1, 1.5, 2, 2.5, 3);
        }
    }

    @Test
    void maskSizeMustFit() {
        try (BitMask mask = backend.allocateMask(4);
             Tensor<Float> src = backend.upload(new float[6], 2, 3);
             Tensor<Float> dst = backend.allocate(NumericType.FLOAT32, 2, 3)) {
            assertThatThrownBy(() -> backend.maskedScaleAdd(src, mask, false, 1, 0, dst))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mask: expected 6 bits (the size of src; broadcastRows=false),"
                            + " got 4");
            assertThatThrownBy(() -> backend.maskedScaleAdd(src, mask, true, 1, 0, dst))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mask: expected a size that divides 6");
        }
    }
}
