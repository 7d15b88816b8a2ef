package dev.loradrop.api.spi;

import dev.loradrop.api.Activation;
import dev.loradrop.api.BitMask;
import dev.loradrop.api.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * Argument checks for {@link ComputeBackend} implementations, with the messages the conformance
 * kit expects: each begins with the argument's name as the caller passes it (which must be its
 * name in the SPI signature), then says what was expected and what was given, for example
 * {@code "dst: expected 6 elements (the size of src), got 7"}. Every check builds its message only
 * when it fails, so calling them on a hot path allocates nothing.
 */
public final class Checks {

    private Checks() {
    }

    /**
     * @param first a tensor
     * @param firstName its argument name
     * @param other another tensor
     * @param otherName its argument name
     * @throws IllegalArgumentException if their element types differ
     */
    public static void sameType(Tensor<?> first, String firstName, Tensor<?> other,
                                String otherName) {
        if (other.type() != first.type()) {
            throw new IllegalArgumentException(otherName + ": expected " + first.type()
                    + " (the type of " + firstName + "), got " + other.type());
        }
    }

    /**
     * @param t a tensor
     * @param name its argument name
     * @param expected the element count it must have
     * @param why where that count comes from, for the message
     * @throws IllegalArgumentException if the count differs
     */
    public static void requireSize(Tensor<?> t, String name, long expected, String why) {
        if (t.size() != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " elements ("
                    + why + "), got " + t.size());
        }
    }

    /**
     * @param first a tensor
     * @param firstName its argument name
     * @param other a tensor that must have as many elements
     * @param otherName its argument name
     * @throws IllegalArgumentException if the counts differ
     */
    public static void requireSameSize(Tensor<?> first, String firstName, Tensor<?> other,
                                       String otherName) {
        if (other.size() != first.size()) {
            requireSize(other, otherName, first.size(), "the size of " + firstName);
        }
    }

    /**
     * @param t a tensor
     * @param name its argument name
     * @param rowsName the name of the row count, for the message
     * @param rows the row count
     * @param colsName the name of the column count
     * @param cols the column count
     * @throws IllegalArgumentException if the tensor does not have {@code rows x cols} elements
     */
    public static void requireMatrix(Tensor<?> t, String name, String rowsName, int rows,
                                     String colsName, int cols) {
        if (t.size() != (long) rows * cols) {
            requireSize(t, name, (long) rows * cols, rowsName + "=" + rows + " x " + colsName + "="
                    + cols);
        }
    }

    /**
     * @param t a tensor
     * @param name its argument name
     * @param unit the count its size must be a multiple of (0: the size must be 0)
     * @param why where the unit comes from
     * @throws IllegalArgumentException if it is not
     */
    public static void requireMultiple(Tensor<?> t, String name, int unit, String why) {
        boolean ok = unit == 0 ? t.size() == 0 : t.size() % unit == 0;
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected a multiple of " + unit
                    + " elements (" + why + "), got " + t.size());
        }
    }

    /**
     * @param out an output
     * @param outName its argument name
     * @param in an input
     * @param inName its argument name
     * @throws IllegalArgumentException if they are the same object
     */
    public static void requireDistinct(Object out, String outName, Object in, String inName) {
        if (out == in) {
            throw new IllegalArgumentException(outName + ": expected a tensor other than "
                    + inName + " (they may not alias), got the same tensor");
        }
    }

    /**
     * The argument checks of {@link ComputeBackend#prepareLinear}, ownership aside.
     *
     * @param weight {@code out * in} elements
     * @param bias {@code out} elements of the weight's type, or null
     * @param activation not null
     * @param out rows of the weight
     * @param in columns of the weight
     * @throws NullPointerException for a null weight or activation
     * @throws IllegalArgumentException naming the argument otherwise
     */
    public static void linearArguments(Tensor<?> weight, Tensor<?> bias, Activation activation,
                                       int out, int in) {
        Objects.requireNonNull(weight, "weight");
        Objects.requireNonNull(activation, "activation");
        requireNonNegative("out", out);
        requireNonNegative("in", in);
        requireMatrix(weight, "weight", "out", out, "in", in);
        if (bias != null) {
            sameType(weight, "weight", bias, "bias");
            requireSize(bias, "bias", out, "out");
        }
    }

    /**
     * The argument checks of {@link PreparedLinear#apply}, ownership and types aside.
     *
     * @param rows rows, {@code >= 0}
     * @param x {@code rows * in} elements
     * @param y {@code rows * out} elements, not {@code x}
     * @param in the prepared input size
     * @param out the prepared output size
     * @throws NullPointerException for a null tensor
     * @throws IllegalArgumentException naming the argument otherwise
     */
    public static void linearCall(int rows, Tensor<?> x, Tensor<?> y, int in, int out) {
        requireNonNegative("rows", rows);
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        requireMatrix(x, "x", "rows", rows, "inputSize", in);
        requireMatrix(y, "y", "rows", rows, "outputSize", out);
        requireDistinct(y, "y", x, "x");
    }

    /**
     * @param name an argument name
     * @param value its value
     * @throws IllegalArgumentException if the value is negative
     */
    public static void requireNonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": expected >= 0, got " + value);
        }
    }

    /**
     * Checks {@code [offset, offset + length)} lies within {@code [0, capacity)}.
     *
     * @param arrayName the name of the array or tensor
     * @param capacity its element count
     * @param offsetName the name of the offset argument
     * @param offset the offset
     * @param length the length
     * @throws IllegalArgumentException if the range is negative or too long
     */
    public static void checkRange(String arrayName, int capacity, String offsetName, int offset,
                                  int length) {
        requireNonNegative(offsetName, offset);
        requireNonNegative("length", length);
        if ((long) offset + length > capacity) {
            throw new IllegalArgumentException(offsetName + " + length: expected <= " + capacity
                    + " (the size of " + arrayName + "), got " + ((long) offset + length) + " ("
                    + offsetName + "=" + offset + ", length=" + length + ")");
        }
    }

    /**
     * @param shape a shape argument
     * @return a validated copy: at least one axis, every extent {@code >= 0}
     * @throws NullPointerException if shape is null
     * @throws IllegalArgumentException otherwise
     */
    public static int[] shapeCopy(int[] shape) {
        Objects.requireNonNull(shape, "shape");
        int[] dims = shape.clone();
        if (dims.length == 0) {
            throw new IllegalArgumentException("shape: expected at least one axis, got []");
        }
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("shape: expected extents >= 0, got "
                        + Arrays.toString(dims));
            }
        }
        return dims;
    }

    /**
     * @param dims validated extents
     * @return their product
     * @throws IllegalArgumentException if it exceeds {@link Integer#MAX_VALUE}
     */
    public static int sizeOf(int[] dims) {
        for (int d : dims) {
            if (d == 0) {
                return 0;
            }
        }
        long size = 1;
        for (int d : dims) {
            size *= d;
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape: expected at most "
                        + Integer.MAX_VALUE + " elements, got " + Arrays.toString(dims)
                        + " (more than " + Integer.MAX_VALUE + ")");
            }
        }
        return (int) size;
    }

    /**
     * @param length the length of a host array
     * @param size the element count of the shape
     * @param dims the shape, for the message
     * @throws IllegalArgumentException if they differ
     */
    public static void requireLength(int length, int size, int[] dims) {
        if (length != size) {
            throw new IllegalArgumentException("data: expected " + size + " elements (shape "
                    + Arrays.toString(dims) + "), got " + length);
        }
    }

    /**
     * Checks that a tensor argument is not null, is the backend's own implementation type,
     * belongs to that very backend instance, and is open.
     *
     * @param t the argument
     * @param name its argument name
     * @param type the backend's tensor class
     * @param owner the backend the call was made on
     * @param <R> the backend's tensor class
     * @return the tensor as {@code type}
     * @throws NullPointerException if t is null
     * @throws IllegalArgumentException if it is another backend's
     * @throws IllegalStateException if it is closed
     */
    public static <R> R owned(Tensor<?> t, String name, Class<R> type, ComputeBackend owner) {
        Objects.requireNonNull(t, name);
        R r = ownedBy(t, name, "tensor", type, owner);
        requireOwned(t, name, owner);
        return r;
    }

    /**
     * The checks of {@link #owned(Tensor, String, Class, ComputeBackend)} but the class, for code
     * that does not know the backend's tensor class (the default {@link PreparedLinear}).
     *
     * @param t the argument
     * @param name its argument name
     * @param owner the backend it must belong to
     * @throws NullPointerException if t is null
     * @throws IllegalArgumentException if it belongs to another backend
     * @throws IllegalStateException if it is closed
     */
    public static void requireOwned(Tensor<?> t, String name, ComputeBackend owner) {
        Objects.requireNonNull(t, name);
        ComputeBackend actual = t.backend();
        if (actual != owner) {
            if (!actual.id().equals(owner.id())) {
                throw new IllegalArgumentException(name + ": expected a tensor of backend '"
                        + owner.id() + "', got one of backend '" + actual.id() + "'");
            }
            throw foreign(name, "tensor", owner);
        }
        if (t.isClosed()) {
            throw new IllegalStateException(name + ": tensor is closed");
        }
    }

    /**
     * The same checks as {@link #owned(Tensor, String, Class, ComputeBackend)}, for a mask.
     *
     * @param m the argument
     * @param name its argument name
     * @param type the backend's mask class
     * @param owner the backend the call was made on
     * @param <R> the backend's mask class
     * @return the mask as {@code type}
     */
    public static <R> R owned(BitMask m, String name, Class<R> type, ComputeBackend owner) {
        Objects.requireNonNull(m, name);
        R r = ownedBy(m, name, "mask", type, owner);
        if (m.backend() != owner) {
            throw foreign(name, "mask", owner);
        }
        if (m.isClosed()) {
            throw new IllegalStateException(name + ": mask is closed");
        }
        return r;
    }

    private static <R> R ownedBy(Object arg, String name, String kind, Class<R> type,
                                 ComputeBackend owner) {
        if (!type.isInstance(arg)) {
            throw new IllegalArgumentException(name + ": expected a " + kind + " of backend '"
                    + owner.id() + "', got a " + arg.getClass().getName());
        }
        return type.cast(arg);
    }

    private static IllegalArgumentException foreign(String name, String kind,
                                                    ComputeBackend owner) {
        return new IllegalArgumentException(name + ": expected a " + kind + " of this backend, got "
                + "one that belongs to another '" + owner.id() + "' backend");
    }
}
