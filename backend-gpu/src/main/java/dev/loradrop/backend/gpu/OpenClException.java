package dev.loradrop.backend.gpu;

import org.jocl.CL;

/**
 * An OpenCL (or CLBlast) call returned an error code. The message names the call, the code and
 * its symbolic name, for example {@code clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)}.
 */
public final class OpenClException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final int code;
    private final String call;

    /**
     * @param call the OpenCL function (with context, for example the kernel name)
     * @param code the error code it returned
     * @param symbol the symbolic name of the code
     * @param detail more information (a build log), or empty
     */
    OpenClException(String call, int code, String symbol, String detail) {
        super(call + " failed: " + symbol + " (" + code + ")"
                + (detail.isEmpty() ? "" : "\n" + detail));
        this.code = code;
        this.call = call;
    }

    /** @return the error code the call returned */
    public int code() {
        return code;
    }

    /** @return the call that failed */
    public String call() {
        return call;
    }

    /**
     * Throws if an OpenCL call failed.
     *
     * @param code the returned code; {@code CL_SUCCESS} (0) passes
     * @param call the call, for the message
     * @throws OpenClException if the code is not 0
     */
    static void check(int code, String call) {
        if (code != CL.CL_SUCCESS) {
            throw new OpenClException(call, code, symbol(code), "");
        }
    }

    /**
     * @param code an OpenCL error code
     * @return its symbolic name, for example {@code CL_PLATFORM_NOT_FOUND_KHR}
     */
    static String symbol(int code) {
        return symbolOf(code);
    }

    private static final String UNKNOWN = "unknown OpenCL error";

    private static String symbolOf(int code) {
        if (code == CL.CL_PLATFORM_NOT_FOUND_KHR) {
            return "CL_PLATFORM_NOT_FOUND_KHR";
        }
        String s = CL.stringFor_errorCode(code);
        return s == null || s.startsWith("INVALID") ? UNKNOWN : s;
    }

    /**
     * Throws if a CLBlast call failed. CLBlast returns OpenCL's codes, named here as OpenCL names
     * them, and its own (-1024 and below, and -1022 to -1007 for invalid and too small matrices
     * and vectors), named as CLBlast names them.
     *
     * @param code the returned status
     * @param call the call, for the message
     * @throws OpenClException if the status is not {@code CLBlastSuccess} (0)
     */
    static void checkBlast(int code, String call) {
        if (code != 0) {
            String s = symbolOf(code);
            if (s.equals(UNKNOWN)) {
                String blast = org.jocl.blast.CLBlastStatusCode.stringFor(code);
                s = blast == null || blast.startsWith("INVALID") ? UNKNOWN : blast;
            }
            throw new OpenClException(call, code, s, "");
        }
    }
}
