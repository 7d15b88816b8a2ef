package dev.loradrop.examples.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Fashion-MNIST (Zalando Research, MIT licence): 28 x 28 grey-scale images of 10 kinds of clothing.
 *
 * <p>Three sources, in the order {@link #locate} tries them: a directory the user names (the four
 * IDX files, plain or gzipped), the install folder of the Debian package {@code
 * dataset-fashion-mnist} ({@value #DEBIAN_DIR}), and the subset embedded in the app (the first
 * 6000 training and 2000 test images, see {@code fashion-mnist/ATTRIBUTION.md} among the
 * resources). Since the subset is the first images of each split, a run that uses at most that many
 * gets the same images from every source.
 */
public final class FashionMnist {

    /** The number of classes. */
    public static final int CLASSES = 10;
    /** The class names, by label. */
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover",
            "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Where the Debian package {@code dataset-fashion-mnist} installs the full data set. */
    public static final String DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";
    /** Training images in the embedded subset. */
    public static final int EMBEDDED_TRAIN = 6000;
    /** Test images in the embedded subset. */
    public static final int EMBEDDED_TEST = 2000;

    private static final String RESOURCES = "/dev/loradrop/examples/fashion-mnist/";

    private final ImageSet train;
    private final ImageSet test;
    private final String source;

    private FashionMnist(ImageSet train, ImageSet test, String source) {
        this.train = train;
        this.test = test;
        this.source = source;
    }

    /** @return the training images read (at most the limit asked for) */
    public ImageSet train() {
        return train;
    }

    /** @return the test images read (at most the limit asked for) */
    public ImageSet test() {
        return test;
    }

    /** @return where the data came from, for reports */
    public String source() {
        return source;
    }

    /**
     * Loads from {@code dir} when given, else from {@value #DEBIAN_DIR} when it exists, else from
     * the embedded subset.
     *
     * @param dir a directory with the four IDX files, or null
     * @param trainLimit read at most this many training images
     * @param testLimit read at most this many test images
     * @return the data
     * @throws DataException if a file is missing, truncated or corrupt
     */
    public static FashionMnist locate(Path dir, int trainLimit, int testLimit) {
        if (dir != null) {
            return load(dir, trainLimit, testLimit);
        }
        Path debian = Path.of(DEBIAN_DIR);
        if (Files.isDirectory(debian)) {
            return load(debian, trainLimit, testLimit);
        }
        return embedded(trainLimit, testLimit);
    }

    /**
     * Loads the four files {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte},
     * {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte} from a directory, each plain
     * or with {@code .gz}.
     *
     * @param dir the directory
     * @param trainLimit read at most this many training images
     * @param testLimit read at most this many test images
     * @return the data
     * @throws DataException if the directory or a file is missing, truncated or corrupt
     */
    public static FashionMnist load(Path dir, int trainLimit, int testLimit) {
        checkDirectory(dir);
        return new FashionMnist(split(dir, "train", trainLimit), split(dir, "t10k", testLimit),
                dir.toAbsolutePath().toString());
    }

    /**
     * Checks that a data directory the user named is a directory that can be read; whether it
     * holds the files is left to {@link #load}.
     *
     * @param dir the directory
     * @throws DataException naming the path, if it does not exist, is not a directory or cannot be
     *     read
     */
    public static void checkDirectory(Path dir) {
        Objects.requireNonNull(dir, "dir");
        String expected = "; expected the folder of the Fashion-MNIST IDX files (for example "
                + DEBIAN_DIR + ")";
        if (!Files.exists(dir)) {
            throw new DataException(dir.toString(), "no such directory" + expected);
        }
        if (!Files.isDirectory(dir)) {
            throw new DataException(dir.toString(), "not a directory" + expected);
        }
        if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            throw new DataException(dir.toString(), "cannot be read (permission denied)"
                    + expected);
        }
    }

    /**
     * Loads the subset embedded in the app.
     *
     * @param trainLimit read at most this many training images
     * @param testLimit read at most this many test images
     * @return the data
     */
    public static FashionMnist embedded(int trainLimit, int testLimit) {
        return new FashionMnist(split(null, "train", trainLimit), split(null, "t10k", testLimit),
                "embedded subset (" + EMBEDDED_TRAIN + " training, " + EMBEDDED_TEST
                        + " test images)");
    }

    private static ImageSet split(Path dir, String prefix, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit: expected >= 0, got " + limit);
        }
        String imagesName = prefix + "-images-idx3-ubyte";
        String labelsName = prefix + "-labels-idx1-ubyte";
        Source images = open(dir, imagesName);
        IdxReader.Images im = IdxReader.readImages(images.name, images.in, limit);
        Source labels = open(dir, labelsName);
        IdxReader.Labels lb = IdxReader.readLabels(labels.name, labels.in, CLASSES, limit);
        if (im.count() != lb.count()) {
            throw new DataException(labels.name, "has " + lb.count() + " labels but "
                    + images.name + " has " + im.count() + " images; expected one label per image");
        }
        if (im.rows() != 28 || im.cols() != 28) {
            throw new DataException(images.name, "expected 28 x 28 images (Fashion-MNIST), got "
                    + im.rows() + " x " + im.cols());
        }
        return new ImageSet(im.rows(), im.cols(), im.pixels(), lb.labels());
    }

    private record Source(String name, InputStream in) {
    }

    private static Source open(Path dir, String name) {
        if (dir == null) {
            String resource = RESOURCES + name + ".gz";
            InputStream in = FashionMnist.class.getResourceAsStream(resource);
            if (in == null) {
                throw new DataException(resource, "missing from the app's class path; rebuild the"
                        + " app or pass --data DIR");
            }
            return new Source("embedded " + name + ".gz", in);
        }
        Path file = find(dir, name);
        try {
            return new Source(file.toString(), Files.newInputStream(file));
        } catch (IOException e) {
            throw new DataException(file.toString(), "cannot be opened: " + e, e);
        }
    }

    /** @return {@code name.gz} or else {@code name} in {@code dir}, whichever is a file */
    private static Path find(Path dir, String name) {
        for (String candidate : new String[] {name + ".gz", name}) {
            Path file = dir.resolve(candidate);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        throw new DataException(dir.resolve(name + ".gz").toString(), "not found; expected "
                + name + ".gz or " + name + " in " + dir);
    }

    /**
     * Checks, without reading them, that a data directory the user named holds the four files
     * {@link #load} reads.
     *
     * @param dir the directory
     * @throws DataException naming the path, as {@link #checkDirectory} does, or naming the first
     *     file missing
     */
    public static void checkFiles(Path dir) {
        checkDirectory(dir);
        for (String prefix : new String[] {"train", "t10k"}) {
            find(dir, prefix + "-images-idx3-ubyte");
            find(dir, prefix + "-labels-idx1-ubyte");
        }
    }

    @Override
    public String toString() {
        return "FashionMnist[" + train.size() + " training, " + test.size() + " test images from "
                + source + "]";
    }
}
