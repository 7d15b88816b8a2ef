package dev.loradrop.examples.data;

/**
 * A data file is missing, truncated or corrupt; the message names the file and what is wrong.
 */
public final class DataException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param file the file, as the user would recognise it
     * @param problem what is wrong with it
     */
    public DataException(String file, String problem) {
        super(file + ": " + problem);
    }

    /**
     * @param file the file, as the user would recognise it
     * @param problem what is wrong with it
     * @param cause the underlying failure
     */
    public DataException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
