package dev.loradrop.backend.gpu;

import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;

/**
 * Runs the conformance kit against the OpenCL backend with the default tolerances. On a machine
 * without OpenCL the kit's backend tests are skipped with the provider's reason.
 */
class GpuBackendConformanceTest extends ComputeBackendContractTest {

    @Override
    protected ComputeBackendProvider provider() {
        return new GpuBackendProvider();
    }
}
