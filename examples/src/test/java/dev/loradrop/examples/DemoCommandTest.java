package dev.loradrop.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.examples.demo.DemoConfig;
import dev.loradrop.examples.demo.DemoResults;
import dev.loradrop.examples.demo.ReportWriter;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the app's working commands end to end, shortened, on the CPU backend. */
class DemoCommandTest {

    private record Result(int exitCode, String out, String err) {
    }

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    private static Result run(String... args) {
        return run(() -> BackendRegistry.discover(DemoCommandTest.class.getClassLoader())
                .withLookups(n -> null, n -> null), args);
    }

    private static Result run(java.util.function.Supplier<BackendRegistry> registry,
                              String... args) {
        CommandLine cli = LoradropCommand.commandLine(registry);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void shortenedDemoWritesWellFormedOutputs(@TempDir Path dir) throws IOException {
        Result result = run("demo", "--quick", "--no-progress", "--threads", "2", "--output",
                dir.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("| LoRA (p=0) |").contains("| LoRA-drop p=0.3 FEATURE |")
                .contains("| LoRA-drop p=0.2 RANK |").contains("Backend: cpu");
        for (String name : ReportWriter.FILES) {
            assertThat(dir.resolve(name)).isNotEmptyFile();
        }
        for (String png : List.of("loss-curves.png", "accuracy-vs-p.png")) {
            BufferedImage image = ImageIO.read(dir.resolve(png).toFile());
            assertThat(image).as(png).isNotNull();
            assertThat(image.getWidth()).isEqualTo(900);
            assertThat(image.getHeight()).isEqualTo(560);
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
        List<String> bad = new ArrayList<>();
        int numbers = checkFinite(json, "$", bad);
        assertThat(bad).isEmpty();
        assertThat(numbers).isGreaterThan(100);
        assertThat(json.get("runs")).hasSize(7 * 2);
        assertThat(json.get("summary")).hasSize(7);
        assertThat(json.get("backend").asText()).isEqualTo("cpu");
        assertThat(json.at("/runs/0/epochs")).hasSize(2);
        for (JsonNode s : json.get("summary")) {
            double accuracy = s.at("/testAccuracy/mean").asDouble();
            assertThat(accuracy).isBetween(0.0, 1.0);
        }
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertThat(csv).hasSize(8);
        assertThat(csv.get(0)).startsWith("variant,dropout_rate,granularity,runs,");
        assertThat(csv.subList(1, 8)).allSatisfy(line -> assertThat(line.split(",")).hasSize(14));
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("<img src=\"loss-curves.png\"")
                .contains("<img src=\"accuracy-vs-p.png\"").contains("LoRA-drop p=0.2 INPUT")
                .contains("Zalando");
    }

    @Test
    void resultsDoNotDependOnTheNumberOfThreads(@TempDir Path dir) throws IOException {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        assertThat(run("demo", "--quick", "--no-progress", "-t", "1", "-o", one.toString())
                .exitCode()).isZero();
        assertThat(run("demo", "--quick", "--no-progress", "-t", "2", "-o", two.toString())
                .exitCode()).isZero();

        ObjectMapper mapper = new ObjectMapper();
        JsonNode a = mapper.readTree(one.resolve("results.json").toFile());
        JsonNode b = mapper.readTree(two.resolve("results.json").toFile());
        assertThat(withoutTimes(a.get("summary"))).isEqualTo(withoutTimes(b.get("summary")));
        assertThat(withoutTimes(a.get("runs"))).isEqualTo(withoutTimes(b.get("runs")));
    }

    @Test
    void missingDataDirectoryFailsWithExitCodeOne(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-dir");

        Result result = run("demo", "--quick", "--no-progress", "--data", missing.toString(),
                "-o", dir.toString());

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).startsWith("Error: " + missing).contains("no such directory");
    }

    @Test
    void trainRunsOneSetting(@TempDir Path dir) throws IOException {
        Result result = run("train", "--quick", "--no-progress", "-p", "0.3", "-g", "ELEMENT",
                "--seeds", "1", "-r", "12", "-o", dir.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        // The quick network is 784-32-16-10: the last layer's adapter has rank min(16, 10).
        assertThat(result.out()).contains("Adapter ranks per layer: 12, 12, 10 (--rank 12, at"
                        + " most min(in, out) of each layer)")
                .contains("| LoRA-drop p=0.3 ELEMENT |")
                .doesNotContain("| LoRA (p=0) |");
        // The settings line names the one run and its seed, not the demo's empty list of rates.
        assertThat(result.out()).containsPattern("(?m)^Network 784-32-16-10; pretraining .*"
                + "; adapters rank 12, alpha .*; runs: LoRA-drop p=0\\.3 ELEMENT; seed \\d+$");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
        assertThat(json.get("runs")).hasSize(1);
        assertThat(json.at("/runs/0/granularity").asText()).isEqualTo("ELEMENT");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(run("demo", "--threads", "0").exitCode()).isEqualTo(2);
        Result rank = run("train", "--rank", "0");
        assertThat(rank.exitCode()).isEqualTo(2);
        assertThat(rank.err()).contains("--rank: expected a number >= 1, got 0");
        Result p = run("train", "--quick", "-p", "1.5");
        assertThat(p.exitCode()).isEqualTo(2);
        assertThat(p.err()).contains("expected a dropout rate in [0, 1), got 1.5");
        assertThat(run("train", "-g", "DIAGONAL").exitCode()).isEqualTo(2);
    }

    // The checks below come before any work: with a --data folder that does not exist, a check
    // made after loading the data would report the data instead (exit code 1).

    @Test
    void alphaMustBeFiniteAndIsCheckedFirst(@TempDir Path dir) {
        String missing = dir.resolve("no-such-dir").toString();
        for (String alpha : List.of("NaN", "Infinity", "-Infinity")) {
            Result result = run("train", "--quick", "--no-progress", "--data", missing,
                    "--alpha", alpha, "-o", dir.toString());

            assertThat(result.exitCode()).as(alpha + ": " + result.err()).isEqualTo(2);
            assertThat(result.err()).as(alpha)
                    .contains("--alpha: expected a finite number, got " + alpha);
        }
    }

    @Test
    void threadsAreCappedAndCheckedFirst(@TempDir Path dir) {
        Result result = run("train", "--quick", "--no-progress", "--data",
                dir.resolve("no-such-dir").toString(), "-t", "257", "-o", dir.toString());

        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("--threads: expected a number from 1 to 256, got 257");
    }

    @Test
    void rankAboveEveryLayersLimitIsAUsageErrorCheckedFirst(@TempDir Path dir) {
        // The quick network is 784-32-16-10: no adapter can have a rank above 32.
        Result result = run("train", "--quick", "--no-progress", "--data",
                dir.resolve("no-such-dir").toString(), "-r", "100000000", "-o", dir.toString());

        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("--rank: expected a number from 1 to 32");
        // As train --help says.
        assertThat(TrainCommand.maxRank(DemoConfig.defaults().sizes()))
                .isEqualTo(256);
    }

    @Test
    void theDemoSettingsLineListsEveryRunByItsTableLabel() {
        assertThat(DemoConfig.defaults().summary()).isEqualTo("Network 784-256-128-10;"
                + " pretraining 5000 images x 4 epochs (batch 64, lr 0.001); adaptation 300 images"
                + " x 30 epochs (batch 32, lr 0.002), validation 500, test 2000; adapters rank 8,"
                + " alpha 16.0; runs: LoRA (p=0), LoRA-drop p=0.1 FEATURE, LoRA-drop p=0.2 FEATURE,"
                + " LoRA-drop p=0.3 FEATURE, LoRA-drop p=0.2 ELEMENT, LoRA-drop p=0.2 INPUT,"
                + " LoRA-drop p=0.2 RANK; 3 seeds from 1");
    }

    @Test
    void anOutputFolderThatCannotBeWrittenFailsBeforeAnyWorkInEveryCommand(@TempDir Path dir)
            throws IOException {
        // The tests run as root, so permissions stop no write: the output path is a regular file,
        // or lies under one.
        Path file = Files.writeString(dir.resolve("afile"), "not a folder");
        for (List<String> command : List.of(List.of("demo", "--quick", "--no-progress"),
                List.of("train", "--quick", "--no-progress"),
                List.of("bench", "--steps", "1", "--warmup", "0", "--batch", "1"))) {
            for (Path output : List.of(file, file.resolve("sub"), file.resolve("sub/deeper"))) {
                List<String> args = new ArrayList<>(command);
                args.addAll(List.of("-o", output.toString()));

                Result result = run(args.toArray(String[]::new));

                String what = command.get(0) + " -o " + output;
                assertThat(result.exitCode()).as(what + ": " + result.err()).isEqualTo(1);
                assertThat(result.err().strip()).as(what).doesNotContain("\n")
                        .startsWith("Error: ").contains(output.toString())
                        .contains(file + " exists and is not a directory")
                        .doesNotContain("Exception");
                // Nothing ran: no data loaded, no backend started, no table.
                assertThat(result.out()).as(what).isEmpty();
            }
        }
        assertThat(Files.readString(file)).isEqualTo("not a folder");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void anOutputFolderThatIsCreatedIsRemovedWhenTheRunFails(@TempDir Path dir) {
        Path output = dir.resolve("new/results");

        Result result = run("train", "--quick", "--no-progress", "--data",
                dir.resolve("no-such-dir").toString(), "-o", output.toString());

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).contains("no-such-dir");
        assertThat(dir.resolve("new")).doesNotExist();
    }

    @Test
    void aReportFileThatCannotBeWrittenFailsBeforeTrainingAndWritesNothing(@TempDir Path dir)
            throws IOException {
        Files.createDirectories(dir.resolve("runs.csv"));

        Result result = run("train", "--quick", "--no-progress", "-o", dir.toString());

        assertThat(result.exitCode()).as(result.err()).isEqualTo(1);
        assertThat(result.err().strip()).doesNotContain("\n")
                .contains(dir.resolve("runs.csv").toString()).contains("is a directory");
        assertThat(result.out()).doesNotContain("Base model");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(dir.resolve("runs.csv"));
        }
    }

    @Test
    void theReportIsWrittenAsASet(@TempDir Path dir) throws IOException {
        DemoResults.Stat stat = new DemoResults.Stat(0.5, 0);
        DemoResults results = new DemoResults("task", "data", "cpu", 1, DemoConfig.quick(),
                new DemoResults.Pretraining(List.of(new DemoResults.PretrainEpoch(1, 1, 1, 0.5)),
                        1, 0.5, 1, 0.1, 0.1),
                List.of(new DemoResults.Run("LoRA (p=0)", 0, "FEATURE", 1,
                        List.of(new DemoResults.Epoch(1, 1, 1, 0.5)), 1, 0.5, 1, 0.5, 0.1)),
                List.of(new DemoResults.Summary("LoRA (p=0)", 0, "FEATURE", 1, stat, stat, stat,
                        stat, stat)), 0.1);
        Path ok = dir.resolve("ok");
        assertThat(ReportWriter.write(results, ok)).hasSize(ReportWriter.FILES.size());
        try (var files = Files.list(ok)) { // no temporary file is left
            assertThat(files.map(f -> f.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(ReportWriter.FILES);
        }

        Path bad = dir.resolve("bad");
        Files.createDirectories(bad.resolve("runs.csv"));
        Files.writeString(bad.resolve("results.json"), "old");
        assertThatThrownBy(() -> ReportWriter.write(results, bad))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining(bad.resolve("runs.csv").toString());
        assertThat(Files.readString(bad.resolve("results.json"))).isEqualTo("old");
        try (var files = Files.list(bad)) {
            assertThat(files).containsExactlyInAnyOrder(bad.resolve("runs.csv"),
                    bad.resolve("results.json"));
        }
    }

    @Test
    void benchBatchTooLargeIsAUsageError() {
        Result result = run("bench", "--steps", "1", "--warmup", "0", "--batch", "3000000");

        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("--batch: expected a number from 1 to 2739137, got"
                + " 3000000");
    }

    @Test
    void unavailableBackendFailsWithExitCodeOne() {
        ComputeBackendProvider offline = new ComputeBackendProvider() {
            @Override
            public String id() {
                return "offline";
            }

            @Override
            public int priority() {
                return 1;
            }

            @Override
            public Availability probe() {
                return Availability.unavailable("no device here");
            }

            @Override
            public ComputeBackend create(BackendConfig config) {
                throw new IllegalStateException("offline");
            }
        };
        Result result = run(() -> BackendRegistry.of(java.util.List.of(offline))
                .withLookups(n -> null, n -> null), "demo", "--quick", "--no-progress",
                "--backend", "offline");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).startsWith("Error: ").contains("offline")
                .contains("no device here");
    }

    @Test
    void benchPrintsRatiosToPlainLora() {
        Result result = run("bench", "--steps", "2", "--warmup", "0", "--batch", "4");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("0 warm-up steps per case, then 2 timed steps per case in 5 turns")
                .contains("| LoRA r=8 (p=0) |").contains("| 1.00x |")
                .contains("LoRA-drop r=8 p=0.2 FEATURE").contains("LoRA-drop r=8 p=0.2 RANK")
                .contains("dense, all weights trained");
    }

    @Test
    void benchWritesItsTableToTheOutputFolder(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("new/bench");

        Result result = run("bench", "--steps", "2", "--warmup", "1", "--batch", "4", "-t", "1",
                "-s", "7", "-o", output.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("| LoRA r=8 (p=0) |")
                .contains("Wrote bench.json and bench.csv to " + output.toAbsolutePath());
        try (var files = Files.list(output)) { // and no temporary file is left
            assertThat(files.map(f -> f.getFileName().toString()))
                    .containsExactlyInAnyOrder("bench.json", "bench.csv");
        }
        JsonNode json = new ObjectMapper().readTree(output.resolve("bench.json").toFile());
        assertThat(json.get("backend").asText()).isEqualTo("cpu");
        assertThat(json.get("threads").asInt()).isEqualTo(1);
        assertThat(json.get("batch").asInt()).isEqualTo(4);
        assertThat(json.get("warmupSteps").asInt()).isEqualTo(1);
        assertThat(json.get("timedSteps").asInt()).isEqualTo(2);
        assertThat(json.get("turns").asInt()).isEqualTo(BenchCommand.ROUNDS);
        assertThat(json.get("seed").asLong()).isEqualTo(7);
        assertThat(json.get("cases")).hasSize(6);
        assertThat(json.at("/cases/0/name").asText()).isEqualTo("dense, all weights trained");
        assertThat(json.at("/cases/1/name").asText()).isEqualTo("LoRA r=8 (p=0)");
        assertThat(json.at("/cases/1/timeVsPlainLora").asDouble()).isEqualTo(1.0);
        for (JsonNode c : json.get("cases")) {
            assertThat(c.get("seconds").asDouble()).isPositive();
            assertThat(c.get("imagesPerSecond").asDouble())
                    .isCloseTo(4 * c.get("stepsPerSecond").asDouble(),
                            org.assertj.core.api.Assertions.within(1e-6));
        }
        List<String> csv = Files.readAllLines(output.resolve("bench.csv"));
        assertThat(csv).hasSize(7);
        assertThat(csv.get(0))
                .isEqualTo("case,seconds,steps_per_second,images_per_second,time_vs_plain_lora");
        assertThat(csv.get(1)).startsWith("\"dense, all weights trained\",");
        assertThat(csv.get(2)).startsWith("\"LoRA r=8 (p=0)\",").endsWith(",1.000000");
        assertThat(csv.subList(1, 7)).allSatisfy(line ->
                assertThat(line.substring(line.lastIndexOf('"') + 2).split(",")).hasSize(4));
    }

    @Test
    void infoNamesTheBackendAndTheData() {
        Result result = run("info");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("loradrop ").contains("Java ")
                .contains("Vector API (jdk.incubator.vector): ").contains("backend: cpu")
                .contains("data: ");
    }

    @Test
    void infoWithADataFolderThatIsNotThereIsAOneLineError(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("no-such-dir");
        Path file = Files.writeString(dir.resolve("afile"), "not a folder");
        for (Path data : List.of(missing, file)) {
            Result result = run("info", "--data", data.toString());

            assertThat(result.exitCode()).as(result.err()).isEqualTo(1);
            assertThat(result.err().strip()).as(data.toString()).doesNotContain("\n")
                    .startsWith("Error: " + data + ": ")
                    .contains(data.equals(file) ? "not a directory" : "no such directory")
                    .doesNotContain("Exception");
            assertThat(result.out()).as(data.toString()).isEmpty();
        }

        // A folder without the files fails as demo would, naming the first file missing.
        Result empty = run("info", "--data", dir.toString());
        assertThat(empty.exitCode()).as(empty.err()).isEqualTo(1);
        assertThat(empty.err().strip()).doesNotContain("\n")
                .startsWith("Error: " + dir.resolve("train-images-idx3-ubyte.gz") + ": not found;");
        assertThat(empty.out()).isEmpty();

        for (String name : List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte")) {
            Files.writeString(dir.resolve(name), "");
        }
        Result ok = run("info", "--data", dir.toString());
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("data: " + dir.toAbsolutePath() + " (--data)");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("demo", "train", "bench", "backends", "info")) {
            Result help = run(command, "--help");
            assertThat(help.exitCode()).as(command).isZero();
            assertThat(help.out()).as(command).contains("Usage: loradrop " + command)
                    .contains("Exit codes:");
        }
        assertThat(run("demo", "--help").out()).contains("--backend=<id>").contains("--seed=<n>")
                .contains("--threads=<n>").contains("--output=<dir>").contains("--data=<dir>");
    }

    private static JsonNode withoutTimes(JsonNode node) {
        JsonNode copy = node.deepCopy();
        for (JsonNode n : copy) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) n).remove("seconds");
        }
        return copy;
    }

    /** Counts the numbers in a JSON tree and lists any that is not finite. */
    private static int checkFinite(JsonNode node, String path, List<String> bad) {
        if (node.isNumber()) {
            if (!Double.isFinite(node.asDouble())) {
                bad.add(path + " = " + node);
            }
            return 1;
        }
        if (node.isTextual() && node.asText().matches("(?i)nan|-?infinity")) {
            bad.add(path + " = " + node);
            return 1;
        }
        int count = 0;
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                count += checkFinite(node.get(i), path + "[" + i + "]", bad);
            }
        }
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            count += checkFinite(node.get(name), path + "." + name, bad);
        }
        return count;
    }
}
