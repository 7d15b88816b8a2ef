package dev.loradrop.examples;

import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.examples.demo.DemoConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop train}: the demo's pretraining and one adaptation setting of your choice, with
 * the same table, files and report.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {
            "Pretrains the demo's MLP on upright Fashion-MNIST images, then adapts it to rotated"
                    + " images with one LoRA-drop setting of your choice (base frozen, an adapter"
                    + " on every dense layer); prints the result and writes the same files as"
                    + " 'demo'."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:failure (missing or corrupt data, no backend, I/O error)",
                        "2:usage error"})
final class TrainCommand implements Callable<Integer> {

    private final Supplier<BackendRegistry> registry;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Option(names = {"-p", "--dropout-rate"}, paramLabel = "<p>", defaultValue = "0.2",
            description = "Dropout rate p of the LoRA branch, in [0, 1); 0 is plain LoRA"
                    + " (default: ${DEFAULT-VALUE}).")
    private double dropoutRate;

    @Option(names = {"-g", "--granularity"}, paramLabel = "<g>", defaultValue = "FEATURE",
            description = "Mask granularity: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private MaskGranularity granularity;

    @Option(names = {"-r", "--rank"}, paramLabel = "<r>", defaultValue = "8",
            description = "Adapter rank; each layer's adapter has at most min(in, out) of"
                    + " that layer, so at most 256 (32 with --quick) (default: ${DEFAULT-VALUE}).")
    private int rank;

    @Option(names = "--alpha", paramLabel = "<a>", defaultValue = "16",
            description = "Adapter alpha, a finite number; the branch is scaled by alpha / rank"
                    + " (default: ${DEFAULT-VALUE}).")
    private double alpha;

    @Option(names = {"-e", "--epochs"}, paramLabel = "<n>", defaultValue = "30",
            description = "Adaptation epochs (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--images", paramLabel = "<n>", defaultValue = "300",
            description = "Labelled rotated images to adapt on (default: ${DEFAULT-VALUE}).")
    private int images;

    @Option(names = "--lr", paramLabel = "<lr>", defaultValue = "2e-3",
            description = "Adam's learning rate for adaptation (default: ${DEFAULT-VALUE}).")
    private double learningRate;

    @Option(names = "--seeds", paramLabel = "<n>", defaultValue = "1",
            description = "Runs with seeds --seed, --seed + 1, ... (default: ${DEFAULT-VALUE}).")
    private int seeds;

    @Option(names = "--data", paramLabel = "<dir>",
            description = "Directory with the Fashion-MNIST IDX files (plain or .gz).")
    private Path data;

    @Option(names = {"-o", "--output"}, paramLabel = "<dir>", defaultValue = "loradrop-train",
            description = "Directory for the results, charts and report; created if missing and"
                    + " checked before any work (default: ${DEFAULT-VALUE}).")
    private Path output;

    @Option(names = "--quick",
            description = "Pretrain the shortened demo's small network on little data first"
                    + " (as 'demo --quick'): seconds instead of minutes; its numbers mean nothing.")
    private boolean quick;

    @Option(names = "--no-progress", description = "Do not draw progress bars.")
    private boolean noProgress;

    TrainCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public Integer call() {
        positive("--rank", rank);
        positive("--epochs", epochs);
        positive("--images", images);
        positive("--seeds", seeds);
        DemoConfig base = quick ? DemoConfig.quick() : DemoConfig.defaults();
        int maxRank = maxRank(base.sizes());
        if (rank > maxRank) {
            throw new ParameterException(spec.commandLine(), "--rank: expected a number from 1 to "
                    + maxRank + " (the largest min(in, out) of the network's layers "
                    + Arrays.toString(base.sizes()) + "), got " + rank);
        }
        DemoConfig config;
        try {
            if (!(learningRate > 0 && Double.isFinite(learningRate))) {
                throw new IllegalArgumentException("--lr: expected a finite number > 0, got "
                        + learningRate);
            }
            if (!Double.isFinite(alpha)) {
                throw new IllegalArgumentException("--alpha: expected a finite number, got "
                        + alpha);
            }
            config = base.withSeed(common.seed).single(dropoutRate, granularity, rank, alpha,
                    images, epochs, learningRate, seeds);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        return DemoCommand.run(spec, common, registry, config, data, noProgress, output);
    }

    /** @return the largest rank any layer's adapter can have: the largest min(in, out) */
    static int maxRank(int[] sizes) {
        int max = 1;
        for (int i = 0; i + 1 < sizes.length; i++) {
            max = Math.max(max, Math.min(sizes[i], sizes[i + 1]));
        }
        return max;
    }

    private void positive(String option, int value) {
        if (value < 1) {
            throw new ParameterException(spec.commandLine(), option
                    + ": expected a number >= 1, got " + value);
        }
    }
}
