/* Exercises the C kernel directly, for AddressSanitizer/UBSan and valgrind runs.

   Build (tests/unit/test_dsp_sanitizers.py does this):
     gcc -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
         -Idsp_ext/csrc tests/c/kernel_harness.c dsp_ext/csrc/fft.c dsp_ext/csrc/analyze.c \
         dsp_ext/csrc/decode.c -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -lm

   Usage: kernel_harness [MAX_N]   (frame lengths 256 .. MAX_N, default 65536)

   Every output buffer is allocated at exactly the size the API documents, so one element
   written or read past the end is a sanitizer report. Memory allocation is counted through
   the linker's --wrap: the hot path (eso_analyze, eso_plan_rfft, decoders) must allocate
   nothing. Exits 0 when every check passes. */
#include "esocore_dsp.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation counting ------------------------------------------------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
static long alloc_calls;
void *__wrap_malloc(size_t size)
{
    alloc_calls++;
    return __real_malloc(size);
}
void *__wrap_calloc(size_t count, size_t size)
{
    alloc_calls++;
    return __real_calloc(count, size);
}
void *__wrap_realloc(void *ptr, size_t size)
{
    alloc_calls++;
    return __real_realloc(ptr, size);
}

/* ---- checks ------------------------------------------------------------------------------- */

static long checks, failures;
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

/* xorshift64*: reproducible input without depending on the C library's rand() */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static double uniform(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static double gaussian(void)
{
    double u = uniform(), v = uniform();
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p && bytes) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- analysis ----------------------------------------------------------------------------- */

typedef struct {
    int n, window, n_peaks, n_bands, channels;
    double fs;
    double env_lo, env_hi, env_fmax; /* <= 0: defaults */
} plan_case;

static eso_settings make_settings(const plan_case *pc, double *band_lo, double *band_hi)
{
    const double nyq = pc->fs / 2, usable = pc->fs / 2.56;
    eso_settings s;
    memset(&s, 0, sizeof s);
    s.n = pc->n;
    s.fs = pc->fs;
    s.window = pc->window;
    s.velocity_lo = 10.0;
    s.velocity_hi = usable < 1000.0 ? usable : 1000.0;
    s.hf_lo = 1000.0;
    s.hf_hi = usable; /* empty (disabled) for a slow sensor */
    s.envelope_lo = pc->env_lo > 0 ? pc->env_lo : (usable >= 2000.0 ? 1000.0 : usable / 2);
    s.envelope_hi = pc->env_hi > 0 ? pc->env_hi : usable;
    s.envelope_fmax = pc->env_fmax > 0 ? pc->env_fmax : (nyq < 1000.0 ? nyq : 1000.0);
    s.n_peaks = pc->n_peaks;
    s.n_bands = pc->n_bands;
    for (int b = 0; b < pc->n_bands; b++) {
        /* spread over the whole band, including (0, Nyquist) and one-bin-wide bands */
        double lo = nyq * b / (pc->n_bands + 1.0), hi = lo + (b % 3 == 0 ? nyq - lo : (b + 1) * pc->fs / pc->n);
        if (hi > nyq)
            hi = nyq;
        band_lo[b] = lo;
        band_hi[b] = hi;
    }
    s.band_lo = band_lo;
    s.band_hi = band_hi;
    return s;
}

static void naive_dft_check(eso_plan *plan, int n)
{
    double *in = xmalloc((size_t)n * sizeof(double));
    double *out = xmalloc((size_t)(n + 2) * sizeof(double));
    for (int i = 0; i < n; i++)
        in[i] = gaussian();
    long before = alloc_calls;
    eso_plan_rfft(plan, in, out);
    CHECK(alloc_calls == before, "eso_plan_rfft allocated (n=%d)", n);
    double worst = 0.0, top = 0.0;
    for (int k = 0; k <= n / 2; k++) {
        double re = 0.0, im = 0.0;
        for (int i = 0; i < n; i++) {
            double a = -6.283185307179586 * (double)((long)k * i % n) / n;
            re += in[i] * cos(a);
            im += in[i] * sin(a);
        }
        double err = hypot(out[2 * k] - re, out[2 * k + 1] - im);
        worst = err > worst ? err : worst;
        double mag = hypot(re, im);
        top = mag > top ? mag : top;
    }
    CHECK(worst <= 1e-12 * top, "rfft differs from the naive DFT by %g of %g (n=%d)", worst, top, n);
    free(in);
    free(out);
}

static void run_plan_case(const plan_case *pc)
{
    double *band_lo = xmalloc((size_t)(pc->n_bands > 0 ? pc->n_bands : 1) * sizeof(double));
    double *band_hi = xmalloc((size_t)(pc->n_bands > 0 ? pc->n_bands : 1) * sizeof(double));
    eso_settings s = make_settings(pc, band_lo, band_hi);
    long allocs_before_plan = alloc_calls;
    eso_plan *plan = eso_plan_new(&s);
    /* the plan allocates (this also proves the counting wrappers are linked in, so the
       "allocated nothing" checks below mean something) */
    CHECK(alloc_calls > allocs_before_plan, "eso_plan_new allocated nothing?");
    /* the plan copies the bands: the caller's arrays may go away at once */
    free(band_lo);
    free(band_hi);
    CHECK(plan != NULL, "eso_plan_new failed (n=%d window=%d)", pc->n, pc->window);
    if (!plan)
        return;
    const int n = pc->n, half = n / 2, ch = pc->channels, kp = pc->n_peaks, nb = pc->n_bands;
    const int env_bins = eso_plan_envelope_bins(plan);
    CHECK(env_bins >= 1 && env_bins <= half + 1, "envelope bins %d (n=%d)", env_bins, n);

    float *frames = xmalloc((size_t)ch * n * sizeof(float));
    for (int c = 0; c < ch; c++)
        for (int i = 0; i < n; i++)
            frames[(size_t)c * n + i] =
                (float)(9.81 * (c == 2) + gaussian() * (c + 1) +
                        3.0 * sin(6.283185307179586 * (0.01 + 0.1 * c) * i + c));
    eso_outputs out;
    out.metrics = xmalloc((size_t)ch * ESO_M_COUNT * sizeof(double));
    out.spectrum = xmalloc((size_t)ch * (half + 1) * sizeof(float));
    out.peaks = kp ? xmalloc((size_t)ch * kp * 2 * sizeof(double)) : NULL;
    out.bands = nb ? xmalloc((size_t)ch * nb * sizeof(double)) : NULL;
    out.envelope = xmalloc((size_t)ch * env_bins * sizeof(float));
    out.envelope_peaks = kp ? xmalloc((size_t)ch * kp * 2 * sizeof(double)) : NULL;

    long before = alloc_calls;
    int rc = eso_analyze(plan, frames, ch, &out);
    CHECK(alloc_calls == before, "eso_analyze allocated %ld times", alloc_calls - before);
    CHECK(rc == ESO_OK, "eso_analyze returned %d (n=%d)", rc, n);
    for (int c = 0; c < ch && rc == ESO_OK; c++) {
        const double *m = out.metrics + (size_t)c * ESO_M_COUNT;
        for (int j = 0; j < ESO_M_COUNT; j++) {
            if (j == ESO_M_HF_ACCEL_RMS)
                CHECK(isfinite(m[j]) == (s.hf_hi > s.hf_lo), "hf_accel_rms %g", m[j]);
            else
                CHECK(isfinite(m[j]), "metric %d is %g (n=%d)", j, m[j], n);
        }
        CHECK(m[ESO_M_ACCEL_RMS] > 0 && m[ESO_M_KURTOSIS] >= 1.0, "rms %g kurtosis %g",
              m[ESO_M_ACCEL_RMS], m[ESO_M_KURTOSIS]);
        for (int k = 0; k <= half; k++)
            CHECK(out.spectrum[(size_t)c * (half + 1) + k] >= 0.0f, "spectrum[%d] < 0", k);
        for (int k = 0; k < env_bins; k++)
            CHECK(isfinite(out.envelope[(size_t)c * env_bins + k]), "envelope[%d]", k);
        for (int b = 0; b < nb; b++)
            CHECK(isfinite(out.bands[(size_t)c * nb + b]), "band %d", b);
    }

    /* a NaN or inf sample is refused, naming the channel */
    if (ch >= 2) {
        float keep = frames[(size_t)n + n / 3];
        frames[(size_t)n + n / 3] = NAN;
        rc = eso_analyze(plan, frames, ch, &out);
        CHECK(rc == -(ESO_ERR_CHANNEL_BASE + 1), "NaN in channel 1 gave %d", rc);
        frames[(size_t)n + n / 3] = keep;
        frames[5] = -INFINITY;
        rc = eso_analyze(plan, frames, ch, &out);
        CHECK(rc == -(ESO_ERR_CHANNEL_BASE + 0), "-inf in channel 0 gave %d", rc);
    }
    /* zero channels is a valid, empty batch */
    CHECK(eso_analyze(plan, frames, 0, &out) == ESO_OK, "zero channels");

    if (n <= 512)
        naive_dft_check(plan, n); /* O(n^2): small n only; Parseval above that */
    else {
        double *in = xmalloc((size_t)n * sizeof(double));
        double *spec = xmalloc((size_t)(n + 2) * sizeof(double));
        for (int i = 0; i < n; i++)
            in[i] = gaussian();
        before = alloc_calls;
        eso_plan_rfft(plan, in, spec);
        CHECK(alloc_calls == before, "eso_plan_rfft allocated");
        /* Parseval: sum x^2 = (|X0|^2 + |Xh|^2 + 2 sum |Xk|^2) / n */
        double ex = 0.0, ef = spec[0] * spec[0] + spec[n] * spec[n];
        for (int i = 0; i < n; i++)
            ex += in[i] * in[i];
        for (int k = 1; k < half; k++)
            ef += 2.0 * (spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]);
        CHECK(fabs(ef / n - ex) <= 1e-10 * ex, "Parseval %g vs %g (n=%d)", ef / n, ex, n);
        free(in);
        free(spec);
    }

    free(frames);
    free(out.metrics);
    free(out.spectrum);
    free(out.peaks);
    free(out.bands);
    free(out.envelope);
    free(out.envelope_peaks);
    eso_plan_free(plan);
}

static void invalid_plans_are_refused(void)
{
    const int bad_n[] = {0, -256, 100, 128, 255, 257, 131072, 65537};
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
        plan_case pc = {bad_n[i], ESO_WINDOW_HANN, 5, 0, 1, 25600.0, 0, 0, 0};
        double lo = 0, hi = 0;
        eso_settings s = make_settings(&pc, &lo, &hi);
        s.n = bad_n[i];
        CHECK(eso_plan_new(&s) == NULL, "n=%d accepted", bad_n[i]);
    }
    plan_case pc = {1024, ESO_WINDOW_HANN, 5, 0, 1, 25600.0, 0, 0, 0};
    double lo = 0, hi = 0;
    eso_settings good = make_settings(&pc, &lo, &hi), s;
    const double bad_fs[] = {0.0, -1.0, NAN, -INFINITY};
    for (size_t i = 0; i < 4; i++) {
        s = good;
        s.fs = bad_fs[i];
        CHECK(eso_plan_new(&s) == NULL, "fs=%g accepted", bad_fs[i]);
    }
    s = good, s.window = 2;
    CHECK(eso_plan_new(&s) == NULL, "window 2 accepted");
    s = good, s.window = -1;
    CHECK(eso_plan_new(&s) == NULL, "window -1 accepted");
    s = good, s.n_peaks = 65;
    CHECK(eso_plan_new(&s) == NULL, "65 peaks accepted");
    s = good, s.n_peaks = -1;
    CHECK(eso_plan_new(&s) == NULL, "-1 peaks accepted");
    s = good, s.n_bands = 257;
    CHECK(eso_plan_new(&s) == NULL, "257 bands accepted");
    s = good, s.n_bands = -1;
    CHECK(eso_plan_new(&s) == NULL, "-1 bands accepted");
    CHECK(eso_plan_new(NULL) == NULL, "NULL settings accepted");
    eso_plan_free(NULL);

    /* eso_analyze refuses missing arguments */
    eso_plan *plan = eso_plan_new(&good);
    CHECK(plan != NULL, "good plan refused");
    if (!plan)
        return;
    float *frames = xmalloc(1024 * sizeof(float));
    memset(frames, 0, 1024 * sizeof(float));
    double metrics[ESO_M_COUNT], peaks[10], env_peaks[10];
    float spectrum[513], envelope[513];
    eso_outputs out = {metrics, spectrum, peaks, NULL, envelope, env_peaks};
    CHECK(eso_analyze(NULL, frames, 1, &out) == ESO_ERR_ARGS, "NULL plan");
    CHECK(eso_analyze(plan, NULL, 1, &out) == ESO_ERR_ARGS, "NULL frames");
    CHECK(eso_analyze(plan, frames, -1, &out) == ESO_ERR_ARGS, "negative channels");
    CHECK(eso_analyze(plan, frames, 1, NULL) == ESO_ERR_ARGS, "NULL outputs");
    eso_outputs no_peaks = out;
    no_peaks.peaks = NULL;
    CHECK(eso_analyze(plan, frames, 1, &no_peaks) == ESO_ERR_ARGS, "NULL peaks with n_peaks 5");
    eso_outputs no_metrics = out;
    no_metrics.metrics = NULL;
    CHECK(eso_analyze(plan, frames, 1, &no_metrics) == ESO_ERR_ARGS, "NULL metrics");
    /* a constant (all-zero) frame: zeros, no NaN, no peaks */
    CHECK(eso_analyze(plan, frames, 1, &out) == ESO_OK, "zero frame");
    CHECK(metrics[ESO_M_ACCEL_RMS] == 0.0 && metrics[ESO_M_KURTOSIS] == 0.0 &&
              metrics[ESO_M_CREST_FACTOR] == 0.0 && peaks[0] == 0.0,
          "zero frame figures");
    free(frames);
    eso_plan_free(plan);
}

/* ---- decoders ----------------------------------------------------------------------------- */

static uint8_t *random_bytes(size_t len)
{
    uint8_t *raw = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        raw[i] = (uint8_t)next_u64();
    return raw;
}

static void decoders(void)
{
    /* Every length from empty to a few words, including lengths that end mid-word (the
       caller passes the whole-word count, so the tail is never read). */
    for (size_t len = 0; len <= 200; len++) {
        uint8_t *raw = random_bytes(len);

        long words = (long)(len / 7), skipped = -1;
        float *out = xmalloc((size_t)words * 3 * sizeof(float));
        long before = alloc_calls;
        long got = eso_decode_iis3dwb(raw, words, 0.5, out, &skipped);
        CHECK(alloc_calls == before, "iis3dwb allocated");
        CHECK(got >= 0 && got + skipped == words, "iis3dwb %ld + %ld != %ld", got, skipped, words);
        CHECK(eso_decode_iis3dwb(raw, words, 0.5, out, NULL) == got, "iis3dwb without skipped");
        free(out);

        long samples = (long)(len / 9);
        out = xmalloc((size_t)samples * 3 * sizeof(float));
        got = eso_decode_adxl355(raw, samples, 1e-5, out);
        CHECK(got >= -samples && got <= samples, "adxl355 returned %ld of %ld", got, samples);
        /* with every X marker set and no empty flag, every sample decodes */
        for (long i = 0; i < samples; i++)
            raw[9 * i + 2] = (uint8_t)((raw[9 * i + 2] & ~0x02u) | 0x01u);
        got = eso_decode_adxl355(raw, samples, 1e-5, out);
        CHECK(got == samples, "adxl355 marked returned %ld of %ld", got, samples);
        free(out);

        for (int fw = 1; fw <= 6; fw++) {
            for (int first = 0; first < fw; first++) {
                for (int nch = 1; first + nch <= fw; nch++) {
                    long frames = (long)(len / (3 * (size_t)fw));
                    float *o = xmalloc((size_t)frames * nch * sizeof(float));
                    double *scales = xmalloc((size_t)nch * sizeof(double));
                    for (int c = 0; c < nch; c++)
                        scales[c] = 1.0 + c;
                    before = alloc_calls;
                    got = eso_decode_be24(raw, frames, fw, first, nch, scales, o);
                    CHECK(alloc_calls == before, "be24 allocated");
                    CHECK(got == frames, "be24 returned %ld of %ld", got, frames);
                    free(o);
                    free(scales);
                }
            }
        }
        free(raw);
    }
    /* refused channel layouts */
    uint8_t raw[18] = {0};
    float out[6];
    double scales[6] = {1, 1, 1, 1, 1, 1};
    CHECK(eso_decode_be24(raw, 1, 0, 0, 1, scales, out) == -1, "frame_words 0");
    CHECK(eso_decode_be24(raw, 1, 6, -1, 1, scales, out) == -1, "first_word -1");
    CHECK(eso_decode_be24(raw, 1, 6, 0, 0, scales, out) == -1, "no channels");
    CHECK(eso_decode_be24(raw, 1, 6, 4, 3, scales, out) == -1, "channels past the frame");

    /* sign edges */
    const uint8_t be[] = {0x7F, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF};
    CHECK(eso_decode_be24(be, 1, 3, 0, 3, scales, out) == 1 && out[0] == 8388607.0f &&
              out[1] == -8388608.0f && out[2] == -1.0f,
          "be24 edges %g %g %g", out[0], out[1], out[2]);
    const uint8_t adxl[] = {0x7F, 0xFF, 0xF1, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xF0};
    CHECK(eso_decode_adxl355(adxl, 1, 1.0, out) == 1 && out[0] == 524287.0f &&
              out[1] == -524288.0f && out[2] == -1.0f,
          "adxl355 edges %g %g %g", out[0], out[1], out[2]);
    const uint8_t iis[] = {0x02 << 3, 0xFF, 0x7F, 0x00, 0x80, 0xFF, 0xFF};
    long skipped = -1;
    CHECK(eso_decode_iis3dwb(iis, 1, 1.0, out, &skipped) == 1 && skipped == 0 &&
              out[0] == 32767.0f && out[1] == -32768.0f && out[2] == -1.0f,
          "iis3dwb edges %g %g %g", out[0], out[1], out[2]);
}

int main(int argc, char **argv)
{
    /* optional argument: the largest frame length to run (default 65536), for quick runs
       under valgrind */
    const long max_n = argc > 1 ? strtol(argv[1], NULL, 10) : 65536;
    const double rates[] = {25600.0, 26667.0};
    for (int w = ESO_WINDOW_HANN; w <= ESO_WINDOW_FLATTOP; w++) {
        for (int n = 256; n <= max_n && n <= 65536; n *= 2) {
            plan_case pc = {n, w, 5, 3, 3, rates[(n >> 8) & 1], 0, 0, 0};
            run_plan_case(&pc);
        }
        /* the extremes of every size parameter */
        plan_case most = {256, w, 64, 256, 2, 51200.0, 0, 0, 0};
        run_plan_case(&most);
        plan_case none = {512, w, 0, 0, 2, 25600.0, 0, 0, 0};
        run_plan_case(&none);
        /* envelope band reaching Nyquist (its own mirror), spectrum up to Nyquist */
        plan_case nyq = {1024, w, 8, 1, 2, 25600.0, 6000.0, 12800.0, 12800.0};
        run_plan_case(&nyq);
        /* envelope spectrum narrower than one bin: a single bin */
        plan_case tiny = {256, w, 3, 1, 2, 25600.0, 0, 0, 1.0};
        run_plan_case(&tiny);
        /* a slow sensor: the HF band is empty and reported as NaN */
        plan_case slow = {2048, w, 5, 2, 3, 2000.0, 0, 0, 0};
        run_plan_case(&slow);
    }
    invalid_plans_are_refused();
    decoders();
    printf("kernel_harness: %ld checks, %ld failures\n", checks, failures);
    return failures ? 1 : 0;
}
