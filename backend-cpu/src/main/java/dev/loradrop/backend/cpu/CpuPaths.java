package dev.loradrop.backend.cpu;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;

/**
 * Chooses the code path once per JVM, as Lucene chooses its vectorisation provider: the Java
 * Vector API path (the GEMM micro-kernel {@link VectorTileKernel} and the elementwise
 * {@link VectorKernels}) when the incubator module {@code jdk.incubator.vector} is present and the
 * C2 compiler will compile it, loaded reflectively so the backend works without the module; the
 * scalar path otherwise. One log line names the path taken or why it fell back.
 *
 * <p>The system property {@value #PROPERTY} forces a path: {@code false} the scalar one,
 * {@code true} the vector one (failing with the reason when it is unavailable). The system
 * property {@value #BITS_PROPERTY} sets the vector width of the vector path: 128, 256 or 512 bits
 * instead of the JVM's preferred width (say, 256 on an AVX-512 machine whose clock drops under
 * 512-bit work; or, for tests, the widths of other machines: a width above the preferred one is
 * emulated, and very slow).
 */
final class CpuPaths {

    /** The system property that forces a path: {@code true} or {@code false}. */
    static final String PROPERTY = "loradrop.cpu.vector";

    /** The system property that sets the vector width in bits: 128, 256 or 512. */
    static final String BITS_PROPERTY = "loradrop.cpu.vectorBits";

    static final String MODULE = "jdk.incubator.vector";
    private static final String VECTOR_CLASS = "dev.loradrop.backend.cpu.VectorTileKernel";
    private static final String VECTOR_KERNELS_CLASS = "dev.loradrop.backend.cpu.VectorKernels";
    private static final System.Logger LOG = System.getLogger(CpuPaths.class.getName());

    private CpuPaths() {
    }

    /** A code path: the GEMM micro-kernel and the other kernels. */
    private record Path(TileKernel tiles, Kernels kernels) {
    }

    private static final Path SCALAR = new Path(ScalarTileKernel.INSTANCE, ScalarKernels.INSTANCE);

    /** The choice, made once. */
    private static final class Holder {
        static final Path DEFAULT = choose();
    }

    /** @return the micro-kernel this JVM uses by default */
    static TileKernel defaultKernel() {
        return Holder.DEFAULT.tiles();
    }

    /** @return the elementwise kernels this JVM uses by default, of the same path */
    static Kernels defaultKernels() {
        return Holder.DEFAULT.kernels();
    }

    private static Path choose() {
        String forced = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (forced.equals("false")) {
            LOG.log(System.Logger.Level.INFO, "loradrop cpu backend: scalar GEMM path (-D"
                    + PROPERTY + "=false)");
            return SCALAR;
        }
        vectorBits(); // a bad width fails here, naming the property, not as a fallback
        String reason = vectorUnavailableReason();
        if (reason == null) {
            try {
                Path vector = new Path(vector(), vectorKernels());
                LOG.log(System.Logger.Level.INFO, "loradrop cpu backend: Java Vector API GEMM path, "
                        + vector.tiles().path());
                return vector;
            } catch (RuntimeException | LinkageError e) {
                reason = "loading the Vector API kernel failed: " + e;
            }
        }
        if (forced.equals("true")) {
            throw new IllegalStateException("-D" + PROPERTY + "=true, but the Vector API path is "
                    + "unavailable: " + reason);
        }
        LOG.log(System.Logger.Level.INFO, "loradrop cpu backend: scalar GEMM path, because "
                + reason);
        return SCALAR;
    }

    /**
     * @return the vector width {@value #BITS_PROPERTY} asks for, or 0 for the JVM's preferred one
     * @throws IllegalStateException naming the property if its value is not 128, 256 or 512
     */
    static int vectorBits() {
        String value = System.getProperty(BITS_PROPERTY, "").trim();
        return switch (value) {
            case "" -> 0;
            case "128", "256", "512" -> Integer.parseInt(value);
            default -> throw new IllegalStateException("-D" + BITS_PROPERTY
                    + ": expected 128, 256 or 512, got '" + value + "'");
        };
    }

    /**
     * @return the Vector API micro-kernel
     * @throws IllegalStateException if the module is absent or the class cannot be loaded
     */
    static TileKernel vector() {
        return (TileKernel) load(VECTOR_CLASS);
    }

    /**
     * @return the Vector API elementwise kernels
     * @throws IllegalStateException if the module is absent or the class cannot be loaded
     */
    static Kernels vectorKernels() {
        return (Kernels) load(VECTOR_KERNELS_CLASS);
    }

    private static Object load(String className) {
        String reason = moduleAbsentReason();
        if (reason != null) {
            throw new IllegalStateException(reason);
        }
        try {
            return Class.forName(className).getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load " + className + ": " + e, e);
        }
    }

    /** @return why the vector path must not be used, or null if it may */
    static String vectorUnavailableReason() {
        String reason = moduleAbsentReason();
        if (reason != null) {
            return reason;
        }
        String vmInfo = System.getProperty("java.vm.info", "");
        if (vmInfo.contains("interpreted mode")) {
            return "the JVM runs interpreted (-Xint): the Vector API would be slower than scalar code";
        }
        List<String> args = inputArguments();
        for (String arg : args) {
            if (arg.equals("-Xint") || arg.startsWith("-XX:TieredStopAtLevel=")
                    && !arg.endsWith("=4")) {
                return "the C2 compiler is disabled (" + arg + "): the Vector API would be slower "
                        + "than scalar code";
            }
        }
        return null;
    }

    private static String moduleAbsentReason() {
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            return "the module " + MODULE + " is not loaded; start Java with --add-modules " + MODULE
                    + " to enable the Vector API path";
        }
        return null;
    }

    private static List<String> inputArguments() {
        try {
            return ManagementFactory.getRuntimeMXBean().getInputArguments();
        } catch (RuntimeException | LinkageError e) {
            return List.of();
        }
    }
}
