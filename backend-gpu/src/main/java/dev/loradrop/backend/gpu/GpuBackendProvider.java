package dev.loradrop.backend.gpu;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provider of the OpenCL backend (JOCL, CLBlast for GEMM).
 *
 * <p>Priority 80, below the pure-Java {@code cpu} backend (100): it is used when selected
 * explicitly ({@code -Dloradrop.backend=gpu}, {@code LORADROP_BACKEND=gpu}, or by id), so that an
 * OpenCL driver that happens to be installed (such as PoCL on a CPU) never changes the default.
 *
 * <p>The device is chosen by the property {@value #DEVICE_PROPERTY} (from the
 * {@link BackendConfig}, else the system property): an index in the order {@code clinfo -l}
 * lists devices, or a case-insensitive part of a device or platform name; without it, the first
 * GPU, then the first accelerator, then the first device. The constructor does no native work;
 * {@link #probe()} loads the native libraries once per JVM and enumerates devices.
 */
public final class GpuBackendProvider implements ComputeBackendProvider {

    /** The id users select this backend by. */
    public static final String ID = "gpu";

    /** The priority of this backend among providers: below {@code cpu}'s 100. */
    public static final int PRIORITY = 80;

    /** The property that chooses the OpenCL device: an index or a part of a name. */
    public static final String DEVICE_PROPERTY = Devices.DEVICE_PROPERTY;

    private static final Logger LOG = LoggerFactory.getLogger(GpuBackendProvider.class);

    /** Device choices already logged at INFO; later backends on the same device log at DEBUG. */
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

    private final Supplier<Optional<String>> natives;

    /** Creates the provider; does no native work. */
    public GpuBackendProvider() {
        this(Natives::loadFailure);
    }

    /**
     * For tests: a provider whose native loading is simulated.
     *
     * @param natives empty when the native libraries are loaded, else why not
     */
    GpuBackendProvider(Supplier<Optional<String>> natives) {
        this.natives = Objects.requireNonNull(natives, "natives");
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "OpenCL through JOCL, CLBlast for GEMM";
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    /**
     * @return available with the device that {@link #create} would use (for example
     *     {@code OpenCL #0 GPU 'NVIDIA H200' on 'NVIDIA CUDA' (OpenCL 3.0 CUDA, fp64)}), or
     *     unavailable with the reason: no OpenCL library, no platform, no device, or a
     *     {@value #DEVICE_PROPERTY} that matches nothing
     */
    @Override
    public Availability probe() {
        try {
            Optional<String> failure = natives.get();
            if (failure.isPresent()) {
                return Availability.unavailable(failure.get());
            }
            DeviceInfo d = Devices.choose(Devices.enumerate(), System.getProperty(DEVICE_PROPERTY));
            return Availability.ok("OpenCL " + d.summary());
        } catch (Throwable e) { // never throws, as the SPI requires
            return Availability.unavailable(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /**
     * @param config settings; {@value #DEVICE_PROPERTY} chooses the device, threads are ignored
     * @return a backend on the chosen device
     * @throws IllegalStateException if OpenCL, a platform or a matching device is missing
     */
    @Override
    public ComputeBackend create(BackendConfig config) {
        Objects.requireNonNull(config, "config");
        Optional<String> failure = natives.get();
        if (failure.isPresent()) {
            throw new IllegalStateException("backend '" + ID + "' is unavailable: "
                    + failure.get());
        }
        String spec = config.property(DEVICE_PROPERTY)
                .orElseGet(() -> System.getProperty(DEVICE_PROPERTY));
        List<DeviceInfo> devices;
        DeviceInfo chosen;
        try {
            devices = Devices.enumerate();
            chosen = Devices.choose(devices, spec);
        } catch (Devices.NoDeviceException e) {
            throw new IllegalStateException("backend '" + ID + "' is unavailable: "
                    + e.getMessage(), e);
        }
        String line = "gpu backend: OpenCL device " + chosen.summary() + (spec == null ? ""
                : " (" + DEVICE_PROPERTY + "=" + spec + ")");
        if (LOGGED.add(line)) {
            LOG.info(line);
        } else {
            LOG.debug(line);
        }
        if (devices.size() > 1) {
            LOG.debug("gpu backend: devices found: {}", devices);
        }
        return new GpuBackend(DeviceContext.of(chosen));
    }

    @Override
    public String toString() {
        return "GpuBackendProvider[" + ID + "]";
    }
}
