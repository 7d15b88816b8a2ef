/** The ND4J (OpenBLAS) compute backend for loradrop. */
module dev.loradrop.backend.nd4j {
    requires dev.loradrop.api;

    provides dev.loradrop.api.spi.ComputeBackendProvider with dev.loradrop.backend.nd4j.Nd4jBackendProvider;
}
