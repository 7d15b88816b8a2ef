package dev.loradrop.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Base of every contract group: creates a fresh backend per test through the kit's provider (lazily,
 * skipping the test when {@link ComputeBackendProvider#probe()} says unavailable), tracks what the
 * test allocates, and after the test closes it, checks that {@link ComputeBackend#liveAllocations()}
 * is back at its starting value, and closes the backend. Also holds the data, tolerance and
 * comparison helpers the groups share.
 *
 * <p>Tolerances: an element computed from {@code terms} rounded operations whose exact magnitude
 * is at most {@code scale} (for a dot product, the sum of the absolute values of its terms) may
 * differ from the float64 reference by {@code factor * eps(type) * terms * scale}, where
 * {@code eps} is {@link NumericType#epsilon()} and {@code factor} is
 * {@link ComputeBackendContractTest#toleranceFactor(NumericType)}. FLOAT32 references are computed
 * from the float-rounded inputs and scalars, so only the backend's arithmetic is measured.
 */
public abstract class ContractSupport {

    /** Both element types, FLOAT32 first. */
    protected static final List<NumericType<?>> TYPES =
            List.of(NumericType.FLOAT32, NumericType.FLOAT64);

    /** The awkward sizes the kit uses for vectors and matrix extents. */
    protected static final int[] AWKWARD = {0, 1, 3, 7, 8, 13, 31, 64, 100, 257};

    /** The kit instance that supplies the provider and the hooks. */
    protected final ComputeBackendContractTest kit;

    private ComputeBackend backend;
    private long baseline;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final List<ComputeBackend> extraBackends = new ArrayList<>();

    /**
     * @param kit the enclosing kit instance
     */
    protected ContractSupport(ComputeBackendContractTest kit) {
        this.kit = Objects.requireNonNull(kit, "kit");
    }

    // ------------------------------------------------------------------ lifecycle

    /** @return the provider under test */
    protected ComputeBackendProvider provider() {
        return kit.provider();
    }

    /** Aborts (skips) the current test if the provider reports itself unavailable. */
    protected void assumeAvailable() {
        ComputeBackendProvider p = provider();
        Availability a = p.probe();
        Assumptions.assumeTrue(a != null && a.available(),
                () -> "backend '" + p.id() + "' is unavailable here, skipping the conformance test: "
                        + (a == null ? "probe() returned null" : a.reason()));
    }

    /**
     * @return the backend of the current test, created on first use with
     *     {@link ComputeBackendContractTest#config()}
     */
    protected ComputeBackend backend() {
        if (backend == null) {
            assumeAvailable();
            ComputeBackend b = provider().create(kit.config());
            assertThat(b).as("%s.create(%s)", provider().getClass().getName(), kit.config())
                    .isNotNull();
            backend = b;
            baseline = b.liveAllocations();
        }
        return backend;
    }

    /**
     * Creates an additional backend, closed after the test (no leak check).
     *
     * @param config the configuration
     * @return the new backend
     */
    protected ComputeBackend newBackend(BackendConfig config) {
        assumeAvailable();
        ComputeBackend b = provider().create(config);
        assertThat(b).as("%s.create(%s)", provider().getClass().getName(), config).isNotNull();
        extraBackends.add(b);
        return b;
    }

    /**
     * Registers a tensor or mask to be closed after the test.
     *
     * @param resource the tensor or mask
     * @param <R> its type
     * @return the argument
     */
    protected <R extends AutoCloseable> R own(R resource) {
        owned.add(resource);
        return resource;
    }

    /** Closes what the test owns, checks for leaks, and closes the backends. */
    @AfterEach
    void closeBackendAndCheckLeaks() throws Exception {
        try {
            for (int i = owned.size() - 1; i >= 0; i--) {
                owned.get(i).close();
            }
            if (backend != null) {
                long live = backend.liveAllocations();
                assertThat(live)
                        .as("liveAllocations() of backend '%s' after closing every tensor and mask the"
                                + " test made: it must return to its starting value %d (a kernel or"
                                + " a failed call leaked, or close() does not update the count)",
                                backend.id(), baseline)
                        .isEqualTo(baseline);
            }
        } finally {
            owned.clear();
            if (backend != null) {
                backend.close();
                backend = null;
            }
            for (ComputeBackend b : extraBackends) {
                b.close();
            }
            extraBackends.clear();
        }
    }

    // ------------------------------------------------------------------ data

    /**
     * @param seed fixed seed
     * @param n length
     * @param lo lower bound, inclusive
     * @param hi upper bound, exclusive
     * @return uniform random doubles
     */
    protected static double[] random(long seed, int n, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = lo + (hi - lo) * r.nextDouble();
        }
        return x;
    }

    /**
     * @param type element type
     * @param x a value
     * @return {@code x} rounded to the type (to float for FLOAT32), as a double
     */
    protected static double round(NumericType<?> type, double x) {
        return type == NumericType.FLOAT32 ? (double) (float) x : x;
    }

    /**
     * @param type element type
     * @param x values
     * @return a copy of {@code x} rounded to the type
     */
    protected static double[] round(NumericType<?> type, double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = round(type, x[i]);
        }
        return y;
    }

    /** @return the values as doubles, exactly */
    protected static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** @return the values rounded to float */
    protected static float[] narrow(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /**
     * @param n length
     * @param v value
     * @return an array of {@code n} copies of {@code v}
     */
    protected static double[] filled(int n, double v) {
        double[] x = new double[n];
        Arrays.fill(x, v);
        return x;
    }

    /**
     * Uploads data (rounded to the type) into a tensor owned by the test.
     *
     * @param type element type
     * @param data values
     * @param shape extents
     * @param <T> element type
     * @return the tensor
     */
    protected <T extends Number> Tensor<T> tensor(NumericType<T> type, double[] data, int... shape) {
        Tensor<T> t = backend().upload(type, data, shape);
        return own(t);
    }

    /**
     * Uploads data into a flat tensor owned by the test.
     *
     * @param type element type
     * @param data values
     * @param <T> element type
     * @return the tensor of shape {@code [data.length]}
     */
    protected <T extends Number> Tensor<T> vector(NumericType<T> type, double[] data) {
        return tensor(type, data, data.length);
    }

    /**
     * @param type element type
     * @param shape extents
     * @param <T> element type
     * @return a zero-filled tensor owned by the test
     */
    protected <T extends Number> Tensor<T> zeros(NumericType<T> type, int... shape) {
        return own(backend().allocate(type, shape));
    }

    /**
     * @param size number of bits
     * @return a mask owned by the test
     */
    protected BitMask mask(int size) {
        return own(backend().allocateMask(size));
    }

    // ------------------------------------------------------------------ tolerances and checks

    /**
     * @param type element type
     * @param terms number of rounded operations
     * @param scale magnitude bound of the exact result's terms
     * @return {@code factor * eps * terms * scale}, plus the smallest normal number of the type
     */
    protected double tolerance(NumericType<?> type, double terms, double scale) {
        double tiny = type == NumericType.FLOAT32 ? Float.MIN_NORMAL : Double.MIN_NORMAL;
        return kit.toleranceFactor(type) * type.epsilon() * Math.max(terms, 1) * scale + tiny;
    }

    /**
     * Asserts that every element is within tolerance of the reference. NaN expected requires NaN;
     * an infinite expected value requires the same infinity.
     *
     * @param what the kernel and its arguments, for the message
     * @param type element type (selects eps)
     * @param actual backend result
     * @param expected float64 reference
     * @param scale per-element magnitude (see {@link #tolerance})
     * @param terms number of rounded operations per element
     * @param cols columns, to print {@code [row, col]}; 0 to print the flat index only
     */
    protected void assertClose(String what, NumericType<?> type, double[] actual, double[] expected,
                               double[] scale, double terms, int cols) {
        Assertions.assertEquals(expected.length, actual.length,
                () -> what + ": result has " + actual.length + " elements, expected "
                        + expected.length);
        int bad = 0;
        String first = null;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            boolean ok;
            double tol = 0;
            if (Double.isNaN(e)) {
                ok = Double.isNaN(a);
            } else if (Double.isInfinite(e)) {
                ok = a == e;
            } else {
                tol = tolerance(type, terms, scale[i]);
                ok = Math.abs(a - e) <= tol;
            }
            if (!ok) {
                if (first == null) {
                    String where = cols > 0 ? "[" + i / cols + ", " + i % cols + "] (flat " + i + ")"
                            : "[" + i + "]";
                    first = "element " + where + " is " + a + " but the float64 reference is " + e
                            + " (|diff| " + Math.abs(a - e) + " > tolerance " + tol + " = "
                            + kit.toleranceFactor(type) + " * eps(" + type + ") * " + terms
                            + " terms * scale " + scale[i] + ")";
                }
                bad++;
            }
        }
        if (bad > 0) {
            String label = what.contains(type.name()) ? what : what + " [" + type + "]";
            Assertions.fail(label + ": " + first + "; " + bad + " of "
                    + expected.length + " elements out of tolerance");
        }
    }

    /**
     * {@link #assertClose(String, NumericType, double[], double[], double[], double, int)} with one
     * scale for every element.
     *
     * @param what description
     * @param type element type
     * @param actual backend result
     * @param expected reference
     * @param scale magnitude
     * @param terms operations
     */
    protected void assertClose(String what, NumericType<?> type, double[] actual, double[] expected,
                               double scale, double terms) {
        assertClose(what, type, actual, expected, filled(expected.length, scale), terms, 0);
    }

    /**
     * Asserts a scalar result.
     *
     * @param what description
     * @param type element type
     * @param actual backend result
     * @param expected reference
     * @param scale magnitude
     * @param terms operations
     */
    protected void assertClose(String what, NumericType<?> type, double actual, double expected,
                               double scale, double terms) {
        assertClose(what, type, new double[] {actual}, new double[] {expected},
                new double[] {scale}, terms, 0);
    }

    /**
     * Asserts bitwise equality (NaN equals NaN).
     *
     * @param what description
     * @param actual backend result
     * @param expected expected values
     */
    protected static void assertExactly(String what, double[] actual, double[] expected) {
        Assertions.assertEquals(expected.length, actual.length,
                () -> what + ": result has " + actual.length + " elements, expected "
                        + expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToLongBits(actual[i]) != Double.doubleToLongBits(expected[i])) {
                int at = i;
                Assertions.fail(what + ": element [" + at + "] is " + actual[at] + ", expected exactly "
                        + expected[at]);
            }
        }
    }

    /**
     * Asserts that a call fails with the given exception, that the exception's message names the
     * argument at fault (see {@link #namesArgument}), and that the call leaves a tensor unchanged.
     *
     * @param what the call, for the message
     * @param expected the exception type
     * @param argument the name of the argument at fault, as spelled in the SPI signature (for
     *     example {@code "dst"}); where more than one argument is at fault or the call leaves it
     *     open which (mixed types, several negative extents), the names separated by {@code |}, any
     *     of which may be the one named; null where no argument is at fault (a method of a closed
     *     tensor itself)
     * @param output the tensor that must be unchanged (or null)
     * @param call the call
     */
    protected static void assertRejected(String what, Class<? extends Throwable> expected,
                                         String argument, Tensor<?> output,
                                         ThrowingCallable call) {
        assertRejected(what, List.of(expected), argument, output, call);
    }

    /**
     * {@link #assertRejected(String, Class, String, Tensor, ThrowingCallable)} where the kit
     * accepts more than one exception type.
     *
     * @param what the call, for the message
     * @param expected the exception types, any of which may be thrown
     * @param argument the argument at fault, as there
     * @param output the tensor that must be unchanged (or null)
     * @param call the call
     */
    protected static void assertRejected(String what, List<Class<? extends Throwable>> expected,
                                         String argument, Tensor<?> output,
                                         ThrowingCallable call) {
        double[] before = output == null ? null : output.toDoubleArray();
        String types = expected.stream().map(Class::getSimpleName)
                .collect(java.util.stream.Collectors.joining(" or "));
        // catchThrowable, not assertThatThrownBy: the latter fails without the description when
        // nothing is thrown, so the message would not say which call
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).as("%s must throw %s (it threw nothing)", what, types).isNotNull();
        assertThat(expected.stream().anyMatch(t -> t.isInstance(thrown)))
                .as("%s must throw %s, but threw %s", what, types, thrown).isTrue();
        if (argument != null) {
            String message = thrown.getMessage();
            boolean named = false;
            for (String name : argument.split("\\|")) {
                named |= namesArgument(message, name);
            }
            assertThat(named).as("%s threw %s with the message \"%s\", which must begin with the"
                    + " name of the argument at fault, %s, as spelled in the SPI signature (for"
                    + " example \"%s: expected ...\", as dev.loradrop.api.spi.Checks writes it)",
                    what, thrown.getClass().getSimpleName(), message,
                    argument.replace("|", " or "), argument.split("\\|")[0]).isTrue();
        }
        if (output != null) {
            assertExactly(what + " failed, so its output must be unchanged", output.toDoubleArray(),
                    before);
        }
    }

    /**
     * The SPI's rule for exception messages: the message names the argument at fault by beginning
     * with its name, spelled as in the signature (case-sensitive), followed by a character that
     * cannot continue a Java identifier (typically {@code ':'}, as {@link
     * dev.loradrop.api.spi.Checks} writes {@code "dst: expected 6 elements ..."}), or is the name
     * alone (as {@code Objects.requireNonNull(dst, "dst")} writes it).
     *
     * @param message an exception message, possibly null
     * @param name an argument name
     * @return whether the message names that argument
     */
    static boolean namesArgument(String message, String name) {
        return message != null && message.startsWith(name)
                && (message.length() == name.length()
                    || !Character.isJavaIdentifierPart(message.charAt(name.length())));
    }

    /**
     * @param type element type
     * @return a short label
     */
    protected static String label(NumericType<?> type) {
        return type.name();
    }
}
