/* sha1.c -- SHA-1, over a whole buffer or piece by piece. */
#include "sha1.h"

#include <string.h>

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* The message schedule is kept as a ring of 16 words and each of the four
 * kinds of round has its own loop: no branch per round (DEBUG DIGEST runs
 * one block or more per key). */
#define W(i)                                                                                       \
    (w[(i)&15] = rol(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ w[((i) + 2) & 15] ^ w[(i)&15], 1))
#define STEP(f, k, wi)                                                                             \
    do {                                                                                           \
        uint32_t t = rol(a, 5) + (f) + e + (k) + (wi);                                             \
        e = d;                                                                                     \
        d = c;                                                                                     \
        c = rol(b, 30);                                                                            \
        b = a;                                                                                     \
        a = t;                                                                                     \
    } while (0)

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    int i = 0;
    for (; i < 16; i++)
        STEP((b & c) | (~b & d), 0x5A827999u, w[i]);
    for (; i < 20; i++)
        STEP((b & c) | (~b & d), 0x5A827999u, W(i));
    for (; i < 40; i++)
        STEP(b ^ c ^ d, 0x6ED9EBA1u, W(i));
    for (; i < 60; i++)
        STEP((b & c) | (b & d) | (c & d), 0x8F1BBCDCu, W(i));
    for (; i < 80; i++)
        STEP(b ^ c ^ d, 0xCA62C1D6u, W(i));
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void sha1_init(sha1_ctx *c)
{
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(c->h, iv, sizeof(iv));
    c->len = 0;
}

void sha1_update(sha1_ctx *c, const void *data, size_t len)
{
    if (!len) return;
    const unsigned char *p = data;
    size_t have = (size_t)(c->len & 63);
    c->len += len;
    if (have) {
        size_t take = 64 - have < len ? 64 - have : len;
        memcpy(c->buf + have, p, take);
        if (have + take < 64) return;
        sha1_block(c->h, c->buf);
        p += take;
        len -= take;
    }
    for (; len >= 64; len -= 64, p += 64)
        sha1_block(c->h, p);
    if (len) memcpy(c->buf, p, len);
}

void sha1_final(sha1_ctx *c, unsigned char out[20])
{
    /* The 0x80 byte, zeros, and the bit length fill one or two blocks. */
    size_t have = (size_t)(c->len & 63);
    uint64_t bits = c->len * 8;
    c->buf[have++] = 0x80;
    if (have > 56) {
        memset(c->buf + have, 0, 64 - have);
        sha1_block(c->h, c->buf);
        have = 0;
    }
    memset(c->buf + have, 0, 56 - have);
    for (int i = 0; i < 8; i++)
        c->buf[63 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(c->h, c->buf);
    for (int i = 0; i < 20; i++)
        out[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void sha1(const void *data, size_t len, unsigned char out[20])
{
    sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, data, len);
    sha1_final(&c, out);
}

void sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char d[20];
    sha1(data, len, d);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[40] = '\0';
}
