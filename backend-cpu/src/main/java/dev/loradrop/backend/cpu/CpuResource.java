package dev.loradrop.backend.cpu;

/**
 * What tensors and masks of a {@link CpuBackend} share: the owner, and a close that happens once
 * and is counted once.
 */
abstract class CpuResource implements AutoCloseable {

    private final CpuBackend owner;
    private volatile boolean closed;
    // Links of the owner's list of live resources (guarded by the owner's Live instance).
    CpuResource prev;
    CpuResource next;

    CpuResource(CpuBackend owner) {
        this.owner = owner;
    }

    final CpuBackend owner() {
        return owner;
    }

    /** @return whether {@link #close()} has been called */
    public final boolean isClosed() {
        return closed;
    }

    /** Releases the memory and tells the owner, once; later calls do nothing. */
    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            releaseMemory();
        }
        owner.released(this);
    }

    /** Drops the host array so that the memory can be collected even if the handle is kept. */
    abstract void releaseMemory();

    /** @return "tensor" or "mask", for messages */
    abstract String kind();

    /**
     * @param what the operation, for the message
     * @throws IllegalStateException if closed
     */
    final void ensureOpen(String what) {
        if (closed) {
            throw new IllegalStateException(what + ": " + kind() + " is closed");
        }
    }
}
