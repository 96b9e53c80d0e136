/* Frame analysis: time-domain statistics, windowed amplitude spectrum, band RMS (velocity,
   high-frequency, user bands), interpolated peaks and envelope (demodulation) spectrum.
   dsp_ext/reference.py defines the same numbers in numpy/scipy; keep the two in step. */
#include "esocore_dsp.h"
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 4 /* bins of spectrum padding on each side, for the frequency-domain window */
#define MAX_WINDOW_TERMS 5

static const double PI = 3.14159265358979323846264338327950288;

struct eso_plan {
    eso_settings s;
    int half;        /* n / 2 */
    double df;       /* bin width, Hz */
    eso_rfft rfft;
    eso_cfft cfft;   /* length n, for the analytic signal */
    int window_terms;
    double window_coef[MAX_WINDOW_TERMS];
    double *window;  /* n samples */
    double window_sum, window_sq_sum;
    int vel_k0, vel_k1, hf_k0, hf_k1, env_k0, env_k1, env_bins;
    int *band_k;     /* [n_bands][2] */
    double *vel_weight; /* 1 / (2 pi f)^2 per velocity bin, m -> mm scaling included */
    /* workspace */
    double *centered;  /* n */
    double *spec_pad;  /* (half + 1 + 2 PAD) complex */
    double *power;     /* half + 1: one-sided |X_w|^2 scaled to mean square */
    double *amp;       /* half + 1 */
    double *cbuf;      /* n complex */
    double *cscratch;  /* n complex */
};

static int bin_ceil(double f, double df) { return (int)ceil(f / df - 1e-9); }
static int bin_floor(double f, double df) { return (int)floor(f / df + 1e-9); }

static void clamp_range(int *k0, int *k1, int lo, int hi)
{
    if (*k0 < lo)
        *k0 = lo;
    if (*k1 > hi)
        *k1 = hi;
}

void eso_plan_free(eso_plan *p)
{
    if (!p)
        return;
    eso_rfft_free(&p->rfft);
    eso_cfft_free(&p->cfft);
    free(p->window);
    free(p->band_k);
    free(p->vel_weight);
    free(p->centered);
    free(p->spec_pad);
    free(p->power);
    free(p->amp);
    free(p->cbuf);
    free(p->cscratch);
    free(p);
}

eso_plan *eso_plan_new(const eso_settings *s)
{
    if (!s || s->n < 256 || s->n > 65536 || (s->n & (s->n - 1)) != 0 || !(s->fs > 0.0))
        return NULL;
    if (s->n_peaks < 0 || s->n_peaks > 64 || s->n_bands < 0 || s->n_bands > 256)
        return NULL;
    eso_plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->s = *s;
    p->s.band_lo = p->s.band_hi = NULL;
    const int n = s->n, half = n / 2;
    p->half = half;
    p->df = s->fs / n;

    if (s->window == ESO_WINDOW_HANN) {
        p->window_terms = 2;
        p->window_coef[0] = 0.5;
        p->window_coef[1] = 0.5;
    } else if (s->window == ESO_WINDOW_FLATTOP) {
        /* The common 5-term flat-top (same coefficients as scipy.signal.windows.flattop). */
        static const double ft[5] = {0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368};
        p->window_terms = 5;
        memcpy(p->window_coef, ft, sizeof ft);
    } else {
        free(p);
        return NULL;
    }

    int ok = eso_rfft_init(&p->rfft, n) == 0 && eso_cfft_init(&p->cfft, n) == 0;
    p->window = malloc(n * sizeof(double));
    p->centered = malloc(n * sizeof(double));
    p->spec_pad = malloc(2 * (half + 1 + 2 * PAD) * sizeof(double));
    p->power = malloc((half + 1) * sizeof(double));
    p->amp = malloc((half + 1) * sizeof(double));
    p->cbuf = malloc(2 * n * sizeof(double));
    p->cscratch = malloc(2 * n * sizeof(double));
    p->band_k = malloc((2 * s->n_bands + 1) * sizeof(int));
    ok = ok && p->window && p->centered && p->spec_pad && p->power && p->amp && p->cbuf &&
         p->cscratch && p->band_k;
    if (!ok) {
        eso_plan_free(p);
        return NULL;
    }

    /* Periodic (DFT-even) cosine-sum window: w[i] = sum_m (-1)^m a_m cos(2 pi m i / n). */
    p->window_sum = p->window_sq_sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = 0.0;
        for (int m = 0; m < p->window_terms; m++) {
            double term = p->window_coef[m] * cos(2.0 * PI * m * i / n);
            w += (m & 1) ? -term : term;
        }
        p->window[i] = w;
        p->window_sum += w;
        p->window_sq_sum += w * w;
    }

    p->vel_k0 = bin_ceil(s->velocity_lo, p->df);
    p->vel_k1 = bin_floor(s->velocity_hi, p->df);
    clamp_range(&p->vel_k0, &p->vel_k1, 1, half);
    int nvel = p->vel_k1 >= p->vel_k0 ? p->vel_k1 - p->vel_k0 + 1 : 0;
    p->vel_weight = malloc((nvel + 1) * sizeof(double));
    if (!p->vel_weight) {
        eso_plan_free(p);
        return NULL;
    }
    for (int j = 0; j < nvel; j++) {
        double w = 2.0 * PI * (p->vel_k0 + j) * p->df;
        p->vel_weight[j] = 1e6 / (w * w); /* (m/s)^2 -> (mm/s)^2 */
    }

    if (s->hf_hi > s->hf_lo) {
        p->hf_k0 = bin_ceil(s->hf_lo, p->df);
        p->hf_k1 = bin_floor(s->hf_hi, p->df);
        clamp_range(&p->hf_k0, &p->hf_k1, 1, half);
    } else {
        p->hf_k0 = 1;
        p->hf_k1 = 0;
    }

    for (int b = 0; b < s->n_bands; b++) {
        int k0 = bin_ceil(s->band_lo[b], p->df), k1 = bin_floor(s->band_hi[b], p->df);
        clamp_range(&k0, &k1, 1, half);
        p->band_k[2 * b] = k0;
        p->band_k[2 * b + 1] = k1;
    }

    p->env_k0 = bin_ceil(s->envelope_lo, p->df);
    p->env_k1 = bin_floor(s->envelope_hi, p->df);
    clamp_range(&p->env_k0, &p->env_k1, 1, half);
    int env_top = bin_floor(s->envelope_fmax, p->df);
    if (env_top > half)
        env_top = half;
    if (env_top < 0)
        env_top = 0;
    p->env_bins = env_top + 1;
    return p;
}

int eso_plan_envelope_bins(const eso_plan *p) { return p->env_bins; }

void eso_plan_rfft(eso_plan *p, const double *in, double *out)
{
    eso_rfft_forward(&p->rfft, in, out, p->cscratch);
}

/* Spectrum bins -PAD .. half+PAD from bins 0 .. half, using X[-k] = conj X[k] and
   X[n-k] = conj X[k]; the real FFT writes bins 0 .. half at offset PAD. */
static void fill_spectrum_padding(double *pad, int half)
{
    double *x = pad + 2 * PAD; /* x[2k] is bin k */
    for (int k = 1; k <= PAD; k++) {
        x[-2 * k] = x[2 * k];
        x[-2 * k + 1] = -x[2 * k + 1];
        x[2 * (half + k)] = x[2 * (half - k)];
        x[2 * (half + k) + 1] = -x[2 * (half - k) + 1];
    }
}

/* Windowing in the frequency domain: a cosine-sum window is a short convolution of the
   unwindowed spectrum, so one FFT serves both the spectrum and the envelope band-pass.
   Writes the one-sided mean-square power per bin and the peak amplitude per bin. */
static void windowed_power_and_amplitude(eso_plan *p)
{
    const int half = p->half, n = p->s.n;
    const double *x = p->spec_pad + 2 * PAD;
    const double amp_scale = 1.0 / p->window_sum;
    const double pow_scale = 1.0 / ((double)n * p->window_sq_sum);
    for (int k = 0; k <= half; k++) {
        double re = p->window_coef[0] * x[2 * k], im = p->window_coef[0] * x[2 * k + 1];
        for (int m = 1; m < p->window_terms; m++) {
            double c = ((m & 1) ? -0.5 : 0.5) * p->window_coef[m];
            re += c * (x[2 * (k - m)] + x[2 * (k + m)]);
            im += c * (x[2 * (k - m) + 1] + x[2 * (k + m) + 1]);
        }
        double sq = re * re + im * im;
        int edge = (k == 0 || k == half);
        p->power[k] = (edge ? 1.0 : 2.0) * sq * pow_scale;
        p->amp[k] = (edge ? 1.0 : 2.0) * sqrt(sq) * amp_scale;
    }
}

static double band_sum(const double *power, int k0, int k1)
{
    double acc = 0.0;
    for (int k = k0; k <= k1; k++)
        acc += power[k];
    return acc;
}

/* Peak position and amplitude between bins. Hann: the exact two-bin ratio of the Hann
   main lobe; flat-top: a parabola through three bins (its flat lobe needs no amplitude
   correction). */
static void interpolate_peak(const double *a, int k, int window, double df, double *freq,
                             double *amp)
{
    double left = a[k - 1], mid = a[k], right = a[k + 1];
    double delta = 0.0, value = mid;
    if (window == ESO_WINDOW_HANN) {
        if (mid > 0.0) {
            double side = right >= left ? right : left;
            double ratio = side / mid;
            delta = (2.0 * ratio - 1.0) / (ratio + 1.0);
            if (delta < 0.0)
                delta = 0.0;
            if (delta > 0.5)
                delta = 0.5;
            if (right < left)
                delta = -delta;
            if (fabs(delta) > 1e-12)
                value = mid * PI * delta * (1.0 - delta * delta) / sin(PI * delta);
        }
    } else {
        double denom = left - 2.0 * mid + right;
        if (denom != 0.0)
            delta = 0.5 * (left - right) / denom;
        if (delta > 0.5)
            delta = 0.5;
        if (delta < -0.5)
            delta = -0.5;
    }
    *freq = (k + delta) * df;
    *amp = value;
}

/* Top-k local maxima (a[k] > a[k-1] and a[k] >= a[k+1]) for k in 1 .. last, chosen by bin
   amplitude (ties to the lower bin), then listed by interpolated amplitude. a must be valid up to index last + 1. */
static void find_peaks(const double *a, int last, int k_max, int window, double df, double *out)
{
    int idx[64];
    int count = 0;
    for (int k = 1; k <= last; k++) {
        if (!(a[k] > a[k - 1] && a[k] >= a[k + 1]))
            continue;
        if (count == k_max && a[k] <= a[idx[count - 1]])
            continue;
        int pos = count < k_max ? count++ : k_max - 1;
        while (pos > 0 && a[idx[pos - 1]] < a[k]) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = k;
    }
    memset(out, 0, 2 * (size_t)k_max * sizeof(double));
    for (int i = 0; i < count; i++)
        interpolate_peak(a, idx[i], window, df, &out[2 * i], &out[2 * i + 1]);
    /* Interpolation can reorder close peaks: list them by interpolated amplitude (stable). */
    for (int i = 1; i < count; i++) {
        double f = out[2 * i], v = out[2 * i + 1];
        int j = i;
        while (j > 0 && out[2 * (j - 1) + 1] < v) {
            out[2 * j] = out[2 * (j - 1)];
            out[2 * j + 1] = out[2 * (j - 1) + 1];
            j--;
        }
        out[2 * j] = f;
        out[2 * j + 1] = v;
    }
}

/* Envelope by analytic signal: keep the band's positive-frequency bins (doubled), shift them
   to baseband (|z| is unchanged by the shift), inverse FFT, magnitude. */
static void envelope_signal(eso_plan *p)
{
    const int n = p->s.n, half = p->half;
    const double *x = p->spec_pad + 2 * PAD;
    double *z = p->cbuf;
    memset(z, 0, 2 * (size_t)n * sizeof(double));
    for (int k = p->env_k0; k <= p->env_k1; k++) {
        double g = (k == half) ? 1.0 : 2.0;
        int j = k - p->env_k0;
        /* conj, so that a forward FFT computes the (conjugated) inverse transform */
        z[2 * j] = g * x[2 * k];
        z[2 * j + 1] = -g * x[2 * k + 1];
    }
    eso_cfft_forward(&p->cfft, z, p->cscratch);
    const double inv_n = 1.0 / n;
    double *env = p->centered;
    double mean = 0.0;
    for (int i = 0; i < n; i++) {
        double v = sqrt(z[2 * i] * z[2 * i] + z[2 * i + 1] * z[2 * i + 1]) * inv_n;
        env[i] = v;
        mean += v;
    }
    mean /= n;
    for (int i = 0; i < n; i++)
        env[i] = (env[i] - mean) * p->window[i];
}

int eso_analyze(eso_plan *p, const float *frames, int channels, const eso_outputs *out)
{
    if (!p || !frames || channels < 0 || !out || !out->metrics || !out->spectrum ||
        !out->envelope || (p->s.n_peaks > 0 && (!out->peaks || !out->envelope_peaks)) ||
        (p->s.n_bands > 0 && !out->bands))
        return ESO_ERR_ARGS;
    const int n = p->s.n, half = p->half, kp = p->s.n_peaks;
    for (int c = 0; c < channels; c++) {
        const float *x = frames + (size_t)c * n;
        double *metrics = out->metrics + (size_t)c * ESO_M_COUNT;

        double sum = 0.0;
        for (int i = 0; i < n; i++)
            sum += x[i];
        if (!isfinite(sum))
            return -(ESO_ERR_CHANNEL_BASE + c);
        const double mean = sum / n;
        double *d = p->centered;
        double m2 = 0.0, m3 = 0.0, m4 = 0.0, lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++) {
            double v = x[i] - mean;
            d[i] = v;
            double v2 = v * v;
            m2 += v2;
            m3 += v2 * v;
            m4 += v2 * v2;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        m2 /= n;
        m3 /= n;
        m4 /= n;
        const double rms = sqrt(m2);
        const double peak = fmax(fabs(lo), fabs(hi));
        metrics[ESO_M_DC_OFFSET] = mean;
        metrics[ESO_M_ACCEL_RMS] = rms;
        metrics[ESO_M_ACCEL_PEAK] = peak;
        metrics[ESO_M_ACCEL_P2P] = hi - lo;
        metrics[ESO_M_CREST_FACTOR] = rms > 0.0 ? peak / rms : 0.0;
        metrics[ESO_M_KURTOSIS] = m2 > 0.0 ? m4 / (m2 * m2) : 0.0;
        metrics[ESO_M_SKEWNESS] = m2 > 0.0 ? m3 / (m2 * sqrt(m2)) : 0.0;

        eso_rfft_forward(&p->rfft, d, p->spec_pad + 2 * PAD, p->cscratch);
        fill_spectrum_padding(p->spec_pad, half);
        windowed_power_and_amplitude(p);

        double vel = 0.0;
        for (int k = p->vel_k0; k <= p->vel_k1; k++)
            vel += p->power[k] * p->vel_weight[k - p->vel_k0];
        metrics[ESO_M_VIBRATION_RMS] = sqrt(vel);
        metrics[ESO_M_HF_ACCEL_RMS] =
            p->hf_k1 >= p->hf_k0 ? sqrt(band_sum(p->power, p->hf_k0, p->hf_k1)) : NAN;
        for (int b = 0; b < p->s.n_bands; b++)
            out->bands[(size_t)c * p->s.n_bands + b] =
                sqrt(band_sum(p->power, p->band_k[2 * b], p->band_k[2 * b + 1]));

        float *spectrum = out->spectrum + (size_t)c * (half + 1);
        for (int k = 0; k <= half; k++)
            spectrum[k] = (float)p->amp[k];
        if (kp > 0) {
            double *pk = out->peaks + (size_t)c * kp * 2;
            find_peaks(p->amp, half - 1, kp, p->s.window, p->df, pk);
            metrics[ESO_M_DOMINANT_FREQ] = pk[0];
        } else {
            metrics[ESO_M_DOMINANT_FREQ] = 0.0;
        }

        envelope_signal(p);
        eso_rfft_forward(&p->rfft, p->centered, p->spec_pad + 2 * PAD, p->cscratch);
        const double *e = p->spec_pad + 2 * PAD;
        const double amp_scale = 1.0 / p->window_sum;
        for (int k = 0; k <= half; k++) {
            double a = sqrt(e[2 * k] * e[2 * k] + e[2 * k + 1] * e[2 * k + 1]) * amp_scale;
            p->amp[k] = (k == 0 || k == half) ? a : 2.0 * a;
        }
        float *envelope = out->envelope + (size_t)c * p->env_bins;
        for (int k = 0; k < p->env_bins; k++)
            envelope[k] = (float)p->amp[k];
        if (kp > 0) {
            int last = p->env_bins - 1 < half - 1 ? p->env_bins - 1 : half - 1;
            find_peaks(p->amp, last, kp, p->s.window, p->df, out->envelope_peaks + (size_t)c * kp * 2);
        }
    }
    return ESO_OK;
}
