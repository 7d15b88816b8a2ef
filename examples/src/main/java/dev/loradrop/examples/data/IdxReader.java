package dev.loradrop.examples.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the IDX files of MNIST and Fashion-MNIST (big-endian header: two zero bytes, the type code
 * {@code 0x08} for unsigned bytes, the number of dimensions, then each dimension as a 32-bit int),
 * plain or gzipped (detected from the content, not the name). Every problem is a {@link
 * DataException} naming the file: bad magic number, unexpected dimensions, truncated data,
 * trailing bytes, corrupt gzip stream, labels out of range.
 */
public final class IdxReader {

    /** Magic number of an image file: unsigned bytes, 3 dimensions ({@code count, rows, cols}). */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** Magic number of a label file: unsigned bytes, 1 dimension ({@code count}). */
    public static final int LABELS_MAGIC = 0x00000801;

    private IdxReader() {
    }

    /**
     * Reads an image file.
     *
     * @param name the file's name, for messages
     * @param in the content, plain or gzipped; closed by this method
     * @param limit read at most this many images (the whole file is still checked)
     * @return {@code [count, rows, cols]} and the pixels scaled to {@code [0, 1]}
     */
    static Images readImages(String name, InputStream in, int limit) {
        ByteBuffer data = readAll(name, in);
        int[] dims = header(name, data, IMAGES_MAGIC, 3, "images");
        int count = dims[0];
        int rows = dims[1];
        int cols = dims[2];
        if (rows < 1 || cols < 1) {
            throw new DataException(name, "expected images of at least 1 x 1 pixels, the header"
                    + " says " + rows + " x " + cols);
        }
        checkLength(name, data, (long) count * rows * cols, count + " images of " + rows + " x "
                + cols + " pixels");
        int n = Math.min(count, limit);
        float[] pixels = new float[Math.multiplyExact(n, rows * cols)];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (data.get() & 0xff) / 255f;
        }
        return new Images(count, rows, cols, pixels);
    }

    /**
     * Reads a label file.
     *
     * @param name the file's name, for messages
     * @param in the content, plain or gzipped; closed by this method
     * @param classes labels must lie in {@code [0, classes)}
     * @param limit read at most this many labels (the whole file is still checked)
     * @return the labels, and the count of the file
     */
    static Labels readLabels(String name, InputStream in, int classes, int limit) {
        ByteBuffer data = readAll(name, in);
        int count = header(name, data, LABELS_MAGIC, 1, "labels")[0];
        checkLength(name, data, count, count + " labels");
        int[] labels = new int[Math.min(count, limit)];
        for (int i = 0; i < count; i++) {
            int label = data.get() & 0xff;
            if (label >= classes) {
                throw new DataException(name, "label " + i + " is " + label
                        + "; expected a class in [0, " + classes + ")");
            }
            if (i < labels.length) {
                labels[i] = label;
            }
        }
        return new Labels(count, labels);
    }

    /** The header and pixels of an image file. */
    record Images(int count, int rows, int cols, float[] pixels) {
    }

    /** The count and labels of a label file. */
    record Labels(int count, int[] labels) {
    }

    private static ByteBuffer readAll(String name, InputStream raw) {
        try (InputStream buffered = new BufferedInputStream(raw)) {
            buffered.mark(2);
            int b0 = buffered.read();
            int b1 = buffered.read();
            buffered.reset();
            InputStream in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(buffered, 1 << 16)
                    : buffered;
            ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
            in.transferTo(out);
            return ByteBuffer.wrap(out.toByteArray());
        } catch (ZipException e) {
            throw new DataException(name, "corrupt gzip data (" + e.getMessage() + ")", e);
        } catch (java.io.EOFException e) {
            throw new DataException(name, "truncated gzip data: the compressed stream ends early",
                    e);
        } catch (IOException e) {
            throw new DataException(name, "cannot be read: " + e, e);
        }
    }

    private static int[] header(String name, ByteBuffer data, int magic, int dimensions,
                                String what) {
        if (data.remaining() < 4 + 4 * dimensions) {
            throw new DataException(name, "truncated: " + data.remaining() + " bytes, too short"
                    + " for an IDX header of " + what + " (" + (4 + 4 * dimensions) + " bytes)");
        }
        int found = data.getInt();
        if (found != magic) {
            throw new DataException(name, String.format("not an IDX file of %s: expected the magic"
                    + " number 0x%08x (unsigned bytes, %d dimension%s), got 0x%08x", what, magic,
                    dimensions, dimensions == 1 ? "" : "s", found));
        }
        int[] dims = new int[dimensions];
        for (int i = 0; i < dimensions; i++) {
            dims[i] = data.getInt();
            if (dims[i] < 0) {
                throw new DataException(name, "corrupt header: dimension " + i + " is "
                        + Integer.toUnsignedString(dims[i]));
            }
        }
        return dims;
    }

    private static void checkLength(String name, ByteBuffer data, long expected, String what) {
        if (data.remaining() < expected) {
            throw new DataException(name, "truncated: the header promises " + what + " ("
                    + expected + " bytes of data), the file has " + data.remaining());
        }
        if (data.remaining() > expected) {
            throw new DataException(name, "corrupt: " + (data.remaining() - expected)
                    + " unexpected bytes after the " + what + " the header promises");
        }
    }
}
