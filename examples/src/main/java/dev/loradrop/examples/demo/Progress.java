package dev.loradrop.examples.demo;

import java.io.PrintStream;
import java.util.Objects;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Reports the progress of long steps: progress bars on a terminal, or nothing. */
public interface Progress {

    /**
     * Starts a task.
     *
     * @param name what is being done
     * @param total the number of steps
     * @return the task; close it when done
     */
    Task start(String name, long total);

    /** A task under way; {@link #step()} may be called from several threads. */
    interface Task extends AutoCloseable {
        /** One more step done. */
        void step();

        /** @param message a short status shown beside the bar */
        void message(String message);

        @Override
        void close();
    }

    /** @return progress that shows nothing */
    static Progress none() {
        return (name, total) -> new Task() {
            @Override
            public void step() {
            }

            @Override
            public void message(String message) {
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * @param out where the bars are drawn, usually {@code System.err}
     * @return progress bars (me.tongfei.progressbar)
     */
    static Progress bars(PrintStream out) {
        Objects.requireNonNull(out, "out");
        return (name, total) -> {
            ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName(name)
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(out))
                    .setUpdateIntervalMillis(250)
                    .build();
            return new Task() {
                @Override
                public void step() {
                    bar.step();
                }

                @Override
                public void message(String message) {
                    bar.setExtraMessage(message);
                }

                @Override
                public void close() {
                    bar.close();
                }
            };
        };
    }
}
