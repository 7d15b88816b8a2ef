package dev.loradrop.backend.gpu;

import static org.jocl.CL.CL_DEVICE_EXTENSIONS;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_NOT_FOUND;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_DRIVER_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.CL_PLATFORM_NOT_FOUND_KHR;
import static org.jocl.CL.CL_SUCCESS;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** Enumeration of OpenCL devices and the choice among them ({@code loradrop.gpu.device}). */
final class Devices {

    /** The property that selects a device: an index (see {@link DeviceInfo#index}) or a name part. */
    static final String DEVICE_PROPERTY = "loradrop.gpu.device";

    private Devices() {
    }

    /** Why no device could be chosen: an explanation for users. */
    static final class NoDeviceException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        NoDeviceException(String message) {
            super(message);
        }
    }

    /**
     * Lists every device of every platform, in platform-then-device order. Requires the natives.
     *
     * @return the devices
     * @throws NoDeviceException if there is no platform (CL_PLATFORM_NOT_FOUND_KHR) or no device
     * @throws OpenClException if a query fails otherwise
     */
    static List<DeviceInfo> enumerate() {
        int[] count = new int[1];
        int code = CL.clGetPlatformIDs(0, null, count);
        if (code == CL_PLATFORM_NOT_FOUND_KHR || (code == CL_SUCCESS && count[0] == 0)) {
            throw new NoDeviceException("no OpenCL platform: clGetPlatformIDs returned "
                    + OpenClException.symbol(code == CL_SUCCESS ? CL_PLATFORM_NOT_FOUND_KHR : code)
                    + " (no ICD is registered in /etc/OpenCL/vendors or OCL_ICD_VENDORS; install a"
                    + " driver, e.g. 'apt-get install pocl-opencl-icd' or the GPU vendor's)");
        }
        OpenClException.check(code, "clGetPlatformIDs");
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        OpenClException.check(CL.clGetPlatformIDs(platforms.length, platforms, null),
                "clGetPlatformIDs");
        List<DeviceInfo> devices = new ArrayList<>();
        for (cl_platform_id platform : platforms) {
            String platformName = platformString(platform, CL_PLATFORM_NAME);
            int[] n = new int[1];
            code = CL.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, n);
            if (code == CL_DEVICE_NOT_FOUND || n[0] == 0) {
                continue;
            }
            OpenClException.check(code, "clGetDeviceIDs(" + platformName + ")");
            cl_device_id[] ids = new cl_device_id[n[0]];
            OpenClException.check(CL.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids.length, ids,
                    null), "clGetDeviceIDs(" + platformName + ")");
            for (cl_device_id id : ids) {
                String extensions = deviceString(id, CL_DEVICE_EXTENSIONS);
                devices.add(new DeviceInfo(devices.size(), platform, id, platformName,
                        deviceString(id, CL_DEVICE_NAME).trim(), deviceLong(id, CL_DEVICE_TYPE),
                        deviceString(id, CL_DEVICE_VERSION), deviceString(id, CL_DRIVER_VERSION),
                        List.of(extensions.split("\\s+")).contains("cl_khr_fp64"),
                        (int) deviceInt(id, CL_DEVICE_MAX_COMPUTE_UNITS),
                        deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE),
                        deviceSize(id, CL_DEVICE_MAX_WORK_GROUP_SIZE),
                        deviceLong(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)));
            }
        }
        if (devices.isEmpty()) {
            throw new NoDeviceException("no OpenCL device: " + platforms.length
                    + " platform(s) found, none has a device (clGetDeviceIDs returned"
                    + " CL_DEVICE_NOT_FOUND)");
        }
        return devices;
    }

    /**
     * Chooses a device: by index or name part when {@code spec} is given, else the first GPU, then
     * the first accelerator, then the first device.
     *
     * @param devices the enumeration
     * @param spec the value of {@code loradrop.gpu.device}, or null
     * @return the device
     * @throws NoDeviceException if {@code spec} matches nothing, listing the devices
     */
    static DeviceInfo choose(List<DeviceInfo> devices, String spec) {
        if (spec == null || spec.isBlank()) {
            return devices.stream().min(Comparator.comparingInt(DeviceInfo::preference)
                    .thenComparingInt(d -> d.index)).orElseThrow();
        }
        String s = spec.trim();
        if (s.chars().allMatch(Character::isDigit)) {
            int i;
            try {
                i = Integer.parseInt(s);
            } catch (NumberFormatException e) {
                i = -1;
            }
            if (i >= 0 && i < devices.size()) {
                return devices.get(i);
            }
            throw new NoDeviceException(DEVICE_PROPERTY + ": expected a device index in [0, "
                    + devices.size() + ") or a part of a device or platform name, got '" + spec
                    + "'; devices: " + devices);
        }
        String needle = s.toLowerCase(Locale.ROOT);
        return devices.stream().filter(d -> d.matches(needle))
                .min(Comparator.comparingInt(DeviceInfo::preference)
                        .thenComparingInt(d -> d.index))
                .orElseThrow(() -> new NoDeviceException(DEVICE_PROPERTY
                        + ": expected a device index or a part of a device or platform name, got '"
                        + spec + "', which matches none of the devices: " + devices));
    }

    private static String platformString(cl_platform_id platform, int param) {
        long[] size = new long[1];
        OpenClException.check(CL.clGetPlatformInfo(platform, param, 0, null, size),
                "clGetPlatformInfo");
        byte[] buffer = new byte[(int) size[0]];
        OpenClException.check(CL.clGetPlatformInfo(platform, param, buffer.length,
                Pointer.to(buffer), null), "clGetPlatformInfo");
        return cString(buffer);
    }

    private static String deviceString(cl_device_id device, int param) {
        long[] size = new long[1];
        OpenClException.check(CL.clGetDeviceInfo(device, param, 0, null, size), "clGetDeviceInfo");
        byte[] buffer = new byte[(int) size[0]];
        OpenClException.check(CL.clGetDeviceInfo(device, param, buffer.length, Pointer.to(buffer),
                null), "clGetDeviceInfo");
        return cString(buffer);
    }

    private static long deviceLong(cl_device_id device, int param) {
        long[] v = new long[1];
        OpenClException.check(CL.clGetDeviceInfo(device, param, Sizeof.cl_ulong, Pointer.to(v),
                null), "clGetDeviceInfo");
        return v[0];
    }

    private static long deviceInt(cl_device_id device, int param) {
        int[] v = new int[1];
        OpenClException.check(CL.clGetDeviceInfo(device, param, Sizeof.cl_uint, Pointer.to(v),
                null), "clGetDeviceInfo");
        return v[0] & 0xFFFFFFFFL;
    }

    private static long deviceSize(cl_device_id device, int param) {
        long[] v = new long[1];
        OpenClException.check(CL.clGetDeviceInfo(device, param, Sizeof.size_t, Pointer.to(v),
                null), "clGetDeviceInfo");
        return v[0];
    }

    private static String cString(byte[] bytes) {
        int end = 0;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }
}
