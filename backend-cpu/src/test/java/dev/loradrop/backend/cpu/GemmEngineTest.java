package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The engine's own arithmetic and failure handling, below the backend's checks. */
class GemmEngineTest {

    private static final int MAX = Integer.MAX_VALUE;

    /**
     * A dimension within a block of 2^31 (m = 2^31 - 3 with n = k = 1 is a valid GEMM): the block
     * counts and loop steps must not pass 2^31, which made such a GEMM return with C untouched.
     */
    @Test
    void blockCountsAndLoopStepsDoNotOverflowNearIntegerMaxValue() {
        assertThat(GemmEngine.blocks(0, 72)).isZero();
        assertThat(GemmEngine.blocks(1, 72)).isEqualTo(1);
        assertThat(GemmEngine.blocks(72, 72)).isEqualTo(1);
        assertThat(GemmEngine.blocks(73, 72)).isEqualTo(2);
        for (int x : new int[] {MAX, MAX - 1, MAX - 3, MAX - 9}) {
            for (int size : new int[] {1, 4, 6, 8, 72, 240, 1024, 4096}) {
                assertThat(GemmEngine.blocks(x, size)).as("blocks(%d, %d)", x, size)
                        .isEqualTo((int) (((long) x + size - 1) / size));
            }
        }
        for (int end : new int[] {MAX, MAX - 3, MAX - 1000, 5000}) {
            for (int size : new int[] {240, 1024, 4096}) {
                int from = end - 4500;
                int steps = 0;
                int at = from;
                while (at < end && steps <= 100) {
                    int next = GemmEngine.next(at, size, end);
                    assertThat(next).as("next(%d, %d, %d)", at, size, end)
                            .isEqualTo((int) Math.min((long) at + size, end));
                    at = next;
                    steps++;
                }
                assertThat(steps).as("steps from %d to %d by %d", from, end, size)
                        .isEqualTo(GemmEngine.blocks(end - from, size));
            }
        }
        // The loop order and the task count for the tallest A.
        assertThat(GemmEngine.streamsB(MAX - 3, 1, true, 6, 4)).isFalse();
        assertThat(GemmEngine.streamsB(MAX - 3, 1, true, 6, 8)).isFalse();
        for (int parts : new int[] {1, 2, 64}) {
            int chunks = GemmEngine.chunks(MAX - 3, 72, 64, parts);
            assertThat(chunks).isEqualTo(1);
            assertThat(GemmEngine.blocks(MAX - 3, 72) * chunks)
                    .isEqualTo((int) (((long) MAX - 3 + 71) / 72));
        }
    }
}
