/* evict.c -- maxmemory and key eviction; see evict.h. */
#include "evict.h"

#include <limits.h>
#include <string.h>

#include "../ds/alloc.h"
#include "cmd.h"
#include "db.h"
#include "latency.h"
#include "multi.h"

#define ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* How long the process-wide memory figure is trusted before it is read
 * again: reading it costs about 20 us with jemalloc (it merges the
 * statistics of every arena), so not per command. */
#define MEM_RESYNC_MS 100

/* What one eviction costs, to turn Redis's time budget into keys (see
 * key_budget): 0.8 to 1 us measured here in a release build, sampling and
 * deleting included, as for Redis 7.0 on the same machine. */
#define EVICT_US_PER_KEY 1

/* Keys sampled per htab_sample() call; maxmemory-samples may be larger. */
#define SAMPLE_CHUNK 64

struct evict_state {
    /* The memory meter (evict_used_memory). */
    size_t mem_base;         /* the process-wide figure at the last sync */
    int64_t mem_thread_base; /* the thread's net allocation then */
    const void *mem_thread;  /* whose counters those are; NULL: never synced */
    int64_t mem_synced_ms;
    evict_pool pool;
    int pool_policy; /* the policy the pool's scores were computed under */
    int next_db;     /* the random policies take the dbs in turn */
    crand rng;
};

evict_state *evict_create(const uint8_t seed[8])
{
    evict_state *ev = cm_calloc(1, sizeof(*ev));
    uint64_t s;
    memcpy(&s, seed, sizeof(s));
    crand_seed(&ev->rng, s);
    evict_pool_init(&ev->pool);
    ev->pool_policy = -1;
    return ev;
}

void evict_free(evict_state *ev)
{
    if (!ev) return;
    evict_pool_release(&ev->pool);
    cm_free(ev);
}

/* ---------------------------------------------------------------------- */
/* The memory meter                                                        */
/* ---------------------------------------------------------------------- */

void engine_mem_own_process(cairn_engine *e) { e->mem_process = 1; }

static int64_t thread_net(void)
{
    /* Without per-thread counters (a build without jemalloc) this is the
     * process's figure: exact as long as one thread allocates. */
    const void *thread;
    return cm_thread_net_allocated(&thread);
}

void engine_mem_enter(cairn_engine *e)
{
    if (!e->mem_process && e->mem_depth++ == 0) e->mem_base = thread_net();
}

void engine_mem_leave(cairn_engine *e)
{
    if (!e->mem_process && --e->mem_depth == 0) e->mem_net += thread_net() - e->mem_base;
}

size_t engine_used_memory(cairn_engine *e)
{
    if (e->mem_process) return cm_used_memory();
    int64_t used = e->mem_net + (e->mem_depth ? thread_net() - e->mem_base : 0);
    return used > 0 ? (size_t)used : 0;
}

size_t evict_used_memory(cairn_engine *e, int64_t now_ms)
{
    if (!e->mem_process) return engine_used_memory(e);
    evict_state *ev = e->evict;
    const void *thread;
    int64_t net = cm_thread_net_allocated(&thread);
    if (!thread) return (size_t)net; /* no per-thread counters: net is the process figure */

    /* Re-read the process-wide figure now and then: other threads (an
     * embedder's, or any a host adds) allocate and free too, and a buffer
     * allocated here and freed there would otherwise look like a leak.
     * A call from another thread has other counters: re-read as well. */
    int stale = thread != ev->mem_thread || now_ms < ev->mem_synced_ms ||
                now_ms - ev->mem_synced_ms >= MEM_RESYNC_MS;
    int64_t used = (int64_t)ev->mem_base + (net - ev->mem_thread_base);
    if (stale || used < 0) {
        ev->mem_base = cm_used_memory();
        ev->mem_thread_base = net;
        ev->mem_thread = thread;
        ev->mem_synced_ms = now_ms;
        used = (int64_t)ev->mem_base;
    }
    return (size_t)used;
}

/* ---------------------------------------------------------------------- */
/* LRU and LFU                                                             */
/* ---------------------------------------------------------------------- */

#define LRU_CLOCK_MAX 0xFFFFFFu

unsigned long long lru_idle_ms(unsigned lru, int64_t now_ms)
{
    unsigned long long clock = engine_lru_clock(now_ms);
    if (clock >= lru) return (clock - lru) * 1000;
    return (clock + (LRU_CLOCK_MAX - lru)) * 1000; /* the clock wrapped */
}

static unsigned long lfu_elapsed_minutes(unsigned ldt, int64_t now_ms)
{
    unsigned now = lfu_minutes(now_ms);
    if (now >= ldt) return now - ldt;
    return 65535 - ldt + now;
}

unsigned lfu_decayed_counter(unsigned lru, int64_t now_ms, int decay_time)
{
    unsigned ldt = lru >> 8, counter = lru & 255;
    unsigned long periods =
        decay_time > 0 ? lfu_elapsed_minutes(ldt, now_ms) / (unsigned)decay_time : 0;
    if (periods) counter = periods > counter ? 0 : counter - (unsigned)periods;
    return counter;
}

unsigned lfu_log_incr(unsigned counter, double r, int log_factor)
{
    if (counter == 255) return 255;
    double base = (double)counter - LFU_INIT_VAL;
    if (base < 0) base = 0;
    /* r < p with p = 1 / (base * log_factor + 1), without the division. */
    return r * (base * log_factor + 1) < 1.0 ? counter + 1 : counter;
}

/* A uniform draw in [0, 1) for the LFU counter: from the call's seed
 * (rule 2), but not from c->rng.  Counters move only under an LFU policy,
 * a per-node setting the log does not carry, so drawing from c->rng would
 * shift the handler's own random choices (SPOP, SRANDMEMBER, ...) by a
 * setting that a replay need not share.  Each draw of a call hashes the
 * seed with its index (splitmix64). */
static double lfu_draw(cmd_call *c)
{
    uint64_t x = c->seed + 0x9E3779B97F4A7C15ull * ++c->lfu_draws;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (double)(x >> 11) * 0x1.0p-53;
}

uint64_t evict_access_save(const cairn_engine *e, const cobj *o, int64_t now_ms)
{
    if (evict_access_kind(e) == ACCESS_FREQ)
        return lfu_decayed_counter(o->lru, now_ms, e->cfg.lfu_decay_time);
    return lru_idle_ms(o->lru, now_ms) / 1000;
}

unsigned evict_access_restore(const cairn_engine *e, int kind, uint64_t saved, int64_t now_ms)
{
    if (kind != evict_access_kind(e)) return evict_initial_lru(e, now_ms);
    if (kind == ACCESS_FREQ)
        return (lfu_minutes(now_ms) << 8) | (unsigned)(saved > 255 ? 255 : saved);
    if (saved > 0xFFFFFF) saved = 0xFFFFFF;
    return (engine_lru_clock(now_ms) - (unsigned)saved) & 0xFFFFFF;
}

void lfu_touch(cmd_call *c, cobj *o)
{
    const cairn_config *cfg = &c->e->cfg;
    unsigned counter = lfu_decayed_counter(o->lru, c->now_ms, cfg->lfu_decay_time);
    /* Up to LFU_INIT_VAL every access counts: no need to draw. */
    if (counter <= LFU_INIT_VAL)
        counter++;
    else
        counter = lfu_log_incr(counter, lfu_draw(c), cfg->lfu_log_factor);
    o->lru = (lfu_minutes(c->now_ms) << 8) | counter;
}

/* ---------------------------------------------------------------------- */
/* The pool                                                                */
/* ---------------------------------------------------------------------- */

void evict_pool_init(evict_pool *p)
{
    for (int k = 0; k < EVPOOL_SIZE; k++) {
        p->e[k] = (evict_pool_entry){0};
        p->e[k].cached = cm_malloc(EVPOOL_CACHED_LEN);
    }
}

void evict_pool_remove(evict_pool_entry *pe)
{
    if (pe->key && pe->key != pe->cached) cm_free(pe->key);
    pe->key = NULL;
    pe->len = 0;
    pe->idle = 0;
}

void evict_pool_clear(evict_pool *p)
{
    for (int k = 0; k < EVPOOL_SIZE; k++)
        evict_pool_remove(&p->e[k]);
}

void evict_pool_release(evict_pool *p)
{
    evict_pool_clear(p);
    for (int k = 0; k < EVPOOL_SIZE; k++)
        cm_free(p->e[k].cached);
}

/* Redis's evictionPoolPopulate insertion: find the first slot whose idle
 * is not below ours, and make room there by shifting the better ones
 * right (if the rightmost slot is free) or the worse ones left (dropping
 * the worst).  The slots' buffers travel with the shift. */
void evict_pool_insert(evict_pool *p, unsigned long long idle, int db, const char *key, size_t len)
{
    evict_pool_entry *e = p->e;
    int k = 0;
    while (k < EVPOOL_SIZE && e[k].key && e[k].idle < idle)
        k++;
    if (k == 0 && e[EVPOOL_SIZE - 1].key) return; /* worse than all of a full pool */

    if (k < EVPOOL_SIZE && !e[k].key) {
        /* A free slot: nothing to move. */
    } else if (!e[EVPOOL_SIZE - 1].key) {
        char *cached = e[EVPOOL_SIZE - 1].cached;
        memmove(e + k + 1, e + k, sizeof(e[0]) * (size_t)(EVPOOL_SIZE - k - 1));
        e[k].cached = cached;
    } else {
        k--;
        char *cached = e[0].cached;
        evict_pool_remove(&e[0]);
        memmove(e, e + 1, sizeof(e[0]) * (size_t)k);
        e[k].cached = cached;
    }
    e[k].key = len <= EVPOOL_CACHED_LEN ? e[k].cached : cm_malloc(len ? len : 1);
    memcpy(e[k].key, key, len);
    e[k].len = len;
    e[k].idle = idle;
    e[k].db = db;
}

/* ---------------------------------------------------------------------- */
/* Choosing a key                                                          */
/* ---------------------------------------------------------------------- */

/* How many keys of db the policy may evict: all of them, or those with
 * an expiry time (the db's volatile array). */
static uint64_t candidate_count(const cairn_engine *e, const cdb *db)
{
    return evict_policy_is_allkeys(e->cfg.maxmemory_policy) ? htab_size(db->keys) : db->nvol;
}

/* Up to n candidates of db drawn at random into out; at least one when
 * the db has any. */
static unsigned sample_candidates(cairn_engine *e, cdb *db, void **out, unsigned n)
{
    crand *r = &e->evict->rng;
    if (!evict_policy_is_allkeys(e->cfg.maxmemory_policy)) {
        for (unsigned i = 0; i < n; i++)
            out[i] = db->vol[crand_below(r, db->nvol)];
        return n;
    }
    unsigned got = htab_sample(db->keys, out, n, r);
    /* A sparse table can yield no sample; a random element always can. */
    if (got == 0 && (out[0] = htab_random(db->keys, r)) != NULL) got = 1;
    return got;
}

/* How good a candidate object o is: the higher, the sooner it goes. */
static unsigned long long candidate_score(const cairn_engine *e, const cobj *o, int64_t now_ms)
{
    int policy = e->cfg.maxmemory_policy;
    if (policy == MAXMEMORY_VOLATILE_TTL) return ULLONG_MAX - (unsigned long long)obj_expire(o);
    if (evict_policy_is_lfu(policy))
        return 255 - lfu_decayed_counter(o->lru, now_ms, e->cfg.lfu_decay_time);
    return lru_idle_ms(o->lru, now_ms);
}

/* Sample maxmemory-samples keys of db into the pool. */
static void pool_populate(cairn_engine *e, cdb *db, int64_t now_ms)
{
    evict_state *ev = e->evict;
    void *samples[SAMPLE_CHUNK];
    long want = e->cfg.maxmemory_samples;
    while (want > 0) {
        unsigned n =
            sample_candidates(e, db, samples, want < SAMPLE_CHUNK ? (unsigned)want : SAMPLE_CHUNK);
        for (unsigned i = 0; i < n; i++) {
            const cobj *o = samples[i];
            cslice key = obj_key(o);
            evict_pool_insert(&ev->pool, candidate_score(e, o, now_ms), db->id, key.ptr, key.len);
        }
        want -= SAMPLE_CHUNK;
    }
}

/* The best candidate of the pool that still exists (candidates may have
 * been deleted or changed since they were sampled: ghosts are dropped). */
static cobj *pool_take_best(cairn_engine *e, cdb **db_out)
{
    evict_pool *p = &e->evict->pool;
    int allkeys = evict_policy_is_allkeys(e->cfg.maxmemory_policy);
    for (int k = EVPOOL_SIZE - 1; k >= 0; k--) {
        evict_pool_entry *pe = &p->e[k];
        if (!pe->key) continue;
        cobj *o = NULL;
        if (pe->db < e->ndbs) {
            cdb *db = &e->dbs[pe->db];
            o = htab_find(db->keys, pe->key, pe->len);
            if (o && !allkeys && !obj_has_expire(o)) o = NULL;
            *db_out = db;
        }
        evict_pool_remove(pe);
        if (o) return o;
    }
    return NULL;
}

/* LRU, LFU and TTL: refill the pool from every db and take its best,
 * until one exists.  NULL when no db has a key the policy may evict. */
static cobj *pick_by_pool(cairn_engine *e, int64_t now_ms, cdb **db_out)
{
    evict_state *ev = e->evict;
    if (ev->pool_policy != e->cfg.maxmemory_policy) {
        evict_pool_clear(&ev->pool);
        ev->pool_policy = e->cfg.maxmemory_policy;
    }
    for (;;) {
        uint64_t total = 0;
        for (int i = 0; i < e->ndbs; i++) {
            cdb *db = &e->dbs[i];
            uint64_t n = candidate_count(e, db);
            if (!n) continue;
            pool_populate(e, db, now_ms);
            total += n;
        }
        if (!total) return NULL;
        cobj *o = pool_take_best(e, db_out);
        if (o) return o;
    }
}

/* The random policies: a random key of the next db that has one. */
static cobj *pick_random(cairn_engine *e, cdb **db_out)
{
    evict_state *ev = e->evict;
    for (int i = 0; i < e->ndbs; i++) {
        ev->next_db = (ev->next_db + 1) % e->ndbs;
        cdb *db = &e->dbs[ev->next_db];
        if (candidate_count(e, db) == 0) continue;
        void *o;
        sample_candidates(e, db, &o, 1);
        *db_out = db;
        return o;
    }
    return NULL;
}

static cobj *pick_victim(cairn_engine *e, int64_t now_ms, cdb **db_out)
{
    int policy = e->cfg.maxmemory_policy;
    if (policy == MAXMEMORY_ALLKEYS_RANDOM || policy == MAXMEMORY_VOLATILE_RANDOM)
        return pick_random(e, db_out);
    return pick_by_pool(e, now_ms, db_out);
}

/* ---------------------------------------------------------------------- */
/* Evicting                                                                */
/* ---------------------------------------------------------------------- */

/* How many keys one call may evict before the command gets its turn
 * (-1: no bound).  Redis bounds eviction by time, through
 * maxmemory-eviction-tenacity: 50 us per step up to 10, then 15% more per
 * step, unbounded at 100, and looks at the clock every 16 keys.  The
 * engine reads no clock, so the same budget is counted in keys.  What is
 * left over is evicted by the next commands. */
static long key_budget(int tenacity)
{
    if (tenacity >= 100) return -1;
    double us = 50.0 * (tenacity < 10 ? tenacity : 10);
    for (int t = 10; t < tenacity; t++)
        us *= 1.15;
    double keys = us / EVICT_US_PER_KEY;
    return keys < 16 ? 16 : (long)keys;
}

static int evict_loop(cairn_engine *e, int64_t now_ms, long budget, unsigned long long limit);

/* Evict until under the limit, at most budget keys (-1: no bound). */
static int evict_keys(cairn_engine *e, int64_t now_ms, long budget)
{
    unsigned long long limit = e->cfg.maxmemory;
    /* Only the originating node evicts; the others apply its DELs. */
    if (!limit || !engine_may_originate(e) || evict_used_memory(e, now_ms) <= limit)
        return EVICT_OK;
    if (e->cfg.maxmemory_policy == MAXMEMORY_NO_EVICTION) return EVICT_FAIL;
    /* The latency monitor's eviction-cycle, timed only while it is on. */
    int64_t start =
        latency_monitor_on(e->cfg.latency_monitor_threshold) && e->mono_ns ? e->mono_ns() : 0;
    int rc = evict_loop(e, now_ms, budget, limit);
    if (start) latency_sample(e, "eviction-cycle", now_ms / 1000, (e->mono_ns() - start) / 1000000);
    return rc;
}

/* Evict until under the limit or budget keys are gone. */
static int evict_loop(cairn_engine *e, int64_t now_ms, long budget, unsigned long long limit)
{
    for (long evicted = 0; evict_used_memory(e, now_ms) > limit; evicted++) {
        if (budget >= 0 && evicted >= budget) return EVICT_RUNNING;
        cdb *db = NULL;
        cobj *o = pick_victim(e, now_ms, &db);
        if (!o) return EVICT_FAIL;
        /* The key is the object's own: db_evict_key unlinks before freeing. */
        cslice key = obj_key(o);
        db_evict_key(e, db, &key, now_ms);
    }
    return EVICT_OK;
}

int evict_perform(cairn_engine *e, int64_t now_ms)
{
    return evict_keys(e, now_ms, key_budget(e->cfg.maxmemory_eviction_tenacity));
}

int evict_to_limit(cairn_engine *e, int64_t now_ms) { return evict_keys(e, now_ms, -1); }

/* Would cmd, run by s now, be refused when memory is over the limit?  As
 * Redis: commands flagged denyoom, EXEC of a transaction that queued one,
 * and inside MULTI everything but what ends it (queuing takes memory). */
static int may_grow_memory(cairn_engine *e, const cairn_session *s, const cmd_def *cmd, int argc,
                           const cslice *argv)
{
    uint32_t flags = cmd->flags_of ? cmd->flags_of(e, argc, argv, cmd->flags) : cmd->flags;
    if (flags & CMD_DENYOOM) return 1;
    int is_exec = strcmp(cmd->name, "exec") == 0;
    if (is_exec && (s->flags & SESS_MULTI)) return (multi_queued_flags(s) & CMD_DENYOOM) != 0;
    if (!(s->flags & SESS_MULTI) || is_exec) return 0;
    return strcmp(cmd->name, "discard") != 0 && strcmp(cmd->name, "quit") != 0 &&
           strcmp(cmd->name, "reset") != 0;
}

int evict_refuse_command(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                         const cslice *argv, int64_t now_ms, rbuf *out)
{
    /* Replaying the log must reproduce it, never evict on its own. */
    if ((s->flags & SESS_LOADER) || !engine_may_originate(e)) return 0;
    /* The common case, first and cheapest: under the limit. */
    if (evict_used_memory(e, now_ms) <= e->cfg.maxmemory) return 0;
    if (evict_perform(e, now_ms) != EVICT_FAIL || !may_grow_memory(e, s, cmd, argc, argv)) return 0;
    if (strcmp(cmd->name, "exec") == 0) {
        reply_error(out, "EXECABORT Transaction discarded because of: " ERR_OOM);
        multi_session_reset(e, s);
    } else {
        reply_error(out, ERR_OOM);
    }
    return 1;
}
