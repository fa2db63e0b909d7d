/* Unit tests of the node-to-node message codec (src/repl/wire.c). */
#include <stdlib.h>

#include "repl/wire.h"
#include "test.h"

static raft_msg sample(void)
{
    raft_msg m = {.type = RAFT_MSG_APP,
                  .reject = 1,
                  .transfer = 1,
                  .from = 2,
                  .to = 3,
                  .term = 7,
                  .log_term = 6,
                  .index = 41,
                  .commit = 40,
                  .hint_index = 39,
                  .hint_term = 5,
                  .ctx = UINT64_C(1) << 63 | 9,
                  .tick = 12345};
    m.n_entries = 2;
    m.entries = calloc(2, sizeof(raft_entry));
    m.entries[0] = (raft_entry){.term = 7, .index = 42, .type = RAFT_ENTRY_NOOP};
    m.entries[1] = (raft_entry){.term = 7, .index = 43, .type = RAFT_ENTRY_NORMAL, .len = 5};
    m.entries[1].data = malloc(5);
    memcpy(m.entries[1].data, "hello", 5);
    return m;
}

static void test_roundtrip(void)
{
    raft_msg m = sample();
    m.offset = 100;
    m.size = 1000;
    m.done = 1;
    m.data_len = 3;
    m.data = malloc(3);
    memcpy(m.data, "abc", 3);
    m.conf = calloc(1, sizeof(raft_conf));
    m.conf->n_voters = 3;
    m.conf->voters[0] = 1, m.conf->voters[1] = 2, m.conf->voters[2] = 3;
    m.conf->n_learners = 1;
    m.conf->learners[0] = 4;
    dstr buf = wire_encode(dstr_new("", 0), &m);
    raft_msg d;
    CHECK(wire_decode(buf, dstr_len(buf), &d) == 0);
    CHECK(d.type == m.type && d.reject == 1 && d.transfer == 1);
    CHECK(d.from == 2 && d.to == 3 && d.term == 7 && d.log_term == 6 && d.index == 41);
    CHECK(d.commit == 40 && d.hint_index == 39 && d.hint_term == 5 && d.ctx == m.ctx);
    CHECK(d.tick == 12345 && d.n_entries == 2);
    CHECK(d.entries[0].type == RAFT_ENTRY_NOOP && d.entries[0].len == 0);
    CHECK(d.entries[1].index == 43 && d.entries[1].len == 5);
    CHECK(memcmp(d.entries[1].data, "hello", 5) == 0);
    CHECK(d.offset == 100 && d.size == 1000 && d.done == 1);
    CHECK(d.data_len == 3 && memcmp(d.data, "abc", 3) == 0);
    CHECK(d.conf && d.conf->n_voters == 3 && d.conf->voters[2] == 3);
    CHECK(d.conf && d.conf->n_learners == 1 && d.conf->learners[0] == 4);
    CHECK(d.commit_only == 0);
    raft_msg_free(&d);
    dstr_free(buf);
    /* the flags byte: commit_only beside transfer, each on its own */
    m.commit_only = 1;
    m.transfer = 0;
    buf = wire_encode(dstr_new("", 0), &m);
    CHECK(wire_decode(buf, dstr_len(buf), &d) == 0);
    CHECK(d.commit_only == 1 && d.transfer == 0);
    raft_msg_free(&d);
    raft_msg_free(&m);
    dstr_free(buf);
}

/* Every prefix, and the message with a byte more, is refused (never read
 * past, never a partial message). */
static void test_truncated_and_overlong_refused(void)
{
    raft_msg m = sample();
    dstr buf = wire_encode(dstr_new("", 0), &m);
    for (size_t len = 0; len < dstr_len(buf); len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        raft_msg d;
        CHECK(wire_decode(copy, len, &d) == -1);
        free(copy);
    }
    buf = dstr_cat(buf, "x", 1);
    raft_msg d;
    CHECK(wire_decode(buf, dstr_len(buf), &d) == -1);
    raft_msg_free(&m);
    dstr_free(buf);
}

static void test_bad_counts_refused(void)
{
    raft_msg m = {.type = RAFT_MSG_HEARTBEAT};
    dstr buf = wire_encode(dstr_new("", 0), &m);
    raft_msg d;
    buf[1] = (char)RAFT_MSG_TYPES; /* an unknown type */
    CHECK(wire_decode(buf, dstr_len(buf), &d) == -1);
    buf[1] = (char)RAFT_MSG_HEARTBEAT;
    buf[0] = 2; /* another version */
    CHECK(wire_decode(buf, dstr_len(buf), &d) == -1);
    buf[0] = 1;
    memset(buf + 84, 0xff, 4); /* a huge entry count */
    CHECK(wire_decode(buf, dstr_len(buf), &d) == -1);
    dstr_free(buf);
}

int main(void)
{
    TEST(test_roundtrip);
    TEST(test_truncated_and_overlong_refused);
    TEST(test_bad_counts_refused);
    return TEST_REPORT();
}
