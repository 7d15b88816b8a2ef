package dev.loradrop.backend.cpu;

import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;

/** Runs the backend conformance kit against the CPU backend. */
class CpuBackendConformanceTest extends ComputeBackendContractTest {

    @Override
    protected ComputeBackendProvider provider() {
        return new CpuBackendProvider();
    }
}
