package dev.loradrop.api;

import dev.loradrop.api.spi.ComputeBackend;

/**
 * A bit-packed keep-mask in backend memory: one bit per element, {@code 1} meaning kept.
 *
 * <p>Masks are allocated by {@link ComputeBackend#allocateMask(int)} and filled by {@link
 * ComputeBackend#generateMask}. Host copies use the layout of {@link #toLongArray()}.
 */
public interface BitMask extends AutoCloseable {

    /** @return the backend that owns this mask */
    ComputeBackend backend();

    /** @return the number of elements (bits) */
    int size();

    /**
     * Copies the bits to the host: bit {@code i} is bit {@code i & 63} of word {@code i >>> 6};
     * bits past {@link #size()} are zero.
     *
     * @return {@code ceil(size / 64)} words
     * @throws IllegalStateException if the mask is closed
     */
    long[] toLongArray();

    /** @return whether {@link #close()} has been called */
    boolean isClosed();

    /** Releases the backend memory. Idempotent. */
    @Override
    void close();

    /**
     * Reads bit {@code i} from a word array in the layout of {@link #toLongArray()}.
     *
     * @param words the words
     * @param i the element index
     * @return whether element {@code i} is kept
     */
    static boolean isSet(long[] words, int i) {
        return (words[i >>> 6] >>> (i & 63) & 1L) != 0;
    }
}
