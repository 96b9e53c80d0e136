/* Bulk decoders from raw sensor FIFO bytes to float32 engineering units. */
#include "esocore_dsp.h"

#include <stddef.h>

#define IIS3DWB_TAG_ACCEL 0x02

long eso_decode_iis3dwb(const uint8_t *raw, long n_words, double scale, float *out, long *skipped)
{
    long count = 0, other = 0;
    for (long i = 0; i < n_words; i++) {
        const uint8_t *w = raw + 7 * i;
        if ((w[0] >> 3) != IIS3DWB_TAG_ACCEL) {
            other++;
            continue;
        }
        float *o = out + 3 * count;
        for (int axis = 0; axis < 3; axis++) {
            int16_t v = (int16_t)(uint16_t)(w[1 + 2 * axis] | (w[2 + 2 * axis] << 8));
            o[axis] = (float)(v * scale);
        }
        count++;
    }
    if (skipped)
        *skipped = other;
    return count;
}

static int32_t be20(const uint8_t *b)
{
    uint32_t u = ((uint32_t)b[0] << 12) | ((uint32_t)b[1] << 4) | ((uint32_t)b[2] >> 4);
    return (int32_t)(u ^ 0x80000u) - 0x80000;
}

long eso_decode_adxl355(const uint8_t *raw, long n_samples, double scale, float *out)
{
    for (long i = 0; i < n_samples; i++) {
        const uint8_t *s = raw + 9 * (size_t)i;
        if (s[2] & 0x02)
            return i; /* empty FIFO entry: nothing more was stored */
        if (!(s[2] & 0x01))
            return -(1 + i);
        for (int axis = 0; axis < 3; axis++)
            out[3 * i + axis] = (float)(be20(s + 3 * axis) * scale);
    }
    return n_samples;
}

long eso_decode_be24(const uint8_t *raw, long n_frames, int frame_words, int first_word,
                     int n_channels, const double *scales, float *out)
{
    if (frame_words <= 0 || first_word < 0 || n_channels <= 0 || first_word + n_channels > frame_words)
        return -1;
    for (long f = 0; f < n_frames; f++) {
        const uint8_t *frame = raw + 3 * (size_t)frame_words * f;
        for (int c = 0; c < n_channels; c++) {
            const uint8_t *b = frame + 3 * (first_word + c);
            uint32_t u = ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
            int32_t v = (int32_t)(u ^ 0x800000u) - 0x800000;
            out[(size_t)f * n_channels + c] = (float)(v * scales[c]);
        }
    }
    return n_frames;
}
