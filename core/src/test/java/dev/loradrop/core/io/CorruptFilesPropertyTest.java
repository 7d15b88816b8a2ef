package dev.loradrop.core.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.SequentialModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Thousands of corrupted adapter files: each load either fails with a clear exception and leaves
 * the target model unchanged, or (when the corruption left a valid file) loads exactly what the
 * file holds. Structural corruptions must always fail. No try may run out of memory or hang.
 */
class CorruptFilesPropertyTest {

    private static ComputeBackend backend;
    private static SequentialModel<Double> source;
    private static SequentialModel<Double> target;
    private static Path dir;
    private static byte[] valid;
    private static int headerLength;

    @BeforeContainer
    static void setUp() throws IOException {
        backend = IoFixtures.cpu();
        source = IoFixtures.model(backend, NumericType.FLOAT64, 1, 2);
        target = IoFixtures.model(backend, NumericType.FLOAT64, 1, 3);
        IoFixtures.randomiseAdapters(source, 4);
        dir = Files.createTempDirectory("loradrop-corrupt");
        PeftAdapters.save(source, dir, SafetensorsDType.F32);
        valid = Files.readAllBytes(dir.resolve(PeftAdapters.MODEL_FILE));
        headerLength = (int) ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    @AfterContainer
    static void tearDown() throws IOException {
        target.close();
        source.close();
        backend.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Loads the bytes strictly; returns the failure, or null when the load succeeded. */
    private static Exception load(byte[] bytes) throws IOException {
        Files.write(dir.resolve(PeftAdapters.MODEL_FILE), bytes);
        Map<String, double[]> before = IoFixtures.snapshot(target);
        try {
            PeftAdapters.load(target, dir, true);
        } catch (SafetensorsFormatException | IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank().doesNotContain("\n");
            Map<String, double[]> after = IoFixtures.snapshot(target);
            for (String name : before.keySet()) {
                assertThat(after.get(name)).as(name).isEqualTo(before.get(name));
            }
            return e;
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(PeftAdapters.MODEL_FILE))) {
            Map<String, double[]> after = IoFixtures.snapshot(target);
            for (String key : f.names()) {
                assertThat(after.get(PeftAdapters.normalise(key))).isEqualTo(f.readDoubles(key));
            }
        }
        return null;
    }

    @Property(tries = 500, seed = "20261128")
    void truncatedFilesFail(@ForAll("truncations") int length) throws IOException {
        assertThat(load(Arrays.copyOf(valid, length)))
                .isInstanceOf(SafetensorsFormatException.class);
    }

    @Provide
    Arbitrary<Integer> truncations() {
        return Arbitraries.integers().between(0, valid.length - 1);
    }

    @Property(tries = 500, seed = "20261128")
    void wrongHeaderLengthsFail(@ForAll("headerLengths") long n) throws IOException {
        byte[] bytes = valid.clone();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
        assertThat(load(bytes)).isInstanceOf(SafetensorsFormatException.class);
    }

    @Provide
    Arbitrary<Long> headerLengths() {
        return Arbitraries.oneOf(Arbitraries.longs(),
                        Arbitraries.longs().between(0, valid.length + 16),
                        Arbitraries.of(Long.MAX_VALUE, Long.MIN_VALUE, -1L, 0L, 1L,
                                SafetensorsFile.MAX_HEADER_SIZE + 1))
                .filter(n -> n != headerLength);
    }

    /** Header rewrites: offsets moved, shapes and dtypes changed, sizes huge, JSON broken. */
    @Property(tries = 1000, seed = "20261128")
    void structurallyBrokenHeadersFail(@ForAll("brokenHeaders") String header)
            throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[8 + h.length + valid.length - 8 - headerLength];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
        System.arraycopy(h, 0, bytes, 8, h.length);
        System.arraycopy(valid, 8 + headerLength, bytes, 8 + h.length,
                valid.length - 8 - headerLength);
        // A rewritten name gives a valid file that does not fit the model: a strict-load error.
        assertThat(load(bytes)).isInstanceOfAny(SafetensorsFormatException.class,
                IllegalArgumentException.class);
    }

    @Provide
    Arbitrary<String> brokenHeaders() {
        String header = new String(valid, 8, headerLength, StandardCharsets.UTF_8).stripTrailing();
        List<String> numbers = Arrays.stream(header.split("[^0-9]+"))
                .filter(s -> !s.isEmpty()).distinct().toList();
        Arbitrary<String> replacements = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 10_000).map(Object::toString),
                Arbitraries.of("-1", "1.5", "1e3", "4294967296", "9223372036854775807",
                        "99999999999999999999999", "null", "\"8\"", "[]", "{}"));
        Arbitrary<String> numberChanged = Combinators.combine(
                        Arbitraries.integers().between(0, header.length() - 1), replacements)
                .as((at, replacement) -> replaceNumberAfter(header, at, replacement))
                .filter(h -> !h.equals(header));
        Arbitrary<String> dtypeChanged = Arbitraries.of("F64", "F16", "BF16", "I64", "U8",
                "F4", "f32", "", "BOOL").map(d -> header.replaceFirst("\"F32\"", "\"" + d + "\""));
        // A cut at the start of a top-level entry leaves a valid header (the metadata dropped):
        // not a corruption, so those positions are excluded.
        Arbitrary<String> cut = Arbitraries.integers().between(1, header.length() - 1)
                .map(header::substring)
                .filter(s -> !s.startsWith("\"base_model") && !s.startsWith("\"__metadata"))
                .map(s -> "{" + s);
        Arbitrary<String> duplicated = Arbitraries.integers().between(1, 3).map(k -> {
            int i = header.indexOf("\"base_model");
            int j = header.indexOf("},", i) + 2;
            return header.substring(0, j) + header.substring(i, j).repeat(k)
                    + header.substring(j);
        });
        Arbitrary<String> junk = Arbitraries.strings().ofMinLength(1).ofMaxLength(200)
                .map(s -> "{" + s);
        Arbitrary<String> deep = Arbitraries.integers().between(1, 5000)
                .map(k -> "{\"a\":" + "[".repeat(k) + "]".repeat(k) + "}");
        return Arbitraries.oneOf(numberChanged, dtypeChanged, cut, duplicated, junk, deep)
                .filter(h -> !h.equals(header));
    }

    private static String replaceNumberAfter(String s, int at, String replacement) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?<![A-Za-z_])[0-9]+")
                .matcher(s);
        if (!m.find(at) && !m.find(0)) {
            return s;
        }
        return s.substring(0, m.start()) + replacement + s.substring(m.end());
    }

    /** Random bytes anywhere: any outcome but a crash, an OOM, a hang or a half-changed model. */
    @Property(tries = 1000, seed = "20261128")
    void randomByteFlipsNeverHalfLoad(@ForAll("flips") List<int[]> flips) throws IOException {
        byte[] bytes = valid.clone();
        for (int[] f : flips) {
            bytes[f[0] % bytes.length] = (byte) f[1];
        }
        Exception e = load(bytes);
        boolean headerUntouched = flips.stream().allMatch(f -> f[0] % bytes.length >= 8 + headerLength
                || bytes[f[0] % bytes.length] == valid[f[0] % bytes.length]);
        if (headerUntouched) {
            assertThat(e).isNull();
        }
    }

    @Provide
    Arbitrary<List<int[]>> flips() {
        return Combinators.combine(Arbitraries.integers().between(0, Integer.MAX_VALUE),
                        Arbitraries.integers().between(0, 255))
                .as((at, b) -> new int[] {at, b}).list().ofMinSize(1).ofMaxSize(8);
    }
}
