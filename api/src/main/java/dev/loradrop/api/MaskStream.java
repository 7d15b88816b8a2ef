package dev.loradrop.api;

/**
 * The one definition of LoRA-drop keep-masks, shared by every backend.
 *
 * <p>For mask element {@code i} of training call {@code step}, with a 64-bit {@code seed} and a
 * 32-bit {@code stream}: key = (low 32 bits of seed, high 32 bits of seed); counter = (low 32 bits
 * of {@code i/4}, high 32 bits of {@code i/4}, {@code step}, {@code stream}); the element uses
 * output word {@code i mod 4} of {@link Philox4x32#block}, read as unsigned, and is kept iff that
 * word is below {@link #keepThreshold(double) floor((1-p) * 2^32)}. With {@code p = 0} every
 * element is kept. Elements are numbered row-major over the mask's own shape.
 */
public final class MaskStream {

    /** Zero-extends an int to a long: {@code word & MASK}. */
    private static final long MASK = 0xFFFFFFFFL;

    private MaskStream() {
    }

    /**
     * The keep threshold {@code floor((1 - p) * 2^32)}, compared with unsigned 32-bit words.
     *
     * @param dropoutRate p in {@code [0, 1)}
     * @return a value in {@code (0, 2^32]}
     * @throws IllegalArgumentException if p is NaN or outside {@code [0, 1)}
     */
    public static long keepThreshold(double dropoutRate) {
        checkDropoutRate(dropoutRate);
        return (long) Math.floor((1.0 - dropoutRate) * 0x1p32);
    }

    /**
     * Validates a dropout rate.
     *
     * @param dropoutRate the rate
     * @throws IllegalArgumentException naming {@code dropoutRate} if it is NaN or outside
     *     {@code [0, 1)}
     */
    public static void checkDropoutRate(double dropoutRate) {
        if (!(dropoutRate >= 0.0 && dropoutRate < 1.0)) {
            throw new IllegalArgumentException(
                    "dropoutRate: expected a value in [0, 1), got " + dropoutRate);
        }
    }

    /**
     * Computes the whole mask on the host, in the layout of {@link BitMask#toLongArray()}.
     *
     * @param seed the 64-bit seed
     * @param stream the stream number
     * @param step the training call number
     * @param size the number of elements
     * @param dropoutRate p in {@code [0, 1)}
     * @return {@code ceil(size / 64)} words
     */
    public static long[] reference(long seed, int stream, int step, int size, double dropoutRate) {
        if (size < 0) {
            throw new IllegalArgumentException("size: expected >= 0, got " + size);
        }
        long[] words = new long[(size + 63) >>> 6];
        fill(words, seed, stream, step, size, keepThreshold(dropoutRate));
        return words;
    }

    /**
     * Fills a word array (already zeroed or not) with the mask bits of elements {@code [0, size)};
     * the bits past {@code size} in the last word are cleared. Branch-free per element.
     *
     * @param words destination, at least {@code ceil(size / 64)} long
     * @param seed the 64-bit seed
     * @param stream the stream number
     * @param step the training call number
     * @param size the number of elements
     * @param threshold the value of {@link #keepThreshold(double)}
     */
    public static void fill(long[] words, long seed, int stream, int step, int size,
                            long threshold) {
        fillWords(words, 0, (size + 63) >>> 6, seed, stream, step, size, threshold);
    }

    /**
     * Fills words {@code [fromWord, toWord)} of a mask: the unit a parallel backend can split on.
     *
     * @param words destination
     * @param fromWord first word, inclusive
     * @param toWord last word, exclusive
     * @param seed the 64-bit seed
     * @param stream the stream number
     * @param step the training call number
     * @param size the number of elements of the whole mask
     * @param threshold the value of {@link #keepThreshold(double)}
     */
    public static void fillWords(long[] words, int fromWord, int toWord, long seed, int stream,
                                 int step, int size, long threshold) {
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int w = fromWord; w < toWord; w++) {
            int base = w << 6;
            // 64 elements = 16 Philox blocks; element i uses block i/4, word i%4.
            long counter = (long) base >>> 2;
            long bits = keepBits(counter, step, stream, k0, k1, threshold)
                    | keepBits(counter + 4, step, stream, k0, k1, threshold) << 16
                    | keepBits(counter + 8, step, stream, k0, k1, threshold) << 32
                    | keepBits(counter + 12, step, stream, k0, k1, threshold) << 48;
            words[w] = clearPastSize(bits, w, size);
        }
    }

    /**
     * Clears the bits of a mask word that lie past the mask's last element, as every mask word
     * must have them: for backends that compute the words in a form of their own.
     *
     * @param bits the keep bits of word {@code word}
     * @param word the word's index: elements {@code 64 word} to {@code 64 word + 63}
     * @param size the number of elements of the whole mask
     * @return {@code bits} with bit {@code i} cleared wherever {@code 64 word + i >= size}
     */
    public static long clearPastSize(long bits, int word, int size) {
        int valid = size - (word << 6);
        return valid >= 64 ? bits : valid <= 0 ? 0L : bits & (-1L >>> (64 - valid));
    }

    /**
     * The keep bits of blocks {@code counter} to {@code counter + 3}: {@link Philox4x32#block}
     * four times over, its rounds interleaved so that the four blocks' multiplies overlap (one
     * block at a time is a chain of dependent multiplies: 1.2-1.7 times as slow). Bit
     * {@code 4 b + j} is word j of block {@code counter + b}.
     */
    private static long keepBits(long counter, int step, int stream, int k0, int k1,
                                 long threshold) {
        long cb = counter + 1;
        long cc = counter + 2;
        long cd = counter + 3;
        int a0 = (int) counter, a1 = (int) (counter >>> 32), a2 = step, a3 = stream;
        int b0 = (int) cb, b1 = (int) (cb >>> 32), b2 = step, b3 = stream;
        int c0 = (int) cc, c1 = (int) (cc >>> 32), c2 = step, c3 = stream;
        int d0 = (int) cd, d1 = (int) (cd >>> 32), d2 = step, d3 = stream;
        for (int round = 0; round < Philox4x32.ROUNDS; round++) {
            long pa0 = Philox4x32.M0L * (a0 & MASK), pa1 = Philox4x32.M1L * (a2 & MASK);
            long pb0 = Philox4x32.M0L * (b0 & MASK), pb1 = Philox4x32.M1L * (b2 & MASK);
            long pc0 = Philox4x32.M0L * (c0 & MASK), pc1 = Philox4x32.M1L * (c2 & MASK);
            long pd0 = Philox4x32.M0L * (d0 & MASK), pd1 = Philox4x32.M1L * (d2 & MASK);
            a0 = (int) (pa1 >>> 32) ^ a1 ^ k0;
            a2 = (int) (pa0 >>> 32) ^ a3 ^ k1;
            a1 = (int) pa1;
            a3 = (int) pa0;
            b0 = (int) (pb1 >>> 32) ^ b1 ^ k0;
            b2 = (int) (pb0 >>> 32) ^ b3 ^ k1;
            b1 = (int) pb1;
            b3 = (int) pb0;
            c0 = (int) (pc1 >>> 32) ^ c1 ^ k0;
            c2 = (int) (pc0 >>> 32) ^ c3 ^ k1;
            c1 = (int) pc1;
            c3 = (int) pc0;
            d0 = (int) (pd1 >>> 32) ^ d1 ^ k0;
            d2 = (int) (pd0 >>> 32) ^ d3 ^ k1;
            d1 = (int) pd1;
            d3 = (int) pd0;
            k0 += Philox4x32.W0;
            k1 += Philox4x32.W1;
        }
        return keep(a0, threshold) | keep(a1, threshold) << 1 | keep(a2, threshold) << 2
                | keep(a3, threshold) << 3 | keep(b0, threshold) << 4 | keep(b1, threshold) << 5
                | keep(b2, threshold) << 6 | keep(b3, threshold) << 7 | keep(c0, threshold) << 8
                | keep(c1, threshold) << 9 | keep(c2, threshold) << 10
                | keep(c3, threshold) << 11 | keep(d0, threshold) << 12
                | keep(d1, threshold) << 13 | keep(d2, threshold) << 14
                | keep(d3, threshold) << 15;
    }

    /** 1 if the unsigned word is below the threshold, else 0; branch-free. */
    private static long keep(int word, long threshold) {
        return ((word & MASK) - threshold) >>> 63;
    }
}
