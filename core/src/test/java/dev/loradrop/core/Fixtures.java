package dev.loradrop.core;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.backend.cpu.CpuBackendProvider;
import java.util.Random;

/** Shared helpers for core's tests. */
final class Fixtures {

    private Fixtures() {
    }

    static ComputeBackend cpu() {
        return new CpuBackendProvider().create(BackendConfig.defaults());
    }

    static double[] random(Random r, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = (2 * r.nextDouble() - 1) * scale;
        }
        return v;
    }

    /** A float64 dense layer with random weights and bias. */
    static DenseLayer<Double> dense(ComputeBackend backend, int in, int out, Activation act,
                                    Random r) {
        return DenseLayer.fromWeights(backend, NumericType.FLOAT64, random(r, out * in, 0.8),
                random(r, out, 0.5), out, in, act);
    }

    /** Sets lora_B (zero at initialisation) to random values so the branch matters. */
    static <T extends Number> void randomiseB(LoRAAdapterBase<T> adapter, Random r) {
        LoRALayer<T> lora = adapter.loraLayer();
        double[] b = random(r, lora.outputSize() * lora.rank(), 0.7);
        adapter.backend().write(lora.loraB(), 0, b, 0, b.length);
    }
}
