package dev.loradrop.core.backend;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.core.backend.BackendSelection.Reason;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute backends found on a class loader, and the rules that choose one.
 *
 * <p>Discovery runs once, when the registry is made ({@link #discover()}, {@link
 * #discover(ClassLoader)}, {@link #of(List)}): every provider is instantiated and asked for its
 * id, description and priority. Probing is lazy: a provider's {@link
 * ComputeBackendProvider#probe() probe} (which may load native libraries, as ND4J's and the
 * OpenCL backend's do) runs the first time its availability is needed, once, and its answer is
 * kept. Choosing by priority probes the providers from the highest priority down and stops at the
 * first available one (and any tied with it); a named choice probes only that provider; {@link
 * #providers()}, {@link #describe()} and the error that nothing is available probe them all. So
 * the default choice of the CPU backend loads no other backend's natives. A provider that cannot
 * be loaded or that throws is kept in {@link #providers()} as failed, with the reason, logged,
 * and never selected. Two providers with the same id are rejected. The registry is immutable but
 * for the probes' answers, and safe to share between threads.
 *
 * <p>Selection ({@link #select(String)}), first match wins:
 * <ol>
 *   <li>an explicit id given by the caller;</li>
 *   <li>the system property {@value #PROPERTY};</li>
 *   <li>the environment variable {@value #ENVIRONMENT};</li>
 *   <li>the available provider with the highest priority, ties broken by id.</li>
 * </ol>
 * Blank property and environment values are ignored. A named backend that is unknown fails with
 * {@link IllegalArgumentException}, one that is unavailable with {@link IllegalStateException};
 * there is no silent fallback to another backend. Ids are matched exactly (after trimming).
 *
 * <p>Logging (SLF4J, logger {@code dev.loradrop.core.backend.BackendRegistry}): one WARN line per
 * failed provider (when the registry is made, or when its probe throws) and one INFO line per
 * unavailable one when it is probed, with the reason; one INFO line per {@link #select} naming the
 * choice and why. {@link #describe()} gives the whole picture for bug reports.
 */
public final class BackendRegistry {

    /** The system property that names the backend to use: {@value}. */
    public static final String PROPERTY = "loradrop.backend";

    /** The environment variable that names the backend to use: {@value}. */
    public static final String ENVIRONMENT = "LORADROP_BACKEND";

    /** Discovery gives up after this many entries, so a broken iterator cannot loop forever. */
    static final int MAX_DISCOVERY_STEPS = 1024;

    /** Discovery gives up after this many errors from the service loader's iterator. */
    static final int MAX_LOAD_ERRORS = 64;

    private static final Logger LOG = LoggerFactory.getLogger(BackendRegistry.class);

    private static final String SERVICE_FILE =
            "META-INF/services/" + ComputeBackendProvider.class.getName();
    private static final String UNKNOWN_CLASS = "<unknown>";
    private static final Pattern CLASS_NAME =
            Pattern.compile("(?:Provider )?((?:[\\p{L}_$][\\p{L}\\p{N}_$]*\\.)+[\\p{L}_$][\\p{L}\\p{N}_$]*)(?:\\s|$)");

    private final List<Entry> providers;
    private final Map<String, Entry> byId;
    private final String source;
    private final Function<String, String> properties;
    private final Function<String, String> environment;

    private BackendRegistry(List<Entry> providers, Map<String, Entry> byId,
                            String source, Function<String, String> properties,
                            Function<String, String> environment) {
        this.providers = providers;
        this.byId = byId;
        this.source = source;
        this.properties = properties;
        this.environment = environment;
    }

    // ---------------------------------------------------------------- factories

    /**
     * Discovers providers through the thread's context class loader, or, when it has none, the
     * class loader of this class.
     *
     * @return a registry of the providers found
     * @throws IllegalStateException if two providers share an id
     */
    public static BackendRegistry discover() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        return discover(loader != null ? loader : BackendRegistry.class.getClassLoader());
    }

    /**
     * Discovers providers with {@code ServiceLoader.load(ComputeBackendProvider.class, loader)}:
     * {@code META-INF/services} entries and, for named modules, {@code provides} clauses.
     *
     * @param classLoader the class loader to search
     * @return a registry of the providers found
     * @throws IllegalStateException if two providers share an id (the class path is wrong)
     */
    public static BackendRegistry discover(ClassLoader classLoader) {
        Objects.requireNonNull(classLoader, "classLoader");
        List<Entry> found = load(classLoader);
        Map<String, Entry> byId = index(found, IllegalStateException::new);
        logDiscovery(found);
        return new BackendRegistry(List.copyOf(found), byId,
                "ServiceLoader on " + classLoader, System::getProperty, System::getenv);
    }

    /**
     * Makes a registry of providers registered by hand, without {@link ServiceLoader}. They are
     * checked, and probed when needed, as discovered ones are.
     *
     * @param providers the providers, in listing order; none null
     * @return a registry of those providers
     * @throws IllegalArgumentException if two providers share an id
     */
    public static BackendRegistry of(List<? extends ComputeBackendProvider> providers) {
        Objects.requireNonNull(providers, "providers");
        List<Entry> found = new ArrayList<>(providers.size());
        for (int i = 0; i < providers.size(); i++) {
            found.add(inspect(Objects.requireNonNull(providers.get(i), "providers[" + i + "]")));
        }
        Map<String, Entry> byId = index(found, IllegalArgumentException::new);
        logDiscovery(found);
        return new BackendRegistry(List.copyOf(found), byId, "explicit list", System::getProperty,
                System::getenv);
    }

    /**
     * Returns a registry with the same providers (no new discovery) that reads the system
     * property and the environment variable through the given functions, for tests and for
     * applications with their own configuration source.
     *
     * @param properties looks up a system property by name, returning null when unset; the
     *     default is {@code System::getProperty}
     * @param environment looks up an environment variable by name, returning null when unset;
     *     the default is {@code System::getenv}
     * @return the new registry
     */
    public BackendRegistry withLookups(Function<String, String> properties,
                                       Function<String, String> environment) {
        return new BackendRegistry(providers, byId, source,
                Objects.requireNonNull(properties, "properties"),
                Objects.requireNonNull(environment, "environment"));
    }

    // ---------------------------------------------------------------- queries

    /**
     * Every provider found, probed: this probes those not probed yet.
     *
     * @return every provider found, in discovery order, failed ones included; unmodifiable
     */
    public List<ProviderStatus> providers() {
        return providers.stream().map(Entry::status).collect(Collectors.toUnmodifiableList());
    }

    /**
     * @param id a provider id
     * @return the provider with that id, available or not; empty if none has it
     */
    public Optional<ComputeBackendProvider> find(String id) {
        Objects.requireNonNull(id, "id");
        Entry entry = byId.get(id);
        return entry == null ? Optional.empty() : entry.early.provider();
    }

    /**
     * Chooses a backend by the property, the environment or priority, and logs the choice.
     *
     * @return the chosen provider and why
     * @throws IllegalArgumentException if the property or environment names an unknown id
     * @throws IllegalStateException if the named backend is unavailable, or none is available
     */
    public BackendSelection select() {
        return select(null);
    }

    /**
     * Chooses a backend, and logs the choice.
     *
     * @param explicitId the id the caller wants, or null to fall back to the property, the
     *     environment and priority
     * @return the chosen provider and why
     * @throws IllegalArgumentException if the id to use is unknown, or {@code explicitId} is blank
     * @throws IllegalStateException if the named backend is unavailable, or none is available
     */
    public BackendSelection select(String explicitId) {
        BackendSelection selection = resolve(explicitId);
        LOG.info("Using loradrop backend '{}' ({}): {}", selection.id(),
                selection.provider().getClass().getName(), selection.detail());
        return selection;
    }

    /**
     * Creates a backend chosen by the property, the environment or priority, with the default
     * configuration. The caller owns the backend and closes it.
     *
     * @return a new backend
     * @throws IllegalArgumentException if the named id is unknown
     * @throws IllegalStateException if no backend can be chosen, or the provider fails
     */
    public ComputeBackend create() {
        return create(null, BackendConfig.defaults());
    }

    /**
     * Creates a backend. The caller owns it and closes it.
     *
     * @param explicitId the id the caller wants, or null to fall back to the property, the
     *     environment and priority
     * @param config settings for the backend
     * @return a new backend
     * @throws IllegalArgumentException if the id to use is unknown
     * @throws IllegalStateException if no backend can be chosen, or the provider fails
     */
    public ComputeBackend create(String explicitId, BackendConfig config) {
        Objects.requireNonNull(config, "config");
        BackendSelection selection = select(explicitId);
        ComputeBackend backend = selection.provider().create(config);
        if (backend == null) {
            throw new IllegalStateException("loradrop backend '" + selection.id() + "' ("
                    + selection.provider().getClass().getName() + ") returned null from create()");
        }
        return backend;
    }

    /**
     * A multi-line report for bug reports: Java and OS, the property and environment values,
     * every provider with its class, priority, availability and reason (probing those not probed
     * yet), and the backend that {@link #select()} would choose and why. Logs nothing but what
     * the probes log.
     *
     * @return the report
     */
    public String describe() {
        return describe(null);
    }

    /**
     * As {@link #describe()}, for a selection with the given explicit id.
     *
     * @param explicitId the id a caller would pass to {@link #select(String)}, or null
     * @return the report
     */
    public String describe(String explicitId) {
        StringBuilder sb = new StringBuilder();
        sb.append("loradrop backend registry\n");
        sb.append("  java:        ").append(System.getProperty("java.version")).append(" (")
                .append(System.getProperty("java.vendor")).append("), ")
                .append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.vm.version")).append('\n');
        sb.append("  os:          ").append(System.getProperty("os.name")).append(' ')
                .append(System.getProperty("os.version")).append(" (")
                .append(System.getProperty("os.arch")).append(")\n");
        sb.append("  discovery:   ").append(source).append('\n');
        sb.append("  explicit:    ").append(explicitId == null ? "<none>" : quote(explicitId))
                .append('\n');
        sb.append("  property:    ").append(PROPERTY).append('=')
                .append(shown(safeApply(properties, PROPERTY))).append('\n');
        sb.append("  environment: ").append(ENVIRONMENT).append('=')
                .append(shown(safeApply(environment, ENVIRONMENT))).append('\n');
        sb.append("  providers (").append(providers.size()).append(", in discovery order):\n");
        if (providers.isEmpty()) {
            sb.append("    none; nothing is registered in ").append(SERVICE_FILE).append('\n');
        }
        List<ProviderStatus> statuses = providers();
        int width = statuses.stream().mapToInt(s -> s.displayId().length()).max().orElse(1);
        for (ProviderStatus s : statuses) {
            sb.append("    ").append(pad(s.displayId(), width))
                    .append("  priority ").append(pad(s.priority().isPresent()
                            ? Integer.toString(s.priority().getAsInt()) : "?", 4))
                    .append("  ").append(s.isFailed() ? "FAILED     "
                            : s.isAvailable() ? "available  " : "unavailable")
                    .append("  ").append(s.providerClass()).append('\n');
            if (!s.description().isEmpty()) {
                sb.append("    ").append(pad("", width)).append("  description: ")
                        .append(s.description()).append('\n');
            }
            if (!s.reason().isEmpty()) {
                sb.append("    ").append(pad("", width)).append("  reason: ")
                        .append(s.reason()).append('\n');
            }
        }
        sb.append("  selected:    ");
        try {
            sb.append(resolve(explicitId));
        } catch (RuntimeException e) {
            sb.append("none: ").append(e.getMessage().replace("\n", "\n    "));
        }
        sb.append('\n');
        return sb.toString();
    }

    @Override
    public String toString() {
        return "BackendRegistry" + providers.stream().map(e -> e.early.displayId())
                .collect(Collectors.joining(", ", "[", "]"));
    }

    // ---------------------------------------------------------------- selection

    private BackendSelection resolve(String explicitId) {
        if (explicitId != null) {
            if (explicitId.isBlank()) {
                throw new IllegalArgumentException(
                        "explicitId: expected a backend id, or null for the default choice, got '"
                                + explicitId + "'");
            }
            return named(explicitId.strip(), Reason.EXPLICIT, "explicit choice");
        }
        String property = nonBlank(safeApply(properties, PROPERTY));
        if (property != null) {
            return named(property, Reason.SYSTEM_PROPERTY,
                    "system property " + PROPERTY + "=" + property);
        }
        String env = nonBlank(safeApply(environment, ENVIRONMENT));
        if (env != null) {
            return named(env, Reason.ENVIRONMENT, "environment variable " + ENVIRONMENT + "=" + env);
        }
        return byPriority();
    }

    private BackendSelection named(String id, Reason reason, String detail) {
        Entry entry = byId.get(id);
        if (entry == null) {
            throw new IllegalArgumentException("Unknown loradrop backend '" + id + "' (" + detail
                    + "); known ids: " + knownIds());
        }
        ProviderStatus status = entry.status();
        if (!status.isAvailable()) {
            throw new IllegalStateException("loradrop backend '" + id + "' (" + detail + ", "
                    + status.providerClass() + ") is unavailable: " + status.reason());
        }
        return new BackendSelection(id, status.provider().orElseThrow(), reason, detail);
    }

    /**
     * The available provider with the highest priority, ties broken by id. Probes in that order
     * and stops after the first available one and the others of its priority.
     */
    private BackendSelection byPriority() {
        List<Entry> ranked = providers.stream()
                .filter(e -> !e.early.isFailed())
                .sorted(Comparator.comparingInt((Entry e) -> e.early.priority().getAsInt())
                        .reversed()
                        .thenComparing(e -> e.early.displayId()))
                .collect(Collectors.toList());
        int first = 0;
        while (first < ranked.size() && !ranked.get(first).status().isAvailable()) {
            first++;
        }
        if (first == ranked.size()) {
            throw new IllegalStateException(nothingAvailable());
        }
        ProviderStatus best = ranked.get(first).status();
        int priority = best.priority().getAsInt();
        List<String> tied = ranked.stream().skip(first + 1L)
                .takeWhile(e -> e.early.priority().getAsInt() == priority)
                .map(Entry::status)
                .filter(ProviderStatus::isAvailable)
                .map(ProviderStatus::displayId)
                .collect(Collectors.toList());
        String detail = "highest priority among available backends (" + priority + ")"
                + (tied.isEmpty() ? "" : "; tie with " + String.join(", ", tied) + " broken by id");
        return new BackendSelection(best.displayId(), best.provider().orElseThrow(),
                Reason.PRIORITY, detail);
    }

    private String nothingAvailable() {
        StringBuilder sb = new StringBuilder("No loradrop compute backend is available.");
        if (providers.isEmpty()) {
            sb.append(" No provider was found (").append(source).append("): nothing is registered in ")
                    .append(SERVICE_FILE).append('.');
        } else {
            sb.append(" Providers found (").append(providers.size()).append("):");
            for (ProviderStatus s : providers()) {
                sb.append("\n  - ").append(s.displayId()).append(" (").append(s.providerClass());
                s.priority().ifPresent(p -> sb.append(", priority ").append(p));
                sb.append("): ").append(s.isFailed() ? s.reason() : s.availability().toString());
            }
        }
        sb.append("\nFix: add loradrop-backend-cpu (dev.loradrop:loradrop-backend-cpu, pure Java, runs"
                + " everywhere) to the class path, or add another backend and select it with -D")
                .append(PROPERTY).append("=<id> or ").append(ENVIRONMENT).append("=<id>.");
        return sb.toString();
    }

    private String knownIds() {
        if (byId.isEmpty()) {
            return "none (no provider was found: " + source + ")";
        }
        return byId.values().stream()
                .map(Entry::status)
                .sorted(Comparator.comparing(ProviderStatus::displayId))
                .map(s -> s.displayId() + (s.isAvailable() ? "" : " (unavailable)"))
                .collect(Collectors.joining(", "));
    }

    // ---------------------------------------------------------------- discovery

    private static List<Entry> load(ClassLoader classLoader) {
        ServiceLoader<ComputeBackendProvider> loader =
                ServiceLoader.load(ComputeBackendProvider.class, classLoader);
        // stream() gives each provider's class before instantiating it, so an instantiation
        // failure can name the class; a class that cannot be found fails in hasNext()/next().
        Iterator<ServiceLoader.Provider<ComputeBackendProvider>> it = loader.stream().iterator();
        List<Entry> found = new ArrayList<>();
        int steps = 0;
        int errors = 0;
        while (true) {
            if (++steps > MAX_DISCOVERY_STEPS || errors >= MAX_LOAD_ERRORS) {
                found.add(new Entry(ProviderStatus.failed(UNKNOWN_CLASS, null, null, null,
                        "discovery stopped after " + (steps - 1) + " entries and " + errors
                                + " errors; the service loader seems broken", null)));
                break;
            }
            ServiceLoader.Provider<ComputeBackendProvider> entry;
            try {
                if (!it.hasNext()) {
                    break;
                }
                entry = it.next();
            } catch (ServiceConfigurationError | LinkageError e) {
                errors++;
                found.add(new Entry(ProviderStatus.failed(classNameIn(e), null, null, null,
                        explain(e), null)));
                continue;
            }
            String className = UNKNOWN_CLASS;
            try {
                className = entry.type().getName();
                found.add(inspect(entry.get()));
            } catch (ServiceConfigurationError | LinkageError | RuntimeException e) {
                found.add(new Entry(ProviderStatus.failed(className, null, null, null, explain(e),
                        null)));
            }
        }
        return found;
    }

    /**
     * Asks a provider for its id, description and priority, not yet its probe; any exception
     * makes it a failed entry.
     */
    private static Entry inspect(ComputeBackendProvider provider) {
        String className = provider.getClass().getName();
        String id = null;
        String description = null;
        Integer priority = null;
        String step = "id()";
        try {
            id = provider.id();
            if (id == null || id.isBlank()) {
                String given = id == null ? "null" : "'" + id + "'";
                return new Entry(ProviderStatus.failed(className, null, null, null,
                        "id() returned " + given + "; expected a non-blank id", provider));
            }
            step = "description()";
            description = provider.description();
            step = "priority()";
            priority = provider.priority();
            return new Entry(ProviderStatus.unprobed(provider, id, description, priority));
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("loradrop backend provider {} threw from {}", className, step, e);
            return new Entry(ProviderStatus.failed(className, id, description, priority,
                    step + " threw " + e, provider));
        }
    }

    /**
     * One provider found: what discovery learnt without probing ({@link #early}: failed, or
     * healthy but not probed), and its status once probed, kept.
     */
    private static final class Entry {

        private final ProviderStatus early;
        private ProviderStatus probed; // guarded by this

        Entry(ProviderStatus early) {
            this.early = early;
            if (early.isFailed()) {
                probed = early;
            }
        }

        String id() {
            return early.id().orElse(null);
        }

        /** @return the status, probing the provider the first time (once, even across threads) */
        synchronized ProviderStatus status() {
            if (probed == null) {
                probed = probe();
                logProbe(probed);
            }
            return probed;
        }

        private ProviderStatus probe() {
            ComputeBackendProvider provider = early.provider().orElseThrow();
            String id = early.id().orElseThrow();
            int priority = early.priority().getAsInt();
            try {
                Availability availability = provider.probe();
                if (availability == null) {
                    return ProviderStatus.failed(early.providerClass(), id, early.description(),
                            priority, "probe() returned null", provider);
                }
                return ProviderStatus.healthy(provider, id, early.description(), priority,
                        availability);
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("loradrop backend provider {} threw from probe()", early.providerClass(),
                        e);
                return ProviderStatus.failed(early.providerClass(), id, early.description(),
                        priority, "probe() threw " + e, provider);
            }
        }
    }

    private static Map<String, Entry> index(
            List<Entry> found, Function<String, RuntimeException> error) {
        Map<String, Entry> byId = new LinkedHashMap<>();
        for (Entry entry : found) {
            String id = entry.id();
            if (id == null) {
                continue;
            }
            Entry previous = byId.putIfAbsent(id, entry);
            if (previous != null) {
                throw error.apply("Duplicate loradrop backend id '" + id + "': provided by both "
                        + previous.early.providerClass() + " and " + entry.early.providerClass()
                        + ". Ids must be unique; remove one of them from the class path"
                        + " (two versions of the same backend jar?).");
            }
        }
        return Map.copyOf(byId);
    }

    /** Logs the providers that failed before their probe; the others are logged when probed. */
    private static void logDiscovery(List<Entry> found) {
        for (Entry e : found) {
            if (e.early.isFailed()) {
                logProbe(e.early);
            }
        }
    }

    private static void logProbe(ProviderStatus s) {
        if (s.isFailed()) {
            LOG.warn("Skipping loradrop backend provider {} ({}): {}", s.displayId(),
                    s.providerClass(), s.reason());
        } else if (!s.isAvailable()) {
            LOG.info("Skipping loradrop backend '{}' ({}): unavailable: {}", s.displayId(),
                    s.providerClass(), s.reason());
        } else {
            LOG.debug("Found loradrop backend '{}' ({}), priority {}: {}", s.displayId(),
                    s.providerClass(), s.priority().getAsInt(), s.availability());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** One line for an error: the message without the service name, then the causes. */
    static String explain(Throwable e) {
        StringBuilder sb = new StringBuilder();
        String message = e.getMessage();
        if (e instanceof ServiceConfigurationError && message != null) {
            String prefix = ComputeBackendProvider.class.getName() + ": ";
            sb.append(message.startsWith(prefix) ? message.substring(prefix.length()) : message);
        } else {
            sb.append(e);
        }
        Throwable cause = e.getCause();
        for (int depth = 0; cause != null && cause != e && depth < 5; depth++) {
            sb.append("; caused by ").append(cause);
            e = cause;
            cause = cause.getCause();
        }
        return sb.toString();
    }

    /**
     * The provider class a service configuration error names, best effort: the JDK's messages are
     * "{@code <service>: Provider <class> not found}", "{@code <service>: <class> not a subtype}"
     * and the like.
     */
    static String classNameIn(Throwable e) {
        String message = e.getMessage();
        if (message == null) {
            return UNKNOWN_CLASS;
        }
        String prefix = ComputeBackendProvider.class.getName() + ": ";
        if (message.startsWith(prefix)) {
            message = message.substring(prefix.length());
        }
        Matcher m = CLASS_NAME.matcher(message);
        return m.lookingAt() ? m.group(1) : UNKNOWN_CLASS;
    }

    private static String safeApply(Function<String, String> lookup, String name) {
        try {
            return lookup.apply(name);
        } catch (SecurityException e) {
            LOG.debug("Cannot read {}", name, e);
            return null;
        }
    }

    private static String nonBlank(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    private static String shown(String value) {
        if (value == null) {
            return "<not set>";
        }
        return value.isBlank() ? quote(value) + " (blank, ignored)" : quote(value);
    }

    private static String quote(String value) {
        return "'" + value + "'";
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
