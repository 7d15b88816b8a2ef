package dev.loradrop.examples;

import com.google.inject.CreationException;
import com.google.inject.ProvisionException;
import com.google.inject.spi.Message;
import dev.loradrop.core.backend.BackendRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Collection;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code loradrop} command: {@code --help}, {@code --version} and the subcommands.
 *
 * <p>Exit codes: 0 success, 1 failure (for example no backend available), 2 usage error.
 */
@Command(name = "loradrop", mixinStandardHelpOptions = true,
        versionProvider = LoradropCommand.Version.class,
        description = "LoRA-drop (LoRA with dropout on the LoRA branch) for the JVM.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = InspectCommand.class,
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success",
                        "1:failure, for example no backend available or missing data",
                        "2:usage error"})
public final class LoradropCommand implements Runnable {

    @Spec
    private CommandSpec spec;

    private LoradropCommand() {
    }

    /**
     * Runs the command line app and exits with its exit code.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true"); // charts are drawn off screen
        System.exit(commandLine(BackendRegistry::discover).execute(args));
    }

    /**
     * Builds the command line, for {@link #main} and for tests.
     *
     * @param registry supplies the backend registry when a subcommand needs it
     * @return the command line, ready for {@link CommandLine#execute}
     */
    public static CommandLine commandLine(Supplier<BackendRegistry> registry) {
        Objects.requireNonNull(registry, "registry");
        return new CommandLine(new LoradropCommand())
                .addSubcommand("demo", new DemoCommand(registry))
                .addSubcommand("train", new TrainCommand(registry))
                .addSubcommand("bench", new BenchCommand(registry))
                .addSubcommand("backends", new BackendsCommand(registry))
                .addSubcommand("info", new InfoCommand(registry))
                .setExecutionExceptionHandler(LoradropCommand::failure)
                .setParameterExceptionHandler(LoradropCommand::usageError);
    }

    /**
     * A usage error: "Error: " and the message (which names the option and what was wrong) on
     * standard error, then picocli's suggestions for a mistyped option or command, or a pointer to
     * {@code --help}; exit code 2. The whole usage help would bury the one line that matters.
     */
    private static int usageError(ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        PrintWriter err = cli.getErr();
        err.println("Error: " + e.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
            err.println("Try '" + cli.getCommandSpec().qualifiedName() + " --help' for more"
                    + " information.");
        }
        err.flush();
        return cli.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * A command failed: "Error: " and the message (which names what went wrong) on standard error,
     * the stack trace in the log at debug level, exit code 1.
     */
    private static int failure(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        org.slf4j.LoggerFactory.getLogger(LoradropCommand.class).debug("command failed", e);
        String message = message(e);
        cli.getErr().println("Error: " + message);
        cli.getErr().flush();
        return CommandLine.ExitCode.SOFTWARE;
    }

    /**
     * The message of a failure. Guice wraps what a provider throws (a backend that fails to start)
     * in a {@link ProvisionException} or {@link CreationException} whose message is a long report;
     * the message of what it wraps says what went wrong.
     */
    static String message(Throwable e) {
        Throwable t = e;
        for (int depth = 0; depth < 16
                && (t instanceof ProvisionException || t instanceof CreationException); depth++) {
            Collection<Message> messages = t instanceof ProvisionException p
                    ? p.getErrorMessages() : ((CreationException) t).getErrorMessages();
            Throwable cause = t.getCause() != null ? t.getCause() : messages.stream()
                    .map(Message::getCause).filter(Objects::nonNull).findFirst().orElse(null);
            if (cause == null) {
                return messages.isEmpty() ? t.toString() : messages.iterator().next().getMessage();
            }
            t = cause;
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /** With no subcommand: a usage error. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command; try 'loradrop demo'");
    }

    /** Reads the version Maven wrote into {@code version.properties}. */
    static final class Version implements IVersionProvider {

        @Override
        public String[] getVersion() throws IOException {
            Properties properties = new Properties();
            try (InputStream in = LoradropCommand.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            }
            return new String[] {
                "loradrop " + properties.getProperty("version", "(unknown version)"),
                "Java " + System.getProperty("java.version") + " ("
                        + System.getProperty("java.vendor") + "), "
                        + System.getProperty("os.name") + " " + System.getProperty("os.arch")
            };
        }
    }
}
