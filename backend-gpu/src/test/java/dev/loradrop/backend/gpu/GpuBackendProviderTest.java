package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.Optional;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Registration, probe, device choice and error reporting of the OpenCL provider. */
class GpuBackendProviderTest {

    private static final String NO_LIBRARY = "the OpenCL library (libOpenCL.so, OpenCL.dll) could"
            + " not be loaded through JOCL: UnsatisfiedLinkError: Could not initialize native"
            + " OpenCL library";

    @Test
    void isRegisteredWithIdAndPriorityBelowCpu() {
        ComputeBackendProvider found = ServiceLoader.load(ComputeBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.id().equals("gpu"))
                .findFirst()
                .orElseThrow();
        assertThat(found).isInstanceOf(GpuBackendProvider.class);
        assertThat(found.priority()).isEqualTo(80).isLessThan(100);
    }

    @Test
    void withoutTheOpenClLibraryProbeSaysWhyAndCreateRefuses() {
        GpuBackendProvider p = new GpuBackendProvider(() -> Optional.of(NO_LIBRARY));
        Availability a = p.probe();
        assertThat(a.available()).isFalse();
        assertThat(a.reason()).isEqualTo(NO_LIBRARY);
        assertThatThrownBy(() -> p.create(BackendConfig.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("backend 'gpu' is unavailable: " + NO_LIBRARY);
    }

    @Test
    void probeNamesTheDeviceCreateWouldUse() {
        GpuBackendProvider p = available();
        Availability a = p.probe();
        try (ComputeBackend b = p.create(BackendConfig.defaults())) {
            assertThat(a.reason()).startsWith("OpenCL #" + b.describe().get("device.index") + " ")
                    .contains("'" + b.describe().get("device") + "'")
                    .contains("'" + b.describe().get("platform") + "'");
        }
    }

    @Test
    void deviceIsChosenByIndexOrNamePartFromTheConfig() {
        GpuBackendProvider p = available();
        try (ComputeBackend byDefault = p.create(BackendConfig.defaults())) {
            String name = byDefault.describe().get("device");
            String index = byDefault.describe().get("device.index");
            String part = name.substring(0, Math.min(4, name.length())).toUpperCase();
            try (ComputeBackend byIndex = p.create(BackendConfig.defaults()
                         .withProperty(GpuBackendProvider.DEVICE_PROPERTY, index));
                 ComputeBackend byName = p.create(BackendConfig.defaults()
                         .withProperty(GpuBackendProvider.DEVICE_PROPERTY, part))) {
                assertThat(byIndex.describe().get("device")).isEqualTo(name);
                assertThat(byName.describe().get("device")).isEqualTo(name);
            }
        }
    }

    @Test
    void aDeviceThatMatchesNothingIsAClearError() {
        GpuBackendProvider p = available();
        assertThatThrownBy(() -> p.create(BackendConfig.defaults()
                .withProperty(GpuBackendProvider.DEVICE_PROPERTY, "no-such-device-xyz")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("loradrop.gpu.device")
                .hasMessageContaining("'no-such-device-xyz'")
                .hasMessageContaining("#0 ");
        assertThatThrownBy(() -> p.create(BackendConfig.defaults()
                .withProperty(GpuBackendProvider.DEVICE_PROPERTY, "999")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("expected a device index in [0, ")
                .hasMessageContaining("got '999'");
        String before = System.getProperty(GpuBackendProvider.DEVICE_PROPERTY);
        System.setProperty(GpuBackendProvider.DEVICE_PROPERTY, "no-such-device-xyz");
        try {
            Availability a = p.probe();
            assertThat(a.available()).isFalse();
            assertThat(a.reason()).contains("'no-such-device-xyz'");
        } finally {
            if (before == null) {
                System.clearProperty(GpuBackendProvider.DEVICE_PROPERTY);
            } else {
                System.setProperty(GpuBackendProvider.DEVICE_PROPERTY, before);
            }
        }
    }

    @Test
    void openClErrorsNameTheCallAndTheSymbolicCode() {
        assertThatThrownBy(() -> OpenClException.check(-11, "clBuildProgram(kernels.cl)"))
                .isInstanceOf(OpenClException.class)
                .hasMessage("clBuildProgram(kernels.cl) failed: CL_BUILD_PROGRAM_FAILURE (-11)")
                .satisfies(e -> assertThat(((OpenClException) e).code()).isEqualTo(-11));
        assertThat(OpenClException.symbol(-1001)).isEqualTo("CL_PLATFORM_NOT_FOUND_KHR");
        assertThatThrownBy(() -> OpenClException.checkBlast(-2048, "CLBlastSgemm"))
                .hasMessage("CLBlastSgemm failed: CLBlastInvalidOverrideKernel (-2048)");
        // CLBlast's codes above -1024, which OpenCL does not know.
        assertThatThrownBy(() -> OpenClException.checkBlast(-1016, "CLBlastSgemm"))
                .hasMessage("CLBlastSgemm failed: CLBlastInvalidLeadDimA (-1016)");
        assertThatThrownBy(() -> OpenClException.checkBlast(-1009, "CLBlastSgemm"))
                .hasMessage("CLBlastSgemm failed: CLBlastInsufficientMemoryC (-1009)");
        assertThatThrownBy(() -> OpenClException.checkBlast(-4, "CLBlastSgemm"))
                .hasMessage("CLBlastSgemm failed: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)");
        assertThatThrownBy(() -> OpenClException.checkBlast(-9999, "CLBlastSgemm"))
                .hasMessage("CLBlastSgemm failed: unknown OpenCL error (-9999)");
        OpenClException.check(0, "clFinish");
    }

    static GpuBackendProvider available() {
        GpuBackendProvider p = new GpuBackendProvider();
        Availability a = p.probe();
        Assumptions.assumeTrue(a.available(), a::reason);
        return p;
    }
}
