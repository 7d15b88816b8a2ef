package dev.loradrop.backend.gpu;

import java.util.Locale;
import org.jocl.CL;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as enumerated: its position in platform-then-device order (the order
 * {@code clinfo -l} lists), its handles and the facts the backend needs.
 */
final class DeviceInfo {

    final int index;
    final cl_platform_id platform;
    final cl_device_id device;
    final String platformName;
    final String name;
    final long type;
    final String version;
    final String driverVersion;
    final boolean fp64;
    final int computeUnits;
    final long globalMemory;
    final long maxWorkGroupSize;
    /** The largest buffer the device creates, in bytes ({@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}). */
    final long maxAllocation;

    DeviceInfo(int index, cl_platform_id platform, cl_device_id device, String platformName,
               String name, long type, String version, String driverVersion, boolean fp64,
               int computeUnits, long globalMemory, long maxWorkGroupSize, long maxAllocation) {
        this.index = index;
        this.platform = platform;
        this.device = device;
        this.platformName = platformName;
        this.name = name;
        this.type = type;
        this.version = version;
        this.driverVersion = driverVersion;
        this.fp64 = fp64;
        this.computeUnits = computeUnits;
        this.globalMemory = globalMemory;
        this.maxWorkGroupSize = maxWorkGroupSize;
        this.maxAllocation = maxAllocation;
    }

    /** @return "GPU", "accelerator", "CPU" or "other" */
    String typeName() {
        if ((type & CL.CL_DEVICE_TYPE_GPU) != 0) {
            return "GPU";
        }
        if ((type & CL.CL_DEVICE_TYPE_ACCELERATOR) != 0) {
            return "accelerator";
        }
        if ((type & CL.CL_DEVICE_TYPE_CPU) != 0) {
            return "CPU";
        }
        return "other";
    }

    /** @return 0 for GPUs, 1 for accelerators, 2 for the rest: the default preference */
    int preference() {
        if ((type & CL.CL_DEVICE_TYPE_GPU) != 0) {
            return 0;
        }
        return (type & CL.CL_DEVICE_TYPE_ACCELERATOR) != 0 ? 1 : 2;
    }

    /**
     * @param needle lower-case text
     * @return whether the device or platform name contains it, ignoring case
     */
    boolean matches(String needle) {
        return name.toLowerCase(Locale.ROOT).contains(needle)
                || platformName.toLowerCase(Locale.ROOT).contains(needle);
    }

    /** @return a one-line description for probe notes, logs and errors */
    String summary() {
        return "#" + index + " " + typeName() + " '" + name + "' on '" + platformName + "' ("
                + version + ", " + (fp64 ? "fp64" : "no fp64") + ")";
    }

    @Override
    public String toString() {
        return summary();
    }
}
