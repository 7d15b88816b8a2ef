package dev.loradrop.examples;

import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.backend.BackendSelection;
import dev.loradrop.core.backend.ProviderStatus;
import java.io.PrintWriter;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop backends}: lists the compute backends found on the class path and the one an
 * application would get.
 */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = {
            "Lists the compute backends found on the class path (id, priority, availability and"
                    + " why, description) and the one that would be chosen, and why.",
            "Choice: --backend, else -D" + BackendRegistry.PROPERTY + ", else $"
                    + BackendRegistry.ENVIRONMENT + ", else the highest priority available."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:a backend would be chosen",
                        "1:no backend can be chosen (none available, or the chosen one is not)",
                        "2:usage error, for example an unknown --backend id"})
final class BackendsCommand implements java.util.concurrent.Callable<Integer> {

    private final Supplier<BackendRegistry> registrySupplier;

    @Spec
    private CommandSpec spec;

    @Option(names = {"-b", "--backend"}, paramLabel = "<id>",
            description = "Choose this backend, as an application would; beats -D"
                    + BackendRegistry.PROPERTY + " and $" + BackendRegistry.ENVIRONMENT + ".")
    private String backend;

    @Option(names = {"-v", "--verbose"},
            description = "Print the full report for bug reports (Java, OS, settings, providers).")
    private boolean verbose;

    BackendsCommand(Supplier<BackendRegistry> registrySupplier) {
        this.registrySupplier = Objects.requireNonNull(registrySupplier, "registrySupplier");
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BackendRegistry registry;
        try {
            registry = registrySupplier.get();
        } catch (RuntimeException e) {
            // For example two providers with the same id: the class path is wrong.
            err.println("Error: " + e.getMessage());
            return CommandLine.ExitCode.SOFTWARE;
        }
        // A blank or unknown id is a usage error, one line and a pointer to --help, as in the
        // other commands; the message names the known ids.
        String id = CommonOptions.checkedBackend(spec.commandLine(), registry, backend);
        if (verbose) {
            out.print(registry.describe(id));
            out.println();
        }
        list(registry, out);
        out.println();
        try {
            BackendSelection selection = registry.select(id);
            out.println("Would choose: " + selection.id() + " ("
                    + (selection.reason() == BackendSelection.Reason.EXPLICIT
                            ? "--backend " + selection.id() : selection.detail()) + ")");
            return CommandLine.ExitCode.OK;
        } catch (IllegalArgumentException | IllegalStateException e) {
            // --backend was checked above: an unknown id here comes from loradrop.backend or
            // LORADROP_BACKEND; or no backend is available.
            out.println("Would choose: none");
            err.println("Error: " + e.getMessage());
            return CommandLine.ExitCode.SOFTWARE;
        }
    }

    private static void list(BackendRegistry registry, PrintWriter out) {
        List<ProviderStatus> sorted = registry.providers().stream()
                .sorted(Comparator.comparingInt(
                                (ProviderStatus s) -> s.priority().orElse(Integer.MIN_VALUE))
                        .reversed()
                        .thenComparing(s -> s.id().orElse("")))
                .collect(Collectors.toList());
        out.println("Compute backends found: " + sorted.size());
        int width = sorted.stream().mapToInt(s -> s.id().orElse("?").length()).max().orElse(1);
        for (ProviderStatus s : sorted) {
            String priority = s.priority().isPresent()
                    ? Integer.toString(s.priority().getAsInt()) : "?";
            String status;
            if (s.isFailed()) {
                status = "failed: " + s.failure().orElse("");
            } else if (s.isAvailable()) {
                status = "available" + (s.availability().reason().isEmpty()
                        ? "" : " (" + s.availability().reason() + ")");
            } else {
                status = "unavailable: " + s.availability().reason();
            }
            out.printf("  %-" + width + "s  priority %-4s  %s%n", s.id().orElse("?"), priority,
                    status);
            String description = s.description().isEmpty() ? "" : s.description() + " ";
            out.printf("  %-" + width + "s  %s(%s)%n", "", description, s.providerClass());
        }
    }
}
