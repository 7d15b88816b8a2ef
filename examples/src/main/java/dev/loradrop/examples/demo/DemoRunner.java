package dev.loradrop.examples.demo;

import dev.loradrop.api.spi.ComputeBackend;
import dev.loradrop.core.LoRADropFactory;
import dev.loradrop.core.SequentialModel;
import dev.loradrop.core.optim.Adam;
import dev.loradrop.examples.data.FashionMnist;
import dev.loradrop.examples.data.ImageSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the demo: pretrains the base MLP, then adapts it once per configuration and seed, and
 * summarises. Adaptation runs are independent, so they run on {@code threads} workers, each with a
 * backend of its own (a backend is used by one thread at a time); the results do not depend on the
 * number of threads.
 */
public final class DemoRunner {

    /** The task, in words, for reports. */
    public static final String TASK = "Pretrain an MLP on upright Fashion-MNIST images, then adapt"
            + " it with few labels to the same images turned a quarter turn clockwise (a shifted"
            + " domain on which the base model is at chance). The base is frozen and every dense"
            + " layer gets a LoRA-drop adapter; plain LoRA (p = 0) is compared with LoRA-drop.";

    private static final Logger LOG = LoggerFactory.getLogger(DemoRunner.class);

    private final DemoConfig config;
    private final ComputeBackend backend;
    private final Supplier<ComputeBackend> workerBackends;
    private final int threads;
    private final Progress progress;

    /**
     * @param config the settings
     * @param backend the backend for pretraining (and for adaptation when {@code threads} is 1);
     *     the caller keeps ownership
     * @param workerBackends creates a backend for each extra worker; the runner closes them
     * @param threads adaptation runs in parallel, {@code >= 1}
     * @param progress where progress goes
     */
    public DemoRunner(DemoConfig config, ComputeBackend backend,
                      Supplier<ComputeBackend> workerBackends, int threads, Progress progress) {
        this.config = Objects.requireNonNull(config, "config");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.workerBackends = Objects.requireNonNull(workerBackends, "workerBackends");
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        this.threads = threads;
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    /**
     * @param data Fashion-MNIST with at least {@link DemoConfig#trainImagesNeeded()} training and
     *     {@link DemoConfig#testImages()} test images
     * @return the results
     * @throws IllegalArgumentException if the data has too few images
     */
    public DemoResults run(FashionMnist data) {
        long start = System.nanoTime();
        if (data.train().size() < config.trainImagesNeeded()
                || data.test().size() < config.testImages()) {
            throw new IllegalArgumentException("data: expected at least "
                    + config.trainImagesNeeded() + " training and " + config.testImages()
                    + " test images, got " + data.train().size() + " and " + data.test().size());
        }
        int p = config.pretrainImages();
        int a = config.adaptImages();
        ImageSet pretrainSet = data.train().slice(0, p);
        ImageSet adaptSet = data.train().slice(p, p + a).rotated90();
        ImageSet validationSet = data.train().slice(p + a, p + a + config.validationImages())
                .rotated90();
        ImageSet uprightTest = data.test().slice(0, config.testImages());
        ImageSet shiftedTest = uprightTest.rotated90();

        List<Mlp.HostLayer> base = new ArrayList<>();
        DemoResults.Pretraining pretraining = pretrain(pretrainSet, uprightTest, shiftedTest, base);
        List<DemoResults.Run> runs = adaptAll(base, adaptSet, validationSet, shiftedTest);
        return new DemoResults(TASK, data.source(), backend.id(), threads, config, pretraining,
                runs, summarise(runs), (System.nanoTime() - start) / 1e9);
    }

    private DemoResults.Pretraining pretrain(ImageSet train, ImageSet test, ImageSet shifted,
                                             List<Mlp.HostLayer> weightsOut) {
        long start = System.nanoTime();
        LoRADropFactory factory = new LoRADropFactory(backend);
        List<DemoResults.PretrainEpoch> epochs = new ArrayList<>();
        int batches = (train.size() + config.pretrainBatch() - 1) / config.pretrainBatch();
        try (SequentialModel<Float> model = Mlp.create(factory, config.sizes(), config.seed());
             Adam adam = Adam.adam(config.pretrainLearningRate());
             Progress.Task task = progress.start("Pretraining",
                     (long) batches * config.pretrainEpochs())) {
            Trainer trainer = new Trainer(model, config.pretrainBatch());
            Random shuffle = new Random(config.seed());
            for (int e = 1; e <= config.pretrainEpochs(); e++) {
                double loss = trainer.trainEpoch(train, adam, shuffle, task::step);
                Trainer.Evaluation ev = trainer.evaluate(test);
                task.message(String.format("epoch %d: test accuracy %.1f%%", e,
                        100 * ev.accuracy()));
                epochs.add(new DemoResults.PretrainEpoch(e, loss, ev.loss(), ev.accuracy()));
                LOG.info("pretraining epoch {}: loss {}, test {}", e, loss, ev);
            }
            Trainer.Evaluation upright = trainer.evaluate(test);
            Trainer.Evaluation rotated = trainer.evaluate(shifted);
            weightsOut.addAll(Mlp.weights(model));
            return new DemoResults.Pretraining(epochs, upright.loss(), upright.accuracy(),
                    rotated.loss(), rotated.accuracy(), (System.nanoTime() - start) / 1e9);
        }
    }

    private record Job(DemoConfig.Variant variant, long seed) {
    }

    private List<DemoResults.Run> adaptAll(List<Mlp.HostLayer> base, ImageSet train,
                                           ImageSet validation, ImageSet test) {
        List<Job> jobs = new ArrayList<>();
        for (DemoConfig.Variant v : config.variants()) {
            for (int s = 0; s < config.seeds(); s++) {
                jobs.add(new Job(v, config.seed() + s));
            }
        }
        int workers = Math.min(threads, jobs.size());
        BlockingQueue<ComputeBackend> pool = new ArrayBlockingQueue<>(workers);
        List<ComputeBackend> created = new ArrayList<>();
        ExecutorService executor = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "loradrop-demo-worker");
            t.setDaemon(true);
            return t;
        });
        try (Progress.Task task = progress.start("Adaptation",
                (long) jobs.size() * config.adaptEpochs())) {
            pool.add(backend);
            for (int i = 1; i < workers; i++) {
                ComputeBackend b = workerBackends.get();
                created.add(b);
                pool.add(b);
            }
            List<Future<DemoResults.Run>> futures = new ArrayList<>();
            for (Job job : jobs) {
                futures.add(executor.submit(() -> {
                    ComputeBackend b = pool.take();
                    try {
                        return adapt(b, base, job, train, validation, test, task);
                    } finally {
                        pool.add(b);
                    }
                }));
            }
            List<DemoResults.Run> runs = new ArrayList<>();
            for (Future<DemoResults.Run> f : futures) {
                runs.add(f.get());
            }
            return runs;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("demo: interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("adaptation failed: " + cause, cause);
        } finally {
            executor.shutdownNow();
            created.forEach(ComputeBackend::close);
        }
    }

    private DemoResults.Run adapt(ComputeBackend b, List<Mlp.HostLayer> base, Job job,
                                  ImageSet train, ImageSet validation, ImageSet test,
                                  Progress.Task task) {
        long start = System.nanoTime();
        Mlp.AdapterSettings settings = new Mlp.AdapterSettings(config.rank(), config.alpha(),
                job.variant().dropoutRate(), job.variant().granularity());
        List<DemoResults.Epoch> epochs = new ArrayList<>();
        try (SequentialModel<Float> model = Mlp.adapted(new LoRADropFactory(b), base, settings,
                     job.seed());
             Adam adam = Adam.adam(config.adaptLearningRate())) {
            Trainer trainer = new Trainer(model, config.adaptBatch());
            Random shuffle = new Random(job.seed());
            for (int e = 1; e <= config.adaptEpochs(); e++) {
                double loss = trainer.trainEpoch(train, adam, shuffle, null);
                Trainer.Evaluation ev = trainer.evaluate(validation);
                epochs.add(new DemoResults.Epoch(e, loss, ev.loss(), ev.accuracy()));
                task.step();
            }
            Trainer.Evaluation fit = trainer.evaluate(train);
            Trainer.Evaluation result = trainer.evaluate(test);
            LOG.info("{} seed {}: train {}, test {}", job.variant().label(), job.seed(), fit,
                    result);
            return new DemoResults.Run(job.variant().label(), job.variant().dropoutRate(),
                    job.variant().granularity().name(), job.seed(), epochs, fit.loss(),
                    fit.accuracy(), result.loss(), result.accuracy(),
                    (System.nanoTime() - start) / 1e9);
        }
    }

    static List<DemoResults.Summary> summarise(List<DemoResults.Run> runs) {
        java.util.Map<String, List<DemoResults.Run>> byVariant = new java.util.LinkedHashMap<>();
        for (DemoResults.Run r : runs) {
            byVariant.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r);
        }
        List<DemoResults.Summary> out = new ArrayList<>();
        for (List<DemoResults.Run> group : byVariant.values()) {
            DemoResults.Run first = group.get(0);
            out.add(new DemoResults.Summary(first.variant(), first.dropoutRate(),
                    first.granularity(), group.size(),
                    stat(group, DemoResults.Run::testAccuracy),
                    stat(group, DemoResults.Run::testLoss),
                    stat(group, DemoResults.Run::trainAccuracy),
                    stat(group, r -> r.trainAccuracy() - r.testAccuracy()),
                    stat(group, r -> r.testLoss() - r.trainLoss())));
        }
        return out;
    }

    private static DemoResults.Stat stat(List<DemoResults.Run> runs,
                                         java.util.function.ToDoubleFunction<DemoResults.Run> f) {
        return DemoResults.Stat.of(runs.stream().mapToDouble(f).toArray());
    }
}
