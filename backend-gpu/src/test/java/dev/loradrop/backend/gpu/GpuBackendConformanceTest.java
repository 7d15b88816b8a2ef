package dev.loradrop.backend.gpu;

import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;
import org.jocl.CL;
import org.jocl.blast.CLBlast;
import org.jocl.cl_platform_id;

/**
 * Runs the conformance kit against the OpenCL backend with the default tolerances. On a machine
 * without OpenCL (no library, no platform, no device), and in the surefire execution
 * {@code no-opencl-platform}, the kit's backend tests are skipped with the provider's reason;
 * where this test finds an OpenCL device itself, the provider must report the backend available.
 */
class GpuBackendConformanceTest extends ComputeBackendContractTest {

    @Override
    protected ComputeBackendProvider provider() {
        return new GpuBackendProvider();
    }

    @Override
    protected boolean expectAvailable() {
        if (Boolean.getBoolean("loradrop.test.noOpenClPlatform")) {
            return false; // this execution hides every OpenCL platform
        }
        return openClDeviceOnThisMachine();
    }

    /**
     * Asks JOCL directly, not the provider under test (whose probe is what the kit checks).
     *
     * @return whether JOCL and JOCL-Blast load and some OpenCL platform has a device
     */
    static boolean openClDeviceOnThisMachine() {
        try {
            CL.setExceptionsEnabled(false);
            CLBlast.setExceptionsEnabled(false);
            int[] count = new int[1];
            if (CL.clGetPlatformIDs(0, null, count) != CL.CL_SUCCESS || count[0] == 0) {
                return false;
            }
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            if (CL.clGetPlatformIDs(platforms.length, platforms, null) != CL.CL_SUCCESS) {
                return false;
            }
            for (cl_platform_id platform : platforms) {
                int[] devices = new int[1];
                if (CL.clGetDeviceIDs(platform, CL.CL_DEVICE_TYPE_ALL, 0, null, devices)
                        == CL.CL_SUCCESS && devices[0] > 0) {
                    return true;
                }
            }
            return false;
        } catch (LinkageError e) { // no libOpenCL, or no CLBlast build for this platform
            return false;
        }
    }
}
