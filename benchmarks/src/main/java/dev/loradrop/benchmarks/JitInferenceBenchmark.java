package dev.loradrop.benchmarks;

import dev.loradrop.api.Activation;
import dev.loradrop.api.ILayer;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.SequentialModel;
import dev.loradrop.core.backend.BackendRegistry;
import dev.loradrop.core.jit.CompiledFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Compiled inference ({@code IJitCompilable.compile}) against its two peers on the same backend: a
 * bare GEMM with the merged weight (the floor: what inference must cost at least) and the
 * uncompiled adapter's inference forward. {@code layers = 1}: one LoRA-drop adapter over a
 * {@code size x size} dense layer; {@code layers = 3}: a model of three. Batch 64, FLOAT32, rank
 * 8. Report {@code compiled / bareGemm} and {@code uncompiled / compiled} from one run.
 *
 * <p>The backend is chosen as the library chooses it ({@code -Dloradrop.backend=cpu} to pin it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class JitInferenceBenchmark {

    /** The number of adapted layers in a row. */
    @Param({"1", "3"})
    public int layers;

    /** in = out of every layer. */
    @Param({"4096"})
    public int size;

    /** Rows of the input. */
    @Param({"64"})
    public int batch;

    /** LoRA rank. */
    @Param({"8"})
    public int rank;

    private ComputeBackend backend;
    private ILayer<Float> model;
    private CompiledFunction<Float> compiled;
    private final List<Tensor<Float>> mergedWeights = new ArrayList<>();
    private final List<ILayer<Float>> merged = new ArrayList<>();
    private Tensor<Float> x;
    private Tensor<Float>[] buffers;

    /** Builds the model, compiles it, and merges each adapter for the bare GEMMs. */
    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() {
        backend = BackendRegistry.discover().create();
        Random r = new Random(1);
        List<ILayer<Float>> adapters = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            DenseLayer<Float> dense = DenseLayer.create(backend, NumericType.FLOAT32, size, size,
                    i == layers - 1 ? Activation.IDENTITY : Activation.RELU, 10 + i);
            LoRADropAdapter<Float> a = LoRADropAdapter.builder(dense).rank(rank).alpha(2 * rank)
                    .dropoutRate(0.1).seed(20L + i).build();
            double[] b = new double[size * rank];
            for (int j = 0; j < b.length; j++) {
                b[j] = (2 * r.nextDouble() - 1) * 0.05;
            }
            backend.write(a.loraLayer().loraB(), 0, b, 0, b.length);
            a.setTraining(false);
            adapters.add(a);
            ILayer<Float> m = a.mergeToOriginalLayer();
            merged.add(m);
            mergedWeights.add(((DenseLayer<Float>) m).weight());
        }
        model = layers == 1 ? adapters.get(0) : SequentialModel.of(adapters);
        model.setTrainingMode(false);
        compiled = ((dev.loradrop.core.AbstractLayer<Float>) model).compile(backend);
        double[] in = new double[batch * size];
        for (int j = 0; j < in.length; j++) {
            in[j] = 2 * r.nextDouble() - 1;
        }
        x = backend.upload(NumericType.FLOAT32, in, batch, size);
        buffers = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            buffers[i] = backend.allocate(NumericType.FLOAT32, batch, size);
        }
    }

    /** @return a value of the output, so that the call is not optimised away */
    @Benchmark
    public float compiled() {
        try (Tensor<Float> y = compiled.apply(x)) {
            return y.dim(0);
        }
    }

    /**
     * The floor: one GEMM per layer with the merged weight into preallocated buffers.
     *
     * @return a value of the output
     */
    @Benchmark
    public float bareGemm() {
        Tensor<Float> cur = x;
        for (int i = 0; i < layers; i++) {
            backend.gemm(false, true, batch, size, size, 1.0, cur, mergedWeights.get(i), 0.0,
                    buffers[i]);
            cur = buffers[i];
        }
        return cur.dim(0);
    }

    /**
     * The adapter's (or model's) own inference forward: base GEMM plus the low-rank branch.
     *
     * @return a value of the output
     */
    @Benchmark
    public float uncompiled() {
        try (Tensor<Float> y = model.forward(x)) {
            return y.dim(0);
        }
    }

    /** Releases everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        compiled.close();
        merged.forEach(ILayer::close);
        model.close();
        backend.close();
    }
}
