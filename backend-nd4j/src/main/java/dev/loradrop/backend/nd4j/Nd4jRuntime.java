package dev.loradrop.backend.nd4j;

import dev.loradrop.api.spi.Availability;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.bytedeco.javacpp.Loader;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Environment;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.factory.Nd4jBackend;

/**
 * The one place that touches ND4J's process-wide start-up: loads its native backend once per class
 * loader, checks it with a tiny known-answer GEMM, and remembers the outcome (ND4J cannot retry a
 * failed start in the same JVM). Loaded only when {@link Nd4jBackendProvider#probe()} or
 * {@code create} runs, never by the provider's constructor.
 */
final class Nd4jRuntime {

    /** The class of ND4J's native CPU backend (nd4j-native). */
    static final String NATIVE_CPU_BACKEND = "org.nd4j.linalg.cpu.nativecpu.CpuBackend";

    private static Availability availability;
    private static Map<String, String> facts;

    private Nd4jRuntime() {
    }

    /** @return the outcome of loading ND4J's native backend; never throws */
    static synchronized Availability availability() {
        if (availability == null) {
            availability = load();
        }
        return availability;
    }

    /** @return what the backend reports in {@code describe()}; only after a successful load */
    static synchronized Map<String, String> facts() {
        return facts;
    }

    private static Availability load() {
        try {
            Nd4jBackend backend = Nd4j.getBackend();
            String backendClass = backend.getClass().getName();
            if (!NATIVE_CPU_BACKEND.equals(backendClass)) {
                return Availability.unavailable("ND4J selected " + backendClass + ", not its "
                        + "native CPU backend (" + NATIVE_CPU_BACKEND + "); loradrop's nd4j backend "
                        + "runs on nd4j-native only");
            }
            // A known answer through the same path the kernels use: [1 2; 3 4] x [5; 6] = [17; 39].
            try (INDArray a = Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}});
                 INDArray b = Nd4j.createFromArray(new double[][] {{5}, {6}});
                 INDArray c = Nd4j.create(DataType.DOUBLE, new long[] {2, 1}, 'f')) {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                if (c.getDouble(0) != 17.0 || c.getDouble(1) != 39.0) {
                    return Availability.unavailable("ND4J's native backend loaded but a 2x2 GEMM "
                            + "self-check gave " + c + " instead of [17, 39]");
                }
            }
            facts = collectFacts(backendClass);
            return Availability.ok("ND4J " + facts.get("nd4j.backend") + ", BLAS "
                    + facts.get("blas") + ", " + facts.get("platform"));
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            return Availability.unavailable("ND4J's native backend did not load: " + causes(e)
                    + ". Add the natives for this platform: org.nd4j:nd4j-native:"
                    + Nd4jBackendProvider.ND4J_VERSION + " with classifier " + platform());
        }
    }

    private static Map<String, String> collectFacts(String backendClass) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("id", Nd4jBackendProvider.ID);
        f.put("nd4j.version", Nd4jBackendProvider.ND4J_VERSION);
        f.put("nd4j.backend", backendClass.substring(backendClass.lastIndexOf('.') + 1));
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        f.put("blas", String.valueOf(env.get("blas.vendor")));
        Environment e = Nd4j.getEnvironment();
        f.put("threads", Integer.toString(e.maxThreads()));
        f.put("threads.master", Integer.toString(e.maxMasterThreads()));
        f.put("threads.blas", String.valueOf(env.get("blas.threads")));
        f.put("threads.scope", "process-wide (ND4J)");
        f.put("platform", platform());
        f.put("java.version", System.getProperty("java.version", "?"));
        f.put("java.vm", System.getProperty("java.vm.name", "?") + " "
                + System.getProperty("java.vm.version", "?") + " ("
                + System.getProperty("java.vm.vendor", "?") + ")");
        return f;
    }

    /** @return JavaCPP's platform name, for example {@code linux-x86_64} */
    static String platform() {
        try {
            return Loader.getPlatform();
        } catch (LinkageError | RuntimeException e) {
            return "<this platform, e.g. linux-x86_64>";
        }
    }

    /** @return the exception and its causes, one clause each */
    private static String causes(Throwable e) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (Throwable t = e; t != null && depth < 5; t = t.getCause(), depth++) {
            if (depth > 0) {
                sb.append("; caused by ");
            }
            sb.append(t.getClass().getName());
            if (t.getMessage() != null) {
                String msg = t.getMessage().strip();
                int nl = msg.indexOf('\n');
                msg = nl < 0 ? msg : msg.substring(0, nl);
                sb.append(": ").append(msg.endsWith(".") ? msg.substring(0, msg.length() - 1) : msg);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString();
    }
}
