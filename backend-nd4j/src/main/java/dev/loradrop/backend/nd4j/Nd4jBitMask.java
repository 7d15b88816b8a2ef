package dev.loradrop.backend.nd4j;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.spi.ComputeBackend;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A mask of the {@link Nd4jBackend}: the packed words in the layout of
 * {@link BitMask#toLongArray()}, as {@link dev.loradrop.api.MaskStream} generates them, and, built
 * on first use after each generation, a 0/1 keep vector per element type that the kernels multiply
 * with on the ND4J side.
 */
final class Nd4jBitMask extends Nd4jResource implements BitMask {

    private final int size;
    private long[] words;
    private INDArray keepFloat;
    private INDArray keepDouble;

    Nd4jBitMask(Nd4jBackend owner, int size) {
        super(owner);
        this.size = size;
        this.words = new long[(size + 63) >>> 6];
    }

    /** @return the words, to be filled; callers have checked the mask is open and call {@link #changed()} after */
    long[] words() {
        return words;
    }

    /** Drops the keep vectors after the words changed. */
    void changed() {
        release();
    }

    /**
     * @param type FLOAT or DOUBLE
     * @return the keep vector ({@code [size]}, 1 for kept, 0 for dropped) in that type; owned by
     *     the mask
     */
    INDArray keep(DataType type) {
        INDArray cached = type == DataType.FLOAT ? keepFloat : keepDouble;
        if (cached != null) {
            return cached;
        }
        INDArray keep;
        if (type == DataType.FLOAT) {
            float[] v = new float[size];
            for (int i = 0; i < size; i++) {
                v[i] = BitMask.isSet(words, i) ? 1f : 0f;
            }
            keep = Nd4jArrays.outsideWorkspace(() -> Nd4j.createFromArray(v));
            keepFloat = keep;
        } else {
            double[] v = new double[size];
            for (int i = 0; i < size; i++) {
                v[i] = BitMask.isSet(words, i) ? 1.0 : 0.0;
            }
            keep = Nd4jArrays.outsideWorkspace(() -> Nd4j.createFromArray(v));
            keepDouble = keep;
        }
        return keep;
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
        release();
        words = null;
    }

    private void release() {
        if (keepFloat != null) {
            keepFloat.close();
            keepFloat = null;
        }
        if (keepDouble != null) {
            keepDouble.close();
            keepDouble = null;
        }
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
