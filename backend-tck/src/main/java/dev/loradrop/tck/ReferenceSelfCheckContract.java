package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.Philox4x32;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Checks the kit's references themselves, so that a failure elsewhere points at the backend: the
 * {@link Philox4x32} known-answer vectors of Random123 ({@code kat_vectors}) and the element
 * layout of {@link MaskStream#reference}. Needs no backend.
 */
public abstract class ReferenceSelfCheckContract extends ContractSupport {

    /**
     * @param kit the enclosing kit
     */
    protected ReferenceSelfCheckContract(ComputeBackendContractTest kit) {
        super(kit);
    }

    /** Counter words, key words, expected output words. */
    private static final int[][][] KAT = {
        {{0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000},
            {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
            {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
            {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };

    @Test
    @DisplayName("Philox4x32-10 matches the Random123 known-answer vectors")
    void philoxKnownAnswers() {
        for (int[][] v : KAT) {
            int[] c = v[0];
            int[] k = v[1];
            int[] out = new int[4];
            Philox4x32.block(c[0], c[1], c[2], c[3], k[0], k[1], out);
            assertThat(out).as("Philox4x32.block(counter %08x %08x %08x %08x, key %08x %08x)",
                    c[0], c[1], c[2], c[3], k[0], k[1]).containsExactly(v[2]);
        }
    }

    @Test
    @DisplayName("MaskStream.reference follows the documented counter, key and word layout")
    void maskStreamLayout() {
        long seed = 0x0123456789ABCDEFL;
        int stream = 5;
        int step = 9;
        int size = 1000;
        double p = 0.4;
        long threshold = MaskStream.keepThreshold(p);
        long[] words = MaskStream.reference(seed, stream, step, size, p);
        assertThat(words).hasSize((size + 63) / 64);
        int[] out = new int[4];
        for (int i = 0; i < size; i++) {
            long block = i / 4;
            Philox4x32.block((int) block, (int) (block >>> 32), step, stream, (int) seed,
                    (int) (seed >>> 32), out);
            boolean keep = (out[i % 4] & 0xFFFFFFFFL) < threshold;
            assertThat(BitMask.isSet(words, i)).as("MaskStream.reference bit %d", i).isEqualTo(keep);
        }
        assertThat(words[words.length - 1] >>> (size % 64)).as("bits past size").isZero();
        assertThat(MaskStream.keepThreshold(0.0)).isEqualTo(1L << 32);
        assertThat(MaskStream.reference(seed, stream, step, 130, 0.0))
                .containsExactly(-1L, -1L, 0b11L);
    }
}
