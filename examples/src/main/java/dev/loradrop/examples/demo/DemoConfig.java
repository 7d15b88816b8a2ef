package dev.loradrop.examples.demo;

import dev.loradrop.core.MaskGranularity;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The sizes and settings of the Fashion-MNIST LoRA-drop demo.
 *
 * <p>Pretraining: the base MLP learns upright images. Adaptation: the images turned a quarter turn
 * (a shifted domain on which the base is at chance), with few labels; the base is frozen and every
 * dense layer gets a LoRA-drop adapter. Every configuration runs once per seed; with the same
 * seed, runs share the adapters' initialisation and the batch order, so only dropout differs.
 *
 * @param hidden hidden layer widths of the MLP (input 784 and output 10 are implied)
 * @param pretrainImages upright training images for pretraining
 * @param pretrainEpochs pretraining epochs
 * @param pretrainBatch pretraining batch size
 * @param pretrainLearningRate Adam's learning rate for pretraining
 * @param adaptImages labelled rotated images for adaptation
 * @param validationImages rotated images, disjoint from those, for the validation curve
 * @param testImages rotated test images (from the test split)
 * @param adaptEpochs adaptation epochs
 * @param adaptBatch adaptation batch size
 * @param adaptLearningRate Adam's learning rate for adaptation
 * @param rank the adapters' rank
 * @param alpha the adapters' alpha
 * @param dropoutRates the p compared with FEATURE masks; 0 is plain LoRA (may be empty when
 *     {@code granularities} is not)
 * @param granularityRate the p at which the granularities are compared
 * @param granularities the granularities compared besides FEATURE
 * @param seeds how many seeds each configuration runs with
 * @param seed the first seed; seed {@code k} of a configuration is {@code seed + k}
 */
public record DemoConfig(int[] hidden, int pretrainImages, int pretrainEpochs, int pretrainBatch,
                         double pretrainLearningRate, int adaptImages, int validationImages,
                         int testImages, int adaptEpochs, int adaptBatch, double adaptLearningRate,
                         int rank, double alpha, List<Double> dropoutRates,
                         double granularityRate, List<MaskGranularity> granularities, int seeds,
                         long seed) {

    /** Checks the settings. */
    public DemoConfig {
        hidden = Objects.requireNonNull(hidden, "hidden").clone();
        positive("pretrainImages", pretrainImages);
        positive("pretrainEpochs", pretrainEpochs);
        positive("pretrainBatch", pretrainBatch);
        positive("adaptImages", adaptImages);
        positive("validationImages", validationImages);
        positive("testImages", testImages);
        positive("adaptEpochs", adaptEpochs);
        positive("adaptBatch", adaptBatch);
        positive("rank", rank);
        positive("seeds", seeds);
        dropoutRates = List.copyOf(dropoutRates);
        granularities = List.copyOf(granularities);
        if (dropoutRates.isEmpty() && granularities.stream()
                .allMatch(g -> g == MaskGranularity.FEATURE)) {
            throw new IllegalArgumentException("dropoutRates, granularities: expected at least one"
                    + " configuration to compare, got none");
        }
        for (double p : dropoutRates) {
            rate("dropoutRates", p);
        }
        rate("granularityRate", granularityRate);
    }

    /**
     * @return the default demo: 784-256-128-10, 5000 upright images x 4 epochs, then 300 rotated
     *     images x 30 epochs, rank 8, p in {0, 0.1, 0.2, 0.3}, granularities at p = 0.2, 3 seeds
     */
    public static DemoConfig defaults() {
        return new DemoConfig(new int[] {256, 128}, 5000, 4, 64, 1e-3, 300, 500, 2000, 30, 32,
                2e-3, 8, 16, List.of(0.0, 0.1, 0.2, 0.3), 0.2,
                List.of(MaskGranularity.ELEMENT, MaskGranularity.INPUT, MaskGranularity.RANK), 3,
                1);
    }

    /**
     * @return a shortened demo for smoke tests: the same comparisons on a small network, little
     *     data and few epochs, 2 seeds; its numbers mean nothing
     */
    public static DemoConfig quick() {
        return new DemoConfig(new int[] {32, 16}, 300, 1, 64, 1e-3, 60, 40, 100, 2, 20, 2e-3, 4,
                8, List.of(0.0, 0.1, 0.2, 0.3), 0.2,
                List.of(MaskGranularity.ELEMENT, MaskGranularity.INPUT, MaskGranularity.RANK), 2,
                1);
    }

    /**
     * A single configuration: training of one adapter setting, for {@code loradrop train}.
     *
     * @param dropoutRate p
     * @param granularity where masks apply
     * @param rank the adapters' rank
     * @param alpha the adapters' alpha
     * @param adaptImages labelled rotated images
     * @param adaptEpochs adaptation epochs
     * @param adaptLearningRate Adam's learning rate for adaptation
     * @param seeds how many seeds
     * @return a copy of this configuration that compares nothing but that setting
     */
    public DemoConfig single(double dropoutRate, MaskGranularity granularity, int rank,
                             double alpha, int adaptImages, int adaptEpochs,
                             double adaptLearningRate, int seeds) {
        boolean feature = granularity == MaskGranularity.FEATURE || dropoutRate == 0.0;
        return new DemoConfig(hidden, pretrainImages, pretrainEpochs, pretrainBatch,
                pretrainLearningRate, adaptImages, validationImages, testImages, adaptEpochs,
                adaptBatch, adaptLearningRate, rank, alpha,
                feature ? List.of(dropoutRate) : List.of(), dropoutRate,
                feature ? List.of() : List.of(granularity), seeds, seed);
    }

    /**
     * @param seed the first seed
     * @return a copy with that first seed
     */
    public DemoConfig withSeed(long seed) {
        return new DemoConfig(hidden, pretrainImages, pretrainEpochs, pretrainBatch,
                pretrainLearningRate, adaptImages, validationImages, testImages, adaptEpochs,
                adaptBatch, adaptLearningRate, rank, alpha, dropoutRates, granularityRate,
                granularities, seeds, seed);
    }

    /** @return the hidden widths (a copy) */
    @Override
    public int[] hidden() {
        return hidden.clone();
    }

    /** @return the layer widths, input 784 first, 10 classes last */
    public int[] sizes() {
        int[] sizes = new int[hidden.length + 2];
        sizes[0] = 28 * 28;
        System.arraycopy(hidden, 0, sizes, 1, hidden.length);
        sizes[sizes.length - 1] = 10;
        return sizes;
    }

    /** @return training images needed: pretraining, adaptation and validation come from it */
    public int trainImagesNeeded() {
        return pretrainImages + adaptImages + validationImages;
    }

    /** @return the configurations compared, in table order */
    public List<Variant> variants() {
        java.util.ArrayList<Variant> out = new java.util.ArrayList<>();
        for (double p : dropoutRates) {
            out.add(new Variant(p, MaskGranularity.FEATURE));
        }
        for (MaskGranularity g : granularities) {
            if (g != MaskGranularity.FEATURE) {
                out.add(new Variant(granularityRate, g));
            }
        }
        return List.copyOf(out);
    }

    /**
     * One compared configuration.
     *
     * @param dropoutRate p
     * @param granularity where masks apply
     */
    public record Variant(double dropoutRate, MaskGranularity granularity) {
        /** @return a label for tables and charts, for example {@code LoRA-drop p=0.2 FEATURE} */
        public String label() {
            return dropoutRate == 0.0 ? "LoRA (p=0)"
                    : "LoRA-drop p=" + dropoutRate + " " + granularity;
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    private static void rate(String name, double p) {
        if (!(p >= 0.0 && p < 1.0)) {
            throw new IllegalArgumentException(name + ": expected a dropout rate in [0, 1), got "
                    + p);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DemoConfig d && Arrays.equals(hidden, d.hidden)
                && toString().equals(d.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /**
     * @return the settings in one line for people, with the runs by their table labels, for
     *     example {@code Network 784-256-128-10; pretraining 5000 images x 4 epochs (batch 64, lr
     *     0.001); ...; runs: LoRA-drop p=0.3 INPUT; seed 1}
     */
    public String summary() {
        StringBuilder runs = new StringBuilder();
        for (Variant v : variants()) {
            runs.append(runs.length() == 0 ? "" : ", ").append(v.label());
        }
        return "Network " + Arrays.stream(sizes()).mapToObj(Integer::toString)
                .collect(Collectors.joining("-"))
                + "; pretraining " + pretrainImages + " images x " + pretrainEpochs
                + " epochs (batch " + pretrainBatch + ", lr " + pretrainLearningRate
                + "); adaptation " + adaptImages + " images x " + adaptEpochs + " epochs (batch "
                + adaptBatch + ", lr " + adaptLearningRate + "), validation " + validationImages
                + ", test " + testImages + "; adapters rank " + rank + ", alpha " + alpha
                + "; runs: " + runs + "; "
                + (seeds == 1 ? "seed " + seed : seeds + " seeds from " + seed);
    }

    @Override
    public String toString() {
        return "DemoConfig[hidden=" + Arrays.toString(hidden) + ", pretrain " + pretrainImages
                + " images x " + pretrainEpochs + " epochs (batch " + pretrainBatch + ", lr "
                + pretrainLearningRate + "), adapt " + adaptImages + " images x " + adaptEpochs
                + " epochs (batch " + adaptBatch + ", lr " + adaptLearningRate + "), validation "
                + validationImages + ", test " + testImages + ", rank " + rank + ", alpha " + alpha
                + ", p " + dropoutRates + ", granularities " + granularities + " at p "
                + granularityRate + ", " + seeds + " seeds from " + seed + "]";
    }
}
