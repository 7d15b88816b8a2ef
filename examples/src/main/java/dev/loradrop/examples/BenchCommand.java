package dev.loradrop.examples;

import com.google.inject.Injector;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.LoRADropFactory;
import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.SequentialModel;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.loss.SoftmaxCrossEntropy;
import dev.loradrop.core.optim.Adam;
import dev.loradrop.examples.demo.Mlp;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop bench}: the speed of a training step of the demo's MLP on a backend: full
 * training of the dense network, plain LoRA and LoRA-drop with each granularity, as steps per
 * second and as a ratio to plain LoRA in the same run. A quick check, not a JMH benchmark.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
            "Times training steps (forward, backward, Adam) of the demo's MLP (784-256-128-10) on"
                    + " the chosen backend: the dense network fully trained, plain LoRA (p = 0)"
                    + " and LoRA-drop (p = 0.2) with each mask granularity; prints steps and"
                    + " images per second and the time of each relative to plain LoRA.",
            "A quick check on one machine, not a JMH benchmark: compare ratios, not absolute"
                    + " figures."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:failure (no backend)", "2:usage error"})
final class BenchCommand implements Callable<Integer> {

    private final Supplier<BackendRegistry> registry;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Option(names = "--batch", paramLabel = "<n>", defaultValue = "64",
            description = "Images per step (default: ${DEFAULT-VALUE}).")
    private int batch;

    @Option(names = "--steps", paramLabel = "<n>", defaultValue = "30",
            description = "Timed steps per case (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--warmup", paramLabel = "<n>", defaultValue = "10",
            description = "Untimed steps first, for the JIT compiler (default: ${DEFAULT-VALUE}).")
    private int warmup;

    BenchCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    private record Case(String name, Mlp.AdapterSettings settings) {
    }

    @Override
    public Integer call() {
        if (batch < 1 || steps < 1 || warmup < 0) {
            throw new ParameterException(spec.commandLine(), "--batch, --steps: expected >= 1"
                    + " and --warmup >= 0, got " + batch + ", " + steps + ", " + warmup);
        }
        PrintWriter out = spec.commandLine().getOut();
        Injector injector = common.injector(registry);
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("dense, all weights trained", null));
        cases.add(new Case("LoRA r=8 (p=0)", new Mlp.AdapterSettings(8, 16, 0.0,
                MaskGranularity.FEATURE)));
        for (MaskGranularity g : MaskGranularity.values()) {
            cases.add(new Case("LoRA-drop r=8 p=0.2 " + g, new Mlp.AdapterSettings(8, 16, 0.2,
                    g)));
        }
        int[] sizes = {784, 256, 128, 10};
        try (ComputeBackend backend = injector.getInstance(ComputeBackend.class)) {
            LoRADropFactory factory = injector.getInstance(LoRADropFactory.class);
            out.printf("Backend %s, batch %d, %d timed steps after %d warm-up steps%n",
                    backend.id(), batch, steps, warmup);
            double[] seconds = new double[cases.size()];
            List<Mlp.HostLayer> base;
            try (SequentialModel<Float> dense = Mlp.create(factory, sizes, common.seed)) {
                base = Mlp.weights(dense);
                seconds[0] = time(dense, backend);
            }
            for (int i = 1; i < cases.size(); i++) {
                try (SequentialModel<Float> model = Mlp.adapted(factory, base,
                        cases.get(i).settings(), common.seed)) {
                    seconds[i] = time(model, backend);
                }
            }
            out.printf("%n| case | steps/s | images/s | time vs plain LoRA |%n"
                    + "| --- | ---: | ---: | ---: |%n");
            for (int i = 0; i < cases.size(); i++) {
                out.printf(Locale.ROOT, "| %s | %.1f | %.0f | %.2fx |%n", cases.get(i).name(),
                        steps / seconds[i], steps * (double) batch / seconds[i],
                        seconds[i] / seconds[1]);
            }
            return CommandLine.ExitCode.OK;
        }
    }

    private double time(SequentialModel<Float> model, ComputeBackend backend) {
        Random random = new Random(common.seed);
        float[] x = new float[batch * model.inputSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat();
        }
        int[] labels = random.ints(batch, 0, model.outputSize()).toArray();
        SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy();
        try (Adam adam = Adam.adam(1e-3);
             Tensor<Float> input = backend.upload(x, batch, model.inputSize());
             Tensor<Float> target = SoftmaxCrossEntropy.oneHot(backend, NumericType.FLOAT32,
                     labels, model.outputSize());
             Tensor<Float> gradient = backend.allocate(NumericType.FLOAT32, batch,
                     model.outputSize())) {
            model.setTrainingMode(true);
            long start = 0;
            for (int s = 0; s < warmup + steps; s++) {
                if (s == warmup) {
                    start = System.nanoTime();
                }
                try (Tensor<Float> logits = model.forward(input)) {
                    loss.compute(logits, target, gradient);
                }
                model.backward(gradient).close();
                adam.step(model);
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }
}
