/* stream.h -- the stream type's data structure: an append-only log of
 * entries with 128-bit IDs (ms-seq), and its consumer groups.
 *
 * Entries are packed, as in Redis, into listpack nodes of at most
 * stream-node-max-entries entries and stream-node-max-bytes bytes.  Each
 * node starts with a master entry (live count, deleted count, the fields
 * of the node's first entry, a 0 terminator); every entry after it stores
 * its ID as a delta from the node's master ID, and only its values when it
 * has the master entry's fields (the SAMEFIELDS flag), so a stream of
 * uniform events costs little more than its values.  Deleting an entry
 * only flags it (and frees the node once it has no live entry).
 *
 * The nodes, and the pending entries lists of consumer groups, are kept in
 * an sidmap: an array sorted by ID, with room at both ends, so appending
 * (XADD, XREADGROUP) and removing from the head (XTRIM, XACK of the oldest)
 * cost O(1), lookups O(log n), and only inserting or removing in the
 * middle moves memory.  Nothing here knows about commands or replies. */
#ifndef CAIRN_STREAM_H
#define CAIRN_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "dstr.h"
#include "listpack.h"

typedef struct sid {
    uint64_t ms, seq;
} sid;

#define SID_MIN ((sid){0, 0})
#define SID_MAX ((sid){UINT64_MAX, UINT64_MAX})

static inline int sid_cmp(const sid *a, const sid *b)
{
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}
static inline int sid_is_zero(const sid *a) { return a->ms == 0 && a->seq == 0; }
/* The next/previous ID; 0 when there is none (at SID_MAX / SID_MIN). */
int sid_incr(sid *id);
int sid_decr(sid *id);
/* "<ms>-<seq>" into buf (at least SID_STR_MAX bytes); returns the length. */
#define SID_STR_MAX 44
int sid_format(const sid *id, char *buf);
/* Parse "<ms>-<seq>" or "<ms>" (seq = missing_seq then); *seq_auto is set
 * (when not NULL) for "<ms>-*".  Returns 0 if malformed. */
int sid_parse(const char *s, size_t len, uint64_t missing_seq, sid *id, int *seq_auto);

/* ---- sidmap: an ordered map from IDs to pointers ------------------------ */

typedef struct sidmap_ent {
    sid id;
    void *val;
} sidmap_ent;

typedef struct sidmap {
    sidmap_ent *a;
    size_t off, n, cap; /* the entries are a[off .. off+n) */
} sidmap;

static inline size_t sidmap_len(const sidmap *m) { return m->n; }
static inline sidmap_ent *sidmap_at(const sidmap *m, size_t i) { return &m->a[m->off + i]; }
/* Index of the first entry with an ID >= id (sidmap_len() if none). */
size_t sidmap_lower(const sidmap *m, const sid *id);
/* The entry of id, or NULL. */
sidmap_ent *sidmap_find(const sidmap *m, const sid *id);
/* Insert id, which must be absent. */
void sidmap_insert(sidmap *m, const sid *id, void *val);
void sidmap_remove_at(sidmap *m, size_t i);
/* Remove id; returns its value, or NULL if it was absent. */
void *sidmap_remove(sidmap *m, const sid *id);
/* Free the array (not the values). */
void sidmap_free(sidmap *m);
size_t sidmap_mem(const sidmap *m);

/* ---- Consumer groups ---------------------------------------------------- */

typedef struct stream_consumer stream_consumer;

/* An entry delivered and not yet acknowledged. */
typedef struct stream_nack {
    int64_t delivery_time; /* unix ms of the last delivery */
    uint64_t delivery_count;
    stream_consumer *consumer;
} stream_nack;

struct stream_consumer {
    dstr name;
    int64_t seen_time; /* unix ms of its last read or claim */
    sidmap pel;        /* its pending entries: id -> the group's nack */
};

/* Where a forward read of the stream stands: just past the entry before
 * `next`, at byte off of the node whose master ID is master.  Valid while
 * the stream's gen is gen: entries never move in their node but when the
 * node shrinks or its counts change size, and then gen changes. */
typedef struct stream_pos {
    sid next, master;
    uint64_t gen;
    size_t off;
    int valid;
} stream_pos;

/* entries_read when unknown. */
#define SCG_INVALID_ENTRIES_READ (-1LL)

typedef struct stream_cg {
    dstr name;
    sid last_id; /* the last entry delivered */
    long long entries_read;
    sidmap pel;                  /* id -> stream_nack, owned */
    stream_consumer **consumers; /* sorted by name */
    size_t nconsumers;
    /* Where the last XREADGROUP ">" stopped, so the next one resumes
     * there instead of walking its node from the start. */
    stream_pos read_pos;
} stream_cg;

/* ---- The stream ---------------------------------------------------------- */

typedef struct stream {
    sidmap nodes; /* master ID -> listpack */
    uint64_t length;
    sid last_id;        /* the last ID ever added (or set by XSETID) */
    sid first_id;       /* the first live entry's, 0-0 when empty */
    sid max_deleted_id; /* the greatest ID deleted (XDEL), 0-0 if none */
    uint64_t entries_added;
    stream_cg **groups; /* sorted by name */
    size_t ngroups;
    /* Changes when entries move within a node or nodes go (stream_pos). */
    uint64_t gen;
} stream;

/* Node limits of stream_append(): 0 means no limit. */
typedef struct stream_limits {
    size_t max_bytes;
    long long max_entries;
} stream_limits;

stream *stream_new(void);
void stream_free(stream *s);
stream *stream_dup(const stream *s);
/* Bytes allocated for s; nodes past `samples` (0: all) are extrapolated. */
size_t stream_mem(const stream *s, long long samples);

/* Append an entry with id (> s->last_id) and nfields field/value pairs
 * (fv[2i] field, fv[2i+1] value).  Updates length, last_id, first_id and
 * entries_added. */
void stream_append(stream *s, const sid *id, const cslice *fv, long nfields,
                   const stream_limits *lim);
/* The ID XADD * would generate at now_ms; 0 when the last ID is the
 * greatest possible. */
int stream_next_id(const stream *s, uint64_t now_ms, sid *out);
/* Delete the entry id; returns 1 if it was there. */
int stream_delete(stream *s, const sid *id);

enum { TRIM_NONE = 0, TRIM_MAXLEN = 1, TRIM_MINID = 2 };
typedef struct stream_trim {
    int strategy;
    int approx;      /* remove whole nodes only */
    long long limit; /* at most this many entries removed (0: no limit) */
    long long maxlen;
    sid minid;
} stream_trim;
/* Trim from the head as t says, as Redis's streamTrim; returns how many
 * entries were removed. */
long long stream_trim_run(stream *s, const stream_trim *t);

/* The first (or last) live entry's ID; 0 when s is empty. */
int stream_edge_id(const stream *s, int last, sid *out);

/* Iterating over the live entries of [start, end], forwards or backwards:
 *
 *   stream_iter it;
 *   stream_iter_start(&it, s, &start, &end, 0);
 *   sid id; long n;
 *   while (stream_iter_next(&it, &id, &n))
 *       for (long i = 0; i < n; i++) {
 *           lp_value f, v;
 *           stream_iter_field(&it, &f, &v);
 *       }
 *
 * The stream must not change while iterating (except through
 * stream_iter_delete()). */
typedef struct stream_iter {
    const stream *s;
    sid start, end;
    int rev;
    size_t node;         /* index of the current node + 1; 0 before the first */
    int done;            /* no node left */
    unsigned char *lp;   /* the current node, NULL between nodes */
    unsigned char *p;    /* cursor in lp */
    unsigned char *mf;   /* the master entry's first field */
    unsigned char *mfp;  /* the next master field to return (SAMEFIELDS) */
    unsigned char *flag; /* the current entry's flags */
    long mcount;         /* master fields */
    sid master;
    int eflags;
    long left; /* fields of the current entry not yet returned */
} stream_iter;

void stream_iter_start(stream_iter *it, const stream *s, const sid *start, const sid *end, int rev);
int stream_iter_next(stream_iter *it, sid *id, long *nfields);
void stream_iter_field(stream_iter *it, lp_value *field, lp_value *value);
/* A forward iteration from start to the end that resumes at pos when pos
 * is where an earlier one stopped just before start (and nothing moved
 * since); otherwise the same as stream_iter_start(). */
void stream_iter_resume(stream_iter *it, const stream *s, const sid *start, const stream_pos *pos);
/* Record in pos where a forward iteration stands after the entry id it
 * returned last. */
void stream_iter_save(const stream_iter *it, const sid *id, stream_pos *pos);

/* The listpack nodes, for writers of other formats (RDB) and snapshots. */
static inline size_t stream_node_count(const stream *s) { return sidmap_len(&s->nodes); }
static inline unsigned char *stream_node_lp(const stream *s, size_t i, sid *master)
{
    sidmap_ent *e = sidmap_at(&s->nodes, i);
    if (master) *master = e->id;
    return e->val;
}
/* Add a node read back (loading): master must be greater than every
 * entry of the nodes so far; lp is taken over.  Returns 0 (lp not taken) if its
 * structure is not a stream node's; counts its live entries into
 * s->length. */
int stream_load_node(stream *s, const sid *master, unsigned char *lp);
/* After the nodes of a stream read from a foreign source and its last_id:
 * is the stream sound (length entries live, last_id not below its last
 * entry)?  Sets first_id from the entries.  1 if so. */
int stream_load_finish(stream *s, uint64_t length);

/* Consumer groups. */
stream_cg *stream_cg_find(const stream *s, const char *name, size_t len);
/* NULL if a group of that name exists. */
stream_cg *stream_cg_create(stream *s, const char *name, size_t len, const sid *last_id,
                            long long entries_read);
void stream_cg_destroy(stream *s, stream_cg *cg);
stream_consumer *stream_consumer_find(const stream_cg *cg, const char *name, size_t len);
stream_consumer *stream_consumer_create(stream_cg *cg, const char *name, size_t len,
                                        int64_t now_ms);
/* Delete a consumer and its pending entries; returns how many it had. */
uint64_t stream_consumer_delete(stream_cg *cg, stream_consumer *c);
/* Add id to the group's and the consumer's pending lists (id must not be
 * pending). */
stream_nack *stream_nack_add(stream_cg *cg, stream_consumer *c, const sid *id, int64_t now_ms);
/* Give a pending entry to another consumer. */
void stream_nack_move(stream_cg *cg, const sid *id, stream_nack *n, stream_consumer *to);
/* Acknowledge id: off both lists.  Returns 1 if it was pending. */
int stream_nack_ack(stream_cg *cg, const sid *id);

/* Redis 7.0's bookkeeping of entries_read and lag. */
long long stream_estimate_distance(const stream *s, const sid *id);
int stream_range_has_tombstones(const stream *s, const sid *start, const sid *end);
/* The group's lag, or -1 when it cannot be known (XINFO shows a null). */
long long stream_cg_lag(const stream *s, const stream_cg *cg);
/* The group delivered id (> its last_id): advance last_id and entries_read. */
void stream_cg_delivered(const stream *s, stream_cg *cg, const sid *id);

#endif
