package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Mask contract: {@link dev.loradrop.api.spi.ComputeBackend#generateMask} reproduces
 * {@link MaskStream#reference} bit for bit (bits past the size cleared) for several seeds, streams,
 * steps, sizes and rates, also when the mask already holds other bits; and
 * {@link dev.loradrop.api.spi.ComputeBackend#maskedScaleAdd} applies the bits of a mask's latest
 * generation.
 */
public abstract class MaskContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected MaskContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    private static final long[] SEEDS = {0L, 1L, -1L, 0x0123456789ABCDEFL, Long.MIN_VALUE + 12345};
    private static final int[] SIZES = {0, 1, 63, 64, 65, 1000, 4099};
    private static final double[] RATES = {0.0, 0.1, 0.5, 0.9, 0.999};
    private static final int[][] STREAM_STEP = {{0, 0}, {0, 1}, {1, 0}, {7, 123456},
        {-1, Integer.MAX_VALUE}, {3, -1}};

    @TestFactory
    @DisplayName("generateMask equals MaskStream.reference bit for bit")
    Stream<DynamicTest> generateMaskMatchesReference() {
        List<DynamicTest> tests = new ArrayList<>();
        int variant = 0;
        for (long seed : SEEDS) {
            for (int size : SIZES) {
                for (double rate : RATES) {
                    int[] ss = STREAM_STEP[variant++ % STREAM_STEP.length];
                    String name = "generateMask(seed=" + seed + ", stream=" + ss[0] + ", step=" + ss[1]
                            + ", size=" + size + ", dropoutRate=" + rate + ")";
                    tests.add(DynamicTest.dynamicTest(name,
                            () -> check(name, seed, ss[0], ss[1], size, rate)));
                }
            }
        }
        return tests.stream();
    }

    private void check(String name, long seed, int stream, int step, int size, double rate) {
        BitMask mask = mask(size);
        backend().generateMask(mask, seed, stream, step, rate);
        long[] expected = MaskStream.reference(seed, stream, step, size, rate);
        assertBits(name, mask.toLongArray(), expected, size);
    }

    private static void assertBits(String name, long[] actual, long[] expected, int size) {
        assertThat(actual.length).as("%s: toLongArray() length", name).isEqualTo(expected.length);
        for (int w = 0; w < expected.length; w++) {
            if (actual[w] != expected[w]) {
                long diff = actual[w] ^ expected[w];
                int bit = w * 64 + Long.numberOfTrailingZeros(diff);
                String where = bit < size ? "element " + bit + " is "
                        + (BitMask.isSet(actual, bit) ? "kept" : "dropped") + " but the reference "
                        + (BitMask.isSet(expected, bit) ? "keeps" : "drops") + " it"
                        : "bit " + bit + " past size " + size + " is set (must be zero)";
                assertThat(actual[w]).as("%s: word %d: %s; %d bits differ in the mask", name, w,
                        where, countDiff(actual, expected)).isEqualTo(expected[w]);
            }
        }
    }

    private static int countDiff(long[] a, long[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) {
            n += Long.bitCount(a[i] ^ b[i]);
        }
        return n;
    }

    @Test
    @DisplayName("generateMask overwrites every bit of a mask that already holds other bits")
    void generateMaskOverwrites() {
        for (int size : SIZES) {
            BitMask mask = mask(size);
            backend().generateMask(mask, 99, 0, 0, 0.0);
            backend().generateMask(mask, 5, 2, 3, 0.7);
            String name = "generateMask(seed=5, stream=2, step=3, size=" + size
                    + ", dropoutRate=0.7) over an all-kept mask";
            assertBits(name, mask.toLongArray(), MaskStream.reference(5, 2, 3, size, 0.7), size);
            backend().generateMask(mask, 5, 2, 4, 0.0);
            assertBits("generateMask(rate 0) keeps everything, size=" + size, mask.toLongArray(),
                    MaskStream.reference(5, 2, 4, size, 0.0), size);
        }
    }

    @Test
    @DisplayName("maskedScaleAdd applies the bits of the mask's latest generateMask, in either type")
    void maskedScaleAddSeesRegeneratedBits() {
        int rows = 3;
        int cols = 1000;
        int n = rows * cols;
        double[] src = random(77, n, 1, 2);         // never 0: a dropped element shows as 0
        BitMask perElement = mask(n);
        BitMask perColumn = mask(cols);
        // A backend may keep something derived from the bits (a 0/1 vector per type, say); each
        // step regenerates the same masks and alternates the types, so a stale copy shows.
        for (int step = 0; step < 4; step++) {
            backend().generateMask(perElement, 3, 0, step, 0.5);
            backend().generateMask(perColumn, 3, 1, step, 0.5);
            long[] elementBits = MaskStream.reference(3, 0, step, n, 0.5);
            long[] columnBits = MaskStream.reference(3, 1, step, cols, 0.5);
            for (int t = 0; t < TYPES.size(); t++) {
                NumericType<?> type = TYPES.get((t + step) % TYPES.size());
                for (boolean broadcast : new boolean[] {false, true}) {
                    double[] expected = new double[n];
                    for (int i = 0; i < n; i++) {
                        boolean keep = broadcast ? BitMask.isSet(columnBits, i % cols)
                                : BitMask.isSet(elementBits, i);
                        expected[i] = keep ? round(type, src[i]) : 0;
                    }
                    assertExactly("maskedScaleAdd(" + type + ", broadcastRows=" + broadcast
                            + ", scale 1, beta 0) after generateMask(step=" + step + ")",
                            masked(type, src, rows, cols, broadcast ? perColumn : perElement,
                                    broadcast), expected);
                }
            }
        }
    }

    /** @return {@code src} ({@code rows x cols}) masked into a new tensor, read back */
    private <T extends Number> double[] masked(NumericType<T> type, double[] src, int rows,
                                               int cols, BitMask mask, boolean broadcast) {
        Tensor<T> ts = tensor(type, src, rows, cols);
        Tensor<T> td = tensor(type, new double[src.length], rows, cols);
        backend().maskedScaleAdd(ts, mask, broadcast, 1.0, 0.0, td);
        return td.toDoubleArray();
    }

    @Test
    @DisplayName("generateMask on a large mask (parallel paths) equals the reference")
    void generateLargeMask() {
        int size = (1 << 18) + 37;
        BitMask mask = mask(size);
        backend().generateMask(mask, 0xFEEDFACECAFEL, 11, 1000, 0.25);
        assertBits("generateMask(size=" + size + ")", mask.toLongArray(),
                MaskStream.reference(0xFEEDFACECAFEL, 11, 1000, size, 0.25), size);
    }
}
