package dev.loradrop.examples.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.IntSupplier;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes a demo's results: {@code results.json} (everything), {@code results.csv} (the summary
 * table), {@code runs.csv} (one row per run), the charts {@code loss-curves.png} and {@code
 * accuracy-vs-p.png}, and {@code report.html}, which shows them.
 */
public final class ReportWriter {

    /** The file names written, in the order of {@link #write}. */
    public static final List<String> FILES = List.of("results.json", "results.csv", "runs.csv",
            "loss-curves.png", "accuracy-vs-p.png", "report.html");

    private static final Color[] PALETTE = {new Color(0x33, 0x33, 0x33), new Color(0x1f, 0x77, 0xb4),
        new Color(0x2c, 0xa0, 0x2c), new Color(0xd6, 0x27, 0x28), new Color(0x94, 0x67, 0xbd),
        new Color(0xff, 0x7f, 0x0e), new Color(0x8c, 0x56, 0x4b), new Color(0xe3, 0x77, 0xc2)};

    private ReportWriter() {
    }

    /**
     * Runs a command that writes {@code names} into an output directory: makes the directory ready
     * first ({@link #prepare}), and removes what that created if the run fails, so that a failed
     * run leaves the file system as it was.
     *
     * @param dir the output directory, or null when the run writes nothing
     * @param names the names of the files the run will write in it
     * @param run the run; its result is returned
     * @return the run's exit code
     * @throws UncheckedIOException if the directory is not usable (before the run)
     */
    public static int inOutputDirectory(Path dir, List<String> names, IntSupplier run) {
        List<Path> created = dir == null ? List.of() : prepare(dir, names);
        boolean done = false;
        try {
            int exitCode = run.getAsInt();
            done = true;
            return exitCode;
        } finally {
            if (!done) {
                removeCreated(created);
            }
        }
    }

    /**
     * Makes ready an output directory, before a run: creates it if missing, and checks that it is
     * a directory in which files can be created, and that none of the files to be written is a
     * directory (or anything but a regular file), so that a run does not fail only when its
     * results are written.
     *
     * @param dir the output directory
     * @param names the names of the files the run will write in it
     * @return the directories it created, outermost first (empty if {@code dir} existed): {@link
     *     #removeCreated} removes them if the run fails
     * @throws UncheckedIOException if the directory is not usable; its message is one line that
     *     names the path and why
     */
    static List<Path> prepare(Path dir, List<String> names) {
        List<Path> created = new ArrayList<>();
        try {
            Path existing = dir.toAbsolutePath().normalize();
            List<Path> missing = new ArrayList<>();
            while (existing != null && !Files.exists(existing)) {
                missing.add(0, existing);
                existing = existing.getParent();
            }
            if (existing != null && !Files.isDirectory(existing)) {
                throw failure(dir, existing + " exists and is not a directory");
            }
            for (Path p : missing) {
                Files.createDirectory(p);
                created.add(p);
            }
            checkTargets(dir, names);
            Path probe = dir.resolve(".loradrop-write-test-" + UUID.randomUUID() + ".tmp");
            Files.newOutputStream(probe, StandardOpenOption.CREATE_NEW).close();
            Files.delete(probe);
            return created;
        } catch (IOException e) {
            removeCreated(created);
            throw failure(dir, describe(e));
        } catch (RuntimeException e) {
            removeCreated(created);
            throw e;
        }
    }

    /**
     * Removes the directories {@link #prepare} created, innermost first, as long as they are
     * empty; never fails.
     *
     * @param created what {@link #prepare} returned
     */
    static void removeCreated(List<Path> created) {
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(created.get(i));
            } catch (IOException e) {
                return; // not empty (someone wrote there), or not ours to remove
            }
        }
    }

    /**
     * Writes the report files as a set: each to a temporary file in {@code dir} first, and only
     * when all are written are they renamed into place. If a file cannot be written, none is
     * replaced or added, and the temporary files are removed.
     *
     * @param results the results
     * @param dir the output directory; created if missing
     * @return the files written
     * @throws UncheckedIOException if a file cannot be written; its message is one line that names
     *     the path and why
     */
    public static List<Path> write(DemoResults results, Path dir) {
        Map<String, byte[]> contents = new LinkedHashMap<>();
        try {
            contents.put(FILES.get(0), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsBytes(results));
            contents.put(FILES.get(1), ResultsTable.csv(results.summary())
                    .getBytes(StandardCharsets.UTF_8));
            contents.put(FILES.get(2), runsCsv(results.runs()).getBytes(StandardCharsets.UTF_8));
            contents.put(FILES.get(3), png(lossCurves(results)));
            contents.put(FILES.get(4), png(accuracyVsP(results)));
            contents.put(FILES.get(5), html(results).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw failure(dir, describe(e));
        }
        return writeFiles(dir, contents);
    }

    /**
     * Writes files as a set: each to a temporary file in {@code dir} first, and only when all are
     * written are they renamed into place. If a file cannot be written, none is replaced or added,
     * and the temporary files are removed.
     *
     * @param dir the output directory; created if missing
     * @param contents each file's name and bytes, in the order to write them
     * @return the files written
     * @throws UncheckedIOException if a file cannot be written; its message is one line that names
     *     the path and why
     */
    public static List<Path> writeFiles(Path dir, Map<String, byte[]> contents) {
        Map<Path, Path> renames = new LinkedHashMap<>();
        try {
            Files.createDirectories(dir);
            checkTargets(dir, List.copyOf(contents.keySet()));
            String suffix = "." + UUID.randomUUID() + ".tmp";
            for (Map.Entry<String, byte[]> e : contents.entrySet()) {
                Path temporary = dir.resolve("." + e.getKey() + suffix);
                renames.put(temporary, dir.resolve(e.getKey()));
                Files.write(temporary, e.getValue(), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
            }
            List<Path> files = new ArrayList<>();
            for (Map.Entry<Path, Path> e : renames.entrySet()) {
                move(e.getKey(), e.getValue());
                files.add(e.getValue());
            }
            return files;
        } catch (IOException e) {
            throw failure(dir, describe(e));
        } finally {
            for (Path temporary : renames.keySet()) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException e) {
                    // best effort: a temporary file left behind is named .<file>.<uuid>.tmp
                }
            }
        }
    }

    /** Fails if one of the named files in {@code dir} exists as anything but a regular file. */
    private static void checkTargets(Path dir, List<String> names) {
        for (String name : names) {
            Path target = dir.resolve(name);
            if (Files.isDirectory(target)) {
                throw failure(dir, target + " is a directory");
            }
            if (Files.exists(target) && !Files.isRegularFile(target)) {
                throw failure(dir, target + " is not a regular file");
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static UncheckedIOException failure(Path dir, String why) {
        return new UncheckedIOException("cannot write the results to " + dir + ": " + why,
                new IOException(why));
    }

    /** What went wrong, in words, without the exception's class name. */
    static String describe(IOException e) {
        if (e instanceof AccessDeniedException a) {
            return a.getFile() + ": permission denied";
        }
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file or directory";
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + ": already exists";
        }
        if (e instanceof DirectoryNotEmptyException d) {
            return d.getFile() + ": is a directory that is not empty";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getMessage();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static String runsCsv(List<DemoResults.Run> runs) {
        StringBuilder sb = new StringBuilder("variant,dropout_rate,granularity,seed,train_loss,"
                + "train_accuracy,test_loss,test_accuracy,seconds\n");
        for (DemoResults.Run r : runs) {
            sb.append('"').append(r.variant()).append('"').append(',').append(r.dropoutRate())
                    .append(',').append(r.granularity()).append(',').append(r.seed())
                    .append(String.format(Locale.ROOT, ",%.6f,%.6f,%.6f,%.6f,%.3f%n",
                            r.trainLoss(), r.trainAccuracy(), r.testLoss(), r.testAccuracy(),
                            r.seconds()));
        }
        return sb.toString();
    }

    /**
     * Mean training (dashed) and validation (solid) loss per epoch of each FEATURE variant (of
     * every variant when there is none).
     */
    static XYChart lossCurves(DemoResults results) {
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Adaptation loss per epoch (mean over " + results.config().seeds()
                        + " seeds): training dashed, validation solid")
                .xAxisTitle("epoch").yAxisTitle("softmax cross-entropy").build();
        style(chart);
        // Two series per variant: a horizontal legend below the plot would not fit the width.
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
        int colour = 0;
        Map<String, List<DemoResults.Run>> shown = byVariant(results.runs(), true);
        if (shown.isEmpty()) { // 'loradrop train' with another granularity
            shown = byVariant(results.runs(), false);
        }
        for (Map.Entry<String, List<DemoResults.Run>> e : shown.entrySet()) {
            int epochs = e.getValue().get(0).epochs().size();
            double[] x = new double[epochs];
            double[] train = new double[epochs];
            double[] validation = new double[epochs];
            for (int i = 0; i < epochs; i++) {
                x[i] = i + 1;
                for (DemoResults.Run r : e.getValue()) {
                    train[i] += r.epochs().get(i).trainLoss() / e.getValue().size();
                    validation[i] += r.epochs().get(i).validationLoss() / e.getValue().size();
                }
            }
            Color c = PALETTE[colour++ % PALETTE.length];
            XYSeries v = chart.addSeries(e.getKey() + " validation", x, validation);
            v.setMarker(SeriesMarkers.NONE);
            v.setLineColor(c);
            v.setLineStyle(new BasicStroke(2.2f));
            XYSeries t = chart.addSeries(e.getKey() + " training", x, train);
            t.setMarker(SeriesMarkers.NONE);
            t.setLineColor(c);
            t.setLineStyle(SeriesLines.DASH_DASH);
        }
        return chart;
    }

    /** Test accuracy (mean ± std over seeds) against p; other granularities as single points. */
    static XYChart accuracyVsP(DemoResults results) {
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Test accuracy on the shifted task against dropout rate p (mean ± std, "
                        + results.config().seeds() + " seeds)")
                .xAxisTitle("dropout rate p").yAxisTitle("test accuracy (%)").build();
        style(chart);
        List<DemoResults.Summary> feature = new ArrayList<>();
        List<DemoResults.Summary> others = new ArrayList<>();
        for (DemoResults.Summary s : results.summary()) {
            (s.granularity().equals("FEATURE") || s.dropoutRate() == 0.0 ? feature : others).add(s);
        }
        if (!feature.isEmpty()) {
            XYSeries line = addPoints(chart, "FEATURE masks (p = 0: plain LoRA)", feature);
            line.setLineColor(PALETTE[1]);
            line.setMarkerColor(PALETTE[1]);
            line.setMarker(SeriesMarkers.CIRCLE);
        }
        int colour = 3;
        for (DemoResults.Summary s : others) {
            XYSeries point = addPoints(chart, s.granularity() + " masks", List.of(s));
            point.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            point.setMarkerColor(PALETTE[colour++ % PALETTE.length]);
        }
        return chart;
    }

    private static XYSeries addPoints(XYChart chart, String name, List<DemoResults.Summary> rows) {
        double[] x = rows.stream().mapToDouble(DemoResults.Summary::dropoutRate).toArray();
        double[] y = rows.stream().mapToDouble(s -> 100 * s.testAccuracy().mean()).toArray();
        double[] err = rows.stream().mapToDouble(s -> 100 * s.testAccuracy().std()).toArray();
        return chart.addSeries(name, x, y, err);
    }

    private static void style(XYChart chart) {
        Styler s = chart.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setAntiAlias(true);
        chart.getStyler().setPlotGridLinesColor(new Color(0xdd, 0xdd, 0xdd));
    }

    private static Map<String, List<DemoResults.Run>> byVariant(List<DemoResults.Run> runs,
                                                                boolean featureOnly) {
        Map<String, List<DemoResults.Run>> out = new LinkedHashMap<>();
        for (DemoResults.Run r : runs) {
            if (!featureOnly || r.granularity().equals("FEATURE") || r.dropoutRate() == 0.0) {
                out.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r);
            }
        }
        return out;
    }

    private static byte[] png(XYChart chart) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        return out.toByteArray();
    }

    private static String html(DemoResults r) {
        DemoConfig c = r.config();
        StringBuilder rows = new StringBuilder();
        for (DemoResults.Summary s : r.summary()) {
            rows.append("<tr><td>").append(escape(s.variant())).append("</td><td>")
                    .append(ResultsTable.percent(s.testAccuracy())).append("</td><td>")
                    .append(ResultsTable.plain(s.testLoss())).append("</td><td>")
                    .append(ResultsTable.percent(s.trainAccuracy())).append("</td><td>")
                    .append(ResultsTable.points(s.accuracyGap())).append("</td><td>")
                    .append(ResultsTable.plain(s.lossGap())).append("</td></tr>\n");
        }
        DemoResults.Pretraining p = r.pretraining();
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                + "<title>loradrop demo: LoRA-drop on Fashion-MNIST</title>\n"
                + "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;"
                + "padding:0 1em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;"
                + "border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{"
                + "text-align:left}img{max-width:100%}code{background:#f4f4f4;padding:1px 4px}"
                + "</style></head><body>\n"
                + "<h1>LoRA-drop on Fashion-MNIST</h1>\n"
                + "<p>" + escape(r.task()) + "</p>\n"
                + "<p>Base MLP " + escape(java.util.Arrays.toString(c.sizes()))
                + " pretrained on " + c.pretrainImages() + " upright images for "
                + c.pretrainEpochs() + " epochs: upright test accuracy "
                + pct(p.testAccuracy()) + ", on the rotated test images " + pct(p.shiftedTestAccuracy())
                + ". Adaptation: " + c.adaptImages() + " labelled rotated images, "
                + c.adaptEpochs() + " epochs, batch " + c.adaptBatch() + ", Adam lr "
                + c.adaptLearningRate() + ", rank " + c.rank() + ", alpha " + c.alpha()
                + ", validation on " + c.validationImages() + " other rotated training images,"
                + " test on " + c.testImages() + " rotated test images; " + c.seeds()
                + " seeds per configuration, the figures after the last epoch.</p>\n"
                + "<h2>Results</h2>\n<table><tr><th>configuration</th><th>test accuracy</th>"
                + "<th>test loss</th><th>train accuracy</th><th>gap (train − test accuracy)</th>"
                + "<th>gap (test − train loss)</th></tr>\n" + rows + "</table>\n"
                + "<h2>Test accuracy against p</h2>\n<img src=\"" + FILES.get(4)
                + "\" alt=\"test accuracy against dropout rate\">\n"
                + "<h2>Loss curves</h2>\n<img src=\"" + FILES.get(3)
                + "\" alt=\"training and validation loss per epoch\">\n"
                + "<h2>Run</h2>\n<p>Backend <code>" + escape(r.backend()) + "</code>, "
                + r.threads() + " parallel adaptation run(s), " + String.format(Locale.ROOT,
                        "%.1f", r.seconds()) + " s in all. Data: " + escape(r.data())
                + ". Every figure: <a href=\"" + FILES.get(0) + "\">" + FILES.get(0)
                + "</a>, <a href=\"" + FILES.get(1) + "\">" + FILES.get(1) + "</a>, <a href=\""
                + FILES.get(2) + "\">" + FILES.get(2) + "</a>.</p>\n"
                + "<p><small>Fashion-MNIST by Zalando Research (Han Xiao, Kashif Rasul, Roland"
                + " Vollgraf, arXiv:1708.07747), MIT licence.</small></p>\n"
                + "</body></html>\n";
    }

    private static String pct(double fraction) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
