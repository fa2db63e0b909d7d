/* evict.h -- maxmemory and key eviction (cache mode), after Redis's evict.c.
 *
 * With maxmemory set, every command first checks the memory in use; above
 * the limit, keys are evicted by maxmemory-policy until it is under again:
 *
 *   allkeys-*, volatile-*   any key / only keys with a TTL
 *   *-lru                   the least recently used
 *   *-lfu                   the least frequently used
 *   *-random                any of them
 *   volatile-ttl            the nearest expiry
 *   noeviction              none
 *
 * If nothing more can be evicted, commands that may grow memory (denyoom,
 * and anything queued in MULTI) are refused with Redis's -OOM error.
 *
 * The choice is approximate, as in Redis: maxmemory-samples keys are
 * sampled per db and the best candidates kept in a pool of 16 across
 * calls, which approaches true LRU/LFU closely for little work.
 *
 * An eviction is written to the command log as a DEL (DESIGN rule 4):
 * replicas and recovery never evict by themselves: nothing is evicted
 * while the engine may not originate (engine_may_originate()), nor for a
 * session replaying the log (SESS_LOADER).
 *
 * The 24-bit lru field of a cobj holds, as in Redis, either the LRU clock
 * (seconds modulo 2^24) or, under an LFU policy, the time of the last
 * decrement in minutes (16 bits) and a logarithmic access counter (8 bits)
 * that grows with probability 1/((counter-5) * lfu-log-factor + 1) and
 * loses one every lfu-decay-time minutes. */
#ifndef CAIRN_EVICT_H
#define CAIRN_EVICT_H

#include <stdint.h>

#include "engine.h"

#define LFU_INIT_VAL      5   /* the counter of a new key: not evicted at once */
#define EVPOOL_SIZE       16  /* candidates kept across calls */
#define EVPOOL_CACHED_LEN 255 /* keys up to this long reuse the slot's buffer */

static inline int evict_policy_is_lfu(int policy)
{
    return policy == MAXMEMORY_VOLATILE_LFU || policy == MAXMEMORY_ALLKEYS_LFU;
}

static inline int evict_policy_is_lru(int policy)
{
    return policy == MAXMEMORY_VOLATILE_LRU || policy == MAXMEMORY_ALLKEYS_LRU;
}

static inline int evict_policy_is_allkeys(int policy)
{
    return policy == MAXMEMORY_ALLKEYS_LRU || policy == MAXMEMORY_ALLKEYS_LFU ||
           policy == MAXMEMORY_ALLKEYS_RANDOM;
}

/* The eviction state of an engine: the memory meter, the pool, and the
 * PRNG that samples keys (evictions are logged, never replayed, so their
 * randomness need not come from a command's context). */
typedef struct evict_state evict_state;

evict_state *evict_create(const uint8_t seed[8]);
void evict_free(evict_state *ev);

/* ---- Memory ---------------------------------------------------------- */

/* Two open stores share nothing, memory included (DESIGN rule 1): each
 * engine counts its own.  An engine alone in its process (the server,
 * engine_mem_own_process) takes the allocator's figure for the process;
 * otherwise (libcairn, tests) its memory is what was allocated minus what
 * was freed by the thread running it between engine_mem_enter() and
 * engine_mem_leave(), which nest.  The engine brackets its own entry
 * points (engine_execute, engine_apply_entry); a host brackets whatever
 * else it does to the engine's memory, and leaves out what it hands to
 * the application (decoded replies). */
void engine_mem_own_process(cairn_engine *e);
void engine_mem_enter(cairn_engine *e);
void engine_mem_leave(cairn_engine *e);
/* The bytes in use, as INFO's used_memory. */
size_t engine_used_memory(cairn_engine *e);

/* How the bytes in use split, as INFO memory and MEMORY STATS report
 * them.  host_lines are the host's INFO memory lines (NULL without a host):
 * the memory of its clients and buffers counts as overhead, as Redis
 * counts it. */
typedef struct engine_mem_report {
    long long used, startup, overhead, dataset, keys;
    long long clients_normal, aof_buffer; /* from host_lines */
} engine_mem_report;
void engine_mem_report_fill(cairn_engine *e, const char *host_lines, engine_mem_report *r);
/* The number after "name:" on a line of INFO text, or 0. */
unsigned long long info_text_field(const char *text, const char *name);

/* The same, cheaply enough to ask before every command: for an engine
 * alone in its process the allocator's figure (slow to read) is taken at
 * most every 100 ms of command time and the calling thread's own
 * allocation counters (two loads) carry it forward in between. */
size_t evict_used_memory(cairn_engine *e, int64_t now_ms);

/* ---- Eviction -------------------------------------------------------- */

enum {
    EVICT_OK = 0,      /* under the limit (or no limit) */
    EVICT_RUNNING = 1, /* still over, but this call has done its share */
    EVICT_FAIL = 2,    /* over, and nothing more may be evicted */
};

/* Evict keys until the memory in use is under maxmemory, at most a
 * budget of keys per call (maxmemory-eviction-tenacity).  Each eviction is
 * logged as DEL at now_ms, touches watchers and counts in evicted_keys. */
int evict_perform(cairn_engine *e, int64_t now_ms);
/* The same without the budget: CONFIG SET of a lower maxmemory takes
 * effect at once (Redis keeps evicting from a timer until it is done). */
int evict_to_limit(cairn_engine *e, int64_t now_ms);

/* Before session s runs cmd: evict as needed, and if memory is still over
 * the limit and cmd may grow it, reply with the OOM error (EXECABORT for
 * an EXEC, whose transaction is then discarded) and return 1. */
int evict_refuse_command(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int64_t now_ms,
                         rbuf *out);

/* ---- Access tracking (the lru field) ---------------------------------- */

/* The LFU clock: minutes modulo 2^16. */
static inline unsigned lfu_minutes(int64_t now_ms) { return (unsigned)((now_ms / 60000) & 0xFFFF); }

/* What a new object's lru field starts as: the LRU clock, or under an LFU
 * policy this minute and LFU_INIT_VAL. */
static inline unsigned evict_initial_lru(const cairn_engine *e, int64_t now_ms)
{
    if (evict_policy_is_lfu(e->cfg.maxmemory_policy))
        return (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL;
    return engine_lru_clock(now_ms);
}

/* What a snapshot keeps of an object's access, as Redis's RDB does under
 * an LRU or LFU policy: the idle time in seconds, or the LFU counter.
 * Saving the idle time rather than the clock makes a restart not count as
 * idle time.  Returns 0 when the policy keeps neither (nothing saved). */
enum { ACCESS_NONE = 0, ACCESS_IDLE = 1, ACCESS_FREQ = 2 };
static inline int evict_access_kind(const cairn_engine *e)
{
    int policy = e->cfg.maxmemory_policy;
    return evict_policy_is_lfu(policy)   ? ACCESS_FREQ
           : evict_policy_is_lru(policy) ? ACCESS_IDLE
                                         : ACCESS_NONE;
}
uint64_t evict_access_save(const cairn_engine *e, const cobj *o, int64_t now_ms);
/* The lru field of a loaded object from what was saved (kind ACCESS_*),
 * or a new object's when the policy now keeps the other kind. */
unsigned evict_access_restore(const cairn_engine *e, int kind, uint64_t saved, int64_t now_ms);

/* Record an access to o by the call c. */
void lfu_touch(cmd_call *c, cobj *o);
static inline void evict_touch(cmd_call *c, cobj *o)
{
    if (evict_policy_is_lfu(c->e->cfg.maxmemory_policy))
        lfu_touch(c, o);
    else
        o->lru = engine_lru_clock(c->now_ms);
}

/* Milliseconds since the access recorded in an LRU-clock lru field. */
unsigned long long lru_idle_ms(unsigned lru, int64_t now_ms);

/* The counter of an LFU lru field after the decay due at now_ms (the
 * field itself is not changed: OBJECT FREQ and sampling only look). */
unsigned lfu_decayed_counter(unsigned lru, int64_t now_ms, int decay_time);
/* The counter after one access, given a uniform draw r in [0, 1). */
unsigned lfu_log_incr(unsigned counter, double r, int log_factor);

/* ---- The candidate pool (exposed for unit tests) ------------------------ */

typedef struct evict_pool_entry {
    unsigned long long idle; /* the higher, the better a candidate */
    int db;
    char *key; /* NULL when free; == cached when it fits there */
    size_t len;
    char *cached; /* EVPOOL_CACHED_LEN bytes owned by the slot */
} evict_pool_entry;

/* Sorted by idle, ascending: the best candidate is the rightmost. */
typedef struct evict_pool {
    evict_pool_entry e[EVPOOL_SIZE];
} evict_pool;

void evict_pool_init(evict_pool *p);
void evict_pool_release(evict_pool *p);
/* Forget every candidate (the policy changed: scores are not comparable). */
void evict_pool_clear(evict_pool *p);
/* Offer a candidate: it takes its place by idle if the pool has room or it
 * beats the worst one there. */
void evict_pool_insert(evict_pool *p, unsigned long long idle, int db, const char *key, size_t len);
/* Free slot k. */
void evict_pool_remove(evict_pool_entry *pe);

#endif
