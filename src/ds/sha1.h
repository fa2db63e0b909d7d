/* sha1.h -- SHA-1 (FIPS 180-4): Redis names a script by the hex SHA-1 of
 * its body (EVALSHA, SCRIPT LOAD, redis.sha1hex), and DEBUG DIGEST mixes
 * the dataset with it. */
#ifndef CAIRN_SHA1_H
#define CAIRN_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* SHA-1(p[0..len)). */
void sha1(const void *p, size_t len, unsigned char out[20]);
/* Its 40 lower-case hex digits, NUL-terminated. */
void sha1_hex(const void *p, size_t len, char out[41]);

/* The same hash over data given piece by piece. */
typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t len; /* bytes given so far */
    unsigned char buf[64];
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *p, size_t len);
void sha1_final(sha1_ctx *c, unsigned char out[20]);

#endif
