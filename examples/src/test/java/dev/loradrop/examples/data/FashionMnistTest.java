package dev.loradrop.examples.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {

    @TempDir
    Path dir;

    private static byte[] images(int count, int rows, int cols, int magic) {
        ByteBuffer b = ByteBuffer.allocate(16 + count * rows * cols);
        b.putInt(magic).putInt(count).putInt(rows).putInt(cols);
        for (int i = 0; i < count * rows * cols; i++) {
            b.put((byte) (i % 256));
        }
        return b.array();
    }

    private static byte[] labels(int count, int magic) {
        ByteBuffer b = ByteBuffer.allocate(8 + count);
        b.putInt(magic).putInt(count);
        for (int i = 0; i < count; i++) {
            b.put((byte) (i % 10));
        }
        return b.array();
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /** Writes a valid set of four files: 5 training and 3 test images. */
    private void writeValid() throws IOException {
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"),
                gzip(images(5, 28, 28, IdxReader.IMAGES_MAGIC)));
        Files.write(dir.resolve("train-labels-idx1-ubyte.gz"),
                gzip(labels(5, IdxReader.LABELS_MAGIC)));
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), images(3, 28, 28,
                IdxReader.IMAGES_MAGIC));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), labels(3, IdxReader.LABELS_MAGIC));
    }

    @Test
    void readsPlainAndGzippedFilesAndScalesPixels() throws IOException {
        writeValid();

        FashionMnist data = FashionMnist.load(dir, 4, 10);

        assertThat(data.train().size()).isEqualTo(4);
        assertThat(data.test().size()).isEqualTo(3);
        assertThat(data.train().labels()).containsExactly(0, 1, 2, 3);
        float[] pixels = data.train().pixels();
        assertThat(pixels[0]).isEqualTo(0f);
        assertThat(pixels[255]).isEqualTo(1f);
        assertThat(pixels[784]).isEqualTo((784 % 256) / 255f);
    }

    @Test
    void embeddedSubsetIsTheDocumentedOne() {
        FashionMnist data = FashionMnist.embedded(Integer.MAX_VALUE, Integer.MAX_VALUE);

        assertThat(data.train().size()).isEqualTo(FashionMnist.EMBEDDED_TRAIN);
        assertThat(data.test().size()).isEqualTo(FashionMnist.EMBEDDED_TEST);
        int[] counts = new int[FashionMnist.CLASSES];
        for (int label : data.test().labels()) {
            counts[label]++;
        }
        assertThat(Arrays.stream(counts).boxed()).allSatisfy(c -> assertThat(c).isBetween(150, 250));
        // The first training image of Fashion-MNIST is an ankle boot (label 9).
        assertThat(data.train().label(0)).isEqualTo(9);
        assertThat(FashionMnist.class.getResource("/dev/loradrop/examples/fashion-mnist/LICENSE"))
                .isNotNull();
    }

    @Test
    void embeddedSubsetEqualsTheStartOfTheFullSetWhenInstalled() {
        Path debian = Path.of(FashionMnist.DEBIAN_DIR);
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(debian),
                "the Debian package dataset-fashion-mnist is not installed");
        FashionMnist full = FashionMnist.load(debian, 500, 200);
        FashionMnist subset = FashionMnist.embedded(500, 200);

        assertThat(subset.train().pixels()).isEqualTo(full.train().pixels());
        assertThat(subset.test().labels()).isEqualTo(full.test().labels());
    }

    @Test
    void missingDirectoryNamesIt() {
        Path missing = dir.resolve("nope");

        assertThatThrownBy(() -> FashionMnist.load(missing, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such directory");
    }

    @Test
    void missingFileNamesIt() throws IOException {
        writeValid();
        Files.delete(dir.resolve("t10k-labels-idx1-ubyte"));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-labels-idx1-ubyte.gz: not found")
                .hasMessageContaining("t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte");
    }

    @Test
    void truncatedImagesNameTheFileAndTheSizes() throws IOException {
        writeValid();
        byte[] full = images(3, 28, 28, IdxReader.IMAGES_MAGIC);
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), Arrays.copyOf(full, full.length - 100));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-images-idx3-ubyte: truncated")
                .hasMessageContaining("3 images of 28 x 28 pixels (2352 bytes of data)")
                .hasMessageContaining("the file has 2252");
    }

    @Test
    void truncatedGzipStreamIsReported() throws IOException {
        writeValid();
        byte[] gz = gzip(images(5, 28, 28, IdxReader.IMAGES_MAGIC));
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), Arrays.copyOf(gz, gz.length / 2));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("train-images-idx3-ubyte.gz: truncated gzip data");
    }

    @Test
    void corruptGzipStreamIsReported() throws IOException {
        writeValid();
        byte[] gz = gzip(images(5, 28, 28, IdxReader.IMAGES_MAGIC));
        for (int i = 12; i < 40; i++) {
            gz[i] ^= (byte) 0x5a;
        }
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), gz);

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("train-images-idx3-ubyte.gz: ")
                .hasMessageMatching(".*(corrupt gzip data|truncated gzip data).*");
    }

    @Test
    void wrongMagicNumberIsReported() throws IOException {
        writeValid();
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), images(3, 28, 28,
                IdxReader.IMAGES_MAGIC));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-labels-idx1-ubyte: not an IDX file of labels:"
                        + " expected the magic number 0x00000801")
                .hasMessageContaining("got 0x00000803");
    }

    @Test
    void tooShortForAHeaderIsTruncated() throws IOException {
        writeValid();
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), new byte[] {0, 0, 8});

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-labels-idx1-ubyte: truncated: 3 bytes");
    }

    @Test
    void trailingBytesAreReported() throws IOException {
        writeValid();
        byte[] good = labels(3, IdxReader.LABELS_MAGIC);
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), Arrays.copyOf(good, good.length + 2));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-labels-idx1-ubyte: corrupt: 2 unexpected bytes");
    }

    @Test
    void labelOutOfRangeIsReported() throws IOException {
        writeValid();
        byte[] bad = labels(3, IdxReader.LABELS_MAGIC);
        bad[9] = 42;
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), bad);

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-labels-idx1-ubyte: label 1 is 42; expected a class in"
                        + " [0, 10)");
    }

    @Test
    void countsMustAgree() throws IOException {
        writeValid();
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), labels(4, IdxReader.LABELS_MAGIC));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("has 4 labels but")
                .hasMessageContaining("has 3 images");
    }

    @Test
    void imagesMustBe28By28() throws IOException {
        writeValid();
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), images(3, 14, 14,
                IdxReader.IMAGES_MAGIC));

        assertThatThrownBy(() -> FashionMnist.load(dir, 1, 1))
                .isInstanceOf(DataException.class)
                .hasMessageContaining("t10k-images-idx3-ubyte: expected 28 x 28 images");
    }

    @Test
    void rotationIsAQuarterTurnClockwise() {
        // 2 x 2 image [a b; c d] turned clockwise is [c a; d b].
        ImageSet set = new ImageSet(2, 2, new float[] {1, 2, 3, 4}, new int[] {7});

        ImageSet turned = set.rotated90();

        assertThat(turned.pixels()).containsExactly(3, 1, 4, 2);
        assertThat(turned.rotated90().rotated90().rotated90().pixels())
                .containsExactly(set.pixels());
        assertThat(turned.labels()).containsExactly(7);
    }

    @Test
    void imageSetChecksSizes() {
        assertThatThrownBy(() -> new ImageSet(2, 2, new float[3], new int[1]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pixels: expected 1 x 2 x 2 values, got 3");
    }

}
