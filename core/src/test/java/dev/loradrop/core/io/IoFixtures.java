package dev.loradrop.core.io;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.DropoutScaling;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.MaskGranularity;
import dev.loradrop.core.SequentialModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Models and helpers shared by the IO tests. */
final class IoFixtures {

    private IoFixtures() {
    }

    static ComputeBackend cpu() {
        return new CpuBackendProvider().create(BackendConfig.defaults());
    }

    /**
     * Adapter (6 -> 5, rank 3, alpha 6, FEATURE) at "0", a plain dense layer at "1", and an adapter
     * (5 -> 4, rank 2, alpha 2, ELEMENT) inside a nested model at "2.0". Base weights come from
     * {@code baseSeed}, adapter initialisation and masks from {@code adapterSeed}.
     */
    static <T extends Number> SequentialModel<T> model(ComputeBackend backend, NumericType<T> type,
                                                       long baseSeed, long adapterSeed) {
        LoRADropAdapter<T> a0 = LoRADropAdapter.builder(
                        DenseLayer.create(backend, type, 6, 5, Activation.TANH, baseSeed))
                .rank(3).alpha(6).dropoutRate(0.3).seed(adapterSeed).build();
        DenseLayer<T> d1 = DenseLayer.create(backend, type, 5, 5, Activation.RELU, baseSeed + 1);
        LoRADropAdapter<T> a2 = LoRADropAdapter.builder(
                        DenseLayer.create(backend, type, 5, 4, Activation.IDENTITY, baseSeed + 2))
                .rank(2).alpha(2).dropoutRate(0.2).granularity(MaskGranularity.ELEMENT)
                .scaling(DropoutScaling.INVERTED).seed(adapterSeed + 1).stream(1).build();
        return SequentialModel.of(a0, d1, SequentialModel.of(a2));
    }

    /** Sets every lora_B to random values (they start at zero) so the adapters matter. */
    static <T extends Number> void randomiseAdapters(SequentialModel<T> model, long seed) {
        Random r = new Random(seed);
        for (var a : PeftAdapters.adapters(model).values()) {
            Tensor<T> b = a.loraLayer().loraB();
            double[] v = new double[b.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextGaussian() * 0.5;
            }
            b.backend().write(b, 0, v, 0, v.length);
        }
    }

    static double[] input(int rows, int cols, long seed) {
        Random r = new Random(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    /** Every weight of a model as host doubles, by name. */
    static <T extends Number> Map<String, double[]> snapshot(SequentialModel<T> model) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String name : model.weightNames()) {
            try (Tensor<T> t = model.getWeight(name)) {
                out.put(name, t.toDoubleArray());
            }
        }
        return out;
    }

    /** Raw bits of every element, for bit-for-bit comparisons. */
    static long[] bits(double[] v) {
        long[] b = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Double.doubleToRawLongBits(v[i]);
        }
        return b;
    }
}
