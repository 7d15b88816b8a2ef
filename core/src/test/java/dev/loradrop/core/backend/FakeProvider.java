package dev.loradrop.core.backend;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** A configurable provider for registry tests. */
public class FakeProvider implements ComputeBackendProvider {

    private final String id;
    private final int priority;
    private final Availability availability;
    private RuntimeException idFailure;
    private RuntimeException priorityFailure;
    private RuntimeException probeFailure;
    private boolean createReturnsNull;
    volatile BackendConfig lastConfig;
    /** How many times {@link #probe()} was called. */
    final AtomicInteger probes = new AtomicInteger();

    FakeProvider(String id, int priority, Availability availability) {
        this.id = id;
        this.priority = priority;
        this.availability = availability;
    }

    static FakeProvider available(String id, int priority) {
        return new FakeProvider(id, priority, Availability.ok("fake " + id));
    }

    static FakeProvider unavailable(String id, int priority, String reason) {
        return new FakeProvider(id, priority, Availability.unavailable(reason));
    }

    FakeProvider failingId(RuntimeException e) {
        idFailure = e;
        return this;
    }

    FakeProvider failingPriority(RuntimeException e) {
        priorityFailure = e;
        return this;
    }

    FakeProvider failingProbe(RuntimeException e) {
        probeFailure = e;
        return this;
    }

    FakeProvider returningNullBackend() {
        createReturnsNull = true;
        return this;
    }

    @Override
    public String id() {
        if (idFailure != null) {
            throw idFailure;
        }
        return id;
    }

    @Override
    public String description() {
        return "fake backend " + id;
    }

    @Override
    public int priority() {
        if (priorityFailure != null) {
            throw priorityFailure;
        }
        return priority;
    }

    @Override
    public Availability probe() {
        probes.incrementAndGet();
        if (probeFailure != null) {
            throw probeFailure;
        }
        return availability;
    }

    @Override
    public ComputeBackend create(BackendConfig config) {
        if (!availability.available()) {
            throw new IllegalStateException("backend '" + id + "' is unavailable: "
                    + availability.reason());
        }
        lastConfig = config;
        return createReturnsNull ? null : backend(id);
    }

    /**
     * @param id the id the backend reports
     * @return a backend whose only working methods are id(), describe() and close()
     */
    public static ComputeBackend backend(String id) {
        return (ComputeBackend) Proxy.newProxyInstance(FakeProvider.class.getClassLoader(),
                new Class<?>[] {ComputeBackend.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "id":
                            return id;
                        case "describe":
                            return Map.of("backend", "fake " + id);
                        case "close":
                            return null;
                        case "toString":
                            return "FakeBackend[" + id + "]";
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
    }

    /** Another class, so that duplicate ids name two different classes. */
    static final class Twin extends FakeProvider {
        Twin(String id, int priority) {
            super(id, priority, Availability.ok());
        }
    }
}
