package dev.loradrop.backend.nd4j;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.spi.ComputeBackend;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A mask of the {@link Nd4jBackend}: the packed words in the layout of
 * {@link BitMask#toLongArray()}, as {@link dev.loradrop.api.MaskStream} generates them, and a 0/1
 * keep vector per element type that the kernels multiply with on the ND4J side. Each keep vector
 * is allocated once, on first use, and refilled in place on first use after each generation, so
 * a training step allocates nothing for its masks.
 */
final class Nd4jBitMask extends Nd4jResource implements BitMask {

    /** Elements expanded at a time into a chunk on the heap before one bulk copy to native memory. */
    static final int CHUNK = 4096;

    private final int size;
    private long[] words;
    private INDArray keepFloat;
    private INDArray keepDouble;
    /** Whether each keep vector still holds the words' bits. */
    private boolean floatCurrent;
    private boolean doubleCurrent;
    private float[] floatChunk;
    private double[] doubleChunk;

    Nd4jBitMask(Nd4jBackend owner, int size) {
        super(owner);
        this.size = size;
        this.words = new long[(size + 63) >>> 6];
    }

    /** @return the words, to be filled; callers have checked the mask is open and call {@link #changed()} after */
    long[] words() {
        return words;
    }

    /** Marks the keep vectors stale after the words changed. */
    synchronized void changed() {
        floatCurrent = false;
        doubleCurrent = false;
    }

    /**
     * Synchronised: calls that only read a mask may run at once (the SPI's threads rule), and the
     * first of them after a generation fills the vector.
     *
     * @param type FLOAT or DOUBLE
     * @return the keep vector ({@code [size]}, 1 for kept, 0 for dropped) in that type; owned by
     *     the mask
     */
    synchronized INDArray keep(DataType type) {
        boolean isFloat = type == DataType.FLOAT;
        INDArray keep = isFloat ? keepFloat : keepDouble;
        if (keep == null) {
            keep = Nd4jArrays.outsideWorkspace(() -> Nd4j.createUninitialized(type, size));
            if (isFloat) {
                keepFloat = keep;
                floatChunk = new float[Math.min(size, CHUNK)];
            } else {
                keepDouble = keep;
                doubleChunk = new double[Math.min(size, CHUNK)];
            }
        }
        if (isFloat ? floatCurrent : doubleCurrent) {
            return keep;
        }
        // One native window per GiB, not per chunk: each window is a few objects on the heap.
        Nd4jArrays.inWindows(keep, size, 0, size, 0, size, Nd4jArrays.WINDOW_BYTES,
                (w, done, n) -> {
                    FloatBuffer f = isFloat ? w.asFloatBuffer() : null;
                    DoubleBuffer d = isFloat ? null : w.asDoubleBuffer();
                    for (int put = 0; put < n; ) {       // put + m <= n: no int overflow
                        int m = Math.min(CHUNK, n - put);
                        int first = done + put;
                        for (int i = 0; i < m; i++) {
                            if (isFloat) {
                                floatChunk[i] = bit(first + i);
                            } else {
                                doubleChunk[i] = bit(first + i);
                            }
                        }
                        if (isFloat) {
                            f.put(floatChunk, 0, m);
                        } else {
                            d.put(doubleChunk, 0, m);
                        }
                        put += m;
                    }
                });
        if (isFloat) {
            floatCurrent = true;
        } else {
            doubleCurrent = true;
        }
        return keep;
    }

    /** @return 1 if element {@code i} is kept, else 0 */
    private int bit(int i) {
        return (int) (words[i >>> 6] >>> i) & 1;
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
        if (keepFloat != null) {
            keepFloat.close();
            keepFloat = null;
        }
        if (keepDouble != null) {
            keepDouble.close();
            keepDouble = null;
        }
        words = null;
        floatChunk = null;
        doubleChunk = null;
    }

    @Override
    String kind() {
        return "mask";
    }

    @Override
    public String toString() {
        return "Nd4jBitMask[" + size + "]" + (isClosed() ? " (closed)" : "");
    }
}
