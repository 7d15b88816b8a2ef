package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How C2 compiles the vector GEMM must not depend on what other vector code ran first. C2 takes
 * the targets of the Vector API's calls, and the vector classes their intrinsics need, from the
 * static types of the vectors or else from the JIT's type profile of the library's shared code;
 * with another vector class in that profile (another shape, as Adam's half-width floats are) the
 * tiles' intrinsics failed and every vector was boxed (sgemm 1024^3 at 5 GFLOP/s instead of 250).
 * The tiles now cast their vectors to their exact class ({@code VectorTileKernel.FC}). Needs a
 * fresh JVM, whose profiles the test controls: {@link OtherShapesFirst}. Before the casts that
 * JVM's GEMM allocated 9 MB a call, in 2 to 7 of 20 runs with some of them.
 */
class JitProfilesTest {

    @Test
    void theGemmAllocatesNothingAfterOtherVectorShapesRan() throws IOException,
            InterruptedException {
        assumeTrue(CpuPaths.vectorUnavailableReason() == null
                        && System.getProperty(CpuPaths.BITS_PROPERTY) == null
                        && Fixtures.allocatedBytes() >= 0,
                "the vector path at its default width, C2, and allocation counted by thread");
        List<String> command = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", CpuPaths.MODULE, "-Xmx512m",
                "-cp", System.getProperty("java.class.path"),
                OtherShapesFirst.class.getName());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean done = child.waitFor(300, TimeUnit.SECONDS);
        if (!done) {
            child.destroyForcibly();
        }
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(done).as("the child JVM finished: %s", output).isTrue();
        assertThat(child.exitValue()).as(output).isZero();
    }
}
