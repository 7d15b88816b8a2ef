package dev.loradrop.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafetensorsTest {

    @TempDir
    Path dir;

    /** A file as the specification describes it: length, header, data; built byte by byte. */
    static byte[] file(String header, int... data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long n = h.length;
        for (int i = 0; i < 8; i++) {
            out.write((int) (n >>> (8 * i)) & 0xff);
        }
        out.write(h, 0, h.length);
        for (int b : data) {
            out.write(b);
        }
        return out.toByteArray();
    }

    private Path save(byte[] bytes) throws IOException {
        return Files.write(dir.resolve("t.safetensors"), bytes);
    }

    // ------------------------------------------------------------------ known answers

    @Test
    void readsAHandWrittenFileInAllFourDtypes() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[1,3],\"data_offsets\":[8,14]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[14,18]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[18,26]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[26,26]}}   ";
        Path p = save(file(header,
                0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,   // 1.0f, -2.5f
                0x00, 0x3c, 0xff, 0x7b, 0x01, 0x80,               // 1, 65504, -2^-24 (F16)
                0x80, 0x3f, 0x01, 0x80,                           // 1, -2^-133 (BF16)
                0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f)); // 0.1 (F64)
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.metadata()).containsExactly(Map.entry("format", "pt"));
            assertThat(f.names()).containsExactly("a", "b", "c", "d", "e");
            assertThat(f.info("b").shape()).containsExactly(1, 3);
            assertThat(f.info("b").dtype()).isEqualTo(SafetensorsDType.F16);
            assertThat(f.readFloats("a")).containsExactly(1.0f, -2.5f);
            assertThat(f.readDoubles("b")).containsExactly(1.0, 65504.0, -0x1p-24);
            assertThat(f.readDoubles("c")).containsExactly(1.0, -0x1p-133);
            assertThat(f.readDoubles("d")).containsExactly(0.1);
            assertThat(f.readDoubles("e")).isEmpty();
            assertThat(f.info("d").shape()).isEmpty();
        }
    }

    @Test
    void readsTensorsOntoABackendInEitherType() throws IOException {
        Path p = save(file("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}",
                0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x00, 0x7c)); // 1, -2, 0.5, +inf
        try (ComputeBackend backend = new CpuBackendProvider().create(BackendConfig.defaults());
             SafetensorsFile f = SafetensorsFile.open(p);
             Tensor<Float> a = f.read("w", backend, NumericType.FLOAT32);
             Tensor<Double> b = f.read("w", backend, NumericType.FLOAT64)) {
            assertThat(a.shape()).containsExactly(2, 2);
            assertThat(a.toFloatArray()).containsExactly(1f, -2f, 0.5f, Float.POSITIVE_INFINITY);
            assertThat(b.toDoubleArray()).containsExactly(1, -2, 0.5, Double.POSITIVE_INFINITY);
        }
    }

    @Test
    void unconvertibleDtypesCanBeInspectedButNotRead() throws IOException {
        Path p = save(file("{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                1, 0, 0, 0, 0, 0, 0, 0));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.info("i").dtype()).isEqualTo(SafetensorsDType.I64);
            assertThatThrownBy(() -> f.readDoubles("i"))
                    .isInstanceOf(SafetensorsFormatException.class)
                    .hasMessageContaining("tensor 'i'").hasMessageContaining("cannot be converted");
        }
    }

    // ------------------------------------------------------------------ writer

    @Test
    void writerPadsTheHeaderWithSpacesToAMultipleOfEightAndStartsWithABrace() throws IOException {
        for (int nameLength = 1; nameLength <= 9; nameLength++) {
            byte[] bytes = new SafetensorsWriter().metadata("k", "v")
                    .add("x".repeat(nameLength), SafetensorsDType.F32, new int[] {1},
                            new float[] {3f})
                    .toBytes();
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat(n % 8).isZero();
            assertThat(bytes[8]).isEqualTo((byte) '{');
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertThat(header.stripTrailing()).endsWith("}").startsWith("{\"__metadata__\"");
            assertThat(header.substring(header.stripTrailing().length())).matches(" *");
            assertThat(bytes).hasSize((int) (8 + n + 4));
        }
    }

    @Test
    void writesTheBytesTheSpecificationPrescribes() {
        byte[] bytes = new SafetensorsWriter()
                .add("a", SafetensorsDType.F32, new int[] {2}, new float[] {1f, -2.5f})
                .add("b", SafetensorsDType.BF16, new int[] {1}, new double[] {1.0})
                .toBytes();
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
        String padded = header + " ".repeat((8 - header.length() % 8) % 8);
        assertThat(bytes).isEqualTo(file(padded,
                0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x80, 0x3f));
    }

    @Test
    void writeReplacesTheTargetAndLeavesNoTemporaryFile() throws IOException {
        Path p = dir.resolve("w.safetensors");
        Files.writeString(p, "old");
        new SafetensorsWriter().add("a", SafetensorsDType.F64, new int[] {1}, new double[] {2})
                .write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.readDoubles("a")).containsExactly(2.0);
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(p);
        }
    }

    @Test
    void writerRejectsBadInputNamingIt() {
        SafetensorsWriter w = new SafetensorsWriter()
                .add("a", SafetensorsDType.F32, new int[] {1}, new float[] {1});
        assertThatThrownBy(() -> w.add("a", SafetensorsDType.F32, new int[] {1}, new float[] {1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already");
        assertThatThrownBy(() -> w.add("b", SafetensorsDType.F32, new int[] {2}, new float[] {1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("shape:");
        assertThatThrownBy(() -> w.add("__metadata__", SafetensorsDType.F32, new int[] {1},
                new float[] {1})).hasMessageStartingWith("name:");
        assertThatThrownBy(() -> w.add("c", SafetensorsDType.I32, new int[] {1}, new float[] {1}))
                .hasMessageStartingWith("dtype:");
    }

    // ------------------------------------------------------------------ round trips

    private static float[] awkwardFloats(Random r, int n) {
        float[] special = {0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
            Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.NaN, Float.intBitsToFloat(0x7fc00123), 65504f, 65520f, 1e-8f};
        float[] v = Arrays.copyOf(special, n);
        for (int i = special.length; i < n; i++) {
            v[i] = Float.intBitsToFloat(r.nextInt());
        }
        return v;
    }

    @Test
    void f32AndF64RoundTripBitForBit() throws IOException {
        Random r = new Random(7);
        float[] f = awkwardFloats(r, 4097);
        double[] d = new double[4097];
        for (int i = 0; i < d.length; i++) {
            d[i] = i < f.length / 2 ? f[i] : Double.longBitsToDouble(r.nextLong());
        }
        Path p = dir.resolve("rt.safetensors");
        new SafetensorsWriter().add("f", SafetensorsDType.F32, new int[] {17, 241}, f)
                .add("d", SafetensorsDType.F64, new int[] {4097}, d).write(p);
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            float[] f2 = file.readFloats("f");
            double[] d2 = file.readDoubles("d");
            for (int i = 0; i < f.length; i++) {
                assertThat(Float.floatToRawIntBits(f2[i])).as("f[%d]", i)
                        .isEqualTo(Float.floatToRawIntBits(f[i]));
            }
            for (int i = 0; i < d.length; i++) {
                assertThat(Double.doubleToRawLongBits(d2[i])).as("d[%d]", i)
                        .isEqualTo(Double.doubleToRawLongBits(d[i]));
            }
        }
    }

    /** Every one of the 65536 bit patterns, hand-written, read, written back: the same bytes. */
    @ParameterizedTest
    @CsvSource({"F16", "BF16"})
    void halfTypesRoundTripEveryBitPattern(SafetensorsDType dtype) throws IOException {
        int[] data = new int[2 * 65536];
        for (int bits = 0; bits < 65536; bits++) {
            data[2 * bits] = bits & 0xff;
            data[2 * bits + 1] = bits >>> 8;
        }
        String header = "{\"h\":{\"dtype\":\"" + dtype + "\",\"shape\":[65536],"
                + "\"data_offsets\":[0,131072]}}";
        double[] values;
        try (SafetensorsFile f = SafetensorsFile.open(save(file(header, data)))) {
            values = f.readDoubles("h");
        }
        byte[] back = new SafetensorsWriter().add("h", dtype, new int[] {65536}, values)
                .toBytes();
        int start = back.length - 2 * 65536;
        int expBits = dtype == SafetensorsDType.F16 ? 5 : 8;
        int mantBits = 15 - expBits;
        for (int bits = 0; bits < 65536; bits++) {
            int got = (back[start + 2 * bits] & 0xff) | (back[start + 2 * bits + 1] & 0xff) << 8;
            boolean nan = (bits >>> mantBits & ((1 << expBits) - 1)) == (1 << expBits) - 1
                    && (bits & ((1 << mantBits) - 1)) != 0;
            int expected = nan ? (bits & 0x8000) | ((1 << expBits) - 1) << mantBits
                    | 1 << (mantBits - 1) : bits;
            assertThat(got).as("pattern %04x", bits).isEqualTo(expected);
            if (dtype == SafetensorsDType.BF16 && !nan) { // bfloat16 is the top half of a float
                assertThat(values[bits]).isEqualTo((double) Float.intBitsToFloat(bits << 16));
            }
        }
    }

    @Test
    void halfConversionRoundsToNearestEvenAndOverflowsToInfinity() {
        assertThat(SafetensorsDType.doubleToHalf(1 + 0x1p-11)).isEqualTo((short) 0x3c00);
        assertThat(SafetensorsDType.doubleToHalf(1 + 3 * 0x1p-11)).isEqualTo((short) 0x3c02);
        assertThat(SafetensorsDType.doubleToHalf(65519.99)).isEqualTo((short) 0x7bff);
        assertThat(SafetensorsDType.doubleToHalf(65520)).isEqualTo((short) 0x7c00);
        assertThat(SafetensorsDType.doubleToHalf(-1e300)).isEqualTo((short) 0xfc00);
        assertThat(SafetensorsDType.doubleToHalf(0x1p-25)).isEqualTo((short) 0x0000); // tie to 0
        assertThat(SafetensorsDType.doubleToHalf(0x1.8p-24)).isEqualTo((short) 0x0002);
        assertThat(SafetensorsDType.doubleToHalf(0x1p-14 - 0x1p-26)).isEqualTo((short) 0x0400);
        assertThat(SafetensorsDType.doubleToHalf(-0.0)).isEqualTo((short) 0x8000);
        // bfloat16 from a float equals the classic rounding of the float's bits.
        Random r = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            int bits = Float.floatToRawIntBits(f);
            int expected = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
            assertThat(SafetensorsDType.doubleToBfloat16(f) & 0xffff).as("%08x", bits)
                    .isEqualTo(expected & 0xffff);
        }
    }

    @Test
    void f16FromRandomDoublesIsTheNearestRepresentable() {
        Random r = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            double v = (r.nextDouble() * 2 - 1) * Math.scalb(1.0, r.nextInt(40) - 26);
            int h = SafetensorsDType.doubleToHalf(v) & 0xffff;
            double got = SafetensorsDType.halfToDouble(h);
            double err = Math.abs(got - v);
            for (int n : new int[] {h - 1, h + 1}) {
                double neighbour = SafetensorsDType.halfToDouble(n & 0xffff);
                if (!Double.isNaN(neighbour) && (n & 0x7fff) != 0x7c00 && (n >>> 15) == (h >>> 15)) {
                    assertThat(err).as("%s -> %04x", v, h)
                            .isLessThanOrEqualTo(Math.abs(neighbour - v));
                }
            }
        }
    }

    // ------------------------------------------------------------------ structural rules

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "gap | {\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}} | 8 "
                + "| tensor 'a': data_offsets: [4, 8] leave a gap",
        "overlap | {\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}} | 8 | overlap",
        "beyond the file | {\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} | 4 "
                + "| tensor 'a': data_offsets: [0, 8] reach beyond the 4 bytes",
        "byte count | {\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}} | 8 "
                + "| tensor 'a': byte count: shape [3] of F32 needs 12 bytes",
        "uncovered data | {\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} | 8 "
                + "| data: the tensors cover 4 bytes but 8 bytes follow",
        "begin after end | {\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}} | 8 "
                + "| expected begin <= end",
        "negative offset | {\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}} | 0 "
                + "| tensor 'a': data_offsets: expected an array of 2 non-negative integers",
        "fractional dim | {\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}} | 4 "
                + "| tensor 'a': shape: expected an array of non-negative integers",
        "huge shape | {\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}} | 8 | declares more than 2^63 bytes",
        "huge offsets | {\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807],"
                + "\"data_offsets\":[0,9223372036854775807]}} | 8 | reach beyond",
        "unknown dtype | {\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}} | 4 "
                + "| tensor 'a': dtype: expected one of",
        "not an object | {\"a\":[1,2]} | 0 | tensor 'a': entry: expected an object",
        "duplicate | {\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}} | 2 "
                + "| tensor 'a': duplicate name",
        "inner duplicate | {\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],"
                + "\"data_offsets\":[0,1]}} | 1 | tensor 'a': header: invalid JSON",
        "invalid JSON | {\"a\":{\"dtype\":\"U8\" | 0 | header: invalid JSON",
        "trailing junk | {}  {} | 0 | unexpected content after the JSON object",
        "no brace | [] | 0 | header: expected it to begin with '{'",
        "metadata not strings | {\"__metadata__\":{\"k\":1}} | 0 | expected string values",
    })
    void everyStructuralRuleIsCheckedAndNamed(String rule, String header, int dataBytes,
                                              String message) throws IOException {
        Path p = save(file(header, new int[dataBytes]));
        assertThatThrownBy(() -> SafetensorsFile.open(p).close())
                .isInstanceOf(SafetensorsFormatException.class)
                .hasMessageStartingWith(p.toString() + ": ")
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void headerLengthIsBoundedByTheFileAndTheLimit() throws IOException {
        Path shortFile = save(new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(shortFile))
                .hasMessageContaining("truncated: expected at least the 8-byte header length");
        byte[] huge = file("{}");
        huge[7] = (byte) 0x80; // 2^63 + 2
        Path hugeFile = save(huge);
        assertThatThrownBy(() -> SafetensorsFile.open(hugeFile))
                .hasMessageContaining("header length: expected 2 to 100000000 bytes, got "
                        + "9223372036854775810");
        byte[] beyond = file("{}");
        beyond[0] = 50;
        Path beyondFile = save(beyond);
        assertThatThrownBy(() -> SafetensorsFile.open(beyondFile))
                .hasMessageContaining("header length: declares 50 bytes but only 2 follow");
    }
}
