package dev.loradrop.backend.gpu;

import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;

import dev.loradrop.api.NumericType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An OpenCL context on one device, shared by every backend on that device in this JVM, with our
 * kernel program compiled once per element type and cached (CLBlast caches its own programs per
 * context as well). Contexts live as long as the JVM, like a driver's state; backends own only
 * their command queue, kernels and buffers.
 */
final class DeviceContext {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceContext.class);

    /** Work-group size of the reduction kernels; every OpenCL GPU and PoCL support 64. */
    static final int WG = 64;

    private static final String SOURCE_RESOURCE = "kernels.cl";
    private static final Map<String, DeviceContext> CONTEXTS = new ConcurrentHashMap<>();

    final DeviceInfo info;
    final cl_context context;
    private final Map<NumericType<?>, cl_program> programs = new ConcurrentHashMap<>();

    private DeviceContext(DeviceInfo info) {
        this.info = info;
        cl_context_properties properties = new cl_context_properties();
        properties.addProperty(CL.CL_CONTEXT_PLATFORM, info.platform);
        int[] err = new int[1];
        this.context = CL.clCreateContext(properties, 1, new cl_device_id[] {info.device}, null,
                null, err);
        OpenClException.check(err[0], "clCreateContext(" + info.name + ")");
    }

    /**
     * @param info the device
     * @return the shared context of that device, created on first use
     */
    static DeviceContext of(DeviceInfo info) {
        String key = info.platformName + "\u0000" + info.name + "\u0000" + info.index
                + "\u0000" + info.fp64 + "\u0000" + info.maxAllocation;
        return CONTEXTS.computeIfAbsent(key, k -> new DeviceContext(info));
    }

    /** @return whether reductions accumulate in double (the device has cl_khr_fp64) */
    boolean accumulatesInDouble() {
        return info.fp64;
    }

    /**
     * @param type the element type
     * @return the program for that type, compiled on first use
     * @throws OpenClException with the build log if compilation fails
     */
    cl_program program(NumericType<?> type) {
        return programs.computeIfAbsent(type, this::build);
    }

    private cl_program build(NumericType<?> type) {
        String real = type == NumericType.FLOAT32 ? "float" : "double";
        String options = "-DREAL=" + real + " -DACC=" + (info.fp64 ? "double" : "float")
                + (info.fp64 ? " -DHAS_FP64" : "") + " -DWG=" + WG;
        long start = System.nanoTime();
        int[] err = new int[1];
        cl_program program = CL.clCreateProgramWithSource(context, 1, new String[] {source()},
                null, err);
        OpenClException.check(err[0], "clCreateProgramWithSource(" + SOURCE_RESOURCE + ")");
        int code = CL.clBuildProgram(program, 1, new cl_device_id[] {info.device}, options, null,
                null);
        if (code != CL.CL_SUCCESS) {
            String log = buildLog(program);
            CL.clReleaseProgram(program);
            throw new OpenClException("clBuildProgram(" + SOURCE_RESOURCE + ", " + options + ") on "
                    + info.name, code, OpenClException.symbol(code), log);
        }
        LOG.debug("Compiled {} for {} on {} in {} ms", SOURCE_RESOURCE, type, info.name,
                (System.nanoTime() - start) / 1_000_000);
        return program;
    }

    private String buildLog(cl_program program) {
        long[] size = new long[1];
        if (CL.clGetProgramBuildInfo(program, info.device, CL_PROGRAM_BUILD_LOG, 0, null, size)
                != CL.CL_SUCCESS) {
            return "";
        }
        byte[] log = new byte[(int) size[0]];
        CL.clGetProgramBuildInfo(program, info.device, CL_PROGRAM_BUILD_LOG, log.length,
                Pointer.to(log), null);
        return new String(log, StandardCharsets.UTF_8).trim();
    }

    private static String source() {
        try (InputStream in = DeviceContext.class.getResourceAsStream(SOURCE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + SOURCE_RESOURCE + " is missing from "
                        + "the loradrop-backend-gpu jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + SOURCE_RESOURCE, e);
        }
    }
}
