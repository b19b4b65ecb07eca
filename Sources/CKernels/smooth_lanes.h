// Internal to CKernels: the vector path of smooth.c, written once over the
// lane macros smooth.c defines before each inclusion (AVX-512, then AVX2).
// Every function performs, lane by lane, the operations of its one-element
// counterpart in smooth.c in the same order; `WIDE(name)` suffixes the names.
//
// The macros: VD (double vector), VF (float vector), FLOATS (floats a pass),
// TARGET (the function attribute), D_SET, D_ZERO, D_ADD, D_SUB, D_MUL, D_DIV,
// D_MIN, D_MAX, D_ABS, D_WITH_SIGN_OF, D_IF(a, op, b, then, else),
// D_EXP2_BITS(k, shift) (2^(k − shift) from the exponent bits), F_LOAD,
// F_STORE, F_SET, F_ZERO, F_ADD, F_SUB, F_MUL, F_IF(a, op, b, then, else) and
// IN_DOUBLE(x, function) (function of the floats x in double halves, rounded
// once, NaN lanes keeping x).

TARGET static inline VD WIDE(exp)(VD y) {
    const VD shift = D_SET(SHIFT);
    const VD k = D_ADD(D_MUL(y, D_SET(LOG2E)), shift);
    const VD n = D_SUB(k, shift);
    const VD r = D_SUB(D_SUB(y, D_MUL(n, D_SET(LN2_HI))), D_MUL(n, D_SET(LN2_LO)));
    VD p = D_SET(reciprocalFactorials[10]);
    for (int i = 9; i >= 0; i--) p = D_ADD(D_MUL(p, r), D_SET(reciprocalFactorials[i]));
    return D_MUL(p, D_EXP2_BITS(k, shift));
}

TARGET static inline VD WIDE(sigmoid)(VD x) {
    const VD clamped = D_MIN(D_MAX(x, D_SET(-LIMIT)), D_SET(LIMIT));
    return D_DIV(D_SET(1.0), D_ADD(D_SET(1.0), WIDE(exp)(D_SUB(D_ZERO, clamped))));
}

TARGET static inline VD WIDE(tanh)(VD x) {
    const VD t = D_ABS(x);
    const VD t2 = D_MUL(t, t);
    const VD series = D_ADD(t, D_MUL(t, D_MUL(t2, D_ADD(D_SET(-1.0 / 3), D_MUL(t2, D_SET(2.0 / 15))))));
    const VD e = WIDE(exp)(D_MUL(D_SET(2.0), D_MIN(t, D_SET(TANH_CLAMP))));
    const VD far = D_SUB(D_SET(1.0), D_DIV(D_SET(2.0), D_ADD(e, D_SET(1.0))));
    // r ≥ 0 takes x's sign; x = ±0 gives r = 0 with its sign.
    return D_WITH_SIGN_OF(D_IF(t, _CMP_LT_OQ, D_SET(SMALL), series, far), x);
}

TARGET static inline VD WIDE(elu)(VD x, VD alpha) {
    const VD one = D_SET(1.0);
    const VD series = D_MUL(x, D_ADD(one, D_MUL(x, D_ADD(D_SET(0.5), D_MUL(x, D_ADD(D_SET(1.0 / 6), D_MUL(x, D_SET(1.0 / 24))))))));
    const VD clamped = D_MIN(D_MAX(x, D_SET(-LIMIT)), D_SET(LIMIT));
    const VD em1 = D_IF(D_ABS(x), _CMP_LT_OQ, D_SET(SMALL), series, D_SUB(WIDE(exp)(clamped), one));
    return D_IF(x, _CMP_GT_OQ, D_ZERO, x, D_MUL(alpha, em1));
}

TARGET static inline VD WIDE(softplus)(VD x) {
    const VD y = WIDE(exp)(D_SUB(D_ZERO, D_MIN(D_ABS(x), D_SET(LIMIT))));
    const VD u = D_DIV(y, D_ADD(D_SET(2.0), y)), u2 = D_MUL(u, u);
    VD series = D_SET(reciprocalOdds[ATANH_TERMS - 1]);
    for (int k = ATANH_TERMS - 2; k >= 0; k--) series = D_ADD(D_MUL(series, u2), D_SET(reciprocalOdds[k]));
    return D_ADD(D_IF(x, _CMP_GT_OQ, D_ZERO, x, D_ZERO), D_MUL(D_SET(2.0), D_MUL(u, series)));
}

/// erfc(v): Cody's three regions in every lane, then the one |v| falls in.
TARGET static inline VD WIDE(erfc)(VD v) {
    const VD y = D_ABS(v);
    const VD t = D_MUL(y, y);
    VD num1 = D_MUL(D_SET(erfA[4]), t), den1 = t;
    for (int i = 0; i < 3; i++) {
        num1 = D_MUL(D_ADD(num1, D_SET(erfA[i])), t);
        den1 = D_MUL(D_ADD(den1, D_SET(erfB[i])), t);
    }
    const VD near = D_SUB(D_SET(1.0), D_DIV(D_MUL(v, D_ADD(num1, D_SET(erfA[3]))), D_ADD(den1, D_SET(erfB[3]))));
    const VD e = WIDE(exp)(D_MAX(D_SUB(D_ZERO, t), D_SET(-LIMIT)));
    VD num2 = D_MUL(D_SET(erfC[8]), y), den2 = y;
    for (int i = 0; i < 7; i++) {
        num2 = D_MUL(D_ADD(num2, D_SET(erfC[i])), y);
        den2 = D_MUL(D_ADD(den2, D_SET(erfD[i])), y);
    }
    const VD middle = D_MUL(e, D_DIV(D_ADD(num2, D_SET(erfC[7])), D_ADD(den2, D_SET(erfD[7]))));
    const VD z = D_DIV(D_SET(1.0), t);
    VD num3 = D_MUL(D_SET(erfP[5]), z), den3 = z;
    for (int i = 0; i < 4; i++) {
        num3 = D_MUL(D_ADD(num3, D_SET(erfP[i])), z);
        den3 = D_MUL(D_ADD(den3, D_SET(erfQ[i])), z);
    }
    const VD far = D_MUL(e, D_DIV(D_SUB(D_SET(ONE_OVER_SQRT_PI), D_DIV(D_MUL(z, D_ADD(num3, D_SET(erfP[4]))), D_ADD(den3, D_SET(erfQ[4])))), y));
    const VD tail = D_IF(y, _CMP_LE_OQ, D_SET(ERF_MIDDLE), middle, far);
    const VD reflected = D_IF(v, _CMP_LT_OQ, D_ZERO, D_SUB(D_SET(2.0), tail), tail);
    return D_IF(y, _CMP_LE_OQ, D_SET(ERF_SMALL), near, reflected);
}

TARGET static inline VD WIDE(gelu_cdf)(VD x) { return D_MUL(D_SET(0.5), WIDE(erfc)(D_MUL(x, D_SET(NEG_ONE_OVER_SQRT2)))); }

TARGET static inline VD WIDE(gelu_derivative)(VD x) {
    const VD half = D_MAX(D_MUL(D_SET(-0.5), D_MUL(x, x)), D_SET(-LIMIT));
    return D_ADD(WIDE(gelu_cdf)(x), D_MUL(x, D_MUL(WIDE(exp)(half), D_SET(ONE_OVER_SQRT_2PI))));
}

TARGET static inline VD WIDE(silu_derivative)(VD d) {
    const VD s = WIDE(sigmoid)(d), one = D_SET(1.0);
    return D_MUL(s, D_ADD(one, D_MUL(d, D_SUB(one, s))));
}

TARGET static inline VD WIDE(value)(int kind, VD alpha, VD d) {
    switch (kind) {
    case DPT_SMOOTH_SIGMOID: return WIDE(sigmoid)(d);
    case DPT_SMOOTH_TANH: return WIDE(tanh)(d);
    case DPT_SMOOTH_SILU: return D_MUL(d, WIDE(sigmoid)(d));
    case DPT_SMOOTH_ELU: return WIDE(elu)(d, alpha);
    case DPT_SMOOTH_SOFTPLUS: return WIDE(softplus)(d);
    default: return D_MUL(d, WIDE(gelu_cdf)(d));
    }
}

TARGET static void WIDE(forward_row)(int kind, float parameter, float *z, float *a, const float *bias, long n) {
    const VD alpha = D_SET(parameter);
    long j = 0;
    for (; j + FLOATS <= n; j += FLOATS) {
        const VF x = F_ADD(F_LOAD(z + j), F_LOAD(bias + j));
        F_STORE(z + j, x);
#define DPT_VALUE(d) WIDE(value)(kind, alpha, d)
        F_STORE(a + j, IN_DOUBLE(x, DPT_VALUE));
#undef DPT_VALUE
    }
    forward_row_scalar(kind, parameter, z, a, bias, j, n);
}

TARGET static void WIDE(backward_row)(int kind, float parameter, float *g, const float *z, const float *a, long n) {
    const VF one = F_SET(1.0f);
    long j = 0;
    for (; j + FLOATS <= n; j += FLOATS) {
        VF derivative;
        if (kind == DPT_SMOOTH_SIGMOID) {
            const VF y = F_LOAD(a + j);
            derivative = F_MUL(y, F_SUB(one, y));
        } else if (kind == DPT_SMOOTH_TANH) {
            const VF y = F_LOAD(a + j);
            derivative = F_SUB(one, F_MUL(y, y));
        } else if (kind == DPT_SMOOTH_ELU) {
            derivative = F_IF(F_LOAD(z + j), _CMP_GT_OQ, F_ZERO, one, F_ADD(F_LOAD(a + j), F_SET(parameter)));
        } else {
            const VF x = F_LOAD(z + j);
            derivative = kind == DPT_SMOOTH_SILU   ? IN_DOUBLE(x, WIDE(silu_derivative))
                         : kind == DPT_SMOOTH_GELU ? IN_DOUBLE(x, WIDE(gelu_derivative))
                                                   : IN_DOUBLE(x, WIDE(sigmoid));
        }
        F_STORE(g + j, F_MUL(F_LOAD(g + j), derivative));
    }
    backward_row_scalar(kind, parameter, g, z, a, j, n);
}
