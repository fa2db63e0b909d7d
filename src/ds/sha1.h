/* sha1.h -- SHA-1 (FIPS 180-4): Redis names a script by the hex SHA-1 of
 * its body (EVALSHA, SCRIPT LOAD, redis.sha1hex), and DEBUG DIGEST mixes
 * the dataset with it. */
#ifndef CAIRN_SHA1_H
#define CAIRN_SHA1_H

#include <stddef.h>

/* SHA-1(p[0..len)). */
void sha1(const void *p, size_t len, unsigned char out[20]);
/* Its 40 lower-case hex digits, NUL-terminated. */
void sha1_hex(const void *p, size_t len, char out[41]);

#endif
