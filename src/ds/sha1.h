/* sha1.h -- SHA-1 (FIPS 180-4), for script digests: Redis names a script
 * by the hex SHA-1 of its body (EVALSHA, SCRIPT LOAD, redis.sha1hex). */
#ifndef CAIRN_SHA1_H
#define CAIRN_SHA1_H

#include <stddef.h>

/* The 40 lower-case hex digits of SHA-1(p[0..len)), NUL-terminated. */
void sha1_hex(const void *p, size_t len, char out[41]);

#endif
