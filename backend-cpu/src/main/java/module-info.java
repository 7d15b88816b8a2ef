/** The pure-Java compute backend of loradrop: the embedded default. */
module dev.loradrop.backend.cpu {
    requires transitive dev.loradrop.api;

    provides dev.loradrop.api.spi.ComputeBackendProvider
            with dev.loradrop.backend.cpu.CpuBackendProvider;

    exports dev.loradrop.backend.cpu;
}
