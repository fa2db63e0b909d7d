/* fuzz.h -- what the libFuzzer targets share: the entry point, a reader
 * that turns the fuzzer's bytes into choices, and the check that stops a
 * run on a broken invariant.
 *
 * Each target defines LLVMFuzzerTestOneInput().  Built with clang's
 * -fsanitize=fuzzer (make fuzz) libFuzzer drives it; built with any
 * compiler and replay.c it runs the files of the corpus and of the
 * regression folder once each (CTest). */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, and abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct fuzz_in {
    const uint8_t *p;
    size_t left;
} fuzz_in;

static inline uint8_t fuzz_u8(fuzz_in *in)
{
    if (!in->left) return 0;
    in->left--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* Up to n bytes (fewer at the end of the input); *len says how many. */
static inline const uint8_t *fuzz_bytes(fuzz_in *in, size_t n, size_t *len)
{
    const uint8_t *p = in->p;
    *len = n < in->left ? n : in->left;
    in->p += *len;
    in->left -= *len;
    return p;
}

#endif
