package dev.loradrop.backend.cpu;

import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;

/** Runs the conformance kit against the CPU backend with the default tolerances. */
class CpuBackendConformanceTest extends ComputeBackendContractTest {

    @Override
    protected ComputeBackendProvider provider() {
        return new CpuBackendProvider();
    }
}
