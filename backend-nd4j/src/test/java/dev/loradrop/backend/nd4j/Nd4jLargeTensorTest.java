package dev.loradrop.backend.nd4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loradrop.api.NumericType;
import dev.loradrop.api.Tensor;
import dev.loradrop.api.spi.BackendConfig;
import dev.loradrop.api.spi.ComputeBackend;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tensors of more than 2 GiB, whose elements past {@link Integer#MAX_VALUE} bytes a direct buffer
 * over the whole tensor cannot reach. Off by default: it needs about 4 GiB of native memory and
 * 2 GiB of heap at once (about 40 s). Run it with
 * <pre>
 * ./mvnw -B -o -q -pl backend-nd4j -am verify -Dtest=Nd4jLargeTensorTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dsurefire.baseArgLine="-Xmx4g -Dguice_bytecode_gen_option=DISABLED -Dorg.bytedeco.javacpp.maxbytes=8g \
 *     -Dorg.bytedeco.javacpp.maxphysicalbytes=16g -Dloradrop.test.largeTensors=true"
 * </pre>
 */
class Nd4jLargeTensorTest {

    private ComputeBackend backend;

    @BeforeEach
    void openBackend() {
        Assumptions.assumeTrue(Boolean.getBoolean("loradrop.test.largeTensors"),
                "needs -Dloradrop.test.largeTensors=true and a JVM with 4 GiB of heap and 8 GiB "
                        + "of native memory (org.bytedeco.javacpp.maxbytes)");
        backend = new Nd4jBackendProvider().create(BackendConfig.defaults());
    }

    @AfterEach
    void closeBackend() {
        if (backend != null) {
            assertThat(backend.liveAllocations()).isZero();
            backend.close();
        }
    }

    @Test
    void float32TensorsPastTwoGibibytesAreReachableToTheLastElement() {
        int edge = 1 << 29;                       // the first element past Integer.MAX_VALUE bytes
        int n = edge + 64;
        float[] ramp = ramp(100);
        try (Tensor<Float> t = backend.allocate(NumericType.FLOAT32, n)) {
            backend.write(t, n - 1, new float[] {7f}, 0, 1);
            backend.write(t, edge - 50, ramp, 0, 100);
            backend.write(t, n - 4, new double[] {1.5, 2.5, 3.5}, 0, 3);

            float[] across = new float[100];
            backend.read(t, edge - 50, across, 0, 100);
            assertThat(across).containsExactly(ramp);
            double[] tail = new double[4];
            backend.read(t, n - 4, tail, 0, 4);
            assertThat(tail).containsExactly(1.5, 2.5, 3.5, 7);

            backend.copy(t, n - 4, t, 10, 4);
            try (Tensor<Float> c = backend.copyOf(t)) {
                float[] all = c.toFloatArray();
                assertThat(Arrays.copyOfRange(all, 8, 16)).containsExactly(0, 0, 1.5f, 2.5f, 3.5f, 7, 0, 0);
                assertThat(Arrays.copyOfRange(all, edge - 50, edge + 50)).containsExactly(ramp);
                assertThat(Arrays.copyOfRange(all, n - 5, n)).containsExactly(0, 1.5f, 2.5f, 3.5f, 7);
            }
        }
    }

    @Test
    void float64TensorsPastTwoGibibytesAreReachableToTheLastElement() {
        int edge = 1 << 28;
        int n = edge + 64;
        float[] ramp = ramp(100);
        try (Tensor<Double> t = backend.allocate(NumericType.FLOAT64, n)) {
            backend.write(t, n - 1, new double[] {7}, 0, 1);
            backend.write(t, edge - 50, ramp, 0, 100);

            float[] across = new float[100];
            backend.read(t, edge - 50, across, 0, 100);
            assertThat(across).containsExactly(ramp);

            try (Tensor<Double> c = backend.copyOf(t)) {
                double[] tail = new double[3];
                backend.read(c, n - 3, tail, 0, 3);
                assertThat(tail).containsExactly(0, 0, 7);
                float[] all = c.toFloatArray();
                assertThat(all[n - 1]).isEqualTo(7f);
                assertThat(Arrays.copyOfRange(all, edge - 50, edge + 50)).containsExactly(ramp);
            }
        }
    }

    /** @return 1, 2, ..., n */
    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i + 1;
        }
        return v;
    }
}
