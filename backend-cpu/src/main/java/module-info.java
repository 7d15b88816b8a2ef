/** The pure-Java compute backend of loradrop: the embedded default. */
module dev.loradrop.backend.cpu {
    requires transitive dev.loradrop.api;
    // The Vector API fast path is optional: loaded reflectively when the module is present.
    requires static jdk.incubator.vector;
    // Only to tell whether C2 is disabled; optional too.
    requires static java.management;

    provides dev.loradrop.api.spi.ComputeBackendProvider
            with dev.loradrop.backend.cpu.CpuBackendProvider;

    exports dev.loradrop.backend.cpu;
}
