package dev.loradrop.backend.cpu;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Recycles the arrays of closed tensors, so that a training loop that allocates and closes
 * tensors of the same sizes every step allocates no new tensor memory in steady state. Holds at
 * most {@link #maxBytes} bytes; arrays beyond that are left to the garbage collector. Thread-safe.
 */
final class ArrayPool {

    /**
     * The longest array the backend makes: HotSpot refuses a few lengths below
     * {@link Integer#MAX_VALUE} ("Requested array size exceeds VM limit"), so lengths are kept
     * to this conventional bound.
     */
    static final int MAX_LENGTH = Integer.MAX_VALUE - 8;

    /** Default cap on pooled memory: 128 MiB. */
    static final long DEFAULT_MAX_BYTES = 128L << 20;

    private final long maxBytes;
    private long pooledBytes;
    // Few distinct sizes occur in practice: a linear search over parallel arrays avoids boxing.
    private int[] floatSizes = new int[8];
    private ArrayDeque<float[]>[] floatBins = newBins(8);
    private int floatCount;
    private int[] doubleSizes = new int[8];
    private ArrayDeque<double[]>[] doubleBins = newBins(8);
    private int doubleCount;

    ArrayPool(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @SuppressWarnings("unchecked")
    private static <A> ArrayDeque<A>[] newBins(int n) {
        return (ArrayDeque<A>[]) new ArrayDeque<?>[n];
    }

    /** @return a zero-filled array of {@code size} floats, recycled when possible */
    synchronized float[] floats(int size) {
        int bin = find(floatSizes, floatCount, size);
        float[] a = bin < 0 ? null : floatBins[bin].poll();
        if (a == null) {
            return new float[size];
        }
        pooledBytes -= 4L * size;
        Arrays.fill(a, 0f);
        return a;
    }

    /** @return a zero-filled array of {@code size} doubles, recycled when possible */
    synchronized double[] doubles(int size) {
        int bin = find(doubleSizes, doubleCount, size);
        double[] a = bin < 0 ? null : doubleBins[bin].poll();
        if (a == null) {
            return new double[size];
        }
        pooledBytes -= 8L * size;
        Arrays.fill(a, 0.0);
        return a;
    }

    /** Takes back an array no one references any more. */
    synchronized void release(float[] a) {
        if (a.length == 0 || pooledBytes + 4L * a.length > maxBytes) {
            return;
        }
        int bin = find(floatSizes, floatCount, a.length);
        if (bin < 0) {
            if (floatCount == floatSizes.length) {
                floatSizes = Arrays.copyOf(floatSizes, floatCount * 2);
                floatBins = Arrays.copyOf(floatBins, floatCount * 2);
            }
            bin = floatCount++;
            floatSizes[bin] = a.length;
            floatBins[bin] = new ArrayDeque<>();
        }
        floatBins[bin].push(a);
        pooledBytes += 4L * a.length;
    }

    /** Takes back an array no one references any more. */
    synchronized void release(double[] a) {
        if (a.length == 0 || pooledBytes + 8L * a.length > maxBytes) {
            return;
        }
        int bin = find(doubleSizes, doubleCount, a.length);
        if (bin < 0) {
            if (doubleCount == doubleSizes.length) {
                doubleSizes = Arrays.copyOf(doubleSizes, doubleCount * 2);
                doubleBins = Arrays.copyOf(doubleBins, doubleCount * 2);
            }
            bin = doubleCount++;
            doubleSizes[bin] = a.length;
            doubleBins[bin] = new ArrayDeque<>();
        }
        doubleBins[bin].push(a);
        pooledBytes += 8L * a.length;
    }

    /** @return bytes held for reuse */
    synchronized long pooledBytes() {
        return pooledBytes;
    }

    /** Drops every pooled array. */
    synchronized void clear() {
        for (int i = 0; i < floatCount; i++) {
            floatBins[i].clear();
        }
        for (int i = 0; i < doubleCount; i++) {
            doubleBins[i].clear();
        }
        pooledBytes = 0;
    }

    private static int find(int[] sizes, int count, int size) {
        for (int i = 0; i < count; i++) {
            if (sizes[i] == size) {
                return i;
            }
        }
        return -1;
    }
}
