/* Power-of-two FFTs: radix-4 Stockham autosort (no bit reversal pass) with one radix-2 stage
   when log2(n) is odd, and a real-input FFT built on a half-length complex FFT. Written for
   portable C11: the inner loops are plain enough for GCC/Clang to vectorise on x86 and ARM. */
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double TWO_PI = 6.283185307179586476925286766559;

int eso_cfft_init(eso_cfft *plan, size_t n)
{
    plan->n = n;
    plan->twiddles = NULL;
    if (n < 2 || (n & (n - 1)) != 0)
        return -1;
    /* One (w1, w2, w3) triple per butterfly column p of each radix-4 stage: at most n in total. */
    size_t count = 0;
    for (size_t len = n; len >= 4; len /= 4)
        count += 3 * (len / 4);
    plan->twiddles = malloc(2 * (count + 1) * sizeof(double));
    if (!plan->twiddles)
        return -1;
    double *w = plan->twiddles;
    for (size_t len = n; len >= 4; len /= 4) {
        size_t m = len / 4;
        for (size_t p = 0; p < m; p++) {
            for (int k = 1; k <= 3; k++) {
                double angle = -TWO_PI * (double)(k * p) / (double)len;
                *w++ = cos(angle);
                *w++ = sin(angle);
            }
        }
    }
    return 0;
}

void eso_cfft_free(eso_cfft *plan)
{
    free(plan->twiddles);
    plan->twiddles = NULL;
}

/* One radix-4 stage: len is the current sub-transform length, s the stride (number of
   interleaved sub-transforms). Reads x, writes y. */
static void radix4_stage(size_t len, size_t s, const double *restrict x, double *restrict y,
                         const double *restrict tw)
{
    const size_t m = len / 4;
    for (size_t p = 0; p < m; p++) {
        const double w1r = tw[6 * p + 0], w1i = tw[6 * p + 1];
        const double w2r = tw[6 * p + 2], w2i = tw[6 * p + 3];
        const double w3r = tw[6 * p + 4], w3i = tw[6 * p + 5];
        const double *a = x + 2 * s * p;
        const double *b = x + 2 * s * (p + m);
        const double *c = x + 2 * s * (p + 2 * m);
        const double *d = x + 2 * s * (p + 3 * m);
        double *y0 = y + 2 * s * (4 * p + 0);
        double *y1 = y + 2 * s * (4 * p + 1);
        double *y2 = y + 2 * s * (4 * p + 2);
        double *y3 = y + 2 * s * (4 * p + 3);
        for (size_t q = 0; q < 2 * s; q += 2) {
            const double apc_r = a[q] + c[q], apc_i = a[q + 1] + c[q + 1];
            const double amc_r = a[q] - c[q], amc_i = a[q + 1] - c[q + 1];
            const double bpd_r = b[q] + d[q], bpd_i = b[q + 1] + d[q + 1];
            /* j * (b - d) */
            const double jbmd_r = -(b[q + 1] - d[q + 1]), jbmd_i = b[q] - d[q];
            y0[q] = apc_r + bpd_r;
            y0[q + 1] = apc_i + bpd_i;
            const double t1r = amc_r - jbmd_r, t1i = amc_i - jbmd_i;
            y1[q] = w1r * t1r - w1i * t1i;
            y1[q + 1] = w1r * t1i + w1i * t1r;
            const double t2r = apc_r - bpd_r, t2i = apc_i - bpd_i;
            y2[q] = w2r * t2r - w2i * t2i;
            y2[q + 1] = w2r * t2i + w2i * t2r;
            const double t3r = amc_r + jbmd_r, t3i = amc_i + jbmd_i;
            y3[q] = w3r * t3r - w3i * t3i;
            y3[q + 1] = w3r * t3i + w3i * t3r;
        }
    }
}

/* Final radix-2 stage (sub-transform length 2, twiddle 1). */
static void radix2_last(size_t s, const double *restrict x, double *restrict y)
{
    const double *a = x;
    const double *b = x + 2 * s;
    double *y0 = y;
    double *y1 = y + 2 * s;
    for (size_t q = 0; q < 2 * s; q++) {
        y0[q] = a[q] + b[q];
        y1[q] = a[q] - b[q];
    }
}

void eso_cfft_forward(const eso_cfft *plan, double *data, double *scratch)
{
    double *x = data, *y = scratch;
    const double *tw = plan->twiddles;
    size_t len = plan->n, s = 1;
    while (len >= 4) {
        radix4_stage(len, s, x, y, tw);
        tw += 6 * (len / 4);
        double *t = x;
        x = y;
        y = t;
        len /= 4;
        s *= 4;
    }
    if (len == 2) {
        radix2_last(s, x, y);
        double *t = x;
        x = y;
        y = t;
    }
    if (x != data)
        memcpy(data, x, 2 * plan->n * sizeof(double));
}

int eso_rfft_init(eso_rfft *plan, size_t n)
{
    plan->n = n;
    plan->split = NULL;
    plan->half.twiddles = NULL;
    if (n < 4 || (n & (n - 1)) != 0)
        return -1;
    if (eso_cfft_init(&plan->half, n / 2) != 0)
        return -1;
    size_t count = n / 4 + 1;
    plan->split = malloc(2 * count * sizeof(double));
    if (!plan->split) {
        eso_cfft_free(&plan->half);
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        double angle = -TWO_PI * (double)k / (double)n;
        plan->split[2 * k] = cos(angle);
        plan->split[2 * k + 1] = sin(angle);
    }
    return 0;
}

void eso_rfft_free(eso_rfft *plan)
{
    eso_cfft_free(&plan->half);
    free(plan->split);
    plan->split = NULL;
}

/* X[k] = E[k] + W^k O[k] where E, O are the spectra of the even and odd samples, recovered
   from Z = FFT(even + i*odd): E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / 2i. */
void eso_rfft_forward(const eso_rfft *plan, const double *in, double *out, double *scratch)
{
    const size_t n = plan->n, h = n / 2;
    /* The packed even/odd samples are exactly the input read as h complex values. */
    memcpy(out, in, n * sizeof(double));
    eso_cfft_forward(&plan->half, out, scratch);
    const double z0r = out[0], z0i = out[1];
    const double *w = plan->split;
    for (size_t k = 1; k <= h / 2; k++) {
        const size_t j = h - k;
        const double zkr = out[2 * k], zki = out[2 * k + 1];
        const double zjr = out[2 * j], zji = out[2 * j + 1];
        const double er = 0.5 * (zkr + zjr), ei = 0.5 * (zki - zji);
        const double or_ = 0.5 * (zki + zji), oi = -0.5 * (zkr - zjr);
        const double wr = w[2 * k], wi = w[2 * k + 1];
        const double tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        out[2 * k] = er + tr;
        out[2 * k + 1] = ei + ti;
        /* Bin h-k uses conj symmetry: E[h-k] = conj E[k], O[h-k] = conj O[k], W^(h-k) = -conj W^k. */
        out[2 * j] = er - tr;
        out[2 * j + 1] = -ei + ti;
    }
    out[0] = z0r + z0i;
    out[1] = 0.0;
    out[2 * h] = z0r - z0i;
    out[2 * h + 1] = 0.0;
}
