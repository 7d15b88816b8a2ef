package dev.loradrop.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Philox4x32Test {

    /** Random123's kat_vectors for philox4x32-10: counter words, key words -> output words. */
    @ParameterizedTest
    @CsvSource({
        "00000000,00000000,00000000,00000000,00000000,00000000,6627e8d5,e169c58d,bc57ac4c,9b00dbd8",
        "ffffffff,ffffffff,ffffffff,ffffffff,ffffffff,ffffffff,408f276d,41c83b0e,a20bc7c6,6d5451fd",
        "243f6a88,85a308d3,13198a2e,03707344,a4093822,299f31d0,d16cfe09,94fdcceb,5001e420,24126ea1"
    })
    void reproducesTheKnownAnswerVectors(String c0, String c1, String c2, String c3, String k0,
                                         String k1, String o0, String o1, String o2, String o3) {
        int[] out = new int[4];
        Philox4x32.block(hex(c0), hex(c1), hex(c2), hex(c3), hex(k0), hex(k1), out);
        assertThat(out).containsExactly(hex(o0), hex(o1), hex(o2), hex(o3));
    }

    @ParameterizedTest
    @CsvSource({
        "0x0123456789ABCDEF, 7, 3, 0.3, 1000",
        "0xFEEDFACECAFE0001, 0, 0, 0.1, 4099",
        "-1, -1, 2147483647, 0.9, 333",
        "42, 12345, 77, 0.5, 64"
    })
    void maskElementsFollowTheDocumentedCounterLayout(String seedText, int stream, int step,
                                                      double p, int size) {
        long seed = seedText.startsWith("0x") ? Long.parseUnsignedLong(seedText.substring(2), 16)
                : Long.parseLong(seedText);
        long threshold = MaskStream.keepThreshold(p);
        long[] words = MaskStream.reference(seed, stream, step, size, p);
        int[] block = new int[4];
        for (int i = 0; i < size; i++) {
            long counter = i / 4;
            Philox4x32.block((int) counter, (int) (counter >>> 32), step, stream, (int) seed,
                    (int) (seed >>> 32), block);
            boolean keep = Integer.toUnsignedLong(block[i % 4]) < threshold;
            assertThat(BitMask.isSet(words, i)).as("element %d", i).isEqualTo(keep);
        }
        if (size % 64 != 0) {
            assertThat(words[words.length - 1] >>> (size % 64)).as("bits past size").isZero();
        }
        // Any range of words, filled alone, equals the same words of the whole mask.
        long[] part = new long[words.length];
        int from = words.length / 3;
        MaskStream.fillWords(part, from, words.length, seed, stream, step, size, threshold);
        for (int w = 0; w < words.length; w++) {
            assertThat(part[w]).as("word %d", w).isEqualTo(w < from ? 0L : words[w]);
        }
    }

    @Test
    void thresholdIsFloorOfKeepProbabilityTimesTwoToThe32() {
        assertThat(MaskStream.keepThreshold(0.0)).isEqualTo(1L << 32);
        assertThat(MaskStream.keepThreshold(0.5)).isEqualTo(1L << 31);
        assertThat(MaskStream.keepThreshold(0.1)).isEqualTo((long) Math.floor(0.9 * 0x1p32));
        long[] all = MaskStream.reference(1, 0, 0, 130, 0.0);
        assertThat(Long.bitCount(all[0]) + Long.bitCount(all[1]) + Long.bitCount(all[2]))
                .isEqualTo(130);
    }

    @Test
    void clearPastSizeKeepsExactlyTheBitsOfElementsBelowTheSize() {
        long ones = -1L;
        assertThat(MaskStream.clearPastSize(ones, 0, 64)).isEqualTo(ones);
        assertThat(MaskStream.clearPastSize(ones, 0, 1000)).isEqualTo(ones);
        assertThat(MaskStream.clearPastSize(ones, 0, 1)).isEqualTo(1L);
        assertThat(MaskStream.clearPastSize(ones, 1, 70)).isEqualTo((1L << 6) - 1);
        assertThat(MaskStream.clearPastSize(ones, 1, 127)).isEqualTo(ones >>> 1);
        assertThat(MaskStream.clearPastSize(ones, 2, 128)).isZero();
        assertThat(MaskStream.clearPastSize(ones, 5, 0)).isZero();
        assertThat(MaskStream.clearPastSize(0x8000_0000_0000_0001L, 0, 63)).isEqualTo(1L);
    }

    @Test
    void rejectsInvalidDropoutRates() {
        for (double p : new double[] {Double.NaN, -0.1, 1.0, 2.0}) {
            assertThatThrownBy(() -> MaskStream.keepThreshold(p))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dropoutRate")
                    .hasMessageContaining(String.valueOf(p));
        }
    }

    private static int hex(String s) {
        return Integer.parseUnsignedInt(s, 16);
    }
}
