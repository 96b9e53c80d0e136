/* Internal FFT interface of the EsoCore DSP kernel (not part of the public API). */
#ifndef ESO_FFT_H
#define ESO_FFT_H

#include <stddef.h>

/* Complex FFT plan for a power-of-two length: precomputed twiddles per stage. */
typedef struct {
    size_t n;
    double *twiddles; /* interleaved (re, im): w1, w2, w3 per butterfly of every radix-4 stage */
} eso_cfft;

/* Real-input FFT of length n, computed as a complex FFT of length n/2 plus a split step. */
typedef struct {
    size_t n;
    eso_cfft half;
    double *split; /* interleaved e^{-2 pi i k / n}, k = 0 .. n/4 */
} eso_rfft;

int eso_cfft_init(eso_cfft *plan, size_t n);
void eso_cfft_free(eso_cfft *plan);
/* Forward transform (sign -1), unnormalised. data and scratch hold n interleaved complex values;
   the result is left in data. */
void eso_cfft_forward(const eso_cfft *plan, double *data, double *scratch);

int eso_rfft_init(eso_rfft *plan, size_t n);
void eso_rfft_free(eso_rfft *plan);
/* in: n reals. out: n/2 + 1 interleaved complex bins. scratch: n doubles. */
void eso_rfft_forward(const eso_rfft *plan, const double *in, double *out, double *scratch);

#endif
