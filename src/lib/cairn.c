/* cairn.c -- the embedding API (include/cairn.h).
 *
 * A handle owns one engine and one session.  Commands run through
 * engine_execute(), the same entry point the network server uses, into a
 * reply buffer at RESP3; the bytes are then decoded into a cairn_reply tree
 * (reply_tree.c).  This layer is the embedded "host" of the engine, so it
 * is where the clock is read and the OS randomness drawn: the engine
 * itself may do neither (DESIGN rules 1 and 2).
 *
 * Concurrency: one mutex per handle serialises commands.  Error messages
 * are kept per thread and per handle (a pthread key owned by the handle),
 * so cairn_errmsg() never shows another thread's error. */
#include "cairn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/rand.h"
#include "../ds/util.h"
#include "../engine/config.h"
#include "../engine/engine.h"
#include "../engine/evict.h"
#include "../engine/reply.h"
#include "../engine/tracking.h"
#include "../log/clock.h"
#include "../log/fileio.h"
#include "../log/persist.h"
#include "../net/host_config.h"
#include "embed_node.h"
#include "reply_tree.h"

/* The ABI rule of cairn.h: options grow out of the reserved space, so the
 * structure keeps its size (checked where pointers are 8 bytes). */
_Static_assert(sizeof(void *) != 8 || sizeof(cairn_options) == 128,
               "cairn_options changed size: carve new fields out of the reserved arrays");

#define CAIRN_ERRMSG_MAX 256
/* Arguments of cairn_commandl(), and how many cairn_command() keeps on
 * the stack before allocating. */
#define CAIRN_COMMANDL_MAX 64
#define CAIRN_STACK_ARGS   16

/* One thread's last error message on one handle. */
typedef struct errslot {
    struct errslot *next;
    char msg[CAIRN_ERRMSG_MAX];
} errslot;

struct cairn {
    pthread_mutex_t lock; /* held for the whole of each command */
    cairn_engine *engine; /* NULL when cairn_open() failed */
    cairn_session session;
    rbuf out;             /* reused for every reply */
    locale_t c_locale;    /* "C" numbers for parsing doubles */
    int64_t last_cron_ms; /* when background work last ran (monotonic) */
    wall_clock wall;      /* command time: never goes backwards */
    persist *persist;     /* the directory's log and snapshots, or NULL */
    embed_node *node;     /* a member of a Raft group (embed_node.h), or NULL */
    /* The settings a cairn-server has beside the engine's (bind, tls-*,
     * raft-*, masterauth, ...): the same table (host_config.h), of which
     * a member acts on those that are not CF_SERVER_ONLY. */
    host_config hcfg;
    /* Pub/sub messages for the session (its s->out), RESP3 push frames,
     * and the decoded ones cairn_next_message() hands out, oldest at
     * pending[pending_head]. */
    rbuf msgs;
    cairn_reply **pending;
    size_t npending, pending_head;
    cairn_message_handler handler;
    void *handler_priv;
    cairn_log_handler log_handler; /* with the least level it gets */
    void *log_priv;
    int log_level;

    /* Per-thread error messages.  errkey maps the calling thread to its
     * errslot; every slot is also on the errslots list so cairn_close()
     * can free them all (including those of threads that have exited). */
    pthread_mutex_t errlock;
    pthread_key_t errkey;
    int have_errkey;
    errslot *errslots;
    /* Used only if no pthread key could be created (the process ran out
     * of keys): one message shared by every thread. */
    char shared_err[CAIRN_ERRMSG_MAX];
    /* Why cairn_open() failed, for later calls on the failed handle. */
    char open_err[CAIRN_ERRMSG_MAX];
};

/* ---------------------------------------------------------------------- */
/* Versions and error strings                                              */
/* ---------------------------------------------------------------------- */

const char *cairn_libversion(void) { return CAIRN_VERSION; }

int cairn_libversion_number(void) { return CAIRN_VERSION_NUMBER; }

const char *cairn_errstr(int rc)
{
    switch (rc) {
    case CAIRN_OK: return "not an error";
    case CAIRN_ERROR: return "generic error";
    case CAIRN_NOMEM: return "out of memory";
    case CAIRN_MISUSE: return "library routine called out of sequence or with bad arguments";
    case CAIRN_IOERR: return "disk I/O error";
    case CAIRN_BUSY: return "resource busy";
    case CAIRN_CORRUPT: return "persisted data is corrupt";
    case CAIRN_NOTSUP: return "operation not supported";
    case CAIRN_INTERNAL: return "internal error";
    case CAIRN_TIMEOUT: return "timed out waiting for the replicated group";
    default: return "unknown error";
    }
}

/* ---------------------------------------------------------------------- */
/* Per-thread error messages                                               */
/* ---------------------------------------------------------------------- */

/* The calling thread's message buffer on db, created on first use when
 * create is set; NULL without a key or (create unset) before first use. */
static errslot *errslot_get(cairn *db, int create)
{
    if (!db->have_errkey) return NULL;
    errslot *slot = pthread_getspecific(db->errkey);
    if (slot || !create) return slot;
    slot = cm_calloc(1, sizeof(*slot));
    if (pthread_setspecific(db->errkey, slot) != 0) {
        cm_free(slot);
        return NULL;
    }
    pthread_mutex_lock(&db->errlock);
    slot->next = db->errslots;
    db->errslots = slot;
    pthread_mutex_unlock(&db->errlock);
    return slot;
}

/* Record a message for the calling thread and return rc. */
static int set_error(cairn *db, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_error(cairn *db, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errslot *slot = errslot_get(db, 1);
    if (slot) {
        vsnprintf(slot->msg, sizeof(slot->msg), fmt, ap);
    } else {
        pthread_mutex_lock(&db->errlock);
        vsnprintf(db->shared_err, sizeof(db->shared_err), fmt, ap);
        pthread_mutex_unlock(&db->errlock);
    }
    va_end(ap);
    return rc;
}

/* A call succeeded: the calling thread's message goes back to "not an
 * error" (cheap: no allocation for threads that never failed). */
static void clear_error(cairn *db)
{
    errslot *slot = errslot_get(db, 0);
    if (slot) slot->msg[0] = '\0';
}

const char *cairn_errmsg(cairn *db)
{
    if (!db) return cairn_errstr(CAIRN_NOMEM);
    if (!db->have_errkey) return db->shared_err[0] ? db->shared_err : cairn_errstr(CAIRN_OK);
    errslot *slot = errslot_get(db, 0);
    return slot && slot->msg[0] ? slot->msg : cairn_errstr(CAIRN_OK);
}

/* ---------------------------------------------------------------------- */
/* Clock, randomness, host callbacks                                       */
/* ---------------------------------------------------------------------- */

/* The time of a command (DESIGN rule 2): the wall clock, held where it
 * was if the system clock steps back.  A library prints nothing, so the
 * step is not reported. */
static int64_t command_time_us(cairn *db)
{
    int64_t stepped_back;
    return wall_clock_now_us(&db->wall, &stepped_back);
}

/* 32 bytes for engine_create(): expanded from a fixed seed, or from the
 * OS.  Returns 0, or -1 if the OS gave no randomness. */
static int make_seed(uint64_t fixed, uint8_t seed[32])
{
    if (fixed != 0) {
        crand r;
        crand_seed(&r, fixed);
        for (int i = 0; i < 4; i++) {
            uint64_t x = crand_next(&r);
            memcpy(seed + 8 * i, &x, 8);
        }
        return 0;
    }
    size_t got = 0;
    while (got < 32) {
        ssize_t n = getrandom(seed + got, 32 - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got == 32) return 0;
    /* Kernels before 3.17 lack getrandom(). */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    got = 0;
    while (got < 32) {
        ssize_t n = read(fd, seed + got, 32 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    return got == 32 ? 0 : -1;
}

/* DEBUG SLEEP: the "host" of an embedded engine is the handle, so block
 * it (its mutex is held) for the time asked. */
static void embed_sleep_us(void *priv, long long us)
{
    (void)priv;
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void embed_persist_cmd(void *priv, cmd_call *c)
{
    cairn *db = priv;
    persist_command(db->persist, c);
}

static void embed_persist_info(void *priv, dstr *out)
{
    cairn *db = priv;
    persist_info(db->persist, out);
}

/* CONFIG SET of appendonly, appendfsync, save ... */
static const char *embed_config_changed(void *priv, const char *name)
{
    cairn *db = priv;
    if (!strcmp(name, "dir")) return "the directory of an open store can't change";
    return persist_config_changed(db->persist, name);
}

/* A message was queued for the session: past the pubsub hard limit, the
 * engine stops writing more (SESS_CLOSE_ASAP) until the queue drains. */
static void embed_pushed(void *priv, cairn_session *s)
{
    cairn *db = priv;
    unsigned long long hard = db->engine->cfg.obuf_limits[OBUF_PUBSUB].hard;
    if (hard && db->msgs.bytes >= hard) s->flags |= SESS_CLOSE_ASAP;
}

/* The handle's own session is the only one there is. */
static cairn_session *embed_find_session(void *priv, uint64_t id)
{
    cairn *db = priv;
    return db->session.id == id ? &db->session : NULL;
}

/* A script's redis.log(). */
static void embed_script_log(void *priv, int level, const char *msg)
{
    cairn *db = priv;
    if (db->log_handler && level >= db->log_level) db->log_handler(db->log_priv, level, msg);
}

static void *embed_config_base(void *priv)
{
    cairn *db = priv;
    return &db->hcfg;
}

/* The settings of cairn-server's process (its port, log file, supervisor,
 * ...) mean nothing in a library: refused, never silently ignored. */
static int embed_config_refused(void *priv, const config_def *d, char *why, size_t len)
{
    (void)priv;
    if (!(d->flags & CF_SERVER_ONLY)) return 0;
    snprintf(why, len,
             "'%s' is a cairn-server setting that an embedded store does not have (a member "
             "listens on its raft-peers address, on the addresses of bind)",
             d->name);
    return 1;
}

static const cairn_host_ops embed_host_ops = {
    .config_defs = host_config_defs,
    .config_count = HOST_CONFIG_COUNT,
    .config_base = embed_config_base,
    .config_refused = embed_config_refused,
    .log = embed_script_log,
    .sleep_us = embed_sleep_us,
    .pushed = embed_pushed,
    .find_session = embed_find_session,
};

/* With a directory the handle also hosts persistence.  BGSAVE and
 * BGREWRITEAOF run in the foreground: a library must not fork its host
 * application. */
static const cairn_host_ops embed_persist_host_ops = {
    .config_defs = host_config_defs,
    .config_count = HOST_CONFIG_COUNT,
    .config_base = embed_config_base,
    .config_refused = embed_config_refused,
    .log = embed_script_log,
    .sleep_us = embed_sleep_us,
    .persist_cmd = embed_persist_cmd,
    .persist_info = embed_persist_info,
    .config_changed = embed_config_changed,
    .pushed = embed_pushed,
    .find_session = embed_find_session,
};

/* Background work a server does from its timer: active expiry and
 * incremental rehashing.  An embedded store has no thread of its own, so
 * the work rides on commands: at most hz times a second, before running a
 * command, a step bounded by CAIRN_CRON_BUDGET_US (like Redis's fast
 * expire cycle), so no call pays more than about a millisecond for it.
 * Called with the handle locked. */
#define CAIRN_CRON_BUDGET_US 1000

static void embed_cron(cairn *db, int64_t now_us)
{
    cairn_engine *e = db->engine;
    int hz = e->cfg.hz > 0 ? e->cfg.hz : 10;
    int64_t start_us = clock_mono_us();
    if (start_us / 1000 - db->last_cron_ms < 1000 / hz) return;
    db->last_cron_ms = start_us / 1000;
    long effort = 200L * (e->cfg.active_expire_effort > 0 ? e->cfg.active_expire_effort : 1);
    int more;
    do {
        engine_active_expire(e, now_us / 1000, effort, &more);
    } while (more && clock_mono_us() - start_us < CAIRN_CRON_BUDGET_US);
    engine_rehash_step(e);
    if (db->persist) persist_cron(db->persist);
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                          */
/* ---------------------------------------------------------------------- */

void cairn_options_init(cairn_options *opts)
{
    if (!opts) return;
    memset(opts, 0, sizeof(*opts));
    opts->databases = 16;
}

static int options_reserved_clear(const cairn_options *opts)
{
    for (size_t i = 0; i < sizeof(opts->reserved_int) / sizeof(opts->reserved_int[0]); i++)
        if (opts->reserved_int[i]) return 0;
    for (size_t i = 0; i < sizeof(opts->reserved_ptr) / sizeof(opts->reserved_ptr[0]); i++)
        if (opts->reserved_ptr[i]) return 0;
    return 1;
}

/* Persistence messages: a library prints nothing, it hands them to the
 * application's log handler, if any (failures also reach it as result
 * codes, cairn_errmsg() and MISCONF replies). */
static void embed_log(void *priv, int level, const char *fmt, ...)
{
    cairn *db = priv;
    if (!db->log_handler || level < db->log_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    c_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    db->log_handler(db->log_priv, level, msg);
}

/* Open (creating it if needed) and load the directory: lock it, load its
 * snapshot and log, open the log for appending.  Returns CAIRN_OK or an
 * error recorded on db, with nothing left open. */
static int open_dir(cairn *db, cairn_engine *e, const char *dir, int raft, char *real)
{
    char err[1024];
    if (make_dir(dir) != 0 || !realpath(dir, real))
        return set_error(db, CAIRN_IOERR, "cairn_options.dir '%s': %s", dir, strerror(errno));
    persist_host host = {.log = embed_log, .priv = db, .can_fork = 0};
    persist *p = persist_new(e, &host);
    int rc = persist_open(p, real, err, sizeof(err));
    /* A Raft member's log is its command log (its directory's raft/), as
     * a server's: the directory is only locked here, nothing loaded. */
    if (rc == 0 && raft) persist_skip_load(p);
    while (rc == 0) {
        int step = persist_load_step(p, 1000000, err, sizeof(err));
        if (step == PERSIST_DONE) break;
        if (step == PERSIST_ERROR) rc = PERSIST_ECORRUPT;
    }
    if (rc != 0) {
        persist_free(p);
        int code = rc == PERSIST_EBUSY      ? CAIRN_BUSY
                   : rc == PERSIST_ECORRUPT ? CAIRN_CORRUPT
                                            : CAIRN_IOERR;
        return set_error(db, code, "%s", err);
    }
    db->persist = p;
    return CAIRN_OK;
}

/* The node's background work, from its thread (handle locked). */
static void node_cron(void *priv)
{
    cairn *db = priv;
    engine_mem_enter(db->engine);
    embed_cron(db, command_time_us(db));
    engine_mem_leave(db->engine);
}

/* Make the open handle a member of its Raft group (the last step of
 * opening: the node's thread runs commands on it at once). */
static int open_node(cairn *db, const cairn_options *opts, const char *real)
{
    char path[PATH_MAX + 8], err[CAIRN_ERRMSG_MAX];
    snprintf(path, sizeof(path), "%s/raft", real);
    embed_node_config cfg = {.cfg = &db->hcfg,
                             .dir = path,
                             .timeout_ms =
                                 opts->raft_timeout_ms > 0 ? opts->raft_timeout_ms : 5000};
    embed_node_handle h = {.lock = &db->lock,
                           .session = &db->session,
                           .out = &db->out,
                           .ops = &embed_persist_host_ops,
                           .priv = db,
                           .cron = node_cron};
    if (embed_node_open(db->engine, &cfg, &h, &db->node, err, sizeof(err)) != 0)
        return set_error(db, CAIRN_ERROR, "%s", err);
    return CAIRN_OK;
}

/* Set one parameter at start-up; CAIRN_OK or the error recorded on db,
 * naming what set it. */
static int set_config(cairn *db, cairn_engine *e, const char *what, const char *name,
                      const char *value)
{
    char err[CAIRN_ERRMSG_MAX];
    if (config_set(e, name, value, 1, err, sizeof(err)) == NULL) return CAIRN_OK;
    return set_error(db, CAIRN_ERROR, "%s: '%s': %s", what, name, err);
}

/* The configuration, in order: the defaults of a store (which the
 * options and `config` may override), the fields of opts, `config`, and
 * `sync`.  The fields are shorthands for parameters of the table. */
static int configure(cairn *db, cairn_engine *e, const cairn_options *opts)
{
    char num[16];
    /* A store with a directory logs by default and takes no snapshots
     * unless asked.  A member snapshots its log only if asked (it would
     * write them on its own thread: a library does not fork its host),
     * and listens on its host in raft-peers unless bind says otherwise. */
    static const char *const defaults[] = {
        "raft-snapshot-entries", "0", "raft-snapshot-bytes", "0", "bind", "", NULL};
    static const char *const dir_defaults[] = {"appendonly", "yes", "save", "", NULL};
    int rc = CAIRN_OK;
    for (const char *const *kv = defaults; rc == CAIRN_OK && kv[0]; kv += 2)
        rc = set_config(db, e, "default", kv[0], kv[1]);
    for (const char *const *kv = dir_defaults; rc == CAIRN_OK && opts->dir && kv[0]; kv += 2)
        rc = set_config(db, e, "default", kv[0], kv[1]);
    if (rc == CAIRN_OK && opts->databases > 0) {
        snprintf(num, sizeof(num), "%d", opts->databases);
        rc = set_config(db, e, "cairn_options.databases", "databases", num);
    }
    if (rc == CAIRN_OK && opts->raft_id > 0) {
        snprintf(num, sizeof(num), "%d", opts->raft_id);
        rc = set_config(db, e, "cairn_options.raft_id", "raft-id", num);
    }
    if (rc == CAIRN_OK && opts->raft_peers)
        rc = set_config(db, e, "cairn_options.raft_peers", "raft-peers", opts->raft_peers);
    if (rc == CAIRN_OK && opts->raft_secret)
        rc = set_config(db, e, "cairn_options.raft_secret", "raft-secret", opts->raft_secret);
    for (const char *const *kv = opts->config; rc == CAIRN_OK && kv && kv[0]; kv += 2) {
        if (!kv[1])
            return set_error(db, CAIRN_MISUSE, "cairn_options.config: '%s' has no value", kv[0]);
        rc = set_config(db, e, "cairn_options.config", kv[0], kv[1]);
    }
    static const char *const sync_names[] = {NULL, "always", "everysec", "no"};
    if (rc == CAIRN_OK && opts->sync != CAIRN_SYNC_DEFAULT)
        rc = set_config(db, e, "cairn_options.sync", "appendfsync", sync_names[opts->sync]);
    return rc;
}

/* Is the configured store a member of a Raft group (raft-id and
 * raft-peers, as a server's)?  1, 0, or -1 with the error recorded. */
static int is_member(cairn *db, const cairn_options *opts)
{
    const host_config *h = &db->hcfg;
    int peers = h->raft_peers && h->raft_peers[0];
    if (!peers && !h->raft_id) return 0;
    if (h->raft_id <= 0 || !peers) {
        set_error(db, CAIRN_MISUSE,
                  "raft-id (> 0) and raft-peers go together (cairn_options raft_id and "
                  "raft_peers, or `config`)");
        return -1;
    }
    if (!opts->dir) {
        set_error(db, CAIRN_MISUSE,
                  "cairn_options: a member of a Raft group needs a dir for its log");
        return -1;
    }
    return 1;
}

/* Create the engine from opts.  Returns CAIRN_OK or an error recorded on
 * db; on error no engine is left behind. */
static int open_engine(cairn *db, const cairn_options *opts)
{
    if (!options_reserved_clear(opts))
        return set_error(db, CAIRN_MISUSE,
                         "cairn_options has non-zero reserved fields "
                         "(initialise it with cairn_options_init())");
    if (opts->sync < CAIRN_SYNC_DEFAULT || opts->sync > CAIRN_SYNC_NO)
        return set_error(db, CAIRN_MISUSE, "cairn_options.sync: unknown value %d", opts->sync);
    if (opts->databases < 0)
        return set_error(db, CAIRN_MISUSE, "cairn_options.databases must be positive (got %d)",
                         opts->databases);
    if (opts->raft_id < 0)
        return set_error(db, CAIRN_MISUSE, "cairn_options.raft_id must not be negative");
    if (opts->raft_timeout_ms < 0)
        return set_error(db, CAIRN_MISUSE, "cairn_options.raft_timeout_ms must not be negative");

    uint8_t seed[32];
    if (make_seed(opts->seed, seed) != 0)
        return set_error(db, CAIRN_IOERR, "could not read random bytes from the OS: %s",
                         strerror(errno));
    cairn_engine *e = engine_create(seed);
    memset(seed, 0, sizeof(seed));
    /* Whatever opening does to the engine's memory is the engine's
     * (left open on the error paths, which free the engine). */
    engine_mem_enter(e);
    /* The host first: its parameters are part of the configuration. */
    engine_set_host(e, opts->dir ? &embed_persist_host_ops : &embed_host_ops, db);
    int rc = configure(db, e, opts);
    int raft = rc == CAIRN_OK ? is_member(db, opts) : -1;
    /* A member's Raft log is its command log. */
    if (raft == 1) rc = set_config(db, e, "a member", "appendonly", "no");
    if (rc != CAIRN_OK || raft < 0) {
        engine_free(e);
        return raft < 0 && rc == CAIRN_OK ? CAIRN_MISUSE : rc;
    }

    int64_t now_ms = command_time_us(db) / 1000;
    engine_set_clock(e, clock_mono_ns);
    engine_start(e, now_ms);
    char real[PATH_MAX];
    if (opts->dir) {
        rc = open_dir(db, e, opts->dir, raft, real);
        if (rc != CAIRN_OK) {
            engine_free(e);
            return rc;
        }
    }
    db->engine = e;
    db->last_cron_ms = clock_mono_ms();
    session_init(e, &db->session);
    db->session.resp = 3;
    rbuf_init(&db->out, 3);
    rbuf_init(&db->msgs, 3);
    db->session.out = &db->msgs;
    rc = raft ? open_node(db, opts, real) : CAIRN_OK;
    engine_mem_leave(e);
    return rc;
}

static void close_store(cairn *db);

int cairn_open(const cairn_options *opts, cairn **out)
{
    if (!out) return CAIRN_MISUSE;
    *out = NULL;
    cairn_options defaults;
    if (!opts) {
        cairn_options_init(&defaults);
        opts = &defaults;
    }

    cairn *db = cm_calloc(1, sizeof(*db));
    if (pthread_mutex_init(&db->lock, NULL) != 0) {
        cm_free(db);
        return CAIRN_NOMEM;
    }
    if (pthread_mutex_init(&db->errlock, NULL) != 0) {
        pthread_mutex_destroy(&db->lock);
        cm_free(db);
        return CAIRN_NOMEM;
    }
    /* No destructor: slots are freed by cairn_close() through the list,
     * which also covers threads that exit while the handle is open. */
    db->have_errkey = pthread_key_create(&db->errkey, NULL) == 0;
    *out = db;
    config_table_init(host_config_defs, HOST_CONFIG_COUNT, &db->hcfg);

    int rc;
    db->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (db->c_locale == (locale_t)0)
        rc = set_error(db, CAIRN_NOMEM, "could not create the C numeric locale");
    else
        rc = open_engine(db, opts);
    if (rc != CAIRN_OK) {
        snprintf(db->open_err, sizeof(db->open_err), "%s", cairn_errmsg(db));
        close_store(db);
    }
    return rc;
}

/* Free the store of an open handle (after its node, if any, stopped). */
static void close_store(cairn *db)
{
    if (db->persist) {
        /* Everything logged reaches the disk before the handle goes. */
        persist_shutdown(db->persist, 0);
        persist_free(db->persist);
    }
    if (db->engine) {
        engine_session_gone(db->engine, &db->session);
        session_reset(&db->session);
        engine_free(db->engine);
        rbuf_free(&db->out);
        rbuf_free(&db->msgs);
        for (size_t i = db->pending_head; i < db->npending; i++)
            cairn_reply_free(db->pending[i]);
        cm_free(db->pending);
        db->pending = NULL;
    }
    db->persist = NULL;
    db->engine = NULL;
}

void cairn_close(cairn *db)
{
    if (!db) return;
    embed_node_close(db->node);
    close_store(db);
    if (db->c_locale != (locale_t)0) freelocale(db->c_locale);
    errslot *slot = db->errslots;
    while (slot) {
        errslot *next = slot->next;
        cm_free(slot);
        slot = next;
    }
    config_table_free(host_config_defs, HOST_CONFIG_COUNT, &db->hcfg);
    if (db->have_errkey) pthread_key_delete(db->errkey);
    pthread_mutex_destroy(&db->errlock);
    pthread_mutex_destroy(&db->lock);
    cm_free(db);
}

/* ---------------------------------------------------------------------- */
/* Commands                                                                */
/* ---------------------------------------------------------------------- */

/* Decode every top-level reply in the bytes [buf, buf+len): none gives
 * NULL, one gives itself, several an array of them. */
static int decode_replies(cairn *db, const char *buf, size_t len, cairn_reply **out)
{
    *out = NULL;
    size_t pos = 0, n = 0, cap = 0;
    cairn_reply **list = NULL;
    while (pos < len) {
        cairn_reply *r;
        if (rtree_decode(buf, len, &pos, db->c_locale, &r) != CAIRN_OK) {
            for (size_t i = 0; i < n; i++)
                cairn_reply_free(list[i]);
            cm_free(list);
            return set_error(db, CAIRN_INTERNAL,
                             "internal error: the engine produced a malformed reply");
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            list = cm_realloc(list, cap * sizeof(*list));
        }
        list[n++] = r;
    }
    if (n == 1) {
        *out = list[0];
    } else if (n > 1) {
        cairn_reply *arr = rtree_node(CAIRN_REPLY_ARRAY, NULL, 0, n);
        memcpy(arr->element, list, n * sizeof(*list));
        *out = arr;
    }
    cm_free(list);
    return CAIRN_OK;
}

/* Did the command stop its reply at the output buffer limit
 * (reply_over_limit)?  A server closes such a client; a handle drops the
 * reply and returns an error instead.  The flag is also how a full message
 * queue stops more messages (embed_pushed), so only a reply at its limit
 * counts, and the flag is cleared. */
static int reply_stopped_at_limit(cairn *db)
{
    cairn_session *s = &db->session;
    if (!(s->flags & SESS_CLOSE_ASAP)) return 0;
    unsigned long long hard = db->engine->cfg.obuf_limits[s->sub ? OBUF_PUBSUB : OBUF_NORMAL].hard;
    if (!hard || db->out.bytes < hard) return 0;
    s->flags &= ~SESS_CLOSE_ASAP;
    return 1;
}

/* Run one command with the handle locked, leaving its reply in db->out. */
static int run_locked(cairn *db, int argc, const cslice *args)
{
    cairn_session *s = &db->session;
    rbuf *b = &db->out;

    /* The reply tree always carries RESP3 types; keep the session in step
     * so handlers that look at the protocol agree with the buffer (HELLO 2
     * or RESET may have changed it). */
    s->resp = 3;
    b->resp = 3;
    if (s->flags & SESS_REPLY_SKIP_NEXT) {
        s->flags &= ~SESS_REPLY_SKIP_NEXT;
        s->flags |= SESS_REPLY_SKIP;
    }

    char err[CAIRN_ERRMSG_MAX];
    /* A follower's reads wait for a read round first. */
    int rc = db->node ? embed_node_admit(db->node, err, sizeof(err)) : CAIRN_OK;
    if (rc != CAIRN_OK) return set_error(db, rc, "%s", err);
    int64_t now_us = command_time_us(db);
    embed_cron(db, now_us);
    uint64_t logged = db->persist ? persist_appended(db->persist) : 0;
    int queue_full = s->flags & SESS_CLOSE_ASAP;
    engine_execute(db->engine, s, argc, args, now_us, b);
    if (!queue_full && reply_stopped_at_limit(db)) {
        rbuf_reset(b);
        return set_error(db, CAIRN_ERROR,
                         "the reply passed client-output-buffer-limit and was dropped");
    }
    /* Each command is an iteration of an embedding's loop. */
    tracking_broadcast(db->engine);
    /* A member of a group hands the reply back once the group has it: a
     * forwarded write's from the leader, a write once committed. */
    rc = db->node ? embed_node_settle(db->node, err, sizeof(err)) : CAIRN_OK;
    if (rc != CAIRN_OK) {
        rbuf_reset(b);
        return set_error(db, rc, "%s", err);
    }
    /* Group commit of one: the entry is written (and fsynced under
     * CAIRN_SYNC_ALWAYS) before the reply is handed back.  If this
     * command's entry could not be, the caller must not take the reply as
     * success; a read is answered whatever the log's state. */
    if (db->persist && persist_commit(db->persist) != 0 &&
        persist_appended(db->persist) != logged &&
        persist_durable(db->persist) < persist_appended(db->persist)) {
        rbuf_reset(b);
        return set_error(db, CAIRN_IOERR,
                         "the data changed in memory but the log entry could not be written "
                         "(%s); writes are refused until the log can be written again",
                         db->engine->write_error ? db->engine->write_error : "I/O error");
    }
    if (s->flags & (SESS_REPLY_OFF | SESS_REPLY_SKIP)) {
        rbuf_reset(b);
        s->flags &= ~SESS_REPLY_SKIP;
    }
    /* QUIT means nothing to a handle: it stays open until cairn_close(). */
    s->flags &= ~SESS_CLOSE_AFTER_REPLY;
    s->resp = 3;
    return CAIRN_OK;
}

/* Run one command with the handle locked and decode its reply.  The
 * decoded reply is the application's, not the engine's memory: it is made
 * outside the engine's memory brackets. */
static int execute_locked(cairn *db, int argc, const cslice *args, cairn_reply **out)
{
    rbuf *b = &db->out;
    engine_mem_enter(db->engine);
    int rc = run_locked(db, argc, args);
    engine_mem_leave(db->engine);
    if (rc == CAIRN_OK && out && b->bytes > 0) {
        if (b->head == b->tail) {
            /* The usual case: the whole reply is in one block. */
            rc = decode_replies(db, b->head->data + b->head_off, b->bytes, out);
        } else {
            size_t len;
            char *flat = rbuf_flatten(b, &len);
            rc = decode_replies(db, flat, len, out);
            cm_free(flat);
        }
    }
    engine_mem_enter(db->engine);
    rbuf_reset(b);
    engine_mem_leave(db->engine);
    return rc;
}

/* Decode and empty the queue of messages (handle locked): *out is NULL,
 * one message, or an array of them, as decode_replies() gives. */
static int take_messages(cairn *db, cairn_reply **out)
{
    size_t len;
    char *flat = rbuf_flatten(&db->msgs, &len);
    int rc = decode_replies(db, flat, len, out);
    cm_free(flat);
    engine_mem_enter(db->engine);
    rbuf_reset(&db->msgs);
    engine_mem_leave(db->engine);
    db->session.flags &= ~SESS_CLOSE_ASAP; /* room again */
    return rc;
}

static void dispatch_messages(cairn_reply *msgs, cairn_message_handler handler, void *priv)
{
    if (msgs->type == CAIRN_REPLY_PUSH) {
        handler(priv, msgs);
    } else {
        for (size_t i = 0; i < msgs->elements; i++)
            handler(priv, msgs->element[i]);
    }
    cairn_reply_free(msgs);
}

int cairn_set_message_handler(cairn *db, cairn_message_handler handler, void *priv)
{
    if (!db) return CAIRN_MISUSE;
    if (!db->engine) return set_error(db, CAIRN_MISUSE, "a handle that failed to open");
    pthread_mutex_lock(&db->lock);
    db->handler = handler;
    db->handler_priv = priv;
    pthread_mutex_unlock(&db->lock);
    return CAIRN_OK;
}

int cairn_set_log_handler(cairn *db, int level, cairn_log_handler handler, void *priv)
{
    if (!db) return CAIRN_MISUSE;
    if (!db->engine) return set_error(db, CAIRN_MISUSE, "a handle that failed to open");
    if (level < CAIRN_LOG_DEBUG || level > CAIRN_LOG_WARNING)
        return set_error(db, CAIRN_MISUSE, "log level %d is not one of CAIRN_LOG_*", level);
    pthread_mutex_lock(&db->lock);
    db->log_handler = handler;
    db->log_priv = priv;
    db->log_level = level;
    pthread_mutex_unlock(&db->lock);
    return CAIRN_OK;
}

/* Move the queued messages into pending, decoded (handle locked). */
static int fill_pending(cairn *db)
{
    cairn_reply *msgs;
    int rc = take_messages(db, &msgs);
    if (rc != CAIRN_OK || !msgs) return rc;
    db->npending = db->pending_head = 0;
    if (msgs->type == CAIRN_REPLY_PUSH) {
        db->pending = cm_realloc(db->pending, sizeof(*db->pending));
        db->pending[db->npending++] = msgs;
        return CAIRN_OK;
    }
    /* Take the elements out of the array that carried them. */
    db->pending = cm_realloc(db->pending, sizeof(*db->pending) * msgs->elements);
    for (size_t i = 0; i < msgs->elements; i++)
        db->pending[db->npending++] = msgs->element[i];
    msgs->elements = 0;
    cairn_reply_free(msgs);
    return CAIRN_OK;
}

int cairn_next_message(cairn *db, cairn_reply **msg)
{
    if (!msg)
        return db ? set_error(db, CAIRN_MISUSE, "cairn_next_message: msg is NULL") : CAIRN_MISUSE;
    *msg = NULL;
    if (!db) return CAIRN_MISUSE;
    if (!db->engine) return set_error(db, CAIRN_MISUSE, "a handle that failed to open");
    pthread_mutex_lock(&db->lock);
    int rc = CAIRN_OK;
    if (db->pending_head == db->npending && db->msgs.bytes) rc = fill_pending(db);
    if (rc == CAIRN_OK && db->pending_head < db->npending) *msg = db->pending[db->pending_head++];
    pthread_mutex_unlock(&db->lock);
    if (rc == CAIRN_OK) clear_error(db);
    return rc;
}

int cairn_command(cairn *db, int argc, const char *const *argv, const size_t *argvlen,
                  cairn_reply **out)
{
    if (out) *out = NULL;
    if (!db) return CAIRN_MISUSE;
    if (!db->engine)
        return set_error(db, CAIRN_MISUSE, "cairn_command on a handle that failed to open: %s",
                         db->open_err);
    if (argc < 1 || !argv)
        return set_error(db, CAIRN_MISUSE, "cairn_command needs argc >= 1 and argv (got %d%s)",
                         argc, argv ? "" : ", NULL argv");

    cslice stack_args[CAIRN_STACK_ARGS];
    cslice *args = argc <= CAIRN_STACK_ARGS ? stack_args : cm_malloc(sizeof(cslice) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        if (!argv[i]) {
            if (args != stack_args) cm_free(args);
            return set_error(db, CAIRN_MISUSE, "cairn_command: argv[%d] is NULL", i);
        }
        args[i].ptr = argv[i];
        args[i].len = argvlen ? argvlen[i] : strlen(argv[i]);
    }

    /* A member of a group runs one command of the handle's at a time: a
     * command waiting for the group lets the node's thread have the lock,
     * not another command. */
    if (db->node) embed_node_begin(db->node);
    pthread_mutex_lock(&db->lock);
    int rc = execute_locked(db, argc, args, out);
    cairn_reply *msgs = NULL;
    cairn_message_handler handler = db->handler;
    void *handler_priv = db->handler_priv;
    if (handler && db->msgs.bytes) take_messages(db, &msgs);
    pthread_mutex_unlock(&db->lock);
    if (db->node) embed_node_end(db->node);

    if (msgs) dispatch_messages(msgs, handler, handler_priv);
    if (args != stack_args) cm_free(args);
    if (rc == CAIRN_OK) clear_error(db);
    return rc;
}

int cairn_commandl(cairn *db, cairn_reply **out, const char *arg0, ...)
{
    if (out) *out = NULL;
    if (!db) return CAIRN_MISUSE;
    const char *argv[CAIRN_COMMANDL_MAX];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        if (argc == CAIRN_COMMANDL_MAX) {
            va_end(ap);
            return set_error(db, CAIRN_MISUSE, "cairn_commandl: more than %d arguments",
                             CAIRN_COMMANDL_MAX);
        }
        argv[argc++] = a;
    }
    va_end(ap);
    return cairn_command(db, argc, argv, NULL, out);
}
