package dev.loradrop.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of daemon threads that run parts {@code 1..parts-1} of a task while the calling
 * thread runs part 0. Made for many short, equal parts: dispatch allocates nothing, and workers
 * park between tasks (after a short spin). One task at a time (callers serialise).
 */
final class WorkerPool implements AutoCloseable {

    /**
     * How long a thread that is out of work spins before it parks: long enough to catch the next
     * task of a sequence (a training step's GEMMs, a benchmark's calls), short enough to waste
     * little. Waking a parked worker took 0.1-0.4 ms on average on a 2-vCPU VM, and up to 5 ms;
     * with the spin, sgemm 1024^3 ran 3 % faster.
     */
    private static final long SPIN_NANOS = 100_000;

    private final Thread[] workers;
    private final AtomicInteger remaining = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile IntConsumer task;
    private volatile int parts;
    private volatile Thread caller;
    /** The task's first failure, whichever part had it; a later part's is dropped. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /**
     * @param threads total threads including the caller, {@code >= 2}
     * @param name thread name prefix
     */
    WorkerPool(int threads, String name) {
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            Thread t = new Thread(() -> work(part), name + "-" + part);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /**
     * @return where part {@code part} of {@code parts} starts when {@code count} items are split
     *     into {@code parts} contiguous ranges as even as can be; part {@code part} takes items
     *     {@code [start(part), start(part + 1))}, and {@code start(parts) == count}. In long:
     *     {@code part * count} passes 2^31 for a mask of 2^25 words split 64 ways.
     */
    static int start(int part, int count, int parts) {
        return (int) ((long) part * count / parts);
    }

    /** @return the parts that can run at once: the workers plus the caller */
    int size() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task.accept(i)} for every {@code i < parts}, part 0 on the calling thread, and
     * returns when all are done; rethrows the first failure as itself (an unchecked exception or
     * an error), with the caller's own, if it had a different one, attached as suppressed.
     */
    void run(int parts, IntConsumer task) {
        if (parts <= 1) {
            task.accept(0);
            return;
        }
        if (closed) {
            throw new IllegalStateException("worker pool is closed");
        }
        this.task = task;
        this.parts = parts;
        this.caller = Thread.currentThread();
        failure.set(null);
        remaining.set(parts - 1);
        generation++;
        for (int i = 0; i < parts - 1; i++) {
            LockSupport.unpark(workers[i]);
        }
        Throwable own = null;
        try {
            task.accept(0);
        } catch (Throwable t) {
            own = t;
            failure.compareAndSet(null, t);
        }
        long deadline = System.nanoTime() + SPIN_NANOS;
        while (remaining.get() != 0) {
            pause(deadline);
        }
        Throwable first = failure.get();
        if (first == null) {
            return;
        }
        if (own != null && own != first) {
            first.addSuppressed(own);
        }
        if (first instanceof RuntimeException) {
            throw (RuntimeException) first;
        }
        if (first instanceof Error) {
            throw (Error) first;
        }
        throw new IllegalStateException("a part of the task failed", first);
    }

    private void work(int part) {
        int seen = 0;
        while (true) {
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (generation == seen && !closed) {
                pause(deadline);
            }
            if (generation == seen) {
                return; // closed, and no task waits for this part
            }
            seen = generation;
            if (part >= parts) {
                continue;
            }
            try {
                task.accept(part);
            } catch (Throwable t) {
                failure.compareAndSet(null, t); // allocates nothing, so cannot fail here itself
            }
            if (remaining.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    /** One step of a wait loop: spins until {@code deadline} ({@link System#nanoTime}), then parks. */
    private void pause(long deadline) {
        if (System.nanoTime() - deadline < 0) {
            Thread.onSpinWait();
        } else {
            LockSupport.park(this);
        }
    }

    /**
     * Stops the workers once they have done the parts they were given. Must not overlap
     * {@link #run} (GemmEngine closes under its lock): a task dispatched after the workers
     * stopped would wait for them forever.
     */
    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
    }
}
