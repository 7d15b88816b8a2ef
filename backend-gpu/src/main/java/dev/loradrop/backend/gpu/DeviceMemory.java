package dev.loradrop.backend.gpu;

import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jocl.CL;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device buffer of one tensor or mask and its release, which runs once: on close, on the
 * backend's close, or from the {@link java.lang.ref.Cleaner} when the handle became unreachable
 * without being closed (logged as a leak). Holds no reference to the handle, so that the Cleaner
 * can act.
 */
final class DeviceMemory implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceMemory.class);

    private final cl_mem buffer;
    private final long bytes;
    private final String kind;
    private final Set<DeviceMemory> live;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean explicit;

    /**
     * @param buffer the buffer, or null for an empty tensor or mask (OpenCL has no empty buffers)
     * @param bytes its size
     * @param kind "tensor" or "mask", for messages
     * @param live the owner's set of live allocations; this adds itself
     */
    DeviceMemory(cl_mem buffer, long bytes, String kind, Set<DeviceMemory> live) {
        this.buffer = buffer;
        this.bytes = bytes;
        this.kind = kind;
        this.live = live;
        live.add(this);
    }

    /** @return the buffer; null for an empty allocation */
    cl_mem buffer() {
        return buffer;
    }

    boolean isReleased() {
        return released.get();
    }

    /** Releases the buffer now (close of the handle or of the backend). */
    void release() {
        explicit = true;
        run();
    }

    /** The release action; idempotent. Called directly or by the Cleaner. */
    @Override
    public void run() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        if (!explicit) {
            LOG.warn("A gpu {} of {} bytes was not closed; the Cleaner released its device buffer",
                    kind, bytes);
        }
        live.remove(this);
        if (buffer != null) {
            int code = CL.clReleaseMemObject(buffer);
            if (code != CL.CL_SUCCESS) {
                LOG.warn("clReleaseMemObject of a gpu {} failed: {} ({})", kind,
                        OpenClException.symbol(code), code);
            }
        }
    }
}
