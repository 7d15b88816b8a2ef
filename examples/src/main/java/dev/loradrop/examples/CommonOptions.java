package dev.loradrop.examples;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.inject.LoRADropModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.util.Modules;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every working command shares ({@code --backend}, {@code --seed}, {@code --threads}),
 * and the Guice injector they assemble the app with. Each command declares its own {@code
 * --output}, since what it writes there, and its default, differ.
 */
final class CommonOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = {"-b", "--backend"}, paramLabel = "<id>",
            description = "Compute backend; beats -D" + BackendRegistry.PROPERTY + " and $"
                    + BackendRegistry.ENVIRONMENT + " (default: highest priority available;"
                    + " see 'loradrop backends').")
    String backend;

    @Option(names = {"-s", "--seed"}, paramLabel = "<n>",
            description = "First random seed: initialisation, batch order and masks"
                    + " (default: ${DEFAULT-VALUE}).", defaultValue = "1")
    long seed;

    /** The most {@code --threads} accepted: each one is a thread, and a training run. */
    static final int MAX_THREADS = 256;

    @Option(names = {"-t", "--threads"}, paramLabel = "<n>",
            description = "Threads: the backend's worker threads, and for demo and train how"
                    + " many independent training runs go in parallel; 1 to " + MAX_THREADS + " (default: the"
                    + " available processors, at most " + MAX_THREADS + ").")
    Integer threads;

    /** @return the thread count, checked */
    int threads() {
        if (threads == null) {
            return Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS);
        }
        if (threads < 1 || threads > MAX_THREADS) {
            throw new ParameterException(spec.commandLine(),
                    "--threads: expected a number from 1 to " + MAX_THREADS + ", got " + threads);
        }
        return threads;
    }

    /**
     * Assembles the app: {@link LoRADropModule} with the backend of {@code --backend} (or the
     * default choice) and {@code --threads}, on the given registry.
     *
     * @param registry the backend registry
     * @return the injector; the caller closes the {@link ComputeBackend} it provides
     */
    Injector injector(Supplier<BackendRegistry> registry) {
        int threadCount = threads();
        BackendRegistry instance = registry.get();
        String id = checkedBackend(spec.commandLine(), instance, backend);
        return Guice.createInjector(Modules.override(new LoRADropModule(id,
                        BackendConfig.defaults().withThreads(threadCount)))
                .with(binder -> binder.bind(BackendRegistry.class).toInstance(instance)));
    }

    /**
     * Checks a {@code --backend} value against the registry, before anything is built: a blank
     * or unknown id is a usage error (exit code 2) that names the known ids. Whether a known
     * backend is available is left to the choice itself (a failure, exit code 1).
     *
     * @param cli the command line, for the usage error
     * @param registry the backend registry
     * @param id the {@code --backend} value, or null for the default choice
     * @return the id, stripped, or null
     * @throws ParameterException if the id is blank or unknown
     */
    static String checkedBackend(CommandLine cli, BackendRegistry registry, String id) {
        if (id == null) {
            return null;
        }
        if (id.isBlank()) {
            throw new ParameterException(cli, "--backend: expected a backend id, got '" + id
                    + "'");
        }
        String stripped = id.strip();
        if (registry.find(stripped).isEmpty()) {
            String message = "Unknown loradrop backend '" + stripped + "'";
            try {
                registry.select(stripped); // not expected to succeed: it explains, naming the ids
            } catch (IllegalArgumentException | IllegalStateException e) {
                message = e.getMessage();
            }
            throw new ParameterException(cli, "--backend: " + message);
        }
        return stripped;
    }
}
