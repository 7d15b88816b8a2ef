package dev.loradrop.backend.cpu;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.List;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorOperators;

/**
 * Fills the Vector API's operator caches, once per JVM, before any of the vector path's kernels
 * runs: every lanewise and reduction operator of the float, double, int and long vectors, at the
 * kernels' own shapes (so that no other vector class enters the JIT's type profiles).
 *
 * <p>Why: each vector operation looks its implementation up in a cache per element type
 * ({@code VectorOperators.ImplCache.find}), filled on an operator's first use. When a C2-compiled
 * copy of that lookup meets a miss it did not profile, it deoptimises with a {@code class_check}
 * trap, counted in the lookup's profile. C2 adds that count once for every copy it inlines: a
 * kernel with 50 operations reaches C2's limit of 100 with two such traps. Past it, C2 compiles
 * type guards without their traps, the operations' vector classes are no longer constants, their
 * intrinsics fail, and the kernel's vectors are boxed. In 1 to 5 of 10 JMH forks of the
 * (32, 1024, 1024, 8) training step (the two workers' first use of an operator, in compiled code,
 * had trapped) the mask kernels allocated 15 KB a step that way; with the caches filled, 0 of 52.
 * Filled here, in the interpreter, the caches never miss in compiled code. Code that uses other
 * element types or operators first, in compiled code, can still cause such traps; the GEMM tiles
 * do not depend on these counts ({@link VectorTileKernel}'s exact classes), the other kernels do.
 * The fill takes about 80 ms, once.
 */
final class OperatorCaches {

    static {
        fillAll();
    }

    private OperatorCaches() {
    }

    /** Fills the caches, if this JVM has not: the work is this class's initialisation. */
    static void fill() {
        // Class initialisation, which the JVM runs once, does the work.
    }

    private static void fillAll() {
        List<Vector<?>> vectors = List.of(
                FloatVector.broadcast(VectorKernels.species(float.class), 1f),
                DoubleVector.broadcast(VectorKernels.species(double.class), 1.0),
                IntVector.broadcast(VectorKernels.species(int.class), 1),
                LongVector.broadcast(VectorKernels.species(long.class), 1L));
        for (Field field : VectorOperators.class.getFields()) {
            if (!Modifier.isStatic(field.getModifiers())) {
                continue;
            }
            Object op;
            try {
                op = field.get(null);
            } catch (IllegalAccessException e) {
                continue;
            }
            for (Vector<?> v : vectors) {
                use(op, v);
            }
        }
    }

    /** Applies {@code op} to {@code v} in each form that has a cache; skips what does not apply. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void use(Object op, Vector v) {
        try {
            if (op instanceof VectorOperators.Ternary t) {
                v.lanewise(t, v, v);
            } else if (op instanceof VectorOperators.Binary b) {
                v.lanewise(b, v);
                v.lanewise(b, 1L); // the shifts' form with a scalar count
                if (op instanceof VectorOperators.Associative a) {
                    v.reduceLanesToLong(a);
                    v.reduceLanesToLong(a, v.maskAll(true));
                }
            } else if (op instanceof VectorOperators.Unary u) {
                v.lanewise(u);
            }
        } catch (RuntimeException e) {
            // Not an operator of this element type (UnsupportedOperationException, or another
            // exception in another JDK's version of the API): nothing is cached for it. The fill
            // is an optimisation; it must never keep the vector path from loading.
        }
    }
}
