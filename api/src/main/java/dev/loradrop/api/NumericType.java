package dev.loradrop.api;

/**
 * The element type of a {@link Tensor}: {@link #FLOAT32} or {@link #FLOAT64}.
 *
 * <p>Storage is always primitive (or backend memory); the type parameter only ties tensors, layers
 * and adapters of one precision together at compile time.
 *
 * @param <T> the boxed Java type that names the precision ({@code Float} or {@code Double})
 */
public final class NumericType<T extends Number> {

    /** IEEE 754 single precision, 4 bytes per element. */
    public static final NumericType<Float> FLOAT32 = new NumericType<>("FLOAT32", Float.class, 4);

    /** IEEE 754 double precision, 8 bytes per element. */
    public static final NumericType<Double> FLOAT64 = new NumericType<>("FLOAT64", Double.class, 8);

    private final String name;
    private final Class<T> boxedType;
    private final int byteSize;

    private NumericType(String name, Class<T> boxedType, int byteSize) {
        this.name = name;
        this.boxedType = boxedType;
        this.byteSize = byteSize;
    }

    /** @return {@code "FLOAT32"} or {@code "FLOAT64"} */
    public String name() {
        return name;
    }

    /** @return {@code Float.class} or {@code Double.class} */
    public Class<T> boxedType() {
        return boxedType;
    }

    /** @return bytes per element: 4 or 8 */
    public int byteSize() {
        return byteSize;
    }

    /** @return the unit roundoff of this type (2^-24 for FLOAT32, 2^-53 for FLOAT64) */
    public double epsilon() {
        return this == FLOAT32 ? 0x1p-24 : 0x1p-53;
    }

    /**
     * Converts a double to this type's boxed value ({@code (float) v} for FLOAT32).
     *
     * @param value the value to convert
     * @return the boxed value
     */
    public T fromDouble(double value) {
        Object boxed = this == FLOAT32 ? (Object) (float) value : (Object) value;
        return boxedType.cast(boxed);
    }

    /**
     * Looks a type up by name, case-insensitively ({@code float32}, {@code float}, {@code f32},
     * {@code float64}, {@code double}, {@code f64}).
     *
     * @param name the name
     * @return the type
     * @throws IllegalArgumentException if the name is unknown
     */
    public static NumericType<?> forName(String name) {
        switch (name == null ? "" : name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "float32": case "float": case "f32":
                return FLOAT32;
            case "float64": case "double": case "f64":
                return FLOAT64;
            default:
                throw new IllegalArgumentException(
                        "numeric type: expected float32 or float64, got '" + name + "'");
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
