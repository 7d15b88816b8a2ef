package dev.loradrop.examples;

import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.inject.LoRADropModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.util.Modules;
import java.nio.file.Path;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every working command shares ({@code --backend}, {@code --seed}, {@code --threads},
 * {@code --output}), and the Guice injector they assemble the app with.
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

    @Option(names = {"-t", "--threads"}, paramLabel = "<n>",
            description = "Threads: the backend's worker threads, and how many independent"
                    + " training runs go in parallel (default: the available processors).")
    Integer threads;

    @Option(names = {"-o", "--output"}, paramLabel = "<dir>",
            description = "Directory for results, charts and the report (created if missing).")
    Path output;

    /** @return the thread count, checked */
    int threads() {
        if (threads == null) {
            return Runtime.getRuntime().availableProcessors();
        }
        if (threads < 1) {
            throw new ParameterException(spec.commandLine(),
                    "--threads: expected a number >= 1, got " + threads);
        }
        return threads;
    }

    /**
     * @param fallback the command's default directory
     * @return {@code --output}, or the fallback
     */
    Path output(String fallback) {
        return output != null ? output : Path.of(fallback);
    }

    /**
     * Assembles the app: {@link LoRADropModule} with the backend of {@code --backend} (or the
     * default choice) and {@code --threads}, on the given registry.
     *
     * @param registry the backend registry
     * @return the injector; the caller closes the {@link ComputeBackend} it provides
     */
    Injector injector(Supplier<BackendRegistry> registry) {
        if (backend != null && backend.isBlank()) {
            throw new ParameterException(spec.commandLine(),
                    "--backend: expected a backend id, got '" + backend + "'");
        }
        BackendRegistry instance = registry.get();
        return Guice.createInjector(Modules.override(new LoRADropModule(backend,
                        BackendConfig.defaults().withThreads(threads())))
                .with(binder -> binder.bind(BackendRegistry.class).toInstance(instance)));
    }
}
