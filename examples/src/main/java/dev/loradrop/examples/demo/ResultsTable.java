package dev.loradrop.examples.demo;

import java.util.List;
import java.util.Locale;

/** Formats the summary of a demo as a Markdown table, for the console, the README and CSV. */
public final class ResultsTable {

    private ResultsTable() {
    }

    /**
     * @param summary one row per configuration
     * @return a Markdown table: test accuracy and loss (mean ± std over seeds), train accuracy,
     *     and the train-test gaps
     */
    public static String markdown(List<DemoResults.Summary> summary) {
        StringBuilder sb = new StringBuilder();
        sb.append("| configuration | test accuracy | test loss | train accuracy"
                + " | gap (train − test accuracy) | gap (test − train loss) |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (DemoResults.Summary s : summary) {
            sb.append("| ").append(s.variant())
                    .append(" | ").append(percent(s.testAccuracy()))
                    .append(" | ").append(plain(s.testLoss()))
                    .append(" | ").append(percent(s.trainAccuracy()))
                    .append(" | ").append(points(s.accuracyGap()))
                    .append(" | ").append(plain(s.lossGap()))
                    .append(" |\n");
        }
        return sb.toString();
    }

    /**
     * @param summary one row per configuration
     * @return CSV with a header row; rates and accuracies as fractions
     */
    public static String csv(List<DemoResults.Summary> summary) {
        StringBuilder sb = new StringBuilder("variant,dropout_rate,granularity,runs,"
                + "test_accuracy_mean,test_accuracy_std,test_loss_mean,test_loss_std,"
                + "train_accuracy_mean,train_accuracy_std,accuracy_gap_mean,accuracy_gap_std,"
                + "loss_gap_mean,loss_gap_std\n");
        for (DemoResults.Summary s : summary) {
            sb.append('"').append(s.variant().replace("\"", "\"\"")).append('"')
                    .append(',').append(s.dropoutRate())
                    .append(',').append(s.granularity())
                    .append(',').append(s.runs());
            for (DemoResults.Stat stat : new DemoResults.Stat[] {s.testAccuracy(), s.testLoss(),
                    s.trainAccuracy(), s.accuracyGap(), s.lossGap()}) {
                sb.append(',').append(String.format(Locale.ROOT, "%.6f", stat.mean()))
                        .append(',').append(String.format(Locale.ROOT, "%.6f", stat.std()));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String percent(DemoResults.Stat s) {
        return String.format(Locale.ROOT, "%.1f ± %.1f %%", 100 * s.mean(), 100 * s.std());
    }

    static String points(DemoResults.Stat s) {
        return String.format(Locale.ROOT, "%.1f ± %.1f pp", 100 * s.mean(), 100 * s.std());
    }

    static String plain(DemoResults.Stat s) {
        return String.format(Locale.ROOT, "%.3f ± %.3f", s.mean(), s.std());
    }
}
