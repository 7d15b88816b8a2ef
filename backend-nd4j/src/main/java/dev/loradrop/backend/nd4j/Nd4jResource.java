package dev.loradrop.backend.nd4j;

/**
 * What tensors and masks of an {@link Nd4jBackend} share: the owner, and a close that happens once
 * and is counted once.
 */
abstract class Nd4jResource implements AutoCloseable {

    private final Nd4jBackend owner;
    private volatile boolean closed;

    Nd4jResource(Nd4jBackend owner) {
        this.owner = owner;
    }

    final Nd4jBackend owner() {
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

    /** Frees the native memory this resource owns (not memory it only borrows). */
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
