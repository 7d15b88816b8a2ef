package dev.loradrop.backend.cpu;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.spi.ComputeBackend;

/**
 * A mask of the {@link CpuBackend}: {@code ceil(size / 64)} words in the layout of
 * {@link BitMask#toLongArray()}.
 */
final class CpuBitMask extends CpuResource implements BitMask {

    private final int size;
    private long[] words;

    CpuBitMask(CpuBackend owner, int size) {
        super(owner);
        this.size = size;
        this.words = new long[(size + 63) >>> 6];
    }

    /** @return the words; callers have checked the mask is open */
    long[] words() {
        return words;
    }

    @Override
    public ComputeBackend backend() {
        return owner();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public long[] toLongArray() {
        ensureOpen("toLongArray");
        return words.clone();
    }

    @Override
    void releaseMemory() {
        words = null;
    }

    @Override
    String kind() {
        return "mask";
    }

    @Override
    public String toString() {
        return "CpuBitMask[" + size + "]" + (isClosed() ? " (closed)" : "");
    }
}
