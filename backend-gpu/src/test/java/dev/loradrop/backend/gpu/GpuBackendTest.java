package dev.loradrop.backend.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the conformance kit cannot see: the path for devices without fp64, and the Cleaner. */
class GpuBackendTest {

    /** The chosen device, described as if it lacked cl_khr_fp64 (its own context and programs). */
    private static DeviceInfo withoutFp64() {
        GpuBackendProviderTest.available();
        DeviceInfo d = Devices.choose(Devices.enumerate(), null);
        return new DeviceInfo(d.index, d.platform, d.device, d.platformName, d.name, d.type,
                d.version, d.driverVersion, false, d.computeUnits, d.globalMemory,
                d.maxWorkGroupSize, d.maxAllocation);
    }

    @Test
    void withoutFp64Float64FailsClearlyAndFloat32AccumulatesInFloat() {
        try (GpuBackend b = new GpuBackend(DeviceContext.of(withoutFp64()))) {
            assertThatThrownBy(() -> b.allocate(NumericType.FLOAT64, 2))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("FLOAT64 needs the OpenCL extension cl_khr_fp64");
            assertThatThrownBy(() -> b.upload(new double[] {1}, 1))
                    .isInstanceOf(UnsupportedOperationException.class);
            assertThat(b.liveAllocations()).isZero();
            assertThat(b.describe()).containsEntry("fp64", "false");
            // sum still accumulates in double (on the host); losses accumulate in float.
            float[] x = {1e8f, 1f, -1e8f, 0.5f};
            float[] t = {0f, 0f, 0f, 0f};
            try (Tensor<Float> xt = b.upload(x, 4); Tensor<Float> tt = b.upload(t, 4);
                 Tensor<Float> g = b.allocate(NumericType.FLOAT32, 4)) {
                assertThat(b.sum(xt)).isEqualTo(1.5);
                double expected = (1e16 + 1 + 1e16 + 0.25) / 4;
                assertThat(b.meanSquaredError(xt, tt, g)).isCloseTo(expected,
                        org.assertj.core.data.Offset.offset(expected * 1e-6));
                assertThat(g.toFloatArray()).containsExactly(5e7f, 0.5f, -5e7f, 0.25f);
            }
        }
    }

    @Test
    void tensorsLargerThanTheDeviceCreatesAreRefusedNamingTheShape() {
        GpuBackendProviderTest.available();
        DeviceInfo d = Devices.choose(Devices.enumerate(), null);
        DeviceInfo small = new DeviceInfo(d.index, d.platform, d.device, d.platformName, d.name,
                d.type, d.version, d.driverVersion, d.fp64, d.computeUnits, d.globalMemory,
                d.maxWorkGroupSize, 1024);
        try (GpuBackend b = new GpuBackend(DeviceContext.of(small))) {
            assertThat(b.describe()).containsEntry("max.allocation.mib", "0");
            b.allocate(NumericType.FLOAT32, 16, 16).close(); // 1024 bytes: the limit
            assertThatThrownBy(() -> b.allocate(NumericType.FLOAT32, 257))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("shape: [257] of FLOAT32 takes 1028 bytes")
                    .hasMessageContaining("at most 1024 bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
            assertThatThrownBy(() -> b.upload(new float[257], 257))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[257]");
            if (d.fp64) {
                assertThatThrownBy(() -> b.upload(new double[129], 129))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("1032 bytes");
            }
            assertThat(b.liveAllocations()).isZero();
        }
        NumericType<?> type = d.fp64 ? NumericType.FLOAT64 : NumericType.FLOAT32;
        if ((long) Integer.MAX_VALUE * type.byteSize() > d.maxAllocation) { // PoCL: 8 GiB
            try (GpuBackend b = new GpuBackend(DeviceContext.of(d))) { // the device's own limit
                assertThatThrownBy(() -> b.allocate(type, Integer.MAX_VALUE))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("CL_DEVICE_MAX_MEM_ALLOC_SIZE");
            }
        }
    }

    @Test
    void theCleanerReleasesATensorThatWasNeverClosed() throws InterruptedException {
        GpuBackendProvider p = GpuBackendProviderTest.available();
        try (GpuBackend b = (GpuBackend) p.create(BackendConfig.defaults())) {
            long start = b.liveAllocations();
            leak(b);
            assertThat(b.liveAllocations()).isEqualTo(start + 1);
            for (int i = 0; i < 200 && b.liveAllocations() > start; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertThat(b.liveAllocations()).as("live allocations once the tensor is unreachable")
                    .isEqualTo(start);
        }
    }

    private static void leak(GpuBackend b) {
        b.allocate(NumericType.FLOAT32, 1000);
    }

    @Test
    void foreignTensorsAreRejectedBeforeAnythingIsWritten() {
        GpuBackendProvider p = GpuBackendProviderTest.available();
        try (GpuBackend b = (GpuBackend) p.create(BackendConfig.defaults());
             var cpu = new CpuBackendProvider().create(BackendConfig.defaults());
             Tensor<Float> mine = b.upload(new float[] {1, 2}, 2);
             Tensor<Float> theirs = cpu.upload(new float[] {3, 4}, 2)) {
            assertThatThrownBy(() -> b.axpby(1, theirs, 0, mine))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("x: expected a tensor of backend 'gpu'");
            assertThat(mine.toFloatArray()).containsExactly(1, 2);
            assertThat(List.of(mine.shape())).hasSize(1);
        }
    }
}
