package dev.loradrop.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    /**
     * The split of a mask's words between the threads, at the largest mask (2^31 - 1 bits, 2^25
     * words) and many threads, where {@code part * count} passes 2^31: every part's range must be
     * in order, and together they must cover every word once.
     */
    @Test
    void partsCoverEveryItemOnceEvenWhenPartTimesCountOverflows() {
        int words = 1 << 25; // the words of a mask of Integer.MAX_VALUE bits
        for (int count : new int[] {0, 1, 1000, words, Integer.MAX_VALUE - 8, Integer.MAX_VALUE}) {
            for (int parts : new int[] {1, 2, 3, 64, 65, 127, 1000}) {
                assertThat(WorkerPool.start(0, count, parts)).as("count=%d parts=%d", count, parts)
                        .isZero();
                assertThat(WorkerPool.start(parts, count, parts))
                        .as("count=%d parts=%d", count, parts).isEqualTo(count);
                for (int part = 0; part < parts; part++) {
                    int from = WorkerPool.start(part, count, parts);
                    int to = WorkerPool.start(part + 1, count, parts);
                    assertThat((long) to - from).as("count=%d parts=%d part=%d", count, parts, part)
                            .isBetween((long) count / parts, (long) count / parts + 1);
                }
            }
        }
    }
}
