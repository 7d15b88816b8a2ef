package dev.loradrop.core.io;

import java.util.Locale;

/**
 * The element types of the safetensors format, by their names in a file's header.
 *
 * <p>Every type is understood structurally (its byte size checks a tensor's byte count), so any
 * valid file can be opened and inspected. Values can be read and written for the floating-point
 * types {@link #F32}, {@link #F64}, {@link #F16} and {@link #BF16}; the half types are converted
 * with round-to-nearest-even on write (overflow gives infinity) and exactly on read. NaN keeps its
 * sign but not its payload when converted to or from a half type.
 */
public enum SafetensorsDType {
    /** IEEE 754 binary64. */
    F64(8, true),
    /** IEEE 754 binary32. */
    F32(4, true),
    /** IEEE 754 binary16. */
    F16(2, true),
    /** bfloat16: the upper half of a binary32. */
    BF16(2, true),
    /** 64-bit signed integer. */
    I64(8, false),
    /** 64-bit unsigned integer. */
    U64(8, false),
    /** 32-bit signed integer. */
    I32(4, false),
    /** 32-bit unsigned integer. */
    U32(4, false),
    /** 16-bit signed integer. */
    I16(2, false),
    /** 16-bit unsigned integer. */
    U16(2, false),
    /** 8-bit signed integer. */
    I8(1, false),
    /** 8-bit unsigned integer. */
    U8(1, false),
    /** Boolean, one byte. */
    BOOL(1, false),
    /** 8-bit float, 5 exponent bits. */
    F8_E5M2(1, false),
    /** 8-bit float, 4 exponent bits. */
    F8_E4M3(1, false);

    private final int byteSize;
    private final boolean convertible;

    SafetensorsDType(int byteSize, boolean convertible) {
        this.byteSize = byteSize;
        this.convertible = convertible;
    }

    /** @return bytes per element */
    public int byteSize() {
        return byteSize;
    }

    /** @return whether loradrop reads and writes values of this type (F64, F32, F16, BF16) */
    public boolean isConvertible() {
        return convertible;
    }

    /**
     * @param name a dtype as written in a header, for example {@code "F32"}
     * @return the type, or null if the name is not a safetensors dtype
     */
    static SafetensorsDType fromHeader(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /**
     * Looks a type up by name, case-insensitively.
     *
     * @param name for example {@code "f16"} or {@code "BF16"}
     * @return the type
     * @throws IllegalArgumentException naming the convertible types if the name is unknown or not
     *     convertible
     */
    public static SafetensorsDType forName(String name) {
        SafetensorsDType t = name == null ? null : fromHeader(name.trim().toUpperCase(Locale.ROOT));
        if (t == null || !t.convertible) {
            throw new IllegalArgumentException("dtype: expected one of F32, F64, F16, BF16, got '"
                    + name + "'");
        }
        return t;
    }

    // ------------------------------------------------------------------ half conversions

    /**
     * @param bits an IEEE binary16 value
     * @return its exact value
     */
    static double halfToDouble(int bits) {
        return smallToDouble(bits, 5, 10);
    }

    /**
     * @param bits a bfloat16 value
     * @return its exact value
     */
    static double bfloat16ToDouble(int bits) {
        return smallToDouble(bits, 8, 7);
    }

    /**
     * @param value a number
     * @return the nearest binary16 (ties to even; beyond the largest finite value, infinity)
     */
    static short doubleToHalf(double value) {
        return (short) doubleToSmall(value, 5, 10);
    }

    /**
     * @param value a number
     * @return the nearest bfloat16 (ties to even; beyond the largest finite value, infinity)
     */
    static short doubleToBfloat16(double value) {
        return (short) doubleToSmall(value, 8, 7);
    }

    private static double smallToDouble(int bits, int expBits, int mantBits) {
        int bias = (1 << (expBits - 1)) - 1;
        int mantMask = (1 << mantBits) - 1;
        int expMask = (1 << expBits) - 1;
        boolean negative = (bits >>> (expBits + mantBits) & 1) != 0;
        int exp = bits >>> mantBits & expMask;
        int mant = bits & mantMask;
        double magnitude;
        if (exp == expMask) {
            magnitude = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exp == 0) {
            magnitude = Math.scalb((double) mant, 1 - bias - mantBits);
        } else {
            magnitude = Math.scalb((double) (mant | (1 << mantBits)), exp - bias - mantBits);
        }
        return negative ? -magnitude : magnitude;
    }

    /** Rounds to a binary format with the given field widths, ties to even, directly from double. */
    private static int doubleToSmall(double value, int expBits, int mantBits) {
        int bias = (1 << (expBits - 1)) - 1;
        int minExp = 1 - bias;
        int expMask = (1 << expBits) - 1;
        int sign = (Double.doubleToRawLongBits(value) < 0 ? 1 : 0) << (expBits + mantBits);
        if (Double.isNaN(value)) {
            return sign | expMask << mantBits | 1 << (mantBits - 1);
        }
        double a = Math.abs(value);
        // Halfway between the largest finite value and the next power of two rounds to infinity.
        double overflow = Math.scalb(2.0 - Math.scalb(1.0, -(mantBits + 1)), bias);
        if (a >= overflow) {
            return sign | expMask << mantBits;
        }
        if (a < Math.scalb(1.0, minExp)) { // subnormal: units of 2^(minExp - mantBits)
            // A carry to 1 << mantBits encodes the smallest normal number, as it should.
            return sign | (int) Math.rint(Math.scalb(a, mantBits - minExp));
        }
        int e = Math.getExponent(a);
        long m = (long) Math.rint(Math.scalb(a, mantBits - e)); // in [2^mantBits, 2^(mantBits+1)]
        // A carry to 2^(mantBits+1) moves into the exponent field, as it should.
        return sign | (int) (((long) (e + bias) << mantBits) + (m - (1L << mantBits)));
    }
}
