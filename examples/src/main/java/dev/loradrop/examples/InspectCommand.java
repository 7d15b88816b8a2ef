package dev.loradrop.examples;

import dev.loradrop.core.io.PeftAdapters;
import dev.loradrop.core.io.PeftConfig;
import dev.loradrop.core.io.SafetensorsFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code loradrop inspect PATH}: shows a safetensors file or a PEFT adapter folder (its config and
 * each tensor's name, dtype and shape). A file that breaks a rule of the format gives exit code 1
 * and one line naming the file, the tensor and the rule.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Shows a safetensors file, or a PEFT adapter folder (adapter_config.json +"
                + " adapter_model.safetensors): the config, the metadata, and each tensor's name,"
                + " dtype and shape. Every structural rule of the format is checked."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the file is valid", "1:the file breaks a rule, or cannot be read",
                        "2:usage error"})
final class InspectCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "PATH",
            description = "A .safetensors file, or a folder with adapter_model.safetensors.")
    private Path path;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            Path file = path;
            if (Files.isDirectory(path)) {
                Path config = path.resolve(PeftConfig.FILE_NAME);
                if (Files.exists(config)) {
                    out.println(config + ":");
                    out.println(PeftConfig.read(config).toJson());
                    out.println();
                }
                file = path.resolve(PeftAdapters.MODEL_FILE);
            }
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                out.println(f.path() + ": " + f.tensors().size() + " tensors, header "
                        + f.headerLength() + " bytes");
                for (Map.Entry<String, String> e : f.metadata().entrySet()) {
                    out.println("  metadata " + e.getKey() + " = " + e.getValue());
                }
                // At least 1: "%-0s" is not a valid format, and a tensor may have an empty name.
                int width = Math.max(1, f.names().stream().mapToInt(String::length).max()
                        .orElse(4));
                for (SafetensorsFile.TensorInfo t : f.tensors()) {
                    out.printf("  %-" + width + "s  %-7s  %s%n", t.name(), t.dtype(),
                            Arrays.toString(t.shape()));
                }
            }
            out.flush();
            return 0;
        } catch (NoSuchFileException e) {
            err.println("Error: " + e.getFile() + ": no such file");
            return 1;
        } catch (IOException e) {
            err.println("Error: " + e.getMessage());
            return 1;
        }
    }
}
