/* histogram.c -- see histogram.h. */
#include "histogram.h"

uint64_t hist_bucket_high(unsigned b)
{
    if (b < HIST_SUB) return b;
    unsigned shift = b / HIST_SUB - 1;
    uint64_t mant = HIST_SUB + b % HIST_SUB;
    return ((mant + 1) << shift) - 1;
}

uint64_t hist_percentile(const hist *h, double p)
{
    if (!h->total) return 0;
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    /* The rank of the value sought, 1-based: at least the first value. */
    double want = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want) rank++;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t high = hist_bucket_high(b);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}
