/* Public interface of the EsoCore vibration DSP kernel.
   Lines starting with '#' are dropped when this header is fed to cffi's cdef. */
#ifndef ESOCORE_DSP_H
#define ESOCORE_DSP_H

#include <stdint.h>

enum { ESO_WINDOW_HANN = 0, ESO_WINDOW_FLATTOP = 1 };

/* Per-channel scalar metrics, in this order (dsp_ext.kernel.METRICS mirrors it). */
enum {
    ESO_M_DC_OFFSET = 0,
    ESO_M_ACCEL_RMS = 1,
    ESO_M_ACCEL_PEAK = 2,
    ESO_M_ACCEL_P2P = 3,
    ESO_M_CREST_FACTOR = 4,
    ESO_M_KURTOSIS = 5,
    ESO_M_SKEWNESS = 6,
    ESO_M_VIBRATION_RMS = 7,
    ESO_M_HF_ACCEL_RMS = 8,
    ESO_M_DOMINANT_FREQ = 9,
    ESO_M_COUNT = 10
};

/* Error codes of eso_analyze (a negative channel code is -(ESO_ERR_CHANNEL_BASE + channel)). */
enum { ESO_OK = 0, ESO_ERR_ARGS = -1, ESO_ERR_CHANNEL_BASE = 1000 };

typedef struct {
    int n;                /* frame length, power of two, 256 .. 65536 */
    double fs;            /* sample rate, Hz */
    int window;           /* ESO_WINDOW_* */
    double velocity_lo;   /* velocity RMS band, Hz (inclusive) */
    double velocity_hi;
    double hf_lo;         /* high-frequency acceleration band; hf_hi <= hf_lo disables it */
    double hf_hi;
    double envelope_lo;   /* envelope band-pass, Hz */
    double envelope_hi;
    double envelope_fmax; /* envelope spectrum reported up to this frequency */
    int n_peaks;          /* top-k peaks reported per spectrum */
    int n_bands;          /* extra RMS bands */
    const double *band_lo;
    const double *band_hi;
} eso_settings;

typedef struct eso_plan eso_plan;

/* Output arrays, row-major per channel. Peak rows hold (frequency Hz, amplitude); unused
   rows are zero. hf_accel_rms is NaN when its band is disabled or empty. */
typedef struct {
    double *metrics;        /* [channels][ESO_M_COUNT] */
    float *spectrum;        /* [channels][n/2 + 1] amplitude, m/s^2 peak */
    double *peaks;          /* [channels][n_peaks][2] */
    double *bands;          /* [channels][n_bands] RMS, m/s^2 */
    float *envelope;        /* [channels][eso_plan_envelope_bins] amplitude, m/s^2 peak */
    double *envelope_peaks; /* [channels][n_peaks][2] */
} eso_outputs;

/* NULL when the settings are invalid (the Python wrapper validates first and says why). */
eso_plan *eso_plan_new(const eso_settings *settings);
void eso_plan_free(eso_plan *plan);
int eso_plan_envelope_bins(const eso_plan *plan);

/* frames: [channels][n] float32, acceleration in m/s^2. Allocates nothing.
   Returns ESO_OK, ESO_ERR_ARGS, or -(ESO_ERR_CHANNEL_BASE + c) when channel c holds NaN/inf.
   A plan is not re-entrant: one call at a time per plan. */
int eso_analyze(eso_plan *plan, const float *frames, int channels, const eso_outputs *out);

/* Bare real FFT through the plan's transform (for benchmarks and tests):
   in: n doubles, out: n/2 + 1 interleaved complex. */
void eso_plan_rfft(eso_plan *plan, const double *in, double *out);

/* Decoders from raw FIFO bytes to float32 engineering units. Each returns the number of
   samples written, or a negative code described with the function. */

/* IIS3DWB-class FIFO: 7-byte words: tag byte (sensor tag in bits 7..3; 0x02 = accelerometer),
   then X, Y, Z as int16 little-endian. out: [samples][3]. Words with other tags are skipped
   and counted in *skipped. */
long eso_decode_iis3dwb(const uint8_t *raw, long n_words, double scale, float *out, long *skipped);

/* ADXL355-class FIFO: 9 bytes per sample, X, Y, Z each 20-bit two's complement, left-justified,
   big-endian in 3 bytes; bit 0 of X's last byte marks the X axis, bit 1 flags an empty FIFO.
   Stops at the first empty entry. Returns -(1 + i) when sample i lacks the X marker
   (the read was not aligned to a sample). out: [samples][3]. */
long eso_decode_adxl355(const uint8_t *raw, long n_samples, double scale, float *out);

/* ADS131M-class frames: frame_words 24-bit big-endian words per frame; channels are the
   n_channels words from first_word on, each two's complement, times scales[channel].
   out: [frames][n_channels]. */
long eso_decode_be24(const uint8_t *raw, long n_frames, int frame_words, int first_word,
                     int n_channels, const double *scales, float *out);

#endif
