package dev.loradrop.benchmarks;

import dev.loradrop.api.Activation;
import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.DenseLayer;
import dev.loradrop.core.LoRADropAdapter;
import dev.loradrop.core.backend.BackendRegistry;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;
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
 * One LoRA-drop step of a frozen {@code in -> out} dense layer, FLOAT32, p = 0.1, FEATURE masks:
 * {@code mode = train} is forward + backward (gradients of A, B and the input), {@code mode =
 * infer} the inference forward. {@code via = cpu}: {@link LoRADropAdapter} on loradrop's CPU
 * backend (2 threads); {@code via = nd4j}: the same work composed from raw ND4J calls
 * ({@code Nd4j.gemm} into preallocated F-order results, a Bernoulli mask drawn by ND4J).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LoRADropStepBenchmark {

    /** batch x in x out x rank. */
    @Param({"64x4096x4096x16", "32x1024x1024x8", "256x768x768x8"})
    public String shape;

    /** train (forward + backward) or infer (inference forward). */
    @Param({"train", "infer"})
    public String mode;

    /**
     * cpu: loradrop's pure-Java backend; nd4j: raw ND4J. Named to sort last, so that each cpu case
     * runs right before its nd4j peer (see {@link GemmBenchmark#via}).
     */
    @Param({"cpu", "nd4j"})
    public String via;

    private static final double P = 0.1;

    private int batch;
    private int in;
    private int out;
    private int rank;
    private double scale;
    // loradrop
    private ComputeBackend backend;
    private LoRADropAdapter<Float> adapter;
    private Tensor<Float> x;
    private Tensor<Float> g;
    // ND4J
    private INDArray nw;
    private INDArray nbias;
    private INDArray na;
    private INDArray nb;
    private INDArray nx;
    private INDArray ng;
    private INDArray pre;
    private INDArray h;
    private INDArray z;
    private INDArray mask;
    private INDArray gz;
    private INDArray da;
    private INDArray db;
    private INDArray dh;
    private INDArray dx;

    /** Builds both sides from the same seeded weights. */
    @Setup(Level.Trial)
    public void setUp() {
        String[] d = shape.split("x");
        batch = Integer.parseInt(d[0]);
        in = Integer.parseInt(d[1]);
        out = Integer.parseInt(d[2]);
        rank = Integer.parseInt(d[3]);
        scale = 1.0; // alpha = rank
        double[] w = Inputs.scaled(Inputs.uniform(out * in, 1), 1 / Math.sqrt(in));
        double[] bias = Inputs.uniform(out, 2);
        double[] a = Inputs.scaled(Inputs.uniform(rank * in, 3), 1 / Math.sqrt(in));
        double[] b = Inputs.scaled(Inputs.uniform(out * rank, 4), 0.1);
        double[] xv = Inputs.uniform(batch * in, 5);
        double[] gv = Inputs.uniform(batch * out, 6);
        if (via.equals("cpu")) {
            backend = BackendRegistry.discover().create("cpu",
                    BackendConfig.defaults().withThreads(2));
            DenseLayer<Float> dense = DenseLayer.fromWeights(backend, NumericType.FLOAT32, w,
                    bias, out, in, Activation.IDENTITY);
            adapter = LoRADropAdapter.builder(dense).rank(rank).dropoutRate(P).seed(7L).build();
            try (Tensor<Float> at = backend.upload(NumericType.FLOAT32, a, rank, in);
                 Tensor<Float> bt = backend.upload(NumericType.FLOAT32, b, out, rank)) {
                adapter.setWeight("lora_A.weight", at);
                adapter.setWeight("lora_B.weight", bt);
            }
            adapter.setTraining(mode.equals("train"));
            x = backend.upload(NumericType.FLOAT32, xv, batch, in);
            g = backend.upload(NumericType.FLOAT32, gv, batch, out);
        } else {
            nw = floats(w, out, in);
            nbias = floats(bias, 1, out);
            na = floats(a, rank, in);
            nb = floats(b, out, rank);
            nx = floats(xv, batch, in);
            ng = floats(gv, batch, out);
            pre = Nd4j.create(DataType.FLOAT, new long[] {batch, out}, 'f');
            h = Nd4j.create(DataType.FLOAT, new long[] {batch, rank}, 'f');
            z = Nd4j.create(DataType.FLOAT, new long[] {batch, out}, 'f');
            mask = Nd4j.create(DataType.FLOAT, new long[] {1, out}, 'c');
            gz = Nd4j.create(DataType.FLOAT, new long[] {batch, out}, 'f');
            da = Nd4j.create(DataType.FLOAT, new long[] {rank, in}, 'f');
            db = Nd4j.create(DataType.FLOAT, new long[] {out, rank}, 'f');
            dh = Nd4j.create(DataType.FLOAT, new long[] {batch, rank}, 'f');
            dx = Nd4j.create(DataType.FLOAT, new long[] {batch, in}, 'f');
        }
    }

    private static INDArray floats(double[] v, int rows, int cols) {
        return Nd4j.create(v, new long[] {rows, cols}, 'c').castTo(DataType.FLOAT);
    }

    /** @return the step's last result, so the work is not eliminated */
    @Benchmark
    public Object step() {
        boolean train = mode.equals("train");
        if (adapter != null) {
            adapter.forward(x).close();
            if (train) {
                adapter.backward(g).close();
            }
            return adapter;
        }
        Nd4j.gemm(nx, nw, pre, false, true, 1.0, 0.0);
        pre.addiRowVector(nbias);
        Nd4j.gemm(nx, na, h, false, true, 1.0, 0.0);
        if (!train) {
            return Nd4j.gemm(h, nb, pre, false, true, scale, 1.0);
        }
        // Forward: y = x W^T + b + s * k * mask (.) (x A^T B^T), FEATURE mask over out.
        Nd4j.getExecutioner().exec(new BernoulliDistribution(mask, 1 - P));
        mask.muli(scale / (1 - P));
        Nd4j.gemm(h, nb, z, false, true, 1.0, 0.0);
        pre.addi(z.muliRowVector(mask));
        // Backward from g: gz = g (.) mask*s*k; dB = gz^T h; dh = gz B; dA = dh^T x;
        // dx = g W + dh A.
        gz.assign(ng).muliRowVector(mask);
        Nd4j.gemm(gz, h, db, true, false, 1.0, 0.0);
        Nd4j.gemm(gz, nb, dh, false, false, 1.0, 0.0);
        Nd4j.gemm(dh, nx, da, true, false, 1.0, 0.0);
        Nd4j.gemm(ng, nw, dx, false, false, 1.0, 0.0);
        return Nd4j.gemm(dh, na, dx, false, false, 1.0, 1.0);
    }

    /** Releases the loradrop side. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (adapter != null) {
            x.close();
            g.close();
            adapter.close();
            backend.close();
        }
    }
}
