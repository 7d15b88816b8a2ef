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
        int[] block = new int[4];
        for (int w = fromWord; w < toWord; w++) {
            long bits = 0;
            int base = w << 6;
            // 64 elements = 16 Philox blocks; element i uses block i/4, word i%4.
            for (int b = 0; b < 16; b++) {
                long counter = ((long) base >>> 2) + b;
                Philox4x32.block((int) counter, (int) (counter >>> 32), step, stream, k0, k1,
                        block);
                for (int j = 0; j < 4; j++) {
                    long keep = ((block[j] & 0xFFFFFFFFL) - threshold) >>> 63;
                    bits |= keep << (b * 4 + j);
                }
            }
            int valid = size - base;
            if (valid < 64) {
                bits &= valid <= 0 ? 0L : (-1L >>> (64 - valid));
            }
            words[w] = bits;
        }
    }
}
