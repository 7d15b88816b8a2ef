package dev.loradrop.examples;

import com.google.inject.Injector;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.examples.data.FashionMnist;
import dev.loradrop.examples.demo.DemoConfig;
import dev.loradrop.examples.demo.DemoResults;
import dev.loradrop.examples.demo.DemoRunner;
import dev.loradrop.examples.demo.Progress;
import dev.loradrop.examples.demo.ReportWriter;
import dev.loradrop.examples.demo.ResultsTable;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop demo}: the Fashion-MNIST LoRA-drop demo ({@link DemoRunner}), and, with
 * {@code train}, a single configuration of it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
            "Pretrains an MLP (784-256-128-10) on upright Fashion-MNIST images, then adapts it with"
                    + " 300 labels to the images turned a quarter turn, base frozen, LoRA-drop on"
                    + " every dense layer. Compares plain LoRA (p = 0) with LoRA-drop at p = 0.1,"
                    + " 0.2, 0.3 and the mask granularities at p = 0.2, over 3 seeds; prints the"
                    + " table and writes results.json, results.csv, runs.csv, loss-curves.png,"
                    + " accuracy-vs-p.png and report.html.",
            "Data: --data DIR, else " + FashionMnist.DEBIAN_DIR + " when it exists, else the"
                    + " subset embedded in the app."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:failure (missing or corrupt data, no backend, I/O error)",
                        "2:usage error"})
final class DemoCommand implements Callable<Integer> {

    private final Supplier<BackendRegistry> registry;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Option(names = "--data", paramLabel = "<dir>",
            description = "Directory with the Fashion-MNIST IDX files (plain or .gz).")
    private Path data;

    @Option(names = {"-o", "--output"}, paramLabel = "<dir>", defaultValue = "loradrop-demo",
            description = "Directory for the results, charts and report; created if missing and"
                    + " checked before any work (default: ${DEFAULT-VALUE}).")
    private Path output;

    @Option(names = "--quick",
            description = "A shortened demo (small network, little data, 2 epochs): checks that"
                    + " everything works in seconds; its numbers mean nothing.")
    private boolean quick;

    @Option(names = "--no-progress", description = "Do not draw progress bars.")
    private boolean noProgress;

    DemoCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public Integer call() {
        DemoConfig config = (quick ? DemoConfig.quick() : DemoConfig.defaults())
                .withSeed(common.seed);
        return run(spec, common, registry, config, data, noProgress, output);
    }

    /**
     * Checks the options and the output folder (creating it), loads the data, runs the demo of
     * {@code config}, prints the table and writes the report. If it fails, the output folder is
     * left as it was (a folder it created is removed).
     */
    static int run(CommandSpec spec, CommonOptions common, Supplier<BackendRegistry> registry,
                   DemoConfig config, Path data, boolean noProgress, Path output) {
        PrintWriter out = spec.commandLine().getOut();
        int threads = common.threads();
        Injector injector = common.injector(registry); // checks --backend before any work
        return ReportWriter.inOutputDirectory(output, ReportWriter.FILES,
                () -> run(out, injector, config, data, noProgress, threads, output));
    }

    private static int run(PrintWriter out, Injector injector, DemoConfig config, Path data,
                           boolean noProgress, int threads, Path output) {
        FashionMnist mnist = FashionMnist.locate(data, config.trainImagesNeeded(),
                config.testImages());
        BackendRegistry backends = injector.getInstance(BackendRegistry.class);
        try (ComputeBackend backend = injector.getInstance(ComputeBackend.class)) {
            out.println("Data: " + mnist.source());
            out.println("Backend: " + backend.id() + ", " + threads + " thread(s)");
            out.println(config.summary());
            String ranks = effectiveRanks(config);
            if (ranks != null) {
                out.println("Adapter ranks per layer: " + ranks + " (--rank " + config.rank()
                        + ", at most min(in, out) of each layer)");
            }
            out.flush();
            Progress progress = noProgress ? Progress.none() : Progress.bars(System.err);
            DemoRunner runner = new DemoRunner(config, backend,
                    () -> backends.create(backend.id(), BackendConfig.defaults().withThreads(1)),
                    threads, progress);
            DemoResults results = runner.run(mnist);
            DemoResults.Pretraining p = results.pretraining();
            out.printf(Locale.ROOT, "%nBase model: %.1f%% test accuracy on upright images,"
                            + " %.1f%% on rotated ones (chance: 10%%)%n%n",
                    100 * p.testAccuracy(), 100 * p.shiftedTestAccuracy());
            out.print(ResultsTable.markdown(results.summary()));
            List<Path> files = ReportWriter.write(results, output);
            out.printf(Locale.ROOT, "%nWrote %d files to %s (open report.html); %.1f s%n",
                    files.size(), output.toAbsolutePath(), results.seconds());
            return CommandLine.ExitCode.OK;
        }
    }

    /**
     * @return each layer's adapter rank, {@code min(rank, in, out)}, separated by commas; null
     *     when every layer has the configured rank
     */
    static String effectiveRanks(DemoConfig config) {
        int[] sizes = config.sizes();
        StringBuilder sb = new StringBuilder();
        boolean capped = false;
        for (int i = 0; i + 1 < sizes.length; i++) {
            int r = Math.min(config.rank(), Math.min(sizes[i], sizes[i + 1]));
            capped |= r < config.rank();
            sb.append(i == 0 ? "" : ", ").append(r);
        }
        return capped ? sb.toString() : null;
    }
}
