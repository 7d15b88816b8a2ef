package dev.loradrop.backend.nd4j;

import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.tck.ComputeBackendContractTest;

/** Runs the conformance kit against the ND4J backend with the default tolerances. */
class Nd4jBackendConformanceTest extends ComputeBackendContractTest {

    @Override
    protected ComputeBackendProvider provider() {
        return new Nd4jBackendProvider();
    }
}
