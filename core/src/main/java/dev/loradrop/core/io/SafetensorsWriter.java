package dev.loradrop.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Collects named tensors and metadata and writes them as one safetensors file.
 *
 * <p>Tensors are stored in the order they were added. The header starts with <code>{</code>, lists
 * {@code __metadata__} first when there is any, and is padded with spaces so that the data starts
 * at a multiple of 8 bytes. Values are converted to the requested dtype (round to nearest even; a
 * half type overflows to infinity); writing a FLOAT32 tensor as F32 or a FLOAT64 tensor as F64
 * keeps every bit. {@link #write(Path)} replaces the target atomically.
 *
 * <pre>{@code
 * new SafetensorsWriter().metadata("format", "pt")
 *         .add("lora_A.weight", tensor, SafetensorsDType.F16)
 *         .write(Path.of("adapter_model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private record Entry(SafetensorsDType dtype, int[] shape, float[] floats, double[] doubles) {
        int size() {
            return floats != null ? floats.length : doubles.length;
        }
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** Creates an empty writer. */
    public SafetensorsWriter() {
    }

    /**
     * @param key a metadata key
     * @param value its value
     * @return this
     */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * @param values metadata to add
     * @return this
     */
    public SafetensorsWriter metadata(Map<String, String> values) {
        Objects.requireNonNull(values, "metadata").forEach(this::metadata);
        return this;
    }

    /**
     * Adds a copy of a tensor.
     *
     * @param name a new name
     * @param tensor the tensor; its values are copied to the host now
     * @param dtype how to store them
     * @return this
     */
    public SafetensorsWriter add(String name, Tensor<?> tensor, SafetensorsDType dtype) {
        Objects.requireNonNull(tensor, "tensor");
        if (tensor.type() == NumericType.FLOAT32) {
            return add(name, dtype, tensor.shape(), tensor.toFloatArray());
        }
        return add(name, dtype, tensor.shape(), tensor.toDoubleArray());
    }

    /**
     * @param name a new name
     * @param dtype how to store the values
     * @param shape the dimensions; their product must be {@code values.length}
     * @param values row-major values, copied
     * @return this
     */
    public SafetensorsWriter add(String name, SafetensorsDType dtype, int[] shape,
                                 float[] values) {
        Objects.requireNonNull(values, "values");
        return put(name, new Entry(dtype, checkShape(shape, values.length), values.clone(), null));
    }

    /**
     * @param name a new name
     * @param dtype how to store the values
     * @param shape the dimensions; their product must be {@code values.length}
     * @param values row-major values, copied
     * @return this
     */
    public SafetensorsWriter add(String name, SafetensorsDType dtype, int[] shape,
                                 double[] values) {
        Objects.requireNonNull(values, "values");
        return put(name, new Entry(dtype, checkShape(shape, values.length), null, values.clone()));
    }

    private SafetensorsWriter put(String name, Entry entry) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(entry.dtype(), "dtype");
        if (name.isEmpty() || name.equals(SafetensorsFile.METADATA_KEY)) {
            throw new IllegalArgumentException("name: expected a non-empty name other than "
                    + SafetensorsFile.METADATA_KEY + ", got '" + name + "'");
        }
        if (!entry.dtype().isConvertible()) {
            throw new IllegalArgumentException("dtype: expected F32, F64, F16 or BF16, got "
                    + entry.dtype());
        }
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("name: '" + name + "' was already added");
        }
        entries.put(name, entry);
        return this;
    }

    private static int[] checkShape(int[] shape, int length) {
        Objects.requireNonNull(shape, "shape");
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape: expected non-negative dimensions, got "
                        + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("shape: " + Arrays.toString(shape) + " holds " + n
                    + " elements, got " + length + " values");
        }
        return shape.clone();
    }

    /**
     * Writes the file atomically (a temporary file beside it, then a rename).
     *
     * @param file the target, created or replaced
     * @throws IOException if writing fails; the target is then as it was
     */
    public void write(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        byte[] header = header();
        AtomicFiles.write(file, out -> writeTo(header, out));
    }

    /** @return the whole file as bytes */
    public byte[] toBytes() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            writeTo(header(), out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
    }

    private byte[] header() {
        ObjectNode root = MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry entry = e.getValue();
            ObjectNode node = root.putObject(e.getKey());
            node.put("dtype", entry.dtype().name());
            ArrayNode shape = node.putArray("shape");
            for (int d : entry.shape()) {
                shape.add(d);
            }
            long end = offset + (long) entry.size() * entry.dtype().byteSize();
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) & ~7);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private void writeTo(byte[] header, OutputStream sink) throws IOException {
        OutputStream out = new BufferedOutputStream(sink, 1 << 16);
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length);
        flush(buf, out);
        out.write(header);
        for (Entry e : entries.values()) {
            int n = e.size();
            for (int i = 0; i < n; i++) {
                if (buf.remaining() < 8) {
                    flush(buf, out);
                }
                double v = e.doubles() != null ? e.doubles()[i] : e.floats()[i];
                switch (e.dtype()) {
                    case F64:
                        buf.putDouble(v);
                        break;
                    case F32: // from a float[] the cast is exact, keeping NaN payloads too
                        buf.putFloat(e.floats() != null ? e.floats()[i] : (float) v);
                        break;
                    case F16:
                        buf.putShort(SafetensorsDType.doubleToHalf(v));
                        break;
                    default:
                        buf.putShort(SafetensorsDType.doubleToBfloat16(v));
                }
            }
        }
        flush(buf, out);
        out.flush();
    }

    private static void flush(ByteBuffer buf, OutputStream out) throws IOException {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
    }
}
