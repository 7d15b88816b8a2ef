package dev.loradrop.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.spi.Availability;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.api.spi.ComputeBackendProvider;
import dev.loradrop.core.backend.BackendRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class LoradropCommandTest {

    private static final Function<String, String> NONE = name -> null;

    private record Result(int exitCode, String out, String err) {
        List<String> outLines() {
            return Arrays.asList(out.split("\\R"));
        }
    }

    private static Result run(Supplier<BackendRegistry> registry, String... args) {
        CommandLine cli = LoradropCommand.commandLine(registry);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    /** The providers on the test class path, with no property or environment variable set. */
    private static BackendRegistry discovered() {
        return BackendRegistry.discover(LoradropCommandTest.class.getClassLoader())
                .withLookups(NONE, NONE);
    }

    private static final class Fake implements ComputeBackendProvider {
        private final String id;
        private final int priority;
        private final Availability availability;

        Fake(String id, int priority, Availability availability) {
            this.id = id;
            this.priority = priority;
            this.availability = availability;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public String description() {
            return "fake " + id;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public Availability probe() {
            return availability;
        }

        @Override
        public ComputeBackend create(BackendConfig config) {
            throw new UnsupportedOperationException("not needed by the command");
        }
    }

    private static Supplier<BackendRegistry> fakes(Function<String, String> properties,
                                                   Function<String, String> environment) {
        return () -> BackendRegistry.of(List.of(
                new Fake("fast", 100, Availability.ok("fake device")),
                new Fake("slow", 10, Availability.ok()),
                new Fake("off", 500, Availability.unavailable("no such device"))))
                .withLookups(properties, environment);
    }

    @Test
    void backendsListsNd4jAsAvailableAndGpuWithItsDeviceOrReason() {
        BackendRegistry registry = discovered();

        Result result = run(() -> registry, "backends");

        assertThat(result.outLines())
                .anySatisfy(line -> assertThat(line).contains("nd4j").contains("priority 60")
                        .contains("available (ND4J CpuBackend, BLAS OPENBLAS")
                        .doesNotContain("unavailable"))
                // The OpenCL device it would use, or why there is none (no driver, no platform).
                .anySatisfy(line -> assertThat(line).contains("gpu").contains("priority 80")
                        .containsPattern("available \\(OpenCL #\\d+ .+\\)|unavailable: .+"))
                .anySatisfy(line -> assertThat(line).contains("ND4J 1.0.0-M2.1 (native, OpenBLAS)")
                        .contains("dev.loradrop.backend.nd4j.Nd4jBackendProvider"));
        assertThat(result.outLines())
                .anySatisfy(line -> assertThat(line).contains("cpu").contains("priority 100")
                        .contains("available"));
        assertThat(result.out()).contains("Would choose: cpu");
        assertThat(result.exitCode()).isZero();
    }

    @Test
    void choosingAnUnavailableBackendFailsWithItsReason() {
        Result result = run(fakes(NONE, NONE), "backends", "--backend", "off");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).contains("Would choose: none");
        assertThat(result.err()).contains("'off'").contains("no such device");
    }

    @Test
    void listsEveryProviderAndTheChoiceByPriority() {
        Result result = run(fakes(NONE, NONE), "backends");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out())
                .contains("Compute backends found: 3")
                .contains("fast  priority 100   available (fake device)")
                .contains("slow  priority 10    available")
                .contains("off   priority 500   unavailable: no such device")
                .contains("fake fast (" + Fake.class.getName() + ")")
                .contains("Would choose: fast (highest priority among available backends (100))");
        assertThat(result.err()).isEmpty();
    }

    @Test
    void backendOptionBeatsPropertyAndEnvironment() {
        Result result = run(fakes(Map.of(BackendRegistry.PROPERTY, "fast")::get, NONE),
                "backends", "--backend", "slow");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("Would choose: slow (--backend slow)");
    }

    @Test
    void propertyIsHonoured() {
        Result result = run(fakes(Map.of(BackendRegistry.PROPERTY, "slow")::get, NONE),
                "backends");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out())
                .contains("Would choose: slow (system property loradrop.backend=slow)");
    }

    @Test
    void environmentIsHonoured() {
        Result result = run(fakes(NONE, Map.of(BackendRegistry.ENVIRONMENT, "slow")::get),
                "backends");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out())
                .contains("Would choose: slow (environment variable LORADROP_BACKEND=slow)");
    }

    @Test
    void unknownBackendOptionIsAUsageError() {
        Result result = run(fakes(NONE, NONE), "backends", "--backend", "nope");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("Unknown loradrop backend 'nope'")
                .contains("fast, off (unavailable), slow");
    }

    @Test
    void backendsUsageErrorsAreOneLineAndAPointerToHelp() {
        Result unknown = run(fakes(NONE, NONE), "backends", "--backend", "nope");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err().strip().split("\\R")).containsExactly(
                "Error: --backend: Unknown loradrop backend 'nope' (explicit choice); known ids:"
                        + " fast, off (unavailable), slow",
                "Try 'loradrop backends --help' for more information.");

        Result blank = run(fakes(NONE, NONE), "backends", "--backend", " ");
        assertThat(blank.exitCode()).isEqualTo(2);
        assertThat(blank.err().strip().split("\\R")).containsExactly(
                "Error: --backend: expected a backend id, got ' '",
                "Try 'loradrop backends --help' for more information.");
    }

    @Test
    void unavailableBackendOptionFails() {
        Result result = run(fakes(NONE, NONE), "backends", "-b", "off");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).contains("'off'").contains("no such device");
    }

    @Test
    void nothingAvailableExitsWithOne() {
        Result result = run(() -> BackendRegistry.of(List.of(
                new Fake("off", 1, Availability.unavailable("no such device"))))
                .withLookups(NONE, NONE), "backends");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).contains("No loradrop compute backend is available")
                .contains("no such device")
                .contains("loradrop-backend-cpu");
    }

    @Test
    void brokenClassPathExitsWithOne() {
        Result result = run(() -> BackendRegistry.of(List.of(
                new Fake("same", 1, Availability.ok()), new Fake("same", 2, Availability.ok()))),
                "backends");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).contains("Duplicate loradrop backend id 'same'");
    }

    @Test
    void verbosePrintsTheRegistryReport() {
        Result result = run(fakes(NONE, NONE), "backends", "--verbose");

        assertThat(result.exitCode()).isZero();
        assertThat(result.out())
                .contains("loradrop backend registry")
                .contains("java:")
                .contains("loradrop.backend=<not set>")
                .contains("LORADROP_BACKEND=<not set>")
                .contains("Would choose: fast");
    }

    @Test
    void helpAndVersion() {
        Result help = run(fakes(NONE, NONE), "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("Usage: loradrop").contains("backends");

        Result backendsHelp = run(fakes(NONE, NONE), "backends", "--help");
        assertThat(backendsHelp.exitCode()).isZero();
        assertThat(backendsHelp.out()).contains("--backend=<id>").contains("--verbose");

        Result version = run(fakes(NONE, NONE), "--version");
        assertThat(version.exitCode()).isZero();
        assertThat(version.out()).startsWith("loradrop ").doesNotContain("${")
                .doesNotContain("unknown version");
    }

    @Test
    void unknownBackendIsAUsageErrorInEveryCommand() {
        for (String[] args : List.of(
                new String[] {"demo", "--quick", "--no-progress", "-b", "nope"},
                new String[] {"train", "--quick", "--no-progress", "-b", "nope"},
                new String[] {"bench", "--steps", "1", "--warmup", "0", "--batch", "1", "-b",
                    "nope"},
                new String[] {"info", "-b", "nope"})) {
            Result result = run(fakes(NONE, NONE), args);

            assertThat(result.exitCode()).as(args[0] + ": " + result.err()).isEqualTo(2);
            assertThat(result.err()).as(args[0])
                    .contains("--backend: Unknown loradrop backend 'nope'")
                    .contains("fast, off (unavailable), slow")
                    .doesNotContain("Guice").doesNotContain("Unable to provision")
                    .doesNotContain("Exception");
            assertThat(result.out()).as(args[0]).doesNotContain("Data:").doesNotContain("backend:");
        }
    }

    @Test
    void aUsageErrorIsOneLineAndAHintNotTheWholeHelp() {
        Result result = run(fakes(NONE, NONE), "demo", "-b", "nope");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err().strip().split("\\R")).containsExactly(
                "Error: --backend: Unknown loradrop backend 'nope' (explicit choice); known ids:"
                        + " fast, off (unavailable), slow",
                "Try 'loradrop demo --help' for more information.");
    }

    @Test
    void blankBackendIsAUsageErrorNamingTheOption() {
        for (String command : List.of("demo", "info")) {
            Result result = run(fakes(NONE, NONE), command, "-b", " ");

            assertThat(result.exitCode()).as(command).isEqualTo(2);
            assertThat(result.err()).as(command).contains("--backend: expected a backend id")
                    .doesNotContain("explicitId");
        }
    }

    @Test
    void aBackendThatFailsToStartGivesOneLineAndExitCodeOne() {
        // The fakes' create() throws UnsupportedOperationException("not needed by the command").
        Result result = run(fakes(NONE, NONE), "bench", "--steps", "1", "--warmup", "0",
                "--batch", "1", "-b", "fast");

        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err().strip()).isEqualTo("Error: not needed by the command");
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertThat(run(fakes(NONE, NONE), "backends", "--no-such-option").exitCode())
                .isEqualTo(2);
        assertThat(run(fakes(NONE, NONE), "no-such-command").exitCode()).isEqualTo(2);
        Result none = run(fakes(NONE, NONE));
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).contains("Missing command");
    }
}
