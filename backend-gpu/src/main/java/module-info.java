/** The OpenCL GPU through JOCL and CLBlast compute backend for loradrop. */
module dev.loradrop.backend.gpu {
    requires dev.loradrop.api;

    provides dev.loradrop.api.spi.ComputeBackendProvider with dev.loradrop.backend.gpu.GpuBackendProvider;
}
