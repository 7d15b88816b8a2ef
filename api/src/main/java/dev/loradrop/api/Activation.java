package dev.loradrop.api;

/**
 * Elementwise activation functions a dense layer applies after its affine map.
 *
 * <p>The formulas are part of the backend contract: every backend computes exactly these.
 */
public enum Activation {
    /** {@code f(x) = x}. */
    IDENTITY,
    /** {@code f(x) = max(0, x)}; the derivative at 0 is taken as 0. */
    RELU,
    /** {@code f(x) = tanh(x)}. */
    TANH,
    /** {@code f(x) = 1 / (1 + exp(-x))}. */
    SIGMOID,
    /**
     * GELU in its tanh form (PyTorch's {@code approximate="tanh"}):
     * {@code f(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
     */
    GELU;

    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_K = 0.044715;

    /**
     * The reference value in double precision.
     *
     * @param x the argument
     * @return {@code f(x)}
     */
    public double apply(double x) {
        switch (this) {
            case IDENTITY: return x;
            case RELU: return x > 0 ? x : 0.0;
            case TANH: return Math.tanh(x);
            case SIGMOID: return 1.0 / (1.0 + Math.exp(-x));
            case GELU: return 0.5 * x * (1.0 + Math.tanh(GELU_C * (x + GELU_K * x * x * x)));
            default: throw new AssertionError(this);
        }
    }

    /**
     * The reference derivative in double precision.
     *
     * @param x the argument
     * @return {@code f'(x)}
     */
    public double derivative(double x) {
        switch (this) {
            case IDENTITY: return 1.0;
            case RELU: return x > 0 ? 1.0 : 0.0;
            case TANH: {
                double t = Math.tanh(x);
                return 1.0 - t * t;
            }
            case SIGMOID: {
                double s = 1.0 / (1.0 + Math.exp(-x));
                return s * (1.0 - s);
            }
            case GELU: {
                double u = GELU_C * (x + GELU_K * x * x * x);
                double t = Math.tanh(u);
                double du = GELU_C * (1.0 + 3.0 * GELU_K * x * x);
                return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
            }
            default: throw new AssertionError(this);
        }
    }

    /**
     * Looks an activation up by name, case-insensitively.
     *
     * @param name for example {@code "relu"}
     * @return the activation
     * @throws IllegalArgumentException naming the accepted values if the name is unknown
     */
    public static Activation forName(String name) {
        for (Activation a : values()) {
            if (a.name().equalsIgnoreCase(name == null ? "" : name.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("activation: expected one of "
                + java.util.Arrays.toString(values()) + ", got '" + name + "'");
    }
}
