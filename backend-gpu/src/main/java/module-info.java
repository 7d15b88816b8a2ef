/** The OpenCL compute backend of loradrop: JOCL, CLBlast for GEMM, our own kernels. */
module dev.loradrop.backend.gpu {
    requires transitive dev.loradrop.api;
    requires jocl;
    requires jocl.blast;
    requires org.slf4j;

    provides dev.loradrop.api.spi.ComputeBackendProvider
            with dev.loradrop.backend.gpu.GpuBackendProvider;

    exports dev.loradrop.backend.gpu;
}
