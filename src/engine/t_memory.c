/* t_memory.c -- MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP,
 * with Redis 7.0's reply shapes and errors.
 *
 * What a key costs is measured, not estimated from a model: the usable
 * size the allocator gave each allocation of the object (its key and
 * expiry included, see object.h) and of its value (obj_mem_usage, one
 * function per type next to its code), plus the key's share of its
 * database's table and, for a key with a TTL, its slot in the volatile
 * array.  docs/memory.md states what keys cost. */
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "evict.h"

/* The default of MEMORY USAGE's SAMPLES, as Redis's. */
#define USAGE_SAMPLES 5

/* The key's share of the db's table: the table's bytes over its keys. */
static size_t slot_share(const cdb *db)
{
    uint64_t n = htab_size(db->keys);
    return n ? htab_mem_usage(db->keys) / n : 0;
}

/* MEMORY USAGE key [SAMPLES count] */
static void memory_usage_command(cmd_call *c)
{
    long long samples = USAGE_SAMPLES;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "samples") && i + 1 < c->argc) {
            if (!arg_ll(c, i + 1, &samples)) return;
            if (samples < 0) {
                reply_syntax_error(c);
                return;
            }
            i++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    cobj *o = db_find(c->db, &c->argv[2]);
    if (!o) {
        reply_null(c->out);
        return;
    }
    size_t n = obj_mem_usage(o, samples) + slot_share(c->db);
    if (obj_has_expire(o)) n += sizeof(cobj *);
    reply_int(c->out, (long long)n);
}

unsigned long long info_text_field(const char *text, const char *name)
{
    unsigned long long v = 0;
    size_t nlen = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += nlen) {
        if ((p != text && p[-1] != '\n') || p[nlen] != ':') continue;
        const char *val = p + nlen + 1;
        str_to_ull(val, strcspn(val, "\r\n"), &v);
        break;
    }
    return v;
}

void engine_mem_report_fill(cairn_engine *e, const char *host_lines, engine_mem_report *r)
{
    memset(r, 0, sizeof(*r));
    r->used = (long long)engine_used_memory(e);
    r->startup = e->startup_allocated;
    r->overhead = r->startup;
    for (int i = 0; i < e->ndbs; i++) {
        cdb *db = &e->dbs[i];
        if (!db_size(db)) continue;
        r->keys += (long long)db_size(db);
        r->overhead += (long long)(htab_mem_usage(db->keys) + db->vol_cap * sizeof(cobj *));
    }
    if (host_lines) {
        r->clients_normal = (long long)info_text_field(host_lines, "mem_clients_normal");
        r->aof_buffer = (long long)info_text_field(host_lines, "mem_aof_buffer");
        r->overhead += r->clients_normal + r->aof_buffer;
        /* The host took its peak before this report's own text was
         * allocated: the peak is never below what is reported used. */
        long long peak = (long long)info_text_field(host_lines, "used_memory_peak");
        if (peak > 0 && r->used > peak) r->used = peak;
    }
    r->dataset = r->used > r->overhead ? r->used - r->overhead : 0;
}

/* The host's INFO memory lines (resident size, the peak, the allocator's
 * figures), or NULL without a host. */
static dstr host_memory_lines(cairn_engine *e)
{
    const cairn_host_ops *h = e->host;
    if (!h || !h->info) return NULL;
    dstr s = dstr_new("", 0);
    h->info(e->host_priv, "memory", &s);
    return s;
}

static void stat_int(rbuf *out, const char *name, long long v)
{
    reply_bulk_cstr(out, name);
    reply_int(out, v);
}

static void stat_double(rbuf *out, const char *name, double v)
{
    reply_bulk_cstr(out, name);
    reply_double(out, v);
}

static double ratio(double a, double b) { return b ? a / b : 0; }

/* MEMORY STATS: Redis's fields, in its order.  Without a host (libcairn)
 * the process figures are the engine's own. */
static void memory_stats_command(cmd_call *c)
{
    cairn_engine *e = c->e;
    dstr host = host_memory_lines(e);
    engine_mem_report m;
    engine_mem_report_fill(e, host, &m);
    long long used = m.used;
    long long peak = host ? (long long)info_text_field(host, "used_memory_peak") : used;
    long long rss = host ? (long long)info_text_field(host, "used_memory_rss") : used;
    /* The allocator's three figures come from one reading. */
    long long allocated = host ? (long long)info_text_field(host, "allocator_allocated") : used;
    long long active = host ? (long long)info_text_field(host, "allocator_active") : used;
    long long resident = host ? (long long)info_text_field(host, "allocator_resident") : used;
    dstr_free(host);
    if (peak < used) peak = used;
    int ndbs = 0;
    for (int i = 0; i < e->ndbs; i++)
        ndbs += db_size(&e->dbs[i]) > 0;
    long long net = used > m.startup ? used - m.startup : 0;
    rbuf *out = c->out;
    reply_map_len(out, 27 + ndbs);
    stat_int(out, "peak.allocated", peak);
    stat_int(out, "total.allocated", used);
    stat_int(out, "startup.allocated", m.startup);
    stat_int(out, "replication.backlog", 0);
    stat_int(out, "clients.slaves", 0);
    stat_int(out, "clients.normal", m.clients_normal);
    stat_int(out, "cluster.links", 0);
    stat_int(out, "aof.buffer", m.aof_buffer);
    stat_int(out, "lua.caches", 0);
    stat_int(out, "functions.caches", 0);
    for (int i = 0; i < e->ndbs; i++) {
        cdb *db = &e->dbs[i];
        if (!db_size(db)) continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", i);
        reply_bulk_cstr(out, name);
        reply_map_len(out, 2);
        stat_int(out, "overhead.hashtable.main", (long long)htab_mem_usage(db->keys));
        stat_int(out, "overhead.hashtable.expires", (long long)(db->vol_cap * sizeof(cobj *)));
    }
    stat_int(out, "overhead.total", m.overhead);
    stat_int(out, "keys.count", m.keys);
    stat_int(out, "keys.bytes-per-key", m.keys ? net / m.keys : 0);
    stat_int(out, "dataset.bytes", m.dataset);
    stat_double(out, "dataset.percentage", 100 * ratio((double)m.dataset, (double)net));
    stat_double(out, "peak.percentage", 100 * ratio((double)used, (double)peak));
    stat_int(out, "allocator.allocated", allocated);
    stat_int(out, "allocator.active", active);
    stat_int(out, "allocator.resident", resident);
    stat_double(out, "allocator-fragmentation.ratio", ratio((double)active, (double)allocated));
    stat_int(out, "allocator-fragmentation.bytes", active - allocated);
    stat_double(out, "allocator.rss-ratio", ratio((double)resident, (double)active));
    stat_int(out, "allocator.rss-bytes", resident - active);
    stat_double(out, "rss-overhead.ratio", ratio((double)rss, (double)resident));
    stat_int(out, "rss-overhead.bytes", rss - resident);
    stat_double(out, "fragmentation", ratio((double)rss, (double)used));
    stat_int(out, "fragmentation.bytes", rss - used);
}

/* MEMORY DOCTOR: Redis's report for an instance too small to judge, or
 * its all-clear. */
static void memory_doctor_command(cmd_call *c)
{
    const char *msg =
        engine_used_memory(c->e) < 5 * 1024 * 1024
            ? "Hi Sam, this instance is empty or is using very little memory, my issues detector "
              "can't be used in these conditions. Please, leave for your mission on Earth and fill "
              "it with some data. The new Sam and I will be back to our programming as soon as I "
              "finished rebooting.\n"
            : "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
              "occurs on this base.\n";
    reply_verbatim(c->out, msg, strlen(msg), "txt");
}

static void stats_append(void *priv, const char *s)
{
    dstr *d = priv;
    *d = dstr_cat_cstr(*d, s);
}

static void memory_malloc_stats_command(cmd_call *c)
{
    dstr s = dstr_new("", 0);
    cm_stats_sink sink = {stats_append, &s};
    if (!cm_malloc_stats(&sink))
        s = dstr_cat_cstr(s, "Stats not supported for the current allocator");
    reply_verbatim(c->out, s, dstr_len(s), "txt");
    dstr_free(s);
}

static void memory_purge_command(cmd_call *c)
{
    cm_purge(); /* nothing to give back is no error, as in Redis */
    reply_ok(c->out);
}

static void memory_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define MEM_ACL (ACL_SLOW)

static const cmd_def memory_subcommands[] = {
    {"memory|doctor", memory_doctor_command, 2, 0, MEM_ACL, 0, 0, 0, "server", "4.0.0",
     "Outputs memory problems report", "O(1)", NULL},
    {"memory|help", memory_help_command, 2, CMD_LOADING | CMD_STALE, MEM_ACL, 0, 0, 0, "server",
     "4.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {"memory|malloc-stats", memory_malloc_stats_command, 2, 0, MEM_ACL, 0, 0, 0, "server", "4.0.0",
     "Show allocator internal stats", "Depends on how much memory is allocated, could be slow",
     NULL},
    {"memory|purge", memory_purge_command, 2, 0, MEM_ACL, 0, 0, 0, "server", "4.0.0",
     "Ask the allocator to release memory",
     "Depends on how much memory is allocated, could be slow", NULL},
    {"memory|stats", memory_stats_command, 2, 0, MEM_ACL, 0, 0, 0, "server", "4.0.0",
     "Show memory usage details", "O(1)", NULL},
    {"memory|usage", memory_usage_command, -3, CMD_READONLY, MEM_ACL, 2, 2, 1, "server", "4.0.0",
     "Estimate the memory usage of a key", "O(N) where N is the number of samples.", NULL, NULL,
     NULL, KEY_FLAGS(KF_RO)},
    {0},
};

const cmd_def memory_commands[] = {
    {"memory", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "server", "4.0.0",
     "A container for memory diagnostics commands", "Depends on subcommand.", memory_subcommands},
    {0},
};
