package dev.loradrop.api;

/**
 * Philox4x32-10, the counter-based generator of Salmon et al. (SC'11) used by cuRAND, PyTorch and
 * JAX: a pure function from a 128-bit counter and a 64-bit key to 128 random bits.
 *
 * <p>This is the reference implementation every backend's masks must reproduce bit for bit (see
 * {@link MaskStream}). It allocates nothing.
 */
public final class Philox4x32 {

    /**
     * The round multipliers: word 0's and word 2's, as 32-bit patterns. Public, with {@link #W0}
     * and {@link #W1}, for backends that compute Philox in a form of their own.
     */
    public static final int M0 = 0xD2511F53;
    public static final int M1 = 0xCD9E8D57;
    /** The key schedule's Weyl increments, added to key words 0 and 1 after each round. */
    public static final int W0 = 0x9E3779B9;
    public static final int W1 = 0xBB67AE85;
    /** The multipliers as unsigned values (shared with {@link MaskStream}). */
    static final long M0L = M0 & 0xFFFFFFFFL;
    static final long M1L = M1 & 0xFFFFFFFFL;

    /** Number of rounds. */
    public static final int ROUNDS = 10;

    private Philox4x32() {
    }

    /**
     * Computes one block of four output words.
     *
     * @param c0 counter word 0
     * @param c1 counter word 1
     * @param c2 counter word 2
     * @param c3 counter word 3
     * @param k0 key word 0
     * @param k1 key word 1
     * @param out receives the four output words at {@code out[0..3]}
     */
    public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < ROUNDS; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = M0L * (c0 & 0xFFFFFFFFL);
            long p1 = M1L * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }
}
