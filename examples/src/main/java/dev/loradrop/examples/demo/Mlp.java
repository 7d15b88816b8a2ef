package dev.loradrop.examples.demo;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.LoRADropFactory;
import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.SequentialModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Builds the demo's multi-layer perceptrons: dense layers with ReLU between them and logits out,
 * and the same network, frozen, with a LoRA-drop adapter on every dense layer.
 */
public final class Mlp {

    private Mlp() {
    }

    /** The host copy of a dense layer's weights, to rebuild the layer on any backend. */
    public record HostLayer(int in, int out, double[] weight, double[] bias,
                            Activation activation) {
    }

    /**
     * @param factory creates the layers
     * @param sizes layer widths, input first, for example {@code 784, 256, 128, 10}
     * @param seed initialisation seed (layer {@code i} uses {@code seed + i})
     * @return a new model with ReLU after every layer but the last
     */
    public static SequentialModel<Float> create(LoRADropFactory factory, int[] sizes, long seed) {
        Objects.requireNonNull(factory, "factory");
        checkSizes(sizes);
        List<ILayer<Float>> layers = new ArrayList<>();
        try {
            for (int i = 0; i + 1 < sizes.length; i++) {
                layers.add(factory.dense(NumericType.FLOAT32, sizes[i], sizes[i + 1],
                        activation(i, sizes), seed + i));
            }
            return SequentialModel.of(layers);
        } catch (RuntimeException e) {
            layers.forEach(ILayer::close);
            throw e;
        }
    }

    /**
     * @param model a model of dense layers
     * @return host copies of its weights
     */
    public static List<HostLayer> weights(SequentialModel<Float> model) {
        List<HostLayer> out = new ArrayList<>();
        for (ILayer<Float> layer : model.layers()) {
            DenseLayer<Float> dense = (DenseLayer<Float>) layer;
            out.add(new HostLayer(dense.inputSize(), dense.outputSize(),
                    dense.weight().toDoubleArray(), dense.bias().toDoubleArray(),
                    dense.activation()));
        }
        return List.copyOf(out);
    }

    /**
     * Rebuilds a model from host weights and puts a LoRA-drop adapter, base frozen, on every layer.
     * Adapter {@code i} gets the seed {@code seed * 1000 + i} (initialisation of {@code lora_A}) and
     * mask stream {@code i}, so its masks differ from its neighbours'.
     *
     * @param factory creates the layers
     * @param base the pretrained weights
     * @param settings rank, alpha, dropout rate and granularity
     * @param seed the run's seed
     * @return the adapted model; only the LoRA parameters are trainable
     */
    public static SequentialModel<Float> adapted(LoRADropFactory factory, List<HostLayer> base,
                                                 AdapterSettings settings, long seed) {
        Objects.requireNonNull(settings, "settings");
        List<ILayer<Float>> layers = new ArrayList<>();
        try {
            for (int i = 0; i < base.size(); i++) {
                HostLayer h = base.get(i);
                DenseLayer<Float> dense = DenseLayer.fromWeights(factory.backend(),
                        NumericType.FLOAT32, h.weight(), h.bias(), h.out(), h.in(), h.activation());
                try {
                    layers.add(factory.loraDrop(dense)
                            .rank(Math.min(settings.rank(), Math.min(h.in(), h.out())))
                            .alpha(settings.alpha())
                            .dropoutRate(settings.dropoutRate())
                            .granularity(settings.granularity())
                            .seed(seed * 1000 + i)
                            .stream(i)
                            .build());
                } catch (RuntimeException e) {
                    dense.close();
                    throw e;
                }
            }
            return SequentialModel.of(layers);
        } catch (RuntimeException e) {
            layers.forEach(ILayer::close);
            throw e;
        }
    }

    /**
     * The settings of every adapter in a run.
     *
     * @param rank r; capped at a layer's {@code min(in, out)}
     * @param alpha alpha
     * @param dropoutRate p
     * @param granularity where masks apply
     */
    public record AdapterSettings(int rank, double alpha, double dropoutRate,
                                  MaskGranularity granularity) {
        /** Checks the settings. */
        public AdapterSettings {
            if (rank < 1) {
                throw new IllegalArgumentException("rank: expected >= 1, got " + rank);
            }
            Objects.requireNonNull(granularity, "granularity");
        }
    }

    private static Activation activation(int layer, int[] sizes) {
        return layer + 2 == sizes.length ? Activation.IDENTITY : Activation.RELU;
    }

    private static void checkSizes(int[] sizes) {
        Objects.requireNonNull(sizes, "sizes");
        if (sizes.length < 2 || Arrays.stream(sizes).anyMatch(s -> s < 1)) {
            throw new IllegalArgumentException("sizes: expected at least two widths, each >= 1, got "
                    + Arrays.toString(sizes));
        }
    }
}
