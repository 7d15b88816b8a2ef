package dev.loradrop.backend.cpu;

import dev.loradrop.api.Activation;
import dev.loradrop.api.MaskStream;
import dev.loradrop.api.Philox4x32;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Java Vector API forms of the kernels where they pay. The fused masked scale-add: a vector
 * of elements per step, its keep bits turned into a lane mask; on a [64, 4096] mask 3.5 times as
 * fast as the branch-free scalar loop per element (ELEMENT), 5 times per column (FEATURE). ReLU
 * and its derivative, a lane select instead of a branch that mispredicts on every other element:
 * on [64, 256], 36 and 7 times as fast. Adam, in double as the scalar path computes it, a vector
 * of doubles per step: 3.5 times as fast on 12,500 float32 parameters (2.3 against 7.9 ns each).
 * Every other kernel is {@link ScalarKernels}'. The same operations in the same order as the
 * scalar path, so the same bits (the differential tests check it).
 *
 * <p>Loaded only through {@link CpuPaths}, with {@link VectorTileKernel}; never referenced
 * directly, so the backend works without the incubator module.
 */
final class VectorKernels extends ScalarKernels {

    static {
        OperatorCaches.fill();
    }

    private static final VectorSpecies<Float> FS = species(float.class);
    private static final VectorSpecies<Double> DS = species(double.class);
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    private static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, DS.vectorShape());
    /** Floats as many as {@link #DS}'s doubles: Adam widens them to double and back. */
    private static final VectorSpecies<Float> FH = VectorSpecies.of(float.class,
            VectorShape.forBitSize(DS.vectorBitSize() / 2));
    private static final int FL = FS.length();
    private static final int DL = DS.length();
    /** Lane j holds {@code 1 << j}; ANDed with the keep bits of the lanes, broadcast. */
    private static final IntVector FLOAT_LANE_BITS = IntVector.broadcast(IS, 1)
            .lanewise(VectorOperators.LSHL, IntVector.zero(IS).addIndex(1));
    private static final LongVector DOUBLE_LANE_BITS = LongVector.broadcast(LS, 1)
            .lanewise(VectorOperators.LSHL, LongVector.zero(LS).addIndex(1));

    /**
     * Int lanes for the mask's Philox blocks: at most 8 (256 bits), so that a pass's four words of
     * keep bits per lane fit one int.
     */
    private static final VectorSpecies<Integer> MS = IS.length() <= 8 ? IS : IntVector.SPECIES_256;
    private static final int ML = MS.length();
    /** Philox blocks per mask word: 64 elements, four per block. */
    private static final int BLOCKS_PER_WORD = 16;
    /** Lane l holds l. */
    private static final IntVector MASK_LANES = IntVector.zero(MS).addIndex(1);
    /** Lane l holds {@code 1 << (4 l + j)}: where word j of lane l's block goes in a pass's bits. */
    private static final IntVector WORD0_BITS = wordBits(0);
    private static final IntVector WORD1_BITS = wordBits(1);
    private static final IntVector WORD2_BITS = wordBits(2);
    private static final IntVector WORD3_BITS = wordBits(3);

    /** Public for reflective construction by {@link CpuPaths}. */
    public VectorKernels() {
    }

    /**
     * @return the species of {@code type} at the vector path's width: {@link
     *     CpuPaths#vectorBits()}, or the JVM's preferred width
     */
    static <E> VectorSpecies<E> species(Class<E> type) {
        int bits = CpuPaths.vectorBits();
        return VectorSpecies.of(type, bits == 0 ? VectorShape.preferredShape()
                : VectorShape.forBitSize(bits));
    }

    private static IntVector wordBits(int j) {
        return IntVector.broadcast(MS, 1 << j)
                .lanewise(VectorOperators.LSHL, MASK_LANES.lanewise(VectorOperators.LSHL, 2));
    }

    @Override
    public String path() {
        return "vector (" + FS.vectorBitSize() + "-bit)";
    }

    // A vector of lanes starts at a multiple of its length, which divides 64: its keep bits lie
    // in one mask word, from bit (i mod 64) up.

    @Override
    public void maskedScaleAdd(float[] src, long[] mask, boolean broadcastRows, int cols,
                               double scaleD, double betaD, float[] dst) {
        if (mask == null) {
            super.maskedScaleAdd(src, null, broadcastRows, cols, scaleD, betaD, dst);
            return;
        }
        float scale = (float) scaleD;
        float beta = (float) betaD;
        FloatVector scales = FloatVector.broadcast(FS, scale);
        int rowLength = broadcastRows ? cols : src.length;
        for (int r = 0; r < src.length; r += rowLength) {
            int c = 0;
            for (; c <= rowLength - FL; c += FL) {
                int i = r + c;
                FloatVector v = keptOrZero(mask, c, scales).mul(FloatVector.fromArray(FS, src, i));
                if (beta != 0f) {
                    v = v.add(FloatVector.fromArray(FS, dst, i).mul(beta));
                }
                v.intoArray(dst, i);
            }
            for (; c < rowLength; c++) {
                int i = r + c;
                dst[i] = mix(keptOrZero(mask, c, scale) * src[i], beta, dst[i]);
            }
        }
    }

    /** @return {@code scales} in the lanes whose keep bit (from bit {@code i}) is set, else 0 */
    private static FloatVector keptOrZero(long[] mask, int i, FloatVector scales) {
        int bits = (int) (mask[i >>> 6] >>> i);
        VectorMask<Float> keep = IntVector.broadcast(IS, bits).and(FLOAT_LANE_BITS)
                .compare(VectorOperators.NE, 0).cast(FS);
        return FloatVector.zero(FS).blend(scales, keep);
    }

    @Override
    public void maskedScaleAdd(double[] src, long[] mask, boolean broadcastRows, int cols,
                               double scale, double beta, double[] dst) {
        if (mask == null) {
            super.maskedScaleAdd(src, null, broadcastRows, cols, scale, beta, dst);
            return;
        }
        DoubleVector scales = DoubleVector.broadcast(DS, scale);
        int rowLength = broadcastRows ? cols : src.length;
        for (int r = 0; r < src.length; r += rowLength) {
            int c = 0;
            for (; c <= rowLength - DL; c += DL) {
                int i = r + c;
                DoubleVector v = keptOrZero(mask, c, scales)
                        .mul(DoubleVector.fromArray(DS, src, i));
                if (beta != 0.0) {
                    v = v.add(DoubleVector.fromArray(DS, dst, i).mul(beta));
                }
                v.intoArray(dst, i);
            }
            for (; c < rowLength; c++) {
                int i = r + c;
                dst[i] = mix(keptOrZero(mask, c, scale) * src[i], beta, dst[i]);
            }
        }
    }

    /** The double twin of {@link #keptOrZero(long[], int, FloatVector)}. */
    private static DoubleVector keptOrZero(long[] mask, int i, DoubleVector scales) {
        long bits = mask[i >>> 6] >>> i;
        VectorMask<Double> keep = LongVector.broadcast(LS, bits).and(DOUBLE_LANE_BITS)
                .compare(VectorOperators.NE, 0).cast(DS);
        return DoubleVector.zero(DS).blend(scales, keep);
    }

    /**
     * Philox keep masks, {@link MaskStream#fillWords}'s bits, a vector of blocks at a time: lane l
     * of four int vectors holds the four words of block {@code counter + l}, so one pass of the ten
     * rounds makes {@code 4 * ML} keep bits. The Vector API has no 32 x 32 to 64-bit multiply, so
     * each round's high halves come from four products of 16-bit halves ({@link #mulHigh}), and
     * the low halves from a lane multiply. On a [64, 4096] mask, one thread: 1.8-2.4 ns an element
     * against the scalar path's 3.9-5.8, the same bits (JDK 17 and 25). Two vectors of blocks
     * interleaved in one pass were 7 times as slow: C2 stops inlining the Vector API's methods at
     * its node limit, and the vectors are boxed.
     */
    @Override
    public void fillMask(long[] words, int fromWord, int toWord, long seed, int stream, int step,
                         int size, long threshold) {
        if (threshold > 0xFFFFFFFFL) { // p = 0: every word is below it, which no int compare says
            super.fillMask(words, fromWord, toWord, seed, stream, step, size, threshold);
            return;
        }
        int below = (int) threshold ^ Integer.MIN_VALUE; // see keepBits
        for (int w = fromWord; w < toWord; w++) {
            long bits = 0;
            for (int b = 0; b < BLOCKS_PER_WORD; b += ML) {
                // Word w's 64 elements are blocks 16 w to 16 w + 15; block c's bits start at 4 c.
                long counter = ((long) w << 4) + b;
                bits |= (keepBits(counter, step, stream, seed, below) & 0xFFFFFFFFL) << (4 * b);
            }
            words[w] = MaskStream.clearPastSize(bits, w, size);
        }
    }

    /**
     * The keep bits of blocks {@code counter} to {@code counter + ML - 1}: bit {@code 4 l + j} is
     * word j of block {@code counter + l}. Vectors stay inside this method, so none is boxed.
     */
    private static int keepBits(long counter, int step, int stream, long seed, int below) {
        // counter + ML - 1 < 2^31 (a mask has fewer than 2^31 elements): no lane carries into
        // the high word.
        IntVector c0 = MASK_LANES.add((int) counter);
        IntVector c1 = IntVector.broadcast(MS, (int) (counter >>> 32));
        IntVector c2 = IntVector.broadcast(MS, step);
        IntVector c3 = IntVector.broadcast(MS, stream);
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int round = 0; round < Philox4x32.ROUNDS; round++) {
            IntVector hi0 = mulHigh(c0, Philox4x32.M0);
            IntVector hi1 = mulHigh(c2, Philox4x32.M1);
            IntVector lo0 = c0.mul(Philox4x32.M0);
            IntVector lo1 = c2.mul(Philox4x32.M1);
            c0 = hi1.lanewise(VectorOperators.XOR, c1).lanewise(VectorOperators.XOR, k0);
            c2 = hi0.lanewise(VectorOperators.XOR, c3).lanewise(VectorOperators.XOR, k1);
            c1 = lo1;
            c3 = lo0;
            k0 += Philox4x32.W0;
            k1 += Philox4x32.W1;
        }
        // Unsigned "below the threshold": a signed compare with both sign bits flipped. Written
        // out: through a method returning the lane mask, C2 boxed the vectors (85 bytes and 5
        // times the time an element).
        IntVector none = IntVector.zero(MS);
        return none.blend(WORD0_BITS, c0.lanewise(VectorOperators.XOR, Integer.MIN_VALUE).lt(below))
                .or(none.blend(WORD1_BITS, c1.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                        .lt(below)))
                .or(none.blend(WORD2_BITS, c2.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                        .lt(below)))
                .or(none.blend(WORD3_BITS, c3.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                        .lt(below)))
                .reduceLanes(VectorOperators.OR);
    }

    /**
     * @return the high 32 bits of each lane's unsigned 64-bit product with {@code m}: from the four
     *     products of the 16-bit halves, each below 2^32, and the carries of the middle sums
     */
    private static IntVector mulHigh(IntVector a, int m) {
        int mLow = m & 0xFFFF;
        int mHigh = m >>> 16;
        IntVector aLow = a.and(0xFFFF);
        IntVector aHigh = a.lanewise(VectorOperators.LSHR, 16);
        IntVector low = aLow.mul(mLow);
        IntVector mid = aHigh.mul(mLow).add(low.lanewise(VectorOperators.LSHR, 16));
        IntVector mid2 = aLow.mul(mHigh).add(mid.and(0xFFFF));
        return aHigh.mul(mHigh).add(mid.lanewise(VectorOperators.LSHR, 16))
                .add(mid2.lanewise(VectorOperators.LSHR, 16));
    }

    // ReLU: v where v > 0, else +0 (a NaN gives 0, as the scalar v > 0 ? v : 0 does); its
    // derivative dOut * (pre > 0 ? 1 : 0). Other activations are the scalar path's.

    @Override
    public void activate(Activation activation, float[] pre, float[] out) {
        if (activation != Activation.RELU) {
            super.activate(activation, pre, out);
            return;
        }
        FloatVector zero = FloatVector.zero(FS);
        int i = 0;
        for (; i <= pre.length - FL; i += FL) {
            FloatVector v = FloatVector.fromArray(FS, pre, i);
            zero.blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(out, i);
        }
        for (; i < pre.length; i++) {
            out[i] = activate(activation, pre[i]);
        }
    }

    @Override
    public void activate(Activation activation, double[] pre, double[] out) {
        if (activation != Activation.RELU) {
            super.activate(activation, pre, out);
            return;
        }
        DoubleVector zero = DoubleVector.zero(DS);
        int i = 0;
        for (; i <= pre.length - DL; i += DL) {
            DoubleVector v = DoubleVector.fromArray(DS, pre, i);
            zero.blend(v, v.compare(VectorOperators.GT, 0.0)).intoArray(out, i);
        }
        for (; i < pre.length; i++) {
            out[i] = activate(activation, pre[i]);
        }
    }

    @Override
    public void activationBackward(Activation activation, float[] pre, float[] out, float[] dOut,
                                   float[] dPre) {
        if (activation != Activation.RELU) {
            super.activationBackward(activation, pre, out, dOut, dPre);
            return;
        }
        FloatVector zero = FloatVector.zero(FS);
        FloatVector one = FloatVector.broadcast(FS, 1f);
        int i = 0;
        for (; i <= pre.length - FL; i += FL) {
            VectorMask<Float> positive = FloatVector.fromArray(FS, pre, i)
                    .compare(VectorOperators.GT, 0f);
            FloatVector.fromArray(FS, dOut, i).mul(zero.blend(one, positive)).intoArray(dPre, i);
        }
        for (; i < pre.length; i++) {
            dPre[i] = reluBackward(pre[i], dOut[i]);
        }
    }

    @Override
    public void activationBackward(Activation activation, double[] pre, double[] out,
                                   double[] dOut, double[] dPre) {
        if (activation != Activation.RELU) {
            super.activationBackward(activation, pre, out, dOut, dPre);
            return;
        }
        DoubleVector zero = DoubleVector.zero(DS);
        DoubleVector one = DoubleVector.broadcast(DS, 1.0);
        int i = 0;
        for (; i <= pre.length - DL; i += DL) {
            VectorMask<Double> positive = DoubleVector.fromArray(DS, pre, i)
                    .compare(VectorOperators.GT, 0.0);
            DoubleVector.fromArray(DS, dOut, i).mul(zero.blend(one, positive)).intoArray(dPre, i);
        }
        for (; i < pre.length; i++) {
            dPre[i] = reluBackward(pre[i], dOut[i]);
        }
    }

    // Adam: the scalar path's double arithmetic, operation for operation, DL elements at a time;
    // the tail is the scalar path's.

    @Override
    public void adamStep(float[] param, float[] grad, float[] m, float[] v, double lr,
                         double beta1, double beta2, double epsilon, double weightDecay,
                         boolean decoupled, int step) {
        AdamScalars a = AdamScalars.ofFloats(lr, beta1, beta2, epsilon, weightDecay, decoupled,
                step);
        int i = 0;
        for (; i <= param.length - DL; i += DL) {
            DoubleVector p = widen(param, i);
            DoubleVector g = gradient(p, widen(grad, i), a);
            DoubleVector mi = firstMoment(widen(m, i), g, a);
            DoubleVector vi = secondMoment(widen(v, i), g, a);
            narrow(mi, m, i);
            narrow(vi, v, i);
            narrow(updated(p, mi, vi, a), param, i);
        }
        adamStep(param, grad, m, v, a, i, param.length);
    }

    @Override
    public void adamStep(double[] param, double[] grad, double[] m, double[] v, double lr,
                         double beta1, double beta2, double epsilon, double weightDecay,
                         boolean decoupled, int step) {
        AdamScalars a = AdamScalars.of(lr, beta1, beta2, epsilon, weightDecay, decoupled, step);
        int i = 0;
        for (; i <= param.length - DL; i += DL) {
            DoubleVector p = DoubleVector.fromArray(DS, param, i);
            DoubleVector g = gradient(p, DoubleVector.fromArray(DS, grad, i), a);
            DoubleVector mi = firstMoment(DoubleVector.fromArray(DS, m, i), g, a);
            DoubleVector vi = secondMoment(DoubleVector.fromArray(DS, v, i), g, a);
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            updated(p, mi, vi, a).intoArray(param, i);
        }
        adamStep(param, grad, m, v, a, i, param.length);
    }

    // Each as ScalarKernels' loop computes it, operation for operation.

    private static DoubleVector gradient(DoubleVector p, DoubleVector grad, AdamScalars a) {
        return a.coupled() == 0.0 ? grad : grad.add(p.mul(a.coupled()));
    }

    private static DoubleVector firstMoment(DoubleVector m, DoubleVector g, AdamScalars a) {
        return m.mul(a.beta1()).add(g.mul(1.0 - a.beta1()));
    }

    private static DoubleVector secondMoment(DoubleVector v, DoubleVector g, AdamScalars a) {
        return v.mul(a.beta2()).add(g.mul(1.0 - a.beta2()).mul(g));
    }

    private static DoubleVector updated(DoubleVector p, DoubleVector mi, DoubleVector vi,
                                        AdamScalars a) {
        return p.mul(a.shrink()).sub(mi.div(a.bc1()).mul(a.lr())
                .div(vi.div(a.bc2()).lanewise(VectorOperators.SQRT).add(a.epsilon())));
    }

    private static DoubleVector widen(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(FH, a, i)
                .convertShape(VectorOperators.F2D, DS, 0);
    }

    private static void narrow(DoubleVector d, float[] a, int i) {
        ((FloatVector) d.convertShape(VectorOperators.D2F, FH, 0)).intoArray(a, i);
    }
}
