package dev.loradrop.core;

import dev.loradrop.api.BitMask;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.MaskStream;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Objects;

/**
 * LoRA-drop: LoRA with dropout on the LoRA branch.
 *
 * <p>Training: {@code y = act(x W^T + b + s * D(x A^T B^T))} with {@code s = alpha / rank}, where
 * {@code D} draws a fresh keep-mask (keep probability {@code 1 - p}) on every training forward and,
 * with {@link DropoutScaling#INVERTED} scaling (the default), multiplies kept values by
 * {@code 1/(1-p)}. Inference: no mask, and the branch carries {@code 1} (inverted) or {@code 1-p}
 * ({@link DropoutScaling#CLASSIC}); either way the expected training output equals the inference
 * output. Where the mask applies is the {@link MaskGranularity} ({@code FEATURE} by default).
 *
 * <p>Masks come from {@link MaskStream}: training call {@code t} of an adapter with seed {@code s}
 * and stream {@code k} draws the same bits on every backend. Without a seed one is drawn from
 * {@link SecureRandom} and reported by {@link #getDiagnostics()}, so a run can be replayed.
 *
 * <pre>{@code
 * try (var adapter = LoRADropAdapter.builder(dense).rank(8).dropoutRate(0.2).seed(42L).build()) {
 *     adapter.setTraining(true);
 *     Tensor<Float> y = adapter.forward(x);   // dropout active
 *     adapter.setTraining(false);
 *     Tensor<Float> z = adapter.forward(x);   // no dropout
 * }
 * }</pre>
 *
 * @param <T> element type
 */
public final class LoRADropAdapter<T extends Number> extends LoRAAdapterBase<T> {

    private final double dropoutRate;
    private final MaskGranularity granularity;
    private final DropoutScaling scaling;
    private final long seed;
    private final int stream;
    private final long threshold;
    private final LoRALayer.Dropout inference;
    private int maskStep;
    private BitMask mask;
    private LoRALayer.Dropout training; // the current mask's dropout, rebuilt when it is

    /**
     * Creates an adapter with alpha = rank, a frozen base layer and a random seed.
     *
     * @param baseLayer the layer to adapt; the adapter owns it from now on
     * @param rank the rank r, in {@code [1, min(in, out)]}
     * @param dropoutRate p in {@code [0, 1)}
     */
    public LoRADropAdapter(ILayer<T> baseLayer, int rank, double dropoutRate) {
        this(baseLayer, rank, dropoutRate, -1, true, null);
    }

    /**
     * Creates an adapter, as the reference constructor does.
     *
     * @param baseLayer the layer to adapt; the adapter owns it from now on
     * @param rank the rank r, in {@code [1, min(in, out)]}
     * @param dropoutRate p in {@code [0, 1)}
     * @param alpha the LoRA scaling factor; negative means {@code rank}
     * @param freezeBaseLayer whether the base layer's parameters are excluded from training
     * @param seed the seed of masks and of A's initialisation, or null for a random one
     * @throws NullPointerException if baseLayer is null
     * @throws IllegalArgumentException if dropoutRate, rank or alpha is invalid
     */
    public LoRADropAdapter(ILayer<T> baseLayer, int rank, double dropoutRate, double alpha,
                           boolean freezeBaseLayer, Long seed) {
        this(baseLayer, rank, dropoutRate, alpha, freezeBaseLayer, resolveSeed(seed),
                MaskGranularity.FEATURE, DropoutScaling.INVERTED, 0);
    }

    private LoRADropAdapter(ILayer<T> baseLayer, int rank, double dropoutRate, double alpha,
                            boolean freezeBaseLayer, long seed, MaskGranularity granularity,
                            DropoutScaling scaling, int stream) {
        super(validated(baseLayer, dropoutRate), rank, alpha, freezeBaseLayer, seed);
        this.dropoutRate = dropoutRate;
        this.granularity = Objects.requireNonNull(granularity, "granularity");
        this.scaling = Objects.requireNonNull(scaling, "scaling");
        this.seed = seed;
        this.stream = stream;
        this.threshold = MaskStream.keepThreshold(dropoutRate);
        this.inference = new LoRALayer.Dropout(granularity, null, inferenceFactor());
    }

    private static long resolveSeed(Long seed) {
        return seed != null ? seed : new SecureRandom().nextLong();
    }

    private static <T extends Number> ILayer<T> validated(ILayer<T> baseLayer, double p) {
        Objects.requireNonNull(baseLayer, "baseLayer");
        MaskStream.checkDropoutRate(p);
        return baseLayer;
    }

    /**
     * @param baseLayer the layer to adapt; the adapter owns it once built
     * @param <T> element type
     * @return a builder with the defaults: alpha = rank, p = 0.1, frozen base, FEATURE masks,
     *     INVERTED scaling, stream 0, a random seed
     */
    public static <T extends Number> Builder<T> builder(ILayer<T> baseLayer) {
        return new Builder<>(baseLayer);
    }

    /** @return p, the probability of dropping a component during training */
    @Override
    public double dropoutRate() {
        return dropoutRate;
    }

    /** @return where masks apply */
    @Override
    public MaskGranularity granularity() {
        return granularity;
    }

    /** @return the scaling mode */
    public DropoutScaling dropoutScaling() {
        return scaling;
    }

    /** @return the mask seed */
    public long seed() {
        return seed;
    }

    /** @return the mask stream */
    public int stream() {
        return stream;
    }

    /** @return the number of the next training call, the counter word of the next mask */
    public int maskStep() {
        return maskStep;
    }

    /**
     * Sets the number of the next training call: resuming from a checkpoint restores it, and
     * setting it back replays a mask.
     *
     * @param step the counter word of the next mask
     */
    public void setMaskStep(int step) {
        this.maskStep = step;
    }

    /**
     * Switches between training (dropout active) and inference (no dropout); the same state as
     * {@link #setTrainingMode(boolean)}.
     *
     * @param training true for training
     */
    public void setTraining(boolean training) {
        setTrainingMode(training);
    }

    /** @return whether the adapter is in training mode */
    public boolean isTraining() {
        return isTrainingMode();
    }

    @Override
    LoRALayer.Dropout branchDropout(int rows) {
        if (!isTrainingMode()) {
            return inference;
        }
        if (dropoutRate == 0.0) {
            return LoRALayer.Dropout.NONE;
        }
        int size;
        switch (granularity) {
            case FEATURE: size = outputSize(); break;
            case ELEMENT: size = Math.multiplyExact(rows, outputSize()); break;
            case INPUT: size = Math.multiplyExact(rows, inputSize()); break;
            case RANK: size = Math.multiplyExact(rows, rank()); break;
            default: throw new AssertionError(granularity);
        }
        if (mask == null || mask.size() != size) {
            if (mask != null) {
                mask.close();
                mask = null;
            }
            mask = backend.allocateMask(size);
            training = new LoRALayer.Dropout(granularity, mask, scaling.trainingFactor(dropoutRate));
        }
        backend.generateMask(mask, seed, stream, maskStep, dropoutRate);
        maskStep++;
        return training;
    }

    @Override
    double inferenceFactor() {
        return scaling.inferenceFactor(dropoutRate);
    }

    @Override
    public void resetState() {
        super.resetState();
        if (mask != null) {
            mask.close();
            mask = null;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Adds the dropout settings, the seed and stream, the next mask step, and the kept fraction of
     * the last mask.
     */
    @Override
    public Map<String, String> getDiagnostics() {
        Map<String, String> d = super.getDiagnostics();
        d.put("dropoutRate", Double.toString(dropoutRate));
        d.put("granularity", granularity.name());
        d.put("dropoutScaling", scaling.name());
        d.put("seed", Long.toString(seed));
        d.put("stream", Integer.toString(stream));
        d.put("maskStep", Integer.toString(maskStep));
        d.put("keepThreshold", Long.toString(threshold));
        if (mask != null && !mask.isClosed()) {
            long kept = 0;
            for (long w : mask.toLongArray()) {
                kept += Long.bitCount(w);
            }
            d.put("lastMaskKeptFraction", mask.size() == 0 ? "n/a"
                    : Double.toString((double) kept / mask.size()));
        }
        return d;
    }

    @Override
    protected void releaseResources() {
        super.releaseResources();
        if (mask != null) {
            mask.close();
            mask = null;
        }
    }

    @Override
    public String toString() {
        return "LoRADropAdapter[" + baseLayer() + ", rank " + rank() + ", alpha " + alpha()
                + ", p " + dropoutRate + ", " + granularity + ", " + scaling + "]";
    }

    /**
     * Builds a {@link LoRADropAdapter}; {@link #rank(int)} is required.
     *
     * @param <T> element type
     */
    public static final class Builder<T extends Number> {
        private final ILayer<T> baseLayer;
        private Integer rank;
        private double dropoutRate = 0.1;
        private double alpha = -1;
        private boolean freezeBaseLayer = true;
        private Long seed;
        private MaskGranularity granularity = MaskGranularity.FEATURE;
        private DropoutScaling scaling = DropoutScaling.INVERTED;
        private int stream;

        private Builder(ILayer<T> baseLayer) {
            this.baseLayer = baseLayer;
        }

        /** @param rank r, in {@code [1, min(in, out)]} @return this */
        public Builder<T> rank(int rank) {
            this.rank = rank;
            return this;
        }

        /** @param dropoutRate p in {@code [0, 1)} @return this */
        public Builder<T> dropoutRate(double dropoutRate) {
            this.dropoutRate = dropoutRate;
            return this;
        }

        /** @param alpha alpha; negative means rank @return this */
        public Builder<T> alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /** @param freeze whether the base layer is frozen @return this */
        public Builder<T> freezeBaseLayer(boolean freeze) {
            this.freezeBaseLayer = freeze;
            return this;
        }

        /** @param seed the seed, or null for a random one @return this */
        public Builder<T> seed(Long seed) {
            this.seed = seed;
            return this;
        }

        /** @param granularity where masks apply @return this */
        public Builder<T> granularity(MaskGranularity granularity) {
            this.granularity = Objects.requireNonNull(granularity, "granularity");
            return this;
        }

        /** @param scaling the scaling mode @return this */
        public Builder<T> scaling(DropoutScaling scaling) {
            this.scaling = Objects.requireNonNull(scaling, "scaling");
            return this;
        }

        /** @param stream the mask stream, so adapters sharing a seed draw different masks @return this */
        public Builder<T> stream(int stream) {
            this.stream = stream;
            return this;
        }

        /**
         * @return the adapter
         * @throws IllegalStateException if no rank was given
         */
        public LoRADropAdapter<T> build() {
            if (rank == null) {
                throw new IllegalStateException("rank: not set; call rank(int) before build()");
            }
            return new LoRADropAdapter<>(baseLayer, rank, dropoutRate, alpha, freezeBaseLayer,
                    resolveSeed(seed), granularity, scaling, stream);
        }
    }
}
