/* histogram.h -- a log-linear histogram of durations (INFO latencystats).
 *
 * Redis keeps an HdrHistogram per command; Debian packages no C
 * HdrHistogram, and all INFO needs is a few percentiles, so this is a
 * small one of our own with the same idea: every power of two is split
 * into HIST_SUB equal buckets, so a value is known to within 1/HIST_SUB
 * (3%) of itself at every magnitude, in a fixed 6.6 KB per histogram.
 * Values are nanoseconds, kept within [HIST_MIN, HIST_MAX] as Redis keeps
 * them within 1 ns .. 1 s. */
#ifndef CAIRN_HISTOGRAM_H
#define CAIRN_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_MIN      1ull          /* 1 ns */
#define HIST_MAX      1000000000ull /* 1 s */
/* Buckets up to the one holding HIST_MAX (< 2^30). */
#define HIST_BUCKETS ((30 - HIST_SUB_BITS + 1) * HIST_SUB)

typedef struct hist {
    uint64_t total;
    uint64_t max; /* the largest value recorded (after clamping) */
    uint64_t counts[HIST_BUCKETS];
} hist;

static inline unsigned hist_bucket(uint64_t v)
{
    if (v < HIST_SUB) return (unsigned)v;
    unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
    return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

static inline void hist_record(hist *h, uint64_t v)
{
    if (v < HIST_MIN) v = HIST_MIN;
    if (v > HIST_MAX) v = HIST_MAX;
    h->counts[hist_bucket(v)]++;
    h->total++;
    if (v > h->max) h->max = v;
}

/* The highest value that falls into bucket b. */
uint64_t hist_bucket_high(unsigned b);

/* The value at percentile p (0..100): the highest value of the bucket
 * that holds it, never above the largest value recorded.  0 when empty. */
uint64_t hist_percentile(const hist *h, double p);

#endif
