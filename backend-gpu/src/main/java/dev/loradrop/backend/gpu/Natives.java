package dev.loradrop.backend.gpu;

import java.util.Optional;
import org.jocl.CL;
import org.jocl.blast.CLBlast;

/**
 * Loads JOCL (which loads the system's {@code libOpenCL}) and JOCL-Blast (which brings CLBlast)
 * once per JVM, on first use, and remembers why that failed, if it did.
 */
final class Natives {

    private Natives() {
    }

    private static final class Holder {
        static final Optional<String> FAILURE = load();
    }

    /**
     * @return empty when both native libraries are loaded, else why not (never throws)
     */
    static Optional<String> loadFailure() {
        return Holder.FAILURE;
    }

    private static Optional<String> load() {
        try {
            CL.setExceptionsEnabled(false);
        } catch (Throwable e) { // LinkageError, or an ExceptionInInitializerError wrapping one
            return Optional.of("the OpenCL library (libOpenCL.so, OpenCL.dll) could not be loaded"
                    + " through JOCL: " + describe(e) + "; install an OpenCL ICD loader and a"
                    + " driver (Debian/Ubuntu: apt-get install ocl-icd-opencl-dev pocl-opencl-icd,"
                    + " or the GPU vendor's driver)");
        }
        try {
            CLBlast.setExceptionsEnabled(false);
        } catch (Throwable e) {
            return Optional.of("CLBlast could not be loaded through JOCL-Blast (it bundles"
                    + " linux-x86_64, windows-x86_64 and macOS-x86_64 libraries): " + describe(e));
        }
        return Optional.empty();
    }

    private static String describe(Throwable e) {
        Throwable t = e.getCause() != null && e instanceof ExceptionInInitializerError
                ? e.getCause() : e;
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
