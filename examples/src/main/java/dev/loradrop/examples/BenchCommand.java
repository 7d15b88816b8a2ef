package dev.loradrop.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
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
import dev.loradrop.examples.demo.ReportWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
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
 *
 * <p>Every case is built and warmed up before any is timed, then the cases are timed in
 * {@value #ROUNDS} interleaved rounds. Timing each case right after its own short warm-up
 * measured the JIT compiler instead: the first cases ran up to 3.6 times slower than in steady
 * state, which turned the ratios upside down (LoRA-drop FEATURE at 0.49x plain LoRA's time
 * instead of 1.19x).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
            "Times training steps (forward, backward, Adam) of the demo's MLP (784-256-128-10) on"
                    + " the chosen backend: the dense network fully trained, plain LoRA (p = 0)"
                    + " and LoRA-drop (p = 0.2) with each mask granularity; prints steps and"
                    + " images per second and the time of each relative to plain LoRA.",
            "Every case is warmed up first, then the cases are timed in turns, so that the JIT"
                    + " compiler and the machine's drift weigh on all of them alike.",
            "A quick check on one machine, not a JMH benchmark: compare ratios, not absolute"
                    + " figures.",
            "With --output DIR, also writes the table to DIR/bench.json and DIR/bench.csv;"
                    + " without it, nothing is written."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success",
                        "1:failure (no backend, an output folder that cannot be written)",
                        "2:usage error"})
final class BenchCommand implements Callable<Integer> {

    /** Timed turns per case: each case runs about steps / ROUNDS timed steps per turn. */
    static final int ROUNDS = 5;

    /** The files {@code --output} gets, in the order they are written. */
    static final List<String> FILES = List.of("bench.json", "bench.csv");

    private final Supplier<BackendRegistry> registry;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    /** Images of 784 pixels a step can take: the batch's inputs are one Java array. */
    static final int MAX_BATCH = (Integer.MAX_VALUE - 8) / (28 * 28);

    @Option(names = "--batch", paramLabel = "<n>", defaultValue = "64",
            description = "Images per step, 1 to " + MAX_BATCH + " (batch x 784 inputs must fit"
                    + " in one Java array) (default: ${DEFAULT-VALUE}).")
    private int batch;

    @Option(names = "--steps", paramLabel = "<n>", defaultValue = "200",
            description = "Timed steps per case, in " + ROUNDS + " turns (default:"
                    + " ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--warmup", paramLabel = "<n>", defaultValue = "200",
            description = "Untimed steps per case, all cases before any is timed, for the JIT"
                    + " compiler (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Option(names = {"-o", "--output"}, paramLabel = "<dir>",
            description = "Also write the table to <dir>/bench.json and <dir>/bench.csv; the"
                    + " folder is created if missing and checked before any step runs (default:"
                    + " write no file).")
    private Path output;

    BenchCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    private record Case(String name, Mlp.AdapterSettings settings) {
    }

    /**
     * What {@code --output} writes ({@code bench.json}): the settings of the run and one row per
     * case.
     *
     * @param backend the backend's id
     * @param threads the backend's worker threads ({@code --threads})
     * @param batch images per step
     * @param warmupSteps untimed steps per case
     * @param timedSteps timed steps per case
     * @param turns the turns the timed steps were split into
     * @param seed the seed of the weights and the batch
     * @param cases one row per case, as in the table
     */
    record Results(String backend, int threads, int batch, int warmupSteps, int timedSteps,
                   int turns, long seed, List<Row> cases) {
    }

    /**
     * One case of the table.
     *
     * @param name the case, as in the table
     * @param seconds the time of its timed steps
     * @param stepsPerSecond timed steps per second
     * @param imagesPerSecond images per second
     * @param timeVsPlainLora its time as a multiple of plain LoRA's
     */
    record Row(String name, double seconds, double stepsPerSecond, double imagesPerSecond,
               double timeVsPlainLora) {
    }

    @Override
    public Integer call() {
        if (batch < 1 || batch > MAX_BATCH) {
            throw new ParameterException(spec.commandLine(), "--batch: expected a number from 1"
                    + " to " + MAX_BATCH + ", got " + batch);
        }
        if (steps < 1 || warmup < 0) {
            throw new ParameterException(spec.commandLine(), "--steps, --warmup: expected >= 1"
                    + " and >= 0, got " + steps + ", " + warmup);
        }
        PrintWriter out = spec.commandLine().getOut();
        int threads = common.threads();
        Injector injector = common.injector(registry); // checks --backend before any work
        return ReportWriter.inOutputDirectory(output, FILES, () -> run(out, injector, threads));
    }

    private int run(PrintWriter out, Injector injector, int threads) {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("dense, all weights trained", null));
        cases.add(new Case("LoRA r=8 (p=0)", new Mlp.AdapterSettings(8, 16, 0.0,
                MaskGranularity.FEATURE)));
        for (MaskGranularity g : MaskGranularity.values()) {
            cases.add(new Case("LoRA-drop r=8 p=0.2 " + g, new Mlp.AdapterSettings(8, 16, 0.2,
                    g)));
        }
        int[] sizes = {784, 256, 128, 10};
        List<Run> runs = new ArrayList<>();
        try (ComputeBackend backend = injector.getInstance(ComputeBackend.class)) {
            LoRADropFactory factory = injector.getInstance(LoRADropFactory.class);
            out.printf("Backend %s, batch %d: %d warm-up steps per case, then %d timed steps per"
                    + " case in %d turns%n", backend.id(), batch, warmup, steps, ROUNDS);
            try {
                SequentialModel<Float> dense = Mlp.create(factory, sizes, common.seed);
                List<Mlp.HostLayer> base;
                try {
                    base = Mlp.weights(dense);
                    runs.add(new Run(dense, backend));
                } catch (RuntimeException | Error e) {
                    dense.close();
                    throw e;
                }
                for (Case c : cases.subList(1, cases.size())) {
                    SequentialModel<Float> model = Mlp.adapted(factory, base, c.settings(),
                            common.seed);
                    try {
                        runs.add(new Run(model, backend));
                    } catch (RuntimeException | Error e) {
                        model.close();
                        throw e;
                    }
                }
                for (Run run : runs) {
                    run.steps(warmup);
                }
                for (int round = 0; round < ROUNDS; round++) {
                    int turn = steps * (round + 1) / ROUNDS - steps * round / ROUNDS;
                    for (Run run : runs) {
                        run.timed(turn);
                    }
                }
            } finally {
                List<Run> lastFirst = new ArrayList<>(runs);
                Collections.reverse(lastFirst);
                closeAll(lastFirst);
            }
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                double seconds = runs.get(i).seconds;
                rows.add(new Row(cases.get(i).name(), seconds, steps / seconds,
                        steps * (double) batch / seconds, seconds / runs.get(1).seconds));
            }
            out.printf("%n| case | steps/s | images/s | time vs plain LoRA |%n"
                    + "| --- | ---: | ---: | ---: |%n");
            for (Row row : rows) {
                out.printf(Locale.ROOT, "| %s | %.1f | %.0f | %.2fx |%n", row.name(),
                        row.stepsPerSecond(), row.imagesPerSecond(), row.timeVsPlainLora());
            }
            if (output != null) {
                Results results = new Results(backend.id(), threads, batch, warmup, steps,
                        ROUNDS, common.seed, List.copyOf(rows));
                List<Path> files = ReportWriter.writeFiles(output, contents(results));
                out.printf("%nWrote %s to %s%n", files.stream()
                                .map(f -> f.getFileName().toString())
                                .collect(Collectors.joining(" and ")),
                        output.toAbsolutePath());
            }
            return CommandLine.ExitCode.OK;
        }
    }

    /** The bytes of {@link #FILES}: the results as JSON (Jackson), and the table as CSV. */
    static Map<String, byte[]> contents(Results results) {
        Map<String, byte[]> contents = new LinkedHashMap<>();
        try {
            contents.put(FILES.get(0), new ObjectMapper()
                    .enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(results));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the bench results as JSON: "
                    + e.getOriginalMessage(), e);
        }
        StringBuilder csv = new StringBuilder(
                "case,seconds,steps_per_second,images_per_second,time_vs_plain_lora\n");
        for (Row row : results.cases()) {
            csv.append('"').append(row.name().replace("\"", "\"\"")).append('"')
                    .append(String.format(Locale.ROOT, ",%.6f,%.3f,%.3f,%.6f\n", row.seconds(),
                            row.stepsPerSecond(), row.imagesPerSecond(),
                            row.timeVsPlainLora()));
        }
        contents.put(FILES.get(1), csv.toString().getBytes(StandardCharsets.UTF_8));
        return contents;
    }

    /** Closes each in turn, all of them even if one fails; then rethrows the first failure. */
    private static void closeAll(Iterable<? extends AutoCloseable> resources) {
        RuntimeException failure = null;
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException re ? re
                            : new IllegalStateException("closing " + r + " failed", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * One case: its model (closed with the run), an optimiser, one fixed batch, and the time its
     * timed steps have taken so far.
     */
    private final class Run implements AutoCloseable {

        private final SequentialModel<Float> model;
        private final SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy();
        private final Adam adam = Adam.adam(1e-3);
        /** What {@link #close} closes, the last made first; the model comes last. */
        private final Deque<AutoCloseable> owned = new ArrayDeque<>();
        private final Tensor<Float> input;
        private final Tensor<Float> target;
        private final Tensor<Float> gradient;
        private double seconds;

        /** On failure closes what it made, but not {@code model}. */
        Run(SequentialModel<Float> model, ComputeBackend backend) {
            this.model = model;
            owned.push(adam);
            try {
                Random random = new Random(common.seed);
                float[] x = new float[batch * model.inputSize()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = random.nextFloat();
                }
                int[] labels = random.ints(batch, 0, model.outputSize()).toArray();
                input = own(backend.upload(x, batch, model.inputSize()));
                target = own(SoftmaxCrossEntropy.oneHot(backend, NumericType.FLOAT32, labels,
                        model.outputSize()));
                gradient = own(backend.allocate(NumericType.FLOAT32, batch, model.outputSize()));
            } catch (RuntimeException | Error e) {
                closeAll(owned);
                throw e;
            }
            owned.addLast(model);
            model.setTrainingMode(true);
        }

        private Tensor<Float> own(Tensor<Float> tensor) {
            owned.push(tensor);
            return tensor;
        }

        /** Runs {@code n} training steps. */
        void steps(int n) {
            for (int s = 0; s < n; s++) {
                try (Tensor<Float> logits = model.forward(input)) {
                    loss.compute(logits, target, gradient);
                }
                model.backwardParameters(gradient);
                adam.step(model);
            }
        }

        /** Runs {@code n} training steps and adds their time to {@link #seconds}. */
        void timed(int n) {
            long start = System.nanoTime();
            steps(n);
            seconds += (System.nanoTime() - start) / 1e9;
        }

        @Override
        public void close() {
            closeAll(owned);
        }
    }
}
