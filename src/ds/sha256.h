/* sha256.h -- SHA-256 (FIPS 180-4), for ACL password hashes. */
#ifndef CAIRN_SHA256_H
#define CAIRN_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The digest of len bytes at data, into out (32 bytes). */
void sha256(const void *data, size_t len, uint8_t out[32]);
/* The same as 64 lower-case hex digits and a NUL, into hex (65 bytes). */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
