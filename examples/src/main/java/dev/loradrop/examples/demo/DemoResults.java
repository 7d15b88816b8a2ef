package dev.loradrop.examples.demo;

import java.util.List;

/**
 * Everything a demo run measured; written as {@code results.json}.
 *
 * @param task what was compared, in words
 * @param data where the images came from
 * @param backend the compute backend's id
 * @param threads adaptation runs in parallel
 * @param config the settings
 * @param pretraining the base model's training
 * @param runs every adaptation run
 * @param summary one row per configuration, over its seeds
 * @param seconds wall-clock time of the whole demo
 */
public record DemoResults(String task, String data, String backend, int threads,
                          DemoConfig config, Pretraining pretraining, List<Run> runs,
                          List<Summary> summary, double seconds) {

    /**
     * @param epochs per-epoch figures
     * @param testLoss loss on upright test images after pretraining
     * @param testAccuracy accuracy on upright test images after pretraining
     * @param shiftedTestLoss loss of the base model on the rotated test images
     * @param shiftedTestAccuracy accuracy of the base model on the rotated test images
     * @param seconds wall-clock time
     */
    public record Pretraining(List<PretrainEpoch> epochs, double testLoss, double testAccuracy,
                              double shiftedTestLoss, double shiftedTestAccuracy,
                              double seconds) {
    }

    /**
     * @param epoch 1-based
     * @param trainLoss mean training loss of the epoch
     * @param testLoss loss on the upright test images
     * @param testAccuracy accuracy on the upright test images
     */
    public record PretrainEpoch(int epoch, double trainLoss, double testLoss,
                                double testAccuracy) {
    }

    /**
     * One adaptation run.
     *
     * @param variant the configuration's label
     * @param dropoutRate p
     * @param granularity mask granularity
     * @param seed the run's seed
     * @param epochs per-epoch figures
     * @param trainLoss final loss on the adaptation images (inference mode)
     * @param trainAccuracy final accuracy on the adaptation images (inference mode)
     * @param testLoss final loss on the rotated test images
     * @param testAccuracy final accuracy on the rotated test images
     * @param seconds wall-clock time
     */
    public record Run(String variant, double dropoutRate, String granularity, long seed,
                      List<Epoch> epochs, double trainLoss, double trainAccuracy,
                      double testLoss, double testAccuracy, double seconds) {
    }

    /**
     * @param epoch 1-based
     * @param trainLoss mean training loss of the epoch (dropout active)
     * @param validationLoss loss on the validation images (inference mode)
     * @param validationAccuracy accuracy on the validation images
     */
    public record Epoch(int epoch, double trainLoss, double validationLoss,
                        double validationAccuracy) {
    }

    /**
     * One configuration over its seeds.
     *
     * @param variant the configuration's label
     * @param dropoutRate p
     * @param granularity mask granularity
     * @param runs number of seeds
     * @param testAccuracy final test accuracy
     * @param testLoss final test loss
     * @param trainAccuracy final accuracy on the adaptation images
     * @param accuracyGap train accuracy minus test accuracy
     * @param lossGap test loss minus train loss
     */
    public record Summary(String variant, double dropoutRate, String granularity, int runs,
                          Stat testAccuracy, Stat testLoss, Stat trainAccuracy, Stat accuracyGap,
                          Stat lossGap) {
    }

    /**
     * Mean and sample standard deviation (0 for a single value).
     *
     * @param mean the mean
     * @param std the sample standard deviation
     */
    public record Stat(double mean, double std) {

        /**
         * @param values at least one value
         * @return their mean and sample standard deviation
         */
        public static Stat of(double[] values) {
            if (values.length == 0) {
                throw new IllegalArgumentException("values: expected at least one, got none");
            }
            double mean = 0;
            for (double v : values) {
                mean += v;
            }
            mean /= values.length;
            double ss = 0;
            for (double v : values) {
                ss += (v - mean) * (v - mean);
            }
            return new Stat(mean, values.length < 2 ? 0.0 : Math.sqrt(ss / (values.length - 1)));
        }
    }
}
