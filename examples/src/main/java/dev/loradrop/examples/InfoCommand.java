package dev.loradrop.examples;

import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.backend.BackendSelection;
import dev.loradrop.examples.data.FashionMnist;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop info}: the app's version, the Java runtime, whether the Vector API module is
 * present, the backend that would be chosen, and where the demo's data would come from.
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Prints the app version, the Java runtime, processors and memory, whether"
                + " the Vector API module (jdk.incubator.vector) is loaded, the backend that would"
                + " be chosen, and where the demo's Fashion-MNIST data would come from.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success",
                        "1:failure (no backend can be chosen, a --data folder that is not there"
                                + " or lacks the data files)",
                        "2:usage error"})
final class InfoCommand implements Callable<Integer> {

    private final Supplier<BackendRegistry> registry;

    @Spec
    private CommandSpec spec;

    @Option(names = {"-b", "--backend"}, paramLabel = "<id>",
            description = "The backend to report on (default: the one that would be chosen).")
    private String backend;

    @Option(names = "--data", paramLabel = "<dir>",
            description = "The data directory to report on; it must be a folder that can be"
                    + " read and holds the four Fashion-MNIST IDX files (each plain or .gz).")
    private Path data;

    InfoCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public Integer call() throws Exception {
        BackendRegistry backends = registry.get();
        String id = CommonOptions.checkedBackend(spec.commandLine(), backends, backend);
        if (data != null) {
            FashionMnist.checkFiles(data); // as demo and train would: exit code 1
        }
        PrintWriter out = spec.commandLine().getOut();
        for (String line : new LoradropCommand.Version().getVersion()) {
            out.println(line);
        }
        Runtime rt = Runtime.getRuntime();
        out.printf("processors: %d, max heap: %d MiB%n", rt.availableProcessors(),
                rt.maxMemory() >> 20);
        out.println("Vector API (jdk.incubator.vector): " + (ModuleLayer.boot()
                .findModule("jdk.incubator.vector").isPresent() ? "loaded"
                : "not loaded (run with --add-modules jdk.incubator.vector; ./loradrop does)"));
        out.println("data: " + dataSource());
        BackendSelection selection = backends.select(id);
        out.println("backend: " + selection.id() + " (" + selection.detail() + ")");
        return CommandLine.ExitCode.OK;
    }

    private String dataSource() {
        if (data != null) {
            return data.toAbsolutePath() + " (--data)";
        }
        if (Files.isDirectory(Path.of(FashionMnist.DEBIAN_DIR))) {
            return FashionMnist.DEBIAN_DIR + " (Debian package dataset-fashion-mnist)";
        }
        return "the subset embedded in the app (" + FashionMnist.EMBEDDED_TRAIN + " training, "
                + FashionMnist.EMBEDDED_TEST + " test images); install the Debian package"
                + " dataset-fashion-mnist or pass --data DIR for the full set";
    }
}
