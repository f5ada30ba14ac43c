/* Compiled CPU helpers of `simulate`: its draws and its quantiles, nothing of the race model itself.
 *
 * Built at install time by setuptools (analysis/model/kernels/native_build.py: cffi, -O3 -march=native
 * -ffp-contract=off) and loaded by kernels/native.py. Two parts:
 *   race_sample / race_ndtri: counter-based Philox streams and their inverse CDFs (sampling.py holds
 *     the NumPy form of the same numbers, the reference);
 *   race_select: exact quantiles by radix selection (summary.py; np.partition is the reference).
 * The race kernel's CPU fast path is NumPy (kernels/race_cpu.py): since the race launches each run
 * once, on a cluster fixed at launch, most draws need one step of the capacity tables, and NumPy on
 * the draws still waiting does that faster than a compiled loop over every step did.
 */
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * Draws for `simulate` (sampling.sample_streams): counter-based streams and their inverse CDFs.
 *
 * Draw i of a stream keyed (seed, stream id) is lane i % 4 of the Philox4x64-10 block with counter
 * i / 4 + 1 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"; the Random123
 * constants), exactly what NumPy's np.random.Philox(key=[seed, stream], counter=i / 4) gives next,
 * so any range of draws is computed on its own (no chunk or thread changes a number) and the NumPy
 * form in sampling.py is the reference (tests/test_sampling.py). A uniform is (x >> 11) x 2^-53
 * (NumPy's random()), clipped to [1e-12, 1 - 1e-12] as sampling.uniforms does.
 * ------------------------------------------------------------------------------------------------ */
#include <math.h>

typedef unsigned long long u64;

/* The 128-bit product a x b: low word returned, high word in *hi (one instruction on 64-bit
 * targets; from 32-bit halves where the compiler has no 128-bit integer). */
static inline u64 mulhilo64(u64 a, u64 b, u64 *hi) {
#ifdef __SIZEOF_INT128__
    const unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (u64)(p >> 64);
    return (u64)p;
#else
    const u64 al = a & 0xFFFFFFFFULL, ah = a >> 32, bl = b & 0xFFFFFFFFULL, bh = b >> 32;
    const u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    const u64 mid = (ll >> 32) + (lh & 0xFFFFFFFFULL) + (hl & 0xFFFFFFFFULL);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return (mid << 32) | (ll & 0xFFFFFFFFULL);
#endif
}

/* PHILOX_WAYS consecutive blocks at once: their rounds are independent, so the multiplies of one
 * overlap the other's. Measured on the 2-core EPYC (words made and stored): 1 way 3.5 ns/word,
 * 2 ways 3.2, 4 ways 4.8 (their state no longer fits the registers). */
#define PHILOX_WAYS 2
static inline void philox4x64_10(u64 block, u64 key0, u64 key1, u64 out[4 * PHILOX_WAYS]) {
    u64 x0[PHILOX_WAYS], x1[PHILOX_WAYS], x2[PHILOX_WAYS], x3[PHILOX_WAYS], k0 = key0, k1 = key1;
    for (int w = 0; w < PHILOX_WAYS; ++w) { x0[w] = block + (u64)w; x1[w] = x2[w] = x3[w] = 0; }
    for (int r = 0; r < 10; ++r) {
        if (r) { k0 += 0x9E3779B97F4A7C15ULL; k1 += 0xBB67AE8584CAA73BULL; }
        for (int w = 0; w < PHILOX_WAYS; ++w) {
            u64 hi0, hi1;
            const u64 lo0 = mulhilo64(0xD2E7470EE14C6C93ULL, x0[w], &hi0);
            const u64 lo1 = mulhilo64(0xCA5A826395121157ULL, x2[w], &hi1);
            x0[w] = hi1 ^ x1[w] ^ k0; x1[w] = lo1; x2[w] = hi0 ^ x3[w] ^ k1; x3[w] = lo0;
        }
    }
    for (int w = 0; w < PHILOX_WAYS; ++w) {
        out[4 * w] = x0[w]; out[4 * w + 1] = x1[w]; out[4 * w + 2] = x2[w]; out[4 * w + 3] = x3[w];
    }
}

/* Inverse of the standard normal CDF: Wichura's algorithm AS241 (PPND16, Applied Statistics 37(3),
 * 1988), about 1e-16 relative; sampling.py's NumPy form uses scipy.special.ndtri (tests compare). */
static inline double ndtri_centre(double q) {  /* |q| = |p - 0.5| <= 0.425 */
    const double r = 0.180625 - q * q;
    return q * (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r
                    + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r
                 + 1.3314166789178437745e2) * r + 3.3871328727963666080e0)
         / (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
                 + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
              + 4.2313330701600911252e1) * r + 1.0);
}

static double ndtri_tail(double p, double q) {  /* |q| > 0.425 */
    double r = sqrt(-log(q < 0.0 ? p : 1.0 - p)), x;
    if (r <= 5.0) {
        r -= 1.6;
        x = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r
                 + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
              + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)
          / (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r
                 + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
              + 2.05319162663775882187e0) * r + 1.0);
    } else {
        r -= 5.0;
        x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r
                 + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
              + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)
          / (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r
                 + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
              + 5.99832206555887937690e-1) * r + 1.0);
    }
    return q < 0.0 ? -x : x;
}

static inline double ndtri_as241(double p) {
    const double q = p - 0.5;
    return fabs(q) <= 0.425 ? ndtri_centre(q) : ndtri_tail(p, q);
}

/* ndtri over n values in place: the central branch (85% of uniforms) for every value in one
 * branch-free loop the compiler vectorizes, then the tails one by one (the same numbers as ndtri_as241).
 * n is at most SAMPLE_PIECE (race_sample calls it piece by piece). */
#define SAMPLE_PIECE 512
static void ndtri_in_place(double *x, int n) {
    double centre[SAMPLE_PIECE];
    for (int j = 0; j < n; ++j) centre[j] = ndtri_centre(x[j] - 0.5);
    for (int j = 0; j < n; ++j) {
        const double p = x[j], q = p - 0.5;
        x[j] = fabs(q) <= 0.425 ? centre[j] : ndtri_tail(p, q);
    }
}

/* Triangular inverse CDF in place: low + sqrt(u a) below the cut, high - sqrt((1 - u) b) above; both
 * sides computed so that the choice is a select. GCC vectorizes the loop only when it may assume no
 * floating-point trap (-fno-trapping-math), asked for here alone: the file-wide flag slowed the
 * uniforms' loop (no AVX2 form of the 64-bit integer to double conversion it then tries). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-trapping-math")))
#endif
static void triangular_in_place(double *o, int n, double low, double high, double cut, double a, double b) {
    for (int j = 0; j < n; ++j) {
        const double u = o[j], below = u * a, above = (1.0 - u) * b;
        const int left = u < cut;
        const double t = sqrt(left ? below : above), up = low + t, down = high - t;
        o[j] = left ? up : down;
    }
}

/* The clipped uniforms of draws [a, z) of the stream keyed (seed, id) into o[0 .. z - a). */
static inline void uniforms_into(double *o, long long a, long long z, u64 seed, u64 id) {
    const long long per = 4 * PHILOX_WAYS, n = z - a;
    for (long long b = (a >> 2) / PHILOX_WAYS * PHILOX_WAYS; 4 * b < z; b += PHILOX_WAYS) {
        u64 x[4 * PHILOX_WAYS];
        philox4x64_10((u64)b + 1, seed, id, x);
        const long long j0 = 4 * b - a;
        if (j0 >= 0 && j0 + per <= n) {
            for (int l = 0; l < per; ++l) {
                const double u = (double)(x[l] >> 11) * 0x1.0p-53;
                o[j0 + l] = u < 1e-12 ? 1e-12 : (u > 1.0 - 1e-12 ? 1.0 - 1e-12 : u);
            }
            continue;
        }
        for (int l = 0; l < per; ++l) {
            const long long j = j0 + l;
            if (j < 0 || j >= n) continue;
            const double u = (double)(x[l] >> 11) * 0x1.0p-53;
            o[j] = u < 1e-12 ? 1e-12 : (u > 1.0 - 1e-12 ? 1.0 - 1e-12 : u);
        }
    }
}

/* race_sample: draws [lo, hi) of n_streams streams into out[s x stride + (i - lo)]. Per stream: its id
 * (the key's second word; the first is the seed), its kind and five parameters param[5 s .. 5 s + 4]:
 *   0 fixed p0;  1 the clipped uniform u;  2 uniform: u x (p1 - p0) + p0 (p0 = low, p1 = high);
 *   3 triangular (p0 = low, p1 = high, p2 = (mode - low) / width, p3 = width (mode - low),
 *     p4 = width (high - mode)): low + sqrt(u p3) below the mode, high - sqrt((1 - u) p4) above;
 *   4 lognormal (p0 = mu, p1 = sigma): its logarithm ndtri(u) x sigma + mu; the caller takes exp
 *     (NumPy's, about 1 ns a value where this EPYC's libm takes 6; sampling.sample_streams).
 * The operations are sampling.py's NumPy form's, in its order (no fused multiply-adds), so kinds 0-3
 * agree with it bit for bit and kind 4 to ndtri's last bits. Returns -1 (an unknown kind; nothing to
 * use) or 0. */
int race_sample(long long lo, long long hi, unsigned long long seed, int n_streams, const unsigned long long *stream, const int *kind, const double *param, double *out, long long stride)
{
    if (hi <= lo) return 0;
    for (int s = 0; s < n_streams; ++s)
        if (kind[s] < 0 || kind[s] > 4) return -1;
    for (int s = 0; s < n_streams; ++s) {
        const double *p = param + 5 * s;
        double *o = out + s * stride;
        const long long n = hi - lo;
        if (kind[s] == 0) {
            for (long long j = 0; j < n; ++j) o[j] = p[0];
            continue;
        }
        /* Piece by piece (SAMPLE_PIECE draws, 4 KB): a piece's uniforms are still in the L1 cache when
         * its inverse CDF runs, so each value goes to memory once (measured at 1e6 draws of one
         * stream: triangular 6.2 -> 4.3 ns a draw; the lognormal, bound by its arithmetic, gained nothing). */
        for (long long a = lo, z; a < hi; a = z) {
            z = (a / SAMPLE_PIECE + 1) * SAMPLE_PIECE;  /* pieces aligned to the draw index: no block made twice */
            if (z > hi) z = hi;
            double *const op = o + (a - lo);
            uniforms_into(op, a, z, seed, stream[s]);
            const int m = (int)(z - a);
            switch (kind[s]) {
            case 2: {
                const double w = p[1] - p[0], low = p[0];
                for (int j = 0; j < m; ++j) op[j] = op[j] * w + low;
                break;
            }
            case 3:
                triangular_in_place(op, m, p[0], p[1], p[2], p[3], p[4]);
                break;
            case 4: {
                ndtri_in_place(op, m);
                const double mu = p[0], sigma = p[1];
                for (int j = 0; j < m; ++j) op[j] = op[j] * sigma + mu;  /* the caller takes exp */
                break;
            }
            default:
                break;
            }
        }
    }
    return 0;
}

/* ndtri_as241 on n values (tests compare it with scipy.special.ndtri, tails included). */
int race_ndtri(long long n, const double *u, double *out)
{
    for (long long j = 0; j < n; ++j) out[j] = ndtri_as241(u[j]);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Quantiles for simulate's summaries (results.select_quantiles): exact order statistics by radix
 * selection, two or four passes over the array and no reordering, in place of np.partition.
 *
 * Each value maps to an unsigned key with the same order (sign bit set: every bit flipped; else the
 * sign bit set); a float's 32-bit key is the top half of a 64-bit one. Pass 1 counts the keys' top 16
 * bits; each order statistic's bin and its rank inside the bin follow from the running count. Each
 * further pass counts the next 16 bits of the keys whose bits so far match a wanted statistic's, so
 * after 2 passes (float) or 4 (double) every wanted key is known exactly: np.partition's value, bit
 * for bit (of -0.0 and 0.0, either may be returned where np.partition returns the other: equal values).
 * The positions are np.quantile's linear rule (results._order_statistics): pos = q (m - 1),
 * lo = floor(pos), hi = min(lo + 1, m - 1), over the m values counted.
 * ------------------------------------------------------------------------------------------------ */
#include <stdlib.h>

#define SELECT_MAX 16  /* order statistics per call: 2 per level */

static inline __attribute__((always_inline)) u64 select_key(const void *values, int is_double, long long i,
                                                            int *nan, int *inf) {
    if (is_double) {
        u64 b;
        memcpy(&b, (const double *)values + i, 8);
        const u64 mag = b & 0x7FFFFFFFFFFFFFFFULL;
        *nan = mag > 0x7FF0000000000000ULL;
        *inf = mag == 0x7FF0000000000000ULL;
        return (b >> 63) ? ~b : b | 0x8000000000000000ULL;
    }
    unsigned int b;
    memcpy(&b, (const float *)values + i, 4);
    const unsigned int mag = b & 0x7FFFFFFFu;
    *nan = mag > 0x7F800000u;
    *inf = mag == 0x7F800000u;
    return (u64)((b >> 31) ? ~b : b | 0x80000000u) << 32;
}

/* Pass 1: the top 16 bits of every counted key into four histograms (by i mod 4, so that runs of
 * equal keys do not wait on one counter), the count and four partial sums. Returns 1 on a NaN. */
static inline __attribute__((always_inline)) int select_first_pass(long long n, const void *values, int is_double,
                                                                  int finite_only, unsigned int *hist4,
                                                                  long long *count, double part[4]) {
    int any_nan = 0;
    long long m = 0;
    for (long long i = 0; i < n; ++i) {
        int nan, inf;
        const u64 key = select_key(values, is_double, i, &nan, &inf);
        if (nan) { any_nan = 1; continue; }
        if (inf && finite_only) continue;
        ++hist4[((size_t)(i & 3) << 16) + (key >> 48)];
        ++m;
        part[i & 3] += is_double ? ((const double *)values)[i] : (double)((const float *)values)[i];
    }
    *count = m;
    return any_nan;
}

/* A further pass: the digit at `shift` of every counted key whose bits above it are one of the nd
 * prefixes, into that prefix's histogram. slot16: the prefix (+1) of each top-16-bit value, 0 for none
 * (a quick test before the prefixes are compared). */
static inline __attribute__((always_inline)) void select_next_pass(long long n, const void *values, int is_double,
                                                                  int finite_only, int shift, int nd,
                                                                  const u64 *dprefix, const unsigned char *slot16,
                                                                  unsigned int *hist) {
    const u64 high = ~0ULL << (shift + 16);
    for (long long i = 0; i < n; ++i) {
        int nan, inf;
        const u64 key = select_key(values, is_double, i, &nan, &inf);
        const int first = slot16[key >> 48];
        if (!first || nan || (inf && finite_only)) continue;
        const u64 top = key & high;
        for (int s = first - 1; s < nd; ++s)
            if (top == dprefix[s]) { ++hist[((size_t)s << 16) + ((key >> shift) & 0xFFFF)]; break; }
    }
}

static inline double select_value(u64 key, int is_double) {
    if (is_double) {
        const u64 b = (key >> 63) ? key & 0x7FFFFFFFFFFFFFFFULL : ~key;
        double v;
        memcpy(&v, &b, 8);
        return v;
    }
    const unsigned int k32 = (unsigned int)(key >> 32), b = (k32 >> 31) ? k32 & 0x7FFFFFFFu : ~k32;
    float v;
    memcpy(&v, &b, 4);
    return (double)v;
}

/* race_select: for each of n_levels levels q, the order statistics lo and hi of the counted values
 * (value_lo, value_hi; double) and the interpolation weight pos - lo (weight); *count: the values
 * counted; *sum: their sum in double (for the mean). Counted: every value but NaN (finite_only = 0;
 * then a NaN makes the call return -2, nothing to use), or every finite value (finite_only = 1).
 * values: n floats (is_double = 0) or doubles. Returns 0; -1 when n_levels is out of range or
 * memory runs out (the caller partitions instead); with no value counted, *count = 0 and nothing else
 * is written. More than 2^32 - 1 values: -1 as well (the counters are 32-bit). */
int race_select(long long n, const void *values, int is_double, int finite_only, int n_levels, const double *levels, double *value_lo, double *value_hi, double *weight, long long *count, double *sum)
{
    if (n_levels < 1 || 2 * n_levels > SELECT_MAX || n > 0xFFFFFFFFLL) return -1;  /* 32-bit counters */
    unsigned int *hist = calloc((size_t)SELECT_MAX << 16, sizeof *hist);
    unsigned char *slot16 = malloc(1 << 16);
    if (!hist || !slot16) { free(hist); free(slot16); return -1; }
    long long m = 0;
    double part[4] = {0.0, 0.0, 0.0, 0.0};
    const int any_nan = is_double ? select_first_pass(n, values, 1, finite_only, hist, &m, part)
                                  : select_first_pass(n, values, 0, finite_only, hist, &m, part);
    for (int d = 0; d < 1 << 16; ++d)  /* the four histograms into the first */
        hist[d] += hist[(1 << 16) + d] + hist[(2 << 16) + d] + hist[(3 << 16) + d];
    *count = m;
    *sum = (part[0] + part[1]) + (part[2] + part[3]);
    if ((any_nan && !finite_only) || m == 0) { free(hist); free(slot16); return any_nan && !finite_only ? -2 : 0; }
    /* The wanted ranks (levels in any order). */
    const int nk = 2 * n_levels;
    long long rank[SELECT_MAX];
    for (int j = 0; j < n_levels; ++j) {
        const double pos = levels[j] * (double)(m - 1);
        long long lo = (long long)floor(pos);
        if (lo < 0) lo = 0;
        if (lo > m - 1) lo = m - 1;
        rank[2 * j] = lo;
        rank[2 * j + 1] = lo + 1 < m ? lo + 1 : m - 1;
        weight[j] = pos - (double)lo;
    }
    u64 prefix[SELECT_MAX];      /* each wanted key's bits found so far, at the top */
    long long left[SELECT_MAX];  /* each rank among the keys that share its prefix */
    for (int j = 0; j < nk; ++j) { prefix[j] = 0; left[j] = rank[j]; }
    const int passes = is_double ? 4 : 2;
    for (int pass = 0; pass < passes; ++pass) {
        const int shift = 48 - 16 * pass;  /* this pass counts key bits shift .. shift + 15 */
        /* Distinct prefixes among the wanted keys, one histogram each (pass 0: one, every key),
         * ordered so that those sharing their top 16 bits are adjacent (slot16 points at the first). */
        u64 dprefix[SELECT_MAX];
        int slot_of[SELECT_MAX], nd = 0;
        for (int j = 0; j < nk; ++j) {
            int s = 0;
            while (s < nd && dprefix[s] != prefix[j]) ++s;
            if (s == nd) dprefix[nd++] = prefix[j];
        }
        for (int a = 1; a < nd; ++a)  /* insertion sort: equal top 16 bits adjacent */
            for (int b = a; b > 0 && dprefix[b - 1] > dprefix[b]; --b) {
                const u64 t = dprefix[b]; dprefix[b] = dprefix[b - 1]; dprefix[b - 1] = t;
            }
        for (int j = 0; j < nk; ++j) {
            int s = 0;
            while (dprefix[s] != prefix[j]) ++s;
            slot_of[j] = s;
        }
        if (pass > 0) {
            memset(hist, 0, ((size_t)nd << 16) * sizeof *hist);
            memset(slot16, 0, 1 << 16);
            for (int s = nd - 1; s >= 0; --s) slot16[dprefix[s] >> 48] = (unsigned char)(s + 1);
            if (is_double) select_next_pass(n, values, 1, finite_only, shift, nd, dprefix, slot16, hist);
            else select_next_pass(n, values, 0, finite_only, shift, nd, dprefix, slot16, hist);
        }
        /* Each wanted rank: the digit whose running count passes it, and its rank among those keys. */
        for (int j = 0; j < nk; ++j) {
            const unsigned int *h = hist + ((size_t)slot_of[j] << 16);
            long long below = 0;
            int digit = 0;
            while (digit < 0xFFFF && below + h[digit] <= left[j]) below += h[digit++];
            left[j] -= below;
            prefix[j] |= (u64)digit << shift;
        }
    }
    free(hist);
    free(slot16);
    for (int j = 0; j < n_levels; ++j) {
        value_lo[j] = select_value(prefix[2 * j], is_double);
        value_hi[j] = select_value(prefix[2 * j + 1], is_double);
    }
    return 0;
}
