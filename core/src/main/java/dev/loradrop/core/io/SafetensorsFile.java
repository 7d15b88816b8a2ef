package dev.loradrop.core.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A safetensors file opened for reading: its header is parsed and checked against every structural
 * rule of the format when it is opened, and tensor data is read through memory maps of just the
 * bytes asked for, so large files are never read whole.
 *
 * <p>The format: an 8-byte little-endian header length {@code N}; {@code N} bytes of UTF-8 JSON
 * starting with <code>{</code> (trailing spaces allowed), mapping each tensor name to its
 * {@code dtype}, {@code shape} and {@code data_offsets [begin, end)} relative to the data that
 * follows, plus an optional {@code __metadata__} object of strings; then the data, little-endian
 * and row-major. Checked when opening: the header length is within {@value #MAX_HEADER_SIZE} bytes
 * and the file; the header is one JSON object with no duplicate names; each entry has a known
 * dtype, non-negative dimensions and offsets, {@code begin <= end}, a byte count equal to the
 * element count times the dtype's size, and lies inside the file; entries in offset order neither
 * overlap nor leave gaps, and cover the data exactly. A violation is a {@link
 * SafetensorsFormatException} naming the file, the tensor and the rule.
 *
 * <p>Not thread-safe. Close it to release the file.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The largest header accepted, as in the reference implementation: 100 MB. */
    public static final long MAX_HEADER_SIZE = 100_000_000L;

    /** The reserved header key of the string-to-string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();

    /**
     * One tensor's header entry.
     *
     * @param name the name
     * @param dtype the element type
     * @param shape the dimensions (may exceed {@code int} for files loradrop can only inspect)
     * @param begin the first data byte, relative to the start of the data
     * @param end one past the last data byte
     */
    public record TensorInfo(String name, SafetensorsDType dtype, long[] shape, long begin,
                             long end) {

        /**
         * @param name the name
         * @param dtype the type
         * @param shape the dimensions, copied
         * @param begin the first byte
         * @param end one past the last byte
         */
        public TensorInfo {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
        }

        /** @return a copy of the dimensions */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** @return the number of elements (the product of the shape; 1 for a scalar) */
        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d; // checked not to overflow when the file was opened
            }
            return n;
        }

        /** @return the number of data bytes */
        public long byteCount() {
            return end - begin;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                    && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long headerLength;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors; // in data order

    private SafetensorsFile(Path path, FileChannel channel, long headerLength,
                            Map<String, String> metadata, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.headerLength = headerLength;
        this.dataStart = 8 + headerLength;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Opens a file and checks its header.
     *
     * @param path the file
     * @return the open file; close it
     * @throws SafetensorsFormatException if the file breaks a rule of the format
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path, null, "truncated: expected at least the "
                        + "8-byte header length, the file has " + size + " bytes");
            }
            ByteBuffer len = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
            long n = len.getLong(0);
            if (n < 2 || n > MAX_HEADER_SIZE) {
                throw new SafetensorsFormatException(path, null, "header length: expected 2 to "
                        + MAX_HEADER_SIZE + " bytes, got " + Long.toUnsignedString(n));
            }
            if (n > size - 8) {
                throw new SafetensorsFormatException(path, null, "header length: declares " + n
                        + " bytes but only " + (size - 8) + " follow the length (truncated file?)");
            }
            byte[] header = new byte[(int) n];
            readFully(channel, 8, (int) n).get(header);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(path, header, size - 8 - n, metadata);
            return new SafetensorsFile(path, channel, n, metadata, tensors);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length)
            throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new EOFException("file ended while reading " + length + " bytes at "
                        + position);
            }
        }
        return buf.flip();
    }

    // ------------------------------------------------------------------ header

    private static Map<String, TensorInfo> parseHeader(Path path, byte[] header, long dataSize,
                                                       Map<String, String> metadata)
            throws SafetensorsFormatException {
        if (header[0] != '{') {
            throw new SafetensorsFormatException(path, null, String.format(
                    "header: expected it to begin with '{', got byte 0x%02x", header[0] & 0xff));
        }
        Map<String, JsonNode> entries = new LinkedHashMap<>();
        String current = null;
        try (JsonParser p = MAPPER.createParser(header)) {
            p.nextToken(); // START_OBJECT, as header[0] is '{'
            Set<String> seen = new HashSet<>();
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                current = p.currentName();
                if (!seen.add(current)) {
                    throw new SafetensorsFormatException(path, current,
                            "duplicate name: the header lists it more than once");
                }
                p.nextToken();
                entries.put(current, p.readValueAsTree());
                current = null;
            }
            if (t != JsonToken.END_OBJECT) {
                throw new SafetensorsFormatException(path, null,
                        "header: invalid JSON: expected a name or '}', got " + t);
            }
            if (p.nextToken() != null) {
                throw new SafetensorsFormatException(path, null, "header: unexpected content after "
                        + "the JSON object; only spaces may pad it");
            }
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path, current,
                    "header: invalid JSON: " + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) { // a byte array parser reports everything as JsonProcessingException
            throw new SafetensorsFormatException(path, current, "header: unreadable: " + e, e);
        }

        List<TensorInfo> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : entries.entrySet()) {
            if (METADATA_KEY.equals(e.getKey())) {
                readMetadata(path, e.getValue(), metadata);
            } else {
                list.add(entry(path, e.getKey(), e.getValue(), dataSize));
            }
        }
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo info : list) {
            if (info.begin() < expected) {
                throw new SafetensorsFormatException(path, info.name(), "data_offsets: "
                        + offsets(info) + " overlap those of '" + previous.name() + "' "
                        + offsets(previous));
            }
            if (info.begin() > expected) {
                throw new SafetensorsFormatException(path, info.name(), "data_offsets: "
                        + offsets(info) + " leave a gap of " + (info.begin() - expected)
                        + " bytes before them; the data must be contiguous");
            }
            expected = info.end();
            previous = info;
        }
        if (expected != dataSize) {
            throw new SafetensorsFormatException(path, null, "data: the tensors cover " + expected
                    + " bytes but " + dataSize + " bytes follow the header");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (TensorInfo info : list) {
            tensors.put(info.name(), info);
        }
        return tensors;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }

    private static String offsets(TensorInfo info) {
        return "[" + info.begin() + ", " + info.end() + "]";
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> metadata)
            throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(path, null, METADATA_KEY
                    + ": expected an object of strings, got " + node.getNodeType());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(path, null, METADATA_KEY + ": expected string "
                        + "values, got " + e.getValue().getNodeType() + " for key '" + e.getKey()
                        + "'");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo entry(Path path, String name, JsonNode node, long dataSize)
            throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(path, name, "entry: expected an object with dtype,"
                    + " shape and data_offsets, got " + node.getNodeType());
        }
        JsonNode dt = node.get("dtype");
        SafetensorsDType dtype = dt != null && dt.isTextual()
                ? SafetensorsDType.fromHeader(dt.textValue()) : null;
        if (dtype == null) {
            throw new SafetensorsFormatException(path, name, "dtype: expected one of "
                    + Arrays.toString(SafetensorsDType.values()) + ", got " + dt);
        }
        long[] shape = longs(path, name, "shape", node.get("shape"), -1);
        long[] off = longs(path, name, "data_offsets", node.get("data_offsets"), 2);
        if (off[0] > off[1]) {
            throw new SafetensorsFormatException(path, name, "data_offsets: expected begin <= end, "
                    + "got [" + off[0] + ", " + off[1] + "]");
        }
        long bytes = dtype.byteSize();
        try {
            for (long d : shape) {
                bytes = Math.multiplyExact(bytes, d);
            }
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(path, name, "shape: " + Arrays.toString(shape)
                    + " of " + dtype + " declares more than 2^63 bytes");
        }
        if (bytes != off[1] - off[0]) {
            throw new SafetensorsFormatException(path, name, "byte count: shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + bytes
                    + " bytes, data_offsets [" + off[0] + ", " + off[1] + "] hold "
                    + (off[1] - off[0]));
        }
        if (off[1] > dataSize) {
            throw new SafetensorsFormatException(path, name, "data_offsets: [" + off[0] + ", "
                    + off[1] + "] reach beyond the " + dataSize + " bytes of data in the file "
                    + "(truncated file?)");
        }
        return new TensorInfo(name, dtype, shape, off[0], off[1]);
    }

    /** Reads an array of non-negative integers; {@code length < 0} means any length. */
    private static long[] longs(Path path, String name, String key, JsonNode node, int length)
            throws SafetensorsFormatException {
        String expected = length < 0 ? "an array of non-negative integers"
                : "an array of " + length + " non-negative integers";
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new SafetensorsFormatException(path, name, key + ": expected " + expected
                    + ", got " + (node == null ? "nothing" : abbreviate(node.toString())));
        }
        long[] v = new long[node.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode e = node.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToLong() || e.longValue() < 0) {
                throw new SafetensorsFormatException(path, name, key + ": expected " + expected
                        + ", got " + abbreviate(node.toString()));
            }
            v[i] = e.longValue();
        }
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    // ------------------------------------------------------------------ access

    /** @return the file */
    public Path path() {
        return path;
    }

    /** @return the header's length in bytes, padding included */
    public long headerLength() {
        return headerLength;
    }

    /** @return the {@code __metadata__} strings, in file order (empty if absent) */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** @return every tensor's entry, in data order */
    public List<TensorInfo> tensors() {
        return List.copyOf(tensors.values());
    }

    /** @return the tensor names, in data order */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /**
     * @param name a tensor name
     * @return whether the file has it
     */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * @param name a tensor name
     * @return its entry
     * @throws IllegalArgumentException if the file has no such tensor
     */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(Objects.requireNonNull(name, "name"));
        if (info == null) {
            throw new IllegalArgumentException("name: " + path + " has no tensor '" + name
                    + "'; it has " + tensors.keySet());
        }
        return info;
    }

    /**
     * Reads a tensor's values as doubles (exact for every convertible dtype).
     *
     * @param name a tensor name
     * @return the values, row-major
     * @throws SafetensorsFormatException if the dtype is not convertible or the tensor is too
     *     large for one Java array
     * @throws IOException if reading fails
     */
    public double[] readDoubles(String name) throws IOException {
        TensorInfo info = info(name);
        ByteBuffer buf = map(info);
        double[] out = new double[(int) info.elementCount()];
        switch (info.dtype()) {
            case F64:
                buf.asDoubleBuffer().get(out);
                break;
            case F32:
                for (int i = 0; i < out.length; i++) {
                    out[i] = buf.getFloat(4 * i);
                }
                break;
            default:
                readHalf(info.dtype(), buf.asShortBuffer(), out);
        }
        return out;
    }

    /**
     * Reads a tensor's values as floats (F64 is rounded to nearest; the others are exact).
     *
     * @param name a tensor name
     * @return the values, row-major
     * @throws SafetensorsFormatException if the dtype is not convertible or the tensor is too
     *     large for one Java array
     * @throws IOException if reading fails
     */
    public float[] readFloats(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.dtype() != SafetensorsDType.F32) {
            double[] d = readDoubles(name);
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            return f;
        }
        ByteBuffer buf = map(info);
        float[] out = new float[(int) info.elementCount()];
        buf.asFloatBuffer().get(out);
        return out;
    }

    /**
     * Reads a tensor onto a backend, converting to the requested type.
     *
     * @param name a tensor name
     * @param backend the backend
     * @param type the tensor type
     * @param <T> element type
     * @return a new tensor of the file's shape, owned by the caller
     * @throws SafetensorsFormatException if the dtype is not convertible or the tensor does not
     *     fit a loradrop tensor
     * @throws IOException if reading fails
     */
    @SuppressWarnings("unchecked")
    public <T extends Number> Tensor<T> read(String name, ComputeBackend backend,
                                             NumericType<T> type) throws IOException {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(type, "type");
        int[] shape = intShape(info(name));
        if (type == NumericType.FLOAT32) {
            return (Tensor<T>) backend.upload(readFloats(name), shape);
        }
        return (Tensor<T>) backend.upload(readDoubles(name), shape);
    }

    /**
     * @param info an entry of this file
     * @return its shape as ints, for a loradrop tensor (a scalar becomes {@code [1]})
     * @throws SafetensorsFormatException if a dimension or the element count exceeds
     *     {@code Integer.MAX_VALUE}
     */
    public int[] intShape(TensorInfo info) throws SafetensorsFormatException {
        long[] s = info.shape();
        if (info.elementCount() > Integer.MAX_VALUE) {
            throw new SafetensorsFormatException(path, info.name(), "shape: "
                    + Arrays.toString(s) + " has " + info.elementCount()
                    + " elements, more than the " + Integer.MAX_VALUE + " a tensor holds");
        }
        if (s.length == 0) {
            return new int[] {1};
        }
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = (int) s[i]; // each dimension is at most the element count, unless one is 0
            if (out[i] != s[i]) {
                throw new SafetensorsFormatException(path, info.name(), "shape: dimension " + s[i]
                        + " exceeds " + Integer.MAX_VALUE);
            }
        }
        return out;
    }

    private ByteBuffer map(TensorInfo info) throws IOException {
        if (!info.dtype().isConvertible()) {
            throw new SafetensorsFormatException(path, info.name(), "dtype: " + info.dtype()
                    + " cannot be converted; loradrop reads F64, F32, F16 and BF16");
        }
        intShape(info);
        if (info.byteCount() == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(),
                info.byteCount()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void readHalf(SafetensorsDType dtype, ShortBuffer src, double[] out) {
        boolean bf = dtype == SafetensorsDType.BF16;
        for (int i = 0; i < out.length; i++) {
            int bits = src.get(i) & 0xffff;
            out[i] = bf ? SafetensorsDType.bfloat16ToDouble(bits)
                    : SafetensorsDType.halfToDouble(bits);
        }
    }

    /** Releases the file. Idempotent. */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
