package dev.loradrop.backend.gpu;

import java.lang.ref.Cleaner;

/** What tensors and masks of a {@link GpuBackend} share: the owner and a device buffer. */
abstract class GpuResource implements AutoCloseable {

    private static final class CleanerHolder {
        static final Cleaner CLEANER = Cleaner.create();
    }

    private final GpuBackend owner;
    private final DeviceMemory memory;
    private final Cleaner.Cleanable cleanable;

    GpuResource(GpuBackend owner, DeviceMemory memory) {
        this.owner = owner;
        this.memory = memory;
        this.cleanable = CleanerHolder.CLEANER.register(this, memory);
    }

    final GpuBackend owner() {
        return owner;
    }

    /** @return the device buffer; null when empty. Callers have checked the resource is open */
    final org.jocl.cl_mem buffer() {
        return memory.buffer();
    }

    /** @return whether the resource was closed (by itself, its backend or the Cleaner) */
    public final boolean isClosed() {
        return memory.isReleased();
    }

    /** Releases the device buffer once; later calls do nothing. */
    @Override
    public final void close() {
        memory.release();
        cleanable.clean();
    }

    /** @return "tensor" or "mask", for messages */
    abstract String kind();

    /**
     * @param what the operation, for the message
     * @throws IllegalStateException if closed
     */
    final void ensureOpen(String what) {
        if (isClosed()) {
            throw new IllegalStateException(what + ": " + kind() + " is closed");
        }
    }
}
