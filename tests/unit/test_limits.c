/* test_limits.c -- lengths near 4 GiB: what a client controls is capped
 * below what the code holds (32-bit dstr lengths, 32-bit entry payload
 * lengths), and a dstr asked to exceed its limit stops instead of
 * truncating.  Nothing here allocates gigabytes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "ds/alloc.h"
#include "ds/dstr.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "log/entry.h"

static cairn_engine *engine(void)
{
    uint8_t seed[32] = {0};
    cairn_engine *e = engine_create(seed);
    engine_start(e, 0);
    return e;
}

static void test_query_limits_are_capped(void)
{
    cairn_engine *e = engine();
    char err[256];
    static const char *const names[] = {"proto-max-bulk-len", "client-query-buffer-limit"};
    for (int i = 0; i < 2; i++) {
        /* Redis's bounds and message below... */
        const char *msg = config_set(e, names[i], "1000", 0, err, sizeof(err));
        CHECK(msg && strstr(msg, "argument must be between 1048576 and 9223372036854775807"));
        /* ... and what the code can hold above. */
        msg = config_set(e, names[i], "4gb", 0, err, sizeof(err));
        CHECK(msg &&
              strcmp(msg, "argument must be at most 2147483648 (the most Cairn can hold)") == 0);
        msg = config_set(e, names[i], "3gb", 1, err, sizeof(err)); /* the config file too */
        CHECK(msg != NULL);
        CHECK(config_set(e, names[i], "2147483648", 0, err, sizeof(err)) == NULL);
        CHECK(config_set(e, names[i], "2147483649", 0, err, sizeof(err)) != NULL);
    }
    CHECK_EQ_LL(e->cfg.proto_max_bulk_len, 2147483648LL);
    CHECK_EQ_LL(e->cfg.client_query_buffer_limit, 2147483648LL);
    engine_free(e);
}

/* The largest limits still fit what holds them. */
static void test_caps_fit_the_buffers(void)
{
    /* A query buffer is cut off once past the limit: it holds the limit
     * and a read at most. */
    CHECK(CONFIG_MAX_QUERY_LEN + 64 * 1024 <= DSTR_MAX_LEN);
    /* A command that fits the limit encodes to a smaller payload (its
     * varints are shorter than RESP's headers; db, time and seed add at
     * most 26 bytes). */
    CHECK(CONFIG_MAX_QUERY_LEN + 64 <= ENTRY_MAX_PAYLOAD);
    CHECK(ENTRY_MAX_PAYLOAD + ENTRY_HEADER_LEN + (1u << 20) <= DSTR_MAX_LEN);
}

/* An entry header announcing a payload of up to ENTRY_MAX_PAYLOAD is a
 * long entry still arriving; beyond it, corruption. */
static void test_entry_length_bound(void)
{
    unsigned char h[ENTRY_HEADER_LEN] = {ENTRY_MAGIC, ENTRY_VERSION};
    entry_view v;
    const char *why = NULL;
    uint32_t payload = CONFIG_MAX_QUERY_LEN + 64;
    memcpy(h + 2, &payload, 4); /* little endian, as the tests run on x86 and arm */
    CHECK_EQ_LL(entry_decode((const char *)h, sizeof(h), &v, &why), ENTRY_INCOMPLETE);
    payload = ENTRY_MAX_PAYLOAD + 1;
    memcpy(h + 2, &payload, 4);
    CHECK_EQ_LL(entry_decode((const char *)h, sizeof(h), &v, &why), ENTRY_CORRUPT);
}

/* Run f in a child; returns the signal that ended it (0 if none). */
static int dies_of(void (*f)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's message is expected; keep the test output clean. */
        if (!freopen("/dev/null", "w", stderr)) _exit(2);
        f();
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void reserve_past_the_limit(void)
{
    dstr s = dstr_new("abc", 3);
    s = dstr_reserve(s, (size_t)DSTR_MAX_LEN); /* 3 + that: one too many */
    dstr_free(s);
}

static void reserve_exact_past_the_limit(void)
{
    dstr s = dstr_new("abc", 3);
    s = dstr_reserve_exact(s, (size_t)DSTR_MAX_LEN - 2);
    dstr_free(s);
}

static void create_past_the_limit(void) { dstr_free(dstr_with_cap((size_t)DSTR_MAX_LEN + 1)); }

static void test_dstr_refuses_what_it_cannot_hold(void)
{
    CHECK_EQ_LL(dies_of(reserve_past_the_limit), SIGABRT);
    CHECK_EQ_LL(dies_of(reserve_exact_past_the_limit), SIGABRT);
    CHECK_EQ_LL(dies_of(create_past_the_limit), SIGABRT);
    /* Within the limit nothing happens (and nothing is allocated). */
    dstr s = dstr_new("abc", 3);
    s = dstr_reserve(s, 10);
    CHECK(dstr_cap(s) >= 13);
    dstr_free(s);
}

int main(void)
{
    TEST(test_query_limits_are_capped);
    TEST(test_caps_fit_the_buffers);
    TEST(test_entry_length_bound);
    TEST(test_dstr_refuses_what_it_cannot_hold);
    return TEST_REPORT();
}
