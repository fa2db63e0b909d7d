/* t_server.c -- server introspection and control: INFO, COMMAND, CLIENT,
 * DEBUG, SHUTDOWN and TIME, with Redis 7.0's reply shapes and error strings.
 *
 * The engine knows the keyspace, its statistics and the command table, but
 * nothing of sockets, processes or clocks.  What only the host knows (the
 * process, the connections, CPU time, resident memory) it is asked for
 * through cairn_host_ops: INFO sections are filled in by host->info, the
 * CLIENT subcommands that walk the connections by host->client_cmd,
 * SHUTDOWN and DEBUG SLEEP by host->shutdown and host->sleep_us.  Embedded,
 * without a host, those parts are simply absent or answered with an
 * error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cairn.h"
#include "cmd.h"
#include "db.h"
#include "digest.h"
#include "evict.h"
#include "pubsub.h"
#include "tracking.h"

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

/* A command by its full name: "get", or "client|list" for a subcommand,
 * as COMMAND INFO and COMMAND DOCS accept them. */
static const cmd_def *lookup_fullname(cairn_engine *e, const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (!bar) return cmd_lookup(e, name, len);
    const cmd_def *parent = cmd_lookup(e, name, (size_t)(bar - name));
    if (!parent || !parent->subcommands) return NULL;
    size_t sublen = len - (size_t)(bar - name) - 1;
    if (memchr(bar + 1, '|', sublen)) return NULL;
    return cmd_lookup_sub(parent, bar + 1, sublen);
}

/* Every top-level command in table order.  The dict is authoritative, so
 * an entry shadowed by an earlier one of the same name is skipped. */
typedef void cmd_visit_fn(cmd_call *c, const cmd_def *cmd, void *priv);

static void for_each_command(cmd_call *c, cmd_visit_fn *fn, void *priv)
{
    for (int f = 0; cmd_families[f]; f++) {
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            if (cmd_lookup(c->e, cmd->name, strlen(cmd->name)) != cmd) continue;
            fn(c, cmd, priv);
        }
    }
}

static long subcommand_count(const cmd_def *cmd)
{
    long n = 0;
    if (cmd->subcommands)
        for (const cmd_def *s = cmd->subcommands; s->name; s++)
            n++;
    return n;
}

/* ---------------------------------------------------------------------- */
/* INFO                                                                    */
/* ---------------------------------------------------------------------- */

typedef struct info_req {
    cmd_call *c;
    int all;      /* "all" or "everything" */
    int defaults; /* no argument, or "default" */
    dstr out;
    int sections; /* emitted so far */
} info_req;

static const char *const default_sections[] = {
    "server", "clients", "memory",     "persistence", "stats",    "replication",
    "cpu",    "modules", "errorstats", "cluster",     "keyspace", NULL,
};

static int is_default_section(const char *name)
{
    for (int i = 0; default_sections[i]; i++)
        if (!strcmp(default_sections[i], name)) return 1;
    return 0;
}

/* Does the request ask for section `name`?  "all" covers every section
 * (commandstats and latencystats too), "default" only the usual ones. */
static int info_wants(const info_req *r, const char *name)
{
    if (r->all) return 1;
    if (r->defaults && is_default_section(name)) return 1;
    for (int i = 1; i < r->c->argc; i++) {
        if (slice_is(&r->c->argv[i], name)) return 1;
        /* Redis accepts both names of the modules section. */
        if (!strcmp(name, "modules") && slice_is(&r->c->argv[i], "module_list")) return 1;
    }
    return 0;
}

static void info_header(info_req *r, const char *title)
{
    if (r->sections++) r->out = dstr_cat(r->out, "\r\n", 2);
    r->out = dstr_catfmt(r->out, "# %s\r\n", title);
}

/* Let the host append its part of a section, if it has one. */
static int host_info(info_req *r, const char *section)
{
    const cairn_host_ops *h = r->c->e->host;
    if (!h || !h->info) return 0;
    h->info(r->c->e->host_priv, section, &r->out);
    return 1;
}

/* What the engine knows of the server section; the host, if any, adds the
 * process, its build, its port and its files. */
static void info_server(info_req *r)
{
    info_header(r, "Server");
    cairn_engine *e = r->c->e;
    long long uptime = (r->c->now_ms - e->start_ms) / 1000;
    r->out = dstr_catfmt(r->out,
                         "redis_version:%s\r\n"
                         "cairn_version:%s\r\n"
                         "redis_git_sha1:00000000\r\n"
                         "redis_git_dirty:0\r\n"
                         "redis_build_id:0\r\n"
                         "redis_mode:standalone\r\n"
                         "arch_bits:%d\r\n"
                         "uptime_in_seconds:%lld\r\n"
                         "uptime_in_days:%lld\r\n"
                         "hz:%d\r\n"
                         "configured_hz:%d\r\n"
                         "lru_clock:%u\r\n",
                         REDIS_COMPAT_VERSION, CAIRN_VERSION, (int)(sizeof(long) * 8), uptime,
                         uptime / 86400, e->cfg.hz, e->cfg.hz, engine_lru_clock(r->c->now_ms));
    host_info(r, "server");
}

static void info_memory(info_req *r)
{
    cairn_engine *e = r->c->e;
    /* Resident size, the peak and the allocator's figures are the host's
     * to measure; its clients and buffers count as overhead. */
    dstr host = NULL;
    if (e->host && e->host->info) {
        host = dstr_new("", 0);
        e->host->info(e->host_priv, "memory", &host);
    }
    engine_mem_report m;
    engine_mem_report_fill(e, host, &m);
    char human[32];
    bytes_to_human(human, sizeof(human), (size_t)m.used);
    info_header(r, "Memory");
    r->out = dstr_catfmt(r->out, "used_memory:%lld\r\nused_memory_human:%s\r\n", m.used, human);
    if (host)
        r->out = dstr_cat(r->out, host, dstr_len(host));
    else
        r->out = dstr_catfmt(r->out, "used_memory_peak:%lld\r\nused_memory_peak_human:%s\r\n",
                             m.used, human);
    dstr_free(host);
    long long net = m.used > m.startup ? m.used - m.startup : 0;
    r->out = dstr_catfmt(r->out,
                         "used_memory_overhead:%lld\r\n"
                         "used_memory_startup:%lld\r\n"
                         "used_memory_dataset:%lld\r\n"
                         "used_memory_dataset_perc:%.2f%%\r\n",
                         m.overhead, m.startup, m.dataset,
                         net ? 100.0 * (double)m.dataset / (double)net : 0.0);
    const cairn_config *cfg = &r->c->e->cfg;
    char max_h[32];
    bytes_to_human(max_h, sizeof(max_h), cfg->maxmemory);
    /* The policy's name as CONFIG GET spells it. */
    dstr policy = config_get_value(r->c->e, "maxmemory-policy");
    r->out =
        dstr_catfmt(r->out,
                    "maxmemory:%llu\r\n"
                    "maxmemory_human:%s\r\n"
                    "maxmemory_policy:%s\r\n"
                    "mem_allocator:%s\r\n"
                    "lazyfree_pending_objects:0\r\n"
                    "lazyfreed_objects:0\r\n",
                    cfg->maxmemory, max_h, policy ? policy : "noeviction", cm_allocator_name());
    dstr_free(policy);
}

static void info_persistence(info_req *r)
{
    cairn_engine *e = r->c->e;
    info_header(r, "Persistence");
    /* The host keeps the files, so it knows their state. */
    if (e->host && e->host->persist_info) {
        e->host->persist_info(e->host_priv, &r->out);
        return;
    }
    r->out = dstr_catfmt(r->out,
                         "loading:0\r\n"
                         "async_loading:0\r\n"
                         "rdb_changes_since_last_save:%lld\r\n"
                         "rdb_bgsave_in_progress:0\r\n"
                         "rdb_last_save_time:%lld\r\n"
                         "rdb_last_bgsave_status:ok\r\n"
                         "rdb_last_bgsave_time_sec:-1\r\n"
                         "rdb_current_bgsave_time_sec:-1\r\n"
                         "rdb_saves:0\r\n"
                         "aof_enabled:0\r\n"
                         "aof_rewrite_in_progress:0\r\n"
                         "aof_rewrite_scheduled:0\r\n"
                         "aof_last_rewrite_time_sec:-1\r\n"
                         "aof_current_rewrite_time_sec:-1\r\n"
                         "aof_last_bgrewrite_status:ok\r\n"
                         "aof_rewrites:0\r\n"
                         "aof_last_write_status:ok\r\n",
                         e->stats.dirty, (long long)(e->start_ms / 1000));
}

static void info_stats(info_req *r)
{
    const engine_stats *st = &r->c->e->stats;
    info_header(r, "Stats");
    /* Connection and network counters come from the host. */
    host_info(r, "stats");
    r->out = dstr_catfmt(r->out,
                         "total_commands_processed:%lld\r\n"
                         "expired_keys:%lld\r\n"
                         "expired_stale_perc:%.2f\r\n"
                         "expired_time_cap_reached_count:0\r\n"
                         "expire_cycle_cpu_milliseconds:%lld\r\n"
                         "evicted_keys:%lld\r\n"
                         "evicted_clients:%lld\r\n"
                         "keyspace_hits:%lld\r\n"
                         "keyspace_misses:%lld\r\n"
                         "pubsub_channels:%ld\r\n"
                         "pubsub_patterns:%ld\r\n"
                         "pubsubshard_channels:%ld\r\n"
                         "tracking_total_keys:%lld\r\n"
                         "tracking_total_items:%lld\r\n"
                         "tracking_total_prefixes:%ld\r\n"
                         "latest_fork_usec:%lld\r\n"
                         "total_forks:%lld\r\n"
                         /* MIGRATE opens a connection per call: none is cached. */
                         "migrate_cached_sockets:0\r\n"
                         "unexpected_error_replies:0\r\n"
                         "total_error_replies:%lld\r\n"
                         "dump_payload_sanitizations:0\r\n",
                         st->commands_processed, st->expired_keys, (double)st->expired_stale_perc,
                         st->expire_cycle_time_us / 1000, st->evicted_keys, st->evicted_clients,
                         st->keyspace_hits, st->keyspace_misses, pubsub_count(r->c->e, PS_CHANNEL),
                         pubsub_count(r->c->e, PS_PATTERN), pubsub_count(r->c->e, PS_SHARD),
                         tracking_total_keys(r->c->e), tracking_total_items(r->c->e),
                         tracking_total_prefixes(r->c->e), st->latest_fork_usec, st->total_forks,
                         r->c->e->errstats.total);
}

static void info_replication(info_req *r)
{
    info_header(r, "Replication");
    /* A replicated node's host writes the whole section. */
    size_t before = dstr_len(r->out);
    if (host_info(r, "replication") && dstr_len(r->out) != before) return;
    r->out = dstr_cat_cstr(r->out, "role:master\r\n"
                                   "connected_slaves:0\r\n"
                                   "master_failover_state:no-failover\r\n"
                                   "master_repl_offset:0\r\n"
                                   "second_repl_offset:-1\r\n"
                                   "repl_backlog_active:0\r\n"
                                   "repl_backlog_size:1048576\r\n"
                                   "repl_backlog_first_byte_offset:0\r\n"
                                   "repl_backlog_histlen:0\r\n");
}

static void info_keyspace(info_req *r)
{
    cairn_engine *e = r->c->e;
    info_header(r, "Keyspace");
    for (int i = 0; i < e->ndbs; i++) {
        cdb *db = &e->dbs[i];
        long long keys = db_size(db);
        if (!keys) continue;
        r->out = dstr_catfmt(r->out, "db%d:keys=%lld,expires=%llu,avg_ttl=%lld\r\n", i, keys,
                             (unsigned long long)db_volatile_count(db), db->avg_ttl);
    }
}

static void info_command(cmd_call *c)
{
    info_req r = {.c = c, .out = dstr_with_cap(2048)};
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "default")) r.defaults = 1;
        if (arg_is(c, i, "all") || arg_is(c, i, "everything")) r.all = 1;
    }
    if (c->argc == 1) r.defaults = 1;

    if (info_wants(&r, "server")) info_server(&r);
    if (info_wants(&r, "clients") && c->e->host && c->e->host->info) {
        info_header(&r, "Clients");
        host_info(&r, "clients");
    }
    if (info_wants(&r, "memory")) info_memory(&r);
    if (info_wants(&r, "persistence")) info_persistence(&r);
    if (info_wants(&r, "stats")) info_stats(&r);
    if (info_wants(&r, "replication")) info_replication(&r);
    if (info_wants(&r, "cpu") && c->e->host && c->e->host->info) {
        info_header(&r, "CPU");
        host_info(&r, "cpu");
    }
    if (info_wants(&r, "modules")) info_header(&r, "Modules");
    if (info_wants(&r, "commandstats")) {
        info_header(&r, "Commandstats");
        r.out = cmdstats_info_commands(c->e->cmdstats, r.out);
    }
    if (info_wants(&r, "errorstats")) {
        info_header(&r, "Errorstats");
        r.out = cmdstats_info_errors(&c->e->errstats, r.out);
    }
    if (info_wants(&r, "latencystats")) {
        info_header(&r, "Latencystats");
        const cairn_config *cfg = &c->e->cfg;
        r.out = cmdstats_info_latency(c->e->cmdstats, r.out, cfg->latency_pcts);
    }
    if (info_wants(&r, "cluster")) {
        info_header(&r, "Cluster");
        r.out = dstr_cat_cstr(r.out, "cluster_enabled:0\r\n");
    }
    if (info_wants(&r, "keyspace")) info_keyspace(&r);

    reply_verbatim(c->out, r.out, dstr_len(r.out), "txt");
    dstr_free(r.out);
}

/* ---------------------------------------------------------------------- */
/* COMMAND                                                                 */
/* ---------------------------------------------------------------------- */

typedef struct name_bit {
    uint32_t bit;
    const char *name;
} name_bit;

/* In the order Redis 7.0 lists them (may_replicate is hidden there). */
static const name_bit flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_ALLOW_BUSY, "allow_busy"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {0, NULL},
};

static const name_bit acl_names[] = {
    {ACL_KEYSPACE, "keyspace"},
    {ACL_READ, "read"},
    {ACL_WRITE, "write"},
    {ACL_SET, "set"},
    {ACL_SORTEDSET, "sortedset"},
    {ACL_LIST, "list"},
    {ACL_HASH, "hash"},
    {ACL_STRING, "string"},
    {ACL_BITMAP, "bitmap"},
    {ACL_HYPERLOGLOG, "hyperloglog"},
    {ACL_GEO, "geo"},
    {ACL_STREAM, "stream"},
    {ACL_PUBSUB, "pubsub"},
    {ACL_ADMIN, "admin"},
    {ACL_FAST, "fast"},
    {ACL_SLOW, "slow"},
    {ACL_BLOCKING, "blocking"},
    {ACL_DANGEROUS, "dangerous"},
    {ACL_CONNECTION, "connection"},
    {ACL_TRANSACTION, "transaction"},
    {ACL_SCRIPTING, "scripting"},
    {0, NULL},
};

static void reply_bit_names(rbuf *out, uint32_t bits, const name_bit *names, const char *prefix)
{
    long n = 0;
    for (const name_bit *nb = names; nb->name; nb++)
        if (bits & nb->bit) n++;
    reply_set_len(out, n);
    for (const name_bit *nb = names; nb->name; nb++) {
        if (!(bits & nb->bit)) continue;
        char buf[48];
        snprintf(buf, sizeof(buf), "%s%s", prefix, nb->name);
        reply_simple(out, buf);
    }
}

/* Key-spec flags by name, in Redis's order. */
static const name_bit key_flag_names[] = {
    {KF_RO, "RO"},
    {KF_RW, "RW"},
    {KF_OW, "OW"},
    {KF_RM, "RM"},
    {KF_ACCESS, "access"},
    {KF_UPDATE, "update"},
    {KF_INSERT, "insert"},
    {KF_DELETE, "delete"},
    {KF_NOT_KEY, "not_key"},
    {KF_INCOMPLETE, "incomplete"},
    {KF_VARIABLE, "variable_flags"},
    {0, NULL},
};

/* A key spec: its flags, the index its search begins at, and the range
 * of keys from there (lastkey: relative to the index, or from the end of
 * the arguments if negative). */
static void reply_key_spec(rbuf *out, uint32_t flags, int index, int lastkey, int step)
{
    reply_map_len(out, 3);
    reply_bulk_cstr(out, "flags");
    reply_bit_names(out, flags, key_flag_names, "");
    reply_bulk_cstr(out, "begin_search");
    reply_map_len(out, 2);
    reply_bulk_cstr(out, "type");
    reply_bulk_cstr(out, "index");
    reply_bulk_cstr(out, "spec");
    reply_map_len(out, 1);
    reply_bulk_cstr(out, "index");
    reply_int(out, index);
    reply_bulk_cstr(out, "find_keys");
    reply_map_len(out, 2);
    reply_bulk_cstr(out, "type");
    reply_bulk_cstr(out, "range");
    reply_bulk_cstr(out, "spec");
    reply_map_len(out, 3);
    reply_bulk_cstr(out, "lastkey");
    reply_int(out, lastkey);
    reply_bulk_cstr(out, "keystep");
    reply_int(out, step);
    reply_bulk_cstr(out, "limit");
    reply_int(out, 0);
}

/* The key specs, built from the legacy (first, last, step) triple: one
 * over every key, or, when the first key's flags differ from the
 * others' (LMOVE, RENAME, ZUNIONSTORE's destination), one for the first
 * key and one for the rest. */
static void reply_key_specs(rbuf *out, const cmd_def *cmd)
{
    if (cmd->first_key <= 0) {
        reply_set_len(out, 0);
        return;
    }
    int first = cmd->first_key, step = cmd->key_step;
    uint32_t head = cmd_spec_flags(cmd, 0), rest = cmd_spec_flags(cmd, 1);
    if (head == rest || cmd->last_key == first) {
        reply_set_len(out, 1);
        reply_key_spec(out, head, first, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - first,
                       step);
        return;
    }
    reply_set_len(out, 2);
    reply_key_spec(out, head, first, 0, 1);
    int next = first + step;
    reply_key_spec(out, rest, next, cmd->last_key < 0 ? cmd->last_key : cmd->last_key - next, step);
}

/* [name, arity, flags, first, last, step, categories, tips, key specs,
 * subcommands], as Redis 7.0's addReplyCommandInfo. */
static void reply_command_info(rbuf *out, const cmd_def *cmd)
{
    reply_array_len(out, 10);
    reply_bulk_cstr(out, cmd->name);
    reply_int(out, cmd->arity);
    reply_bit_names(out, cmd->flags | (cmd->getkeys ? CMD_MOVABLE_KEYS : 0), flag_names, "");
    reply_int(out, cmd->first_key);
    reply_int(out, cmd->last_key);
    reply_int(out, cmd->key_step);
    reply_bit_names(out, cmd_categories(cmd), acl_names, "@");
    reply_set_len(out, 0); /* tips: not in the table */
    reply_key_specs(out, cmd);
    reply_set_len(out, subcommand_count(cmd));
    if (cmd->subcommands)
        for (const cmd_def *s = cmd->subcommands; s->name; s++)
            reply_command_info(out, s);
}

static void reply_doc_field(rbuf *out, const char *name, const char *value)
{
    reply_bulk_cstr(out, name);
    reply_bulk_cstr(out, value);
}

/* A map of summary, since, group, complexity and, for a container, its
 * subcommands' docs by name. */
static void reply_command_docs(rbuf *out, const cmd_def *cmd)
{
    long n = 0;
    if (cmd->summary) n++;
    if (cmd->since) n++;
    if (cmd->group) n++;
    if (cmd->complexity) n++;
    if (cmd->subcommands) n++;
    reply_map_len(out, n);
    if (cmd->summary) reply_doc_field(out, "summary", cmd->summary);
    if (cmd->since) reply_doc_field(out, "since", cmd->since);
    if (cmd->group) reply_doc_field(out, "group", cmd->group);
    if (cmd->complexity) reply_doc_field(out, "complexity", cmd->complexity);
    if (cmd->subcommands) {
        reply_bulk_cstr(out, "subcommands");
        reply_map_len(out, subcommand_count(cmd));
        for (const cmd_def *s = cmd->subcommands; s->name; s++) {
            reply_bulk_cstr(out, s->name);
            reply_command_docs(out, s);
        }
    }
}

static void visit_info(cmd_call *c, const cmd_def *cmd, void *priv)
{
    (*(long *)priv)++;
    reply_command_info(c->out, cmd);
}

/* COMMAND, and COMMAND INFO without names: every command. */
static void reply_all_info(cmd_call *c)
{
    long n = 0;
    rbuf_deferred d = reply_deferred_len(c->out);
    for_each_command(c, visit_info, &n);
    reply_set_deferred_array(c->out, d, n);
}

static void command_command(cmd_call *c) { reply_all_info(c); }

static void command_count_command(cmd_call *c) { reply_int(c->out, cmd_count(c->e)); }

static void command_info_command(cmd_call *c)
{
    if (c->argc == 2) {
        reply_all_info(c);
        return;
    }
    reply_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const cmd_def *cmd = lookup_fullname(c->e, c->argv[i].ptr, c->argv[i].len);
        if (cmd)
            reply_command_info(c->out, cmd);
        else
            reply_null(c->out);
    }
}

static void visit_docs(cmd_call *c, const cmd_def *cmd, void *priv)
{
    (*(long *)priv)++;
    reply_bulk_cstr(c->out, cmd->name);
    reply_command_docs(c->out, cmd);
}

static void command_docs_command(cmd_call *c)
{
    long n = 0;
    rbuf_deferred d = reply_deferred_len(c->out);
    if (c->argc == 2) {
        for_each_command(c, visit_docs, &n);
    } else {
        /* Unknown names are left out, not answered with a null. */
        for (int i = 2; i < c->argc; i++) {
            const cmd_def *cmd = lookup_fullname(c->e, c->argv[i].ptr, c->argv[i].len);
            if (cmd) visit_docs(c, cmd, &n);
        }
    }
    reply_set_deferred_map(c->out, d, n);
}

enum { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };

typedef struct list_filter {
    int type;
    const cslice *arg;
    uint32_t aclcat;
    long n;
} list_filter;

static int list_match(const list_filter *f, const cmd_def *cmd)
{
    switch (f->type) {
    case LIST_ALL: return 1;
    case LIST_MODULE: return 0; /* no modules */
    case LIST_ACLCAT: return f->aclcat && (cmd_categories(cmd) & f->aclcat);
    default: return glob_match(f->arg->ptr, f->arg->len, cmd->name, strlen(cmd->name), 1);
    }
}

static void visit_list(cmd_call *c, const cmd_def *cmd, void *priv)
{
    list_filter *f = priv;
    if (list_match(f, cmd)) {
        reply_bulk_cstr(c->out, cmd->name);
        f->n++;
    }
    if (!cmd->subcommands) return;
    for (const cmd_def *s = cmd->subcommands; s->name; s++) {
        if (!list_match(f, s)) continue;
        reply_bulk_cstr(c->out, s->name);
        f->n++;
    }
}

/* COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern] */
static void command_list_command(cmd_call *c)
{
    list_filter f = {.type = LIST_ALL};
    for (int i = 2; i < c->argc; i += 3) {
        if (!arg_is(c, i, "filterby") || c->argc - 1 - i != 2) {
            reply_syntax_error(c);
            return;
        }
        if (arg_is(c, i + 1, "module"))
            f.type = LIST_MODULE;
        else if (arg_is(c, i + 1, "aclcat"))
            f.type = LIST_ACLCAT;
        else if (arg_is(c, i + 1, "pattern"))
            f.type = LIST_PATTERN;
        else {
            reply_syntax_error(c);
            return;
        }
        f.arg = &c->argv[i + 2];
    }
    if (f.type == LIST_ACLCAT)
        for (const name_bit *nb = acl_names; nb->name; nb++)
            if (slice_is(f.arg, nb->name)) f.aclcat = nb->bit;
    rbuf_deferred d = reply_deferred_len(c->out);
    for_each_command(c, visit_list, &f);
    reply_set_deferred_array(c->out, d, f.n);
}

/* The command named by argv[first..]: a subcommand when the command is a
 * container and a second word is given (NULL if it names none). */
static const cmd_def *lookup_call(cmd_call *c, int first)
{
    const cmd_def *cmd = cmd_lookup(c->e, c->argv[first].ptr, c->argv[first].len);
    if (cmd && cmd->subcommands && c->argc - first >= 2)
        cmd = cmd_lookup_sub(cmd, c->argv[first + 1].ptr, c->argv[first + 1].len);
    return cmd;
}

/* The key positions of the command in argv[2..] for GETKEYS and
 * GETKEYSANDFLAGS; replies Redis's error and returns -1 when there are
 * none.  *idx is allocated. */
static int getkeys(cmd_call *c, const cmd_def **out_cmd, int **idx)
{
    const cmd_def *cmd = lookup_call(c, 2);
    int argc = c->argc - 2;
    *idx = NULL;
    *out_cmd = cmd;
    if (!cmd) {
        reply_error(c->out, "ERR Invalid command specified");
        return -1;
    }
    if (cmd->first_key <= 0 && !cmd->getkeys) {
        reply_error(c->out, "ERR The command has no key arguments");
        return -1;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(c->out, "ERR Invalid number of arguments specified for command");
        return -1;
    }
    *idx = cm_malloc(sizeof(int) * (size_t)argc);
    int n = cmd_get_keys(cmd, argc, c->argv + 2, *idx, argc);
    if (n < 0) {
        if (cmd->flags & CMD_NO_MANDATORY_KEYS) return 0;
        reply_error(c->out, "ERR Invalid arguments specified for command");
    }
    return n;
}

static void command_getkeys_command(cmd_call *c)
{
    const cmd_def *cmd;
    int *idx;
    int n = getkeys(c, &cmd, &idx);
    if (n >= 0) {
        reply_array_len(c->out, n);
        for (int i = 0; i < n; i++) {
            const cslice *k = &c->argv[2 + idx[i]];
            reply_bulk(c->out, k->ptr, k->len);
        }
    }
    cm_free(idx);
}

static void command_getkeysandflags_command(cmd_call *c)
{
    const cmd_def *cmd;
    int *idx;
    int n = getkeys(c, &cmd, &idx);
    if (n >= 0) {
        reply_array_len(c->out, n);
        for (int i = 0; i < n; i++) {
            const cslice *k = &c->argv[2 + idx[i]];
            reply_array_len(c->out, 2);
            reply_bulk(c->out, k->ptr, k->len);
            reply_bit_names(c->out, cmd_key_flags(cmd, i, c->argc - 2, c->argv + 2), key_flag_names,
                            "");
        }
    }
    cm_free(idx);
}

static void command_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* ---------------------------------------------------------------------- */
/* CLIENT                                                                  */
/* ---------------------------------------------------------------------- */

static void client_id_command(cmd_call *c) { reply_int(c->out, (long long)c->s->id); }

/* Names are shown in CLIENT LIST's space-separated fields, so only
 * printable ASCII without spaces is allowed. */
static void client_setname_command(cmd_call *c)
{
    const cslice *name = &c->argv[2];
    for (size_t i = 0; i < name->len; i++) {
        unsigned char ch = (unsigned char)name->ptr[i];
        if (ch < '!' || ch > '~') {
            reply_error(c->out,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
    }
    dstr_free(c->s->name);
    /* An empty name removes the name. */
    c->s->name = name->len ? dstr_new(name->ptr, name->len) : NULL;
    reply_ok(c->out);
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; client libraries
 * send it on connect): shown by CLIENT LIST and CLIENT INFO. */
static void client_setinfo_command(cmd_call *c)
{
    dstr *dest;
    if (arg_is(c, 2, "lib-name"))
        dest = &c->s->lib_name;
    else if (arg_is(c, 2, "lib-ver"))
        dest = &c->s->lib_ver;
    else {
        reply_errorf(c->out, "ERR Unrecognized option '%.*s'",
                     c->argv[2].len > 128 ? 128 : (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    const cslice *v = &c->argv[3];
    for (size_t i = 0; i < v->len; i++) {
        unsigned char ch = (unsigned char)v->ptr[i];
        if (ch < '!' || ch > '~') {
            reply_errorf(c->out, "ERR %.*s cannot contain spaces, newlines or special characters.",
                         (int)c->argv[2].len, c->argv[2].ptr);
            return;
        }
    }
    dstr_free(*dest);
    *dest = v->len ? dstr_new(v->ptr, v->len) : NULL;
    reply_ok(c->out);
}

static void client_getname_command(cmd_call *c)
{
    if (c->s->name)
        reply_bulk(c->out, c->s->name, dstr_len(c->s->name));
    else
        reply_null(c->out);
}

/* The network layer drops replies while SESS_REPLY_OFF is set and for the
 * command after a SKIP; OFF and SKIP themselves send nothing. */
static void client_reply_command(cmd_call *c)
{
    if (arg_is(c, 2, "on")) {
        c->s->flags &= ~(SESS_REPLY_OFF | SESS_REPLY_SKIP | SESS_REPLY_SKIP_NEXT);
        reply_ok(c->out);
    } else if (arg_is(c, 2, "off")) {
        c->s->flags |= SESS_REPLY_OFF;
    } else if (arg_is(c, 2, "skip")) {
        if (!(c->s->flags & SESS_REPLY_OFF)) c->s->flags |= SESS_REPLY_SKIP_NEXT;
    } else {
        reply_syntax_error(c);
    }
}

static void client_onoff(cmd_call *c, int flag)
{
    if (arg_is(c, 2, "on"))
        c->s->flags |= flag;
    else if (arg_is(c, 2, "off"))
        c->s->flags &= ~flag;
    else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c->out);
}

static void client_no_evict_command(cmd_call *c) { client_onoff(c, SESS_NO_EVICT); }

static void client_no_touch_command(cmd_call *c) { client_onoff(c, SESS_NO_TOUCH); }

/* LIST, INFO, KILL and UNBLOCK need the connections: the host's business. */
static void client_host_command(cmd_call *c)
{
    const cairn_host_ops *h = c->e->host;
    if (h && h->client_cmd) {
        h->client_cmd(c->e->host_priv, c);
        return;
    }
    char sub[32];
    ascii_case_copy(sub, sizeof(sub), c->argv[1].ptr, c->argv[1].len, 1);
    reply_errorf(c->out, "ERR CLIENT %s is not supported by an embedded store", sub);
}

static void client_help_command(cmd_call *c)
{
    static const char *const help[] = {
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* ---------------------------------------------------------------------- */
/* DEBUG                                                                   */
/* ---------------------------------------------------------------------- */

/* Bytes of an RDB length prefix. */
static size_t rdb_len_size(size_t len)
{
    if (len < 64) return 1;
    if (len < 16384) return 2;
    if (len <= UINT32_MAX) return 5;
    return 9;
}

/* An estimate of the value's size in an RDB file, for DEBUG OBJECT's
 * serializedlength: exact for integers and short strings; longer strings
 * are not LZF-compressed here, so they report their plain size. */
static size_t serialized_length(const cobj *o)
{
    if (o->type != OBJ_STRING) return 0;
    if (o->encoding == ENC_INT) {
        long long v = o->v.ll;
        if (v >= -128 && v <= 127) return 2;
        if (v >= -32768 && v <= 32767) return 3;
        if (v >= INT32_MIN && v <= INT32_MAX) return 5;
    }
    size_t len = obj_strlen(o);
    return rdb_len_size(len) + len;
}

static void debug_object(cmd_call *c)
{
    const cobj *o = db_find(c->db, &c->argv[2]);
    if (!o) {
        reply_error(c->out, "ERR no such key");
        return;
    }
    unsigned clock = engine_lru_clock(c->now_ms);
    /* The LRU clock wraps at 2^24 seconds. */
    unsigned idle = clock >= o->lru ? clock - o->lru : clock + (0xFFFFFFu - o->lru);
    char buf[256];
    snprintf(buf, sizeof(buf),
             "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%u",
             (const void *)o, obj_encoding_name(o->encoding), serialized_length(o),
             (unsigned)o->lru, idle);
    reply_simple(c->out, buf);
}

/* DEBUG SLEEP <seconds>: the whole host stops, as Redis's nanosleep in the
 * main thread does.  Like Redis, a non-number reads as 0. */
static void debug_sleep(cmd_call *c)
{
    char buf[64];
    arg_cstr(c, 2, buf, sizeof(buf));
    double secs = c_strtod(buf, NULL);
    if (secs > 1e9) secs = 1e9; /* keep the conversion defined */
    long long us = secs > 0 ? (long long)(secs * 1000000) : 0;
    const cairn_host_ops *h = c->e->host;
    if (us > 0 && h && h->sleep_us) h->sleep_us(c->e->host_priv, us);
    reply_ok(c->out);
}

/* DEBUG DIGEST: the dataset's signature (digest.h), 40 hex digits. */
static void debug_digest(cmd_call *c)
{
    unsigned char d[DIGEST_LEN];
    char hex[2 * DIGEST_LEN + 1];
    digest_dataset(c->e, d);
    digest_hex(d, hex);
    reply_simple(c->out, hex);
}

/* DEBUG DIGEST-VALUE key ...: each value's signature; a logically
 * expired key still counts, as in Redis. */
static void debug_digest_value(cmd_call *c)
{
    reply_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        unsigned char d[DIGEST_LEN];
        char hex[2 * DIGEST_LEN + 1];
        digest_value(db_find(c->db, &c->argv[i]), d);
        digest_hex(d, hex);
        reply_simple(c->out, hex);
    }
}

/* Redis's getPositiveLongFromObjectOrReply: 0 counts as positive. */
static int arg_nonneg(cmd_call *c, int i, long long *out)
{
    if (str_to_ll(c->argv[i].ptr, c->argv[i].len, out) && *out >= 0) return 1;
    reply_error(c->out, "ERR value is out of range, must be positive");
    return 0;
}

/* DEBUG POPULATE count [prefix [size]]: keys prefix:0 .. prefix:count-1
 * ("key" by default) holding "value:N", cut or padded with zero bytes to
 * size bytes when size is given.  Keys that exist are left alone.  The
 * command is logged as it is: given the dataset, it always does the same. */
static void debug_populate(cmd_call *c)
{
    long long count, size = 0;
    if (!arg_nonneg(c, 2, &count) || (c->argc == 5 && !arg_nonneg(c, 4, &size))) return;
    cairn_engine *e = c->e;
    const char *refused = e->write_error ? e->write_error : e->repl_refuse_write;
    if (refused && !(c->s->flags & SESS_LOADER)) {
        reply_error(c->out, refused);
        return;
    }
    cslice prefix = c->argc >= 4 ? c->argv[3] : (cslice){"key", 3};
    dstr key = dstr_with_cap(prefix.len + 24);
    dstr val = dstr_with_cap(size > 32 ? (size_t)size : 32);
    for (long long i = 0; i < count; i++) {
        dstr_set_len(key, 0);
        key = dstr_catfmt(dstr_cat(key, prefix.ptr, prefix.len), ":%lld", i);
        cslice k = {key, dstr_len(key)};
        if (lookup_write(c, &k)) continue;
        dstr_set_len(val, 0);
        val = dstr_catfmt(val, "value:%lld", i);
        if (size > (long long)dstr_len(val))
            val = dstr_grow_zero(val, (size_t)size);
        else if (size)
            dstr_set_len(val, (size_t)size);
        if (db_add(c, c->db, &k, obj_new_keyed_string(&k, -1, val, dstr_len(val)))) c->dirty++;
    }
    dstr_free(key);
    dstr_free(val);
    reply_ok(c->out);
}

/* DEBUG RELOAD and DEBUG LOADAOF: the host owns the files (persist.c). */
static void debug_persist(cmd_call *c)
{
    const cairn_host_ops *h = c->e->host;
    if (h && h->persist_cmd) {
        h->persist_cmd(c->e->host_priv, c);
        return;
    }
    reply_error(c->out, "ERR persistence is not enabled: open the store with a directory");
}

/* DEBUG QUICKLIST-PACKED-THRESHOLD <size>: Redis keeps an element larger
 * than this in a node of its own.  Cairn's quicklist keeps every element
 * in a listpack node (a large one alone in its node), so the value is
 * checked as Redis checks it and has nothing to change. */
static void debug_packed_threshold(cmd_call *c)
{
    char buf[64];
    unsigned long long sz;
    arg_cstr(c, 2, buf, sizeof(buf));
    if (c->argv[2].len >= sizeof(buf) || !config_parse_memory(buf, &sz) ||
        sz > (1ULL << 32) - (1ULL << 20)) {
        reply_error(c->out,
                    "ERR argument must be a memory value bigger than 1 and smaller than 4gb");
        return;
    }
    reply_ok(c->out);
}

/* DEBUG PROTOCOL <type>: one reply of each RESP type, with Redis's
 * contents, so that clients can test their parsers against a server. */
static void debug_protocol(cmd_call *c)
{
    rbuf *out = c->out;
    if (arg_is(c, 2, "string")) {
        reply_bulk_cstr(out, "Hello World");
    } else if (arg_is(c, 2, "integer")) {
        reply_int(out, 12345);
    } else if (arg_is(c, 2, "double")) {
        reply_double(out, 3.141);
    } else if (arg_is(c, 2, "bignum")) {
        reply_bignum(out, "1234567999999999999999999999999999999", 37);
    } else if (arg_is(c, 2, "null")) {
        reply_null(out);
    } else if (arg_is(c, 2, "array") || arg_is(c, 2, "set")) {
        if (arg_is(c, 2, "set"))
            reply_set_len(out, 3);
        else
            reply_array_len(out, 3);
        for (int i = 0; i < 3; i++)
            reply_int(out, i);
    } else if (arg_is(c, 2, "map")) {
        reply_map_len(out, 3);
        for (int i = 0; i < 3; i++) {
            reply_int(out, i);
            reply_bool(out, i == 1);
        }
    } else if (arg_is(c, 2, "attrib")) {
        if (out->resp >= 3) {
            reply_attribute_len(out, 1);
            reply_bulk_cstr(out, "key-popularity");
            reply_array_len(out, 2);
            reply_bulk_cstr(out, "key:123");
            reply_int(out, 90);
        }
        reply_bulk_cstr(out, "Some real reply following the attribute");
    } else if (arg_is(c, 2, "push")) {
        if (out->resp < 3) {
            reply_error(out, "ERR RESP2 is not supported by this command");
            return;
        }
        rbuf *push = call_push_out(c);
        reply_push_len(push, 2);
        reply_bulk_cstr(push, "server-cpu-usage");
        reply_int(push, 42);
        reply_bulk_cstr(out, "Some real reply following the push reply");
    } else if (arg_is(c, 2, "true") || arg_is(c, 2, "false")) {
        reply_bool(out, arg_is(c, 2, "true"));
    } else if (arg_is(c, 2, "verbatim")) {
        static const char text[] = "This is a verbatim\nstring";
        reply_verbatim(out, text, sizeof(text) - 1, "txt");
    } else {
        reply_error(out, "ERR Wrong protocol type name. Please use one of the following: "
                         "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                         "true|false");
    }
}

static void debug_help(cmd_call *c)
{
    static const char *const help[] = {
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create string keys <prefix>:0 to <prefix>:<count-1> (prefix 'key') that do not",
        "    exist yet, each holding value:<num>, cut or zero-padded to <size> bytes.",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    (checked only: every element of a list is in a packed node here).",
        "RELOAD [NOSAVE]",
        "    Save the RDB on disk and reload it back to memory.",
        "SET-DISABLE-DENY-SCRIPTS <0|1>",
        "    Let scripts run the commands they may not run (for testing only).",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

/* DEBUG REPLYBUFFER PEAK-RESET-TIME <NEVER|RESET|ms> | RESIZING <0|1>:
 * how the host resizes clients' first reply blocks; 0 if the subcommand
 * is unknown. */
static int debug_replybuffer(cmd_call *c)
{
    if (arg_is(c, 2, "peak-reset-time")) {
        long long ms = REPLY_PEAK_RESET_MS;
        if (arg_is(c, 3, "never"))
            ms = -1;
        else if (!arg_is(c, 3, "reset") && !arg_ll(c, 3, &ms))
            return 1;
        c->e->reply_peak_reset_ms = ms;
    } else if (arg_is(c, 2, "resizing")) {
        char buf[32];
        arg_cstr(c, 3, buf, sizeof(buf));
        c->e->reply_resizing = atoi(buf) != 0; /* Redis's leniency */
    } else {
        return 0;
    }
    reply_ok(c->out);
    return 1;
}

/* DEBUG is one command with its own parsing, not a container, as in
 * Redis: COMMAND INFO shows it so and its errors differ. */
static void debug_command(cmd_call *c)
{
    if (c->argc == 2 && arg_is(c, 1, "help")) {
        debug_help(c);
    } else if (c->argc == 3 && arg_is(c, 1, "object")) {
        debug_object(c);
    } else if (c->argc == 3 && arg_is(c, 1, "sleep")) {
        debug_sleep(c);
    } else if (c->argc >= 3 && c->argc <= 5 && arg_is(c, 1, "populate")) {
        debug_populate(c);
    } else if (arg_is(c, 1, "reload") || (c->argc == 2 && arg_is(c, 1, "loadaof"))) {
        debug_persist(c);
    } else if (c->argc == 3 && arg_is(c, 1, "quicklist-packed-threshold")) {
        debug_packed_threshold(c);
    } else if (c->argc == 3 && arg_is(c, 1, "protocol")) {
        debug_protocol(c);
    } else if (c->argc == 2 && arg_is(c, 1, "digest")) {
        debug_digest(c);
    } else if (arg_is(c, 1, "digest-value")) {
        debug_digest_value(c);
    } else if (c->argc == 2 && arg_is(c, 1, "change-repl-id")) {
        /* Replication here is Raft's, with no replication id to change. */
        reply_ok(c->out);
    } else if (c->argc == 3 && arg_is(c, 1, "set-disable-deny-scripts")) {
        char buf[32];
        arg_cstr(c, 2, buf, sizeof(buf));
        c->e->script_deny_disabled = atoi(buf) != 0;
        reply_ok(c->out);
    } else if (c->argc == 3 && arg_is(c, 1, "pause-cron")) {
        char buf[32];
        arg_cstr(c, 2, buf, sizeof(buf));
        c->e->cron_paused = atoi(buf) != 0;
        reply_ok(c->out);
    } else if (c->argc == 4 && arg_is(c, 1, "replybuffer") && debug_replybuffer(c)) {
        return;
    } else if (c->argc == 3 && arg_is(c, 1, "set-active-expire")) {
        char buf[32];
        arg_cstr(c, 2, buf, sizeof(buf));
        c->e->active_expire_enabled = atoi(buf); /* Redis's leniency */
        reply_ok(c->out);
    } else {
        char cmd[32];
        ascii_case_copy(cmd, sizeof(cmd), c->argv[0].ptr, c->argv[0].len, 1);
        int len = c->argv[1].len > 128 ? 128 : (int)c->argv[1].len;
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s "
                     "HELP.",
                     len, c->argv[1].ptr, cmd);
    }
}

/* ---------------------------------------------------------------------- */
/* SHUTDOWN                                                                */
/* ---------------------------------------------------------------------- */

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */
static void shutdown_command(cmd_call *c)
{
    int flags = 0, abort_req = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "nosave"))
            flags |= SHUTDOWN_NOSAVE;
        else if (arg_is(c, i, "save"))
            flags |= SHUTDOWN_SAVE;
        else if (arg_is(c, i, "now"))
            flags |= SHUTDOWN_NOW;
        else if (arg_is(c, i, "force"))
            flags |= SHUTDOWN_FORCE;
        else if (arg_is(c, i, "abort"))
            abort_req = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((abort_req && flags) || ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE))) {
        reply_syntax_error(c);
        return;
    }
    /* A shutdown here never waits (for replicas, a save), so there is never
     * one in progress to abort. */
    if (abort_req) {
        reply_error(c->out, "ERR No shutdown in progress.");
        return;
    }
    const cairn_host_ops *h = c->e->host;
    if (!h || !h->shutdown) {
        reply_error(c->out, "ERR SHUTDOWN is not supported by an embedded store");
        return;
    }
    h->shutdown(c->e->host_priv, c, flags);
}

/* ---------------------------------------------------------------------- */
/* LOLWUT                                                                  */
/* ---------------------------------------------------------------------- */

/* LOLWUT [VERSION v]: what Redis 7.0 shows for its own version (its
 * generative art is drawn only for VERSION 5 and 6, which are not). */
static void lolwut_command(cmd_call *c)
{
    long long ver;
    if (c->argc >= 3 && arg_is(c, 1, "version") && !arg_ll(c, 2, &ver)) return;
    char text[64];
    int n = snprintf(text, sizeof(text), "Redis ver. %s\n", REDIS_COMPAT_VERSION);
    reply_verbatim(c->out, text, (size_t)n, "txt");
}

/* ---------------------------------------------------------------------- */
/* TIME                                                                    */
/* ---------------------------------------------------------------------- */

static void time_command(cmd_call *c)
{
    int64_t us = c->now_us ? c->now_us : c->now_ms * 1000;
    reply_array_len(c->out, 2);
    reply_bulk_ll(c->out, us / 1000000);
    reply_bulk_ll(c->out, us % 1000000);
}

/* ---------------------------------------------------------------------- */
/* The table                                                               */
/* ---------------------------------------------------------------------- */

#define CMD_INTROSPECT (CMD_LOADING | CMD_STALE)
#define CONN_SLOW      (ACL_SLOW | ACL_CONNECTION)
#define CLIENT_FLAGS   (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CLIENT_ADMIN   (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CONN_ADMIN     (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION)

static const cmd_def command_subcommands[] = {
    {"command|count", command_count_command, 2, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server",
     "2.8.13", "Get total number of Redis commands", "O(1)", NULL},
    {"command|docs", command_docs_command, -2, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server",
     "7.0.0", "Get array of specific Redis command documentation",
     "O(N) where N is the number of commands to look up", NULL},
    {"command|getkeys", command_getkeys_command, -4, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server",
     "2.8.13", "Extract keys given a full Redis command",
     "O(N) where N is the number of arguments to the command", NULL},
    {"command|getkeysandflags", command_getkeysandflags_command, -4, CMD_INTROSPECT, CONN_SLOW, 0,
     0, 0, "server", "7.0.0", "Extract keys and access flags given a full Redis command",
     "O(N) where N is the number of arguments to the command", NULL},
    {"command|help", command_help_command, 2, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server", "5.0.0",
     "Show helpful text about the different subcommands", "O(1)", NULL},
    {"command|info", command_info_command, -2, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server",
     "2.8.13", "Get array of specific Redis command details, or all when no argument is given.",
     "O(N) where N is the number of commands to look up", NULL},
    {"command|list", command_list_command, -2, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server",
     "7.0.0", "Get an array of Redis command names",
     "O(N) where N is the total number of Redis commands", NULL},
    {0},
};

static const cmd_def client_subcommands[] = {
    {"client|caching", client_caching_command, 3, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "6.0.0", "Instruct the server about tracking or not keys in the next request", "O(1)", NULL},
    {"client|getredir", client_getredir_command, 2, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "6.0.0", "Get tracking notifications redirection client ID if any", "O(1)", NULL},
    {"client|tracking", client_tracking_command, -3, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "6.0.0", "Enable or disable server assisted client side caching support",
     "O(1). Some options may introduce additional complexity.", NULL},
    {"client|trackinginfo", client_trackinginfo_command, 2, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0,
     "connection", "6.2.0",
     "Return information about server assisted client side caching for the current connection",
     "O(1)", NULL},
    {"client|getname", client_getname_command, 2, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "2.6.9", "Get the current connection name", "O(1)", NULL},
    {"client|help", client_help_command, 2, CMD_LOADING | CMD_STALE, CONN_SLOW, 0, 0, 0,
     "connection", "5.0.0", "Show helpful text about the different subcommands", "O(1)", NULL},
    {"client|id", client_id_command, 2, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection", "5.0.0",
     "Returns the client ID for the current connection", "O(1)", NULL},
    {"client|info", client_host_command, 2, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection", "6.2.0",
     "Returns information about the current client connection.", "O(1)", NULL},
    {"client|kill", client_host_command, -3, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "2.4.0", "Kill the connection of a client", "O(N) where N is the number of client connections",
     NULL},
    {"client|list", client_host_command, -2, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "2.4.0", "Get the list of client connections",
     "O(N) where N is the number of client connections", NULL},
    {"client|no-evict", client_no_evict_command, 3, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "7.0.0", "Set client eviction mode for the current connection", "O(1)", NULL},
    {"client|no-touch", client_no_touch_command, 3, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "7.2.0",
     "Controls whether commands sent by the client will alter the LRU/LFU of the keys they "
     "access.",
     "O(1)", NULL},
    {"client|pause", client_host_command, -3, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "3.0.0", "Stop processing commands from clients for some time", "O(1)", NULL},
    {"client|reply", client_reply_command, 3, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "3.2.0", "Instruct the server whether to reply to commands", "O(1)", NULL},
    {"client|unblock", client_host_command, -3, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "5.0.0", "Unblock a client blocked in a blocking command from a different connection",
     "O(log N) where N is the number of client connections", NULL},
    {"client|setinfo", client_setinfo_command, 4, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "7.2.0", "Set client or connection specific info", "O(1)", NULL},
    {"client|unpause", client_host_command, 2, CLIENT_ADMIN, CONN_ADMIN, 0, 0, 0, "connection",
     "6.2.0", "Resume processing of clients that were paused",
     "O(N) Where N is the number of paused clients", NULL},
    {"client|setname", client_setname_command, 3, CLIENT_FLAGS, CONN_SLOW, 0, 0, 0, "connection",
     "2.6.9", "Set the current connection name", "O(1)", NULL},
    {"client|session", client_session_command, -3, CLIENT_FLAGS | CMD_FAST, CONN_SLOW, 0, 0, 0,
     "connection", "7.0.0",
     "Name the session and sequence number of the next write (exactly once in a Raft group)",
     "O(1)", NULL},
    {"client|session-open", client_session_command, -2, CMD_WRITE | CMD_NOSCRIPT,
     ACL_WRITE | CONN_SLOW, 0, 0, 0, "connection", "7.0.0",
     "Open a client session for exactly-once writes in a Raft group", "O(1)", NULL},
    {0},
};

const cmd_def server_commands[] = {
    {"info", info_command, -1, CMD_INTROSPECT, ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "Get information and statistics about the server", "O(1)", NULL},
    {"command", command_command, -1, CMD_INTROSPECT, CONN_SLOW, 0, 0, 0, "server", "2.8.13",
     "Get array of Redis command details", "O(N) where N is the total number of Redis commands",
     command_subcommands},
    {"client", NULL, -2, 0, ACL_SLOW, 0, 0, 0, "connection", "2.4.0",
     "A container for client connection commands", "Depends on subcommand.", client_subcommands},
    {"debug", debug_command, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_PROTECTED,
     ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "A container for debugging commands", "Depends on subcommand.", NULL},
    {"shutdown", shutdown_command, -1,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY,
     ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, 0, 0, 0, "server", "1.0.0",
     "Synchronously save the dataset to disk and then shut down the server",
     "O(N) when saving, where N is the total number of keys in all databases when saving data, "
     "otherwise O(1)",
     NULL},
    {"lolwut", lolwut_command, -1, CMD_READONLY | CMD_FAST, ACL_READ | ACL_FAST, 0, 0, 0, "server",
     "5.0.0", "Display some computer art and the Redis version", NULL, NULL},
    {"time", time_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST, ACL_FAST, 0, 0, 0, "server",
     "2.6.0", "Return the current server time", "O(1)", NULL},
    {0},
};
