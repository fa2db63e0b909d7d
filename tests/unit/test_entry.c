/* Unit tests of the command-log entry codec. */
#include "ds/alloc.h"
#include "log/entry.h"
#include "test.h"

static dstr encode_sample(void)
{
    cslice argv[3] = {{"SET", 3}, {"key", 3}, {"v\0al", 4}};
    cairn_entry e = {7, 1700000000123LL, 0xDEADBEEFCAFEULL, 3, argv};
    return entry_encode(dstr_with_cap(0), &e);
}

static void test_round_trip(void)
{
    dstr buf = encode_sample();
    entry_view v;
    const char *why = NULL;
    REQUIRE(entry_decode(buf, dstr_len(buf), &v, &why) == ENTRY_OK);
    CHECK_EQ_LL(v.size, dstr_len(buf));
    CHECK_EQ_LL(v.e.db, 7);
    CHECK_EQ_LL(v.e.now_ms, 1700000000123LL);
    CHECK(v.e.seed == 0xDEADBEEFCAFEULL);
    CHECK_EQ_LL(v.e.argc, 3);
    CHECK(v.e.argv[2].len == 4 && memcmp(v.e.argv[2].ptr, "v\0al", 4) == 0);
    entry_view_free(&v);
    dstr_free(buf);
}

static void test_truncation_at_every_byte(void)
{
    dstr buf = encode_sample();
    for (size_t n = 0; n < dstr_len(buf); n++) {
        entry_view v;
        const char *why;
        REQUIRE(entry_decode(buf, n, &v, &why) == ENTRY_INCOMPLETE);
    }
    dstr_free(buf);
}

static void test_every_flipped_byte_is_caught(void)
{
    dstr buf = encode_sample();
    for (size_t i = 0; i < dstr_len(buf); i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (char)(1 << bit);
            entry_view v;
            const char *why;
            int rc = entry_decode(buf, dstr_len(buf), &v, &why);
            /* A flipped length byte may look like a longer entry still
             * arriving; anything else must be refused. */
            REQUIRE(rc == ENTRY_CORRUPT || (rc == ENTRY_INCOMPLETE && i >= 2 && i < 6));
            buf[i] ^= (char)(1 << bit);
        }
    }
    dstr_free(buf);
}

static void test_crc32c_known_value(void)
{
    /* The standard check value of CRC-32C. */
    CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
}

static void test_consecutive_entries(void)
{
    dstr one = encode_sample();
    dstr buf = dstr_cat(dstr_dup(one), one, dstr_len(one));
    dstr_free(one);
    entry_view v;
    const char *why;
    REQUIRE(entry_decode(buf, dstr_len(buf), &v, &why) == ENTRY_OK);
    size_t first = v.size;
    entry_view_free(&v);
    REQUIRE(entry_decode(buf + first, dstr_len(buf) - first, &v, &why) == ENTRY_OK);
    CHECK_EQ_LL(first + v.size, dstr_len(buf));
    entry_view_free(&v);
    dstr_free(buf);
}

int main(void)
{
    TEST(test_round_trip);
    TEST(test_truncation_at_every_byte);
    TEST(test_every_flipped_byte_is_caught);
    TEST(test_crc32c_known_value);
    TEST(test_consecutive_entries);
    return TEST_REPORT();
}
