package dev.loradrop.backend.gpu;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.spi.ComputeBackend;

/**
 * A mask of the {@link GpuBackend}: an OpenCL buffer of {@code ceil(size / 64)} 64-bit words in
 * the layout of {@link BitMask#toLongArray()}.
 */
final class GpuBitMask extends GpuResource implements BitMask {

    private final int size;

    GpuBitMask(GpuBackend owner, DeviceMemory memory, int size) {
        super(owner, memory);
        this.size = size;
    }

    /** @return the number of 64-bit words */
    int words() {
        return (size + 63) >>> 6;
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
        return owner().readMask(this);
    }

    @Override
    String kind() {
        return "mask";
    }

    @Override
    public String toString() {
        return "GpuBitMask[" + size + "]" + (isClosed() ? " (closed)" : "");
    }
}
