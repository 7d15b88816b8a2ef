package dev.loradrop.examples.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Labelled grey-scale images: pixels scaled to {@code [0, 1]}, row-major {@code [count, rows *
 * cols]}, and one class label per image. Immutable: the arrays are copied in and out.
 */
public final class ImageSet {

    private final int rows;
    private final int cols;
    private final float[] pixels;
    private final int[] labels;

    /**
     * @param rows image height, {@code >= 1}
     * @param cols image width, {@code >= 1}
     * @param pixels {@code labels.length * rows * cols} values (copied)
     * @param labels the class of each image (copied)
     * @throws IllegalArgumentException if the sizes disagree
     */
    public ImageSet(int rows, int cols, float[] pixels, int[] labels) {
        this(rows, cols, Objects.requireNonNull(pixels, "pixels").clone(),
                Objects.requireNonNull(labels, "labels").clone(), true);
    }

    private ImageSet(int rows, int cols, float[] pixels, int[] labels, boolean owned) {
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("rows, cols: expected >= 1, got " + rows + " x "
                    + cols);
        }
        if (pixels.length != (long) labels.length * rows * cols) {
            throw new IllegalArgumentException("pixels: expected " + labels.length + " x " + rows
                    + " x " + cols + " values, got " + pixels.length);
        }
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
    }

    /** @return the number of images */
    public int size() {
        return labels.length;
    }

    /** @return image height */
    public int rows() {
        return rows;
    }

    /** @return image width */
    public int cols() {
        return cols;
    }

    /** @return pixels per image, {@code rows * cols} */
    public int features() {
        return rows * cols;
    }

    /** @return a copy of the pixels, row-major {@code [size, features]} */
    public float[] pixels() {
        return pixels.clone();
    }

    /** @return a copy of the labels */
    public int[] labels() {
        return labels.clone();
    }

    /**
     * @param index image index
     * @return its label
     */
    public int label(int index) {
        return labels[Objects.checkIndex(index, labels.length)];
    }

    /**
     * Copies the pixels of the given images, one after another, into {@code dst}.
     *
     * @param indices image indices
     * @param from first index of {@code indices} to copy
     * @param count how many
     * @param dst receives {@code count * features()} values from offset 0
     */
    public void gather(int[] indices, int from, int count, float[] dst) {
        int f = features();
        for (int i = 0; i < count; i++) {
            System.arraycopy(pixels, Objects.checkIndex(indices[from + i], labels.length) * f,
                    dst, i * f, f);
        }
    }

    /**
     * @param from first image, inclusive
     * @param to last image, exclusive
     * @return the images {@code [from, to)}
     * @throws IndexOutOfBoundsException if the range is outside {@code [0, size()]}
     */
    public ImageSet slice(int from, int to) {
        Objects.checkFromToIndex(from, to, labels.length);
        return new ImageSet(rows, cols, Arrays.copyOfRange(pixels, from * features(),
                to * features()), Arrays.copyOfRange(labels, from, to), true);
    }

    /**
     * @return every image turned a quarter turn clockwise (a square image is required)
     * @throws IllegalStateException if the images are not square
     */
    public ImageSet rotated90() {
        if (rows != cols) {
            throw new IllegalStateException("rotated90: images are " + rows + " x " + cols
                    + ", not square");
        }
        int n = rows;
        float[] out = new float[pixels.length];
        for (int i = 0; i < labels.length; i++) {
            int base = i * n * n;
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < n; c++) {
                    out[base + r * n + c] = pixels[base + (n - 1 - c) * n + r];
                }
            }
        }
        return new ImageSet(rows, cols, out, labels, true);
    }

    @Override
    public String toString() {
        return "ImageSet[" + labels.length + " images of " + rows + " x " + cols + "]";
    }
}
