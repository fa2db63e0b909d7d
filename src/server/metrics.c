/* metrics.c -- a Prometheus endpoint: GET /metrics over HTTP/1.1 on the
 * server's own libuv loop (`metrics-port`, 0 = off; `metrics-bind`).
 *
 * The metrics carry the names and labels of the standard redis_exporter
 * (oliver006/redis_exporter), so the dashboards and alerts people already
 * have for Redis work unchanged.  Like the exporter they are derived from
 * INFO: the INFO handler is run directly (not as a command: a scrape does
 * not count in the command statistics) and each field the exporter maps is
 * turned into its metric.  INFO's size is bounded by the command table,
 * the error codes counted and the number of databases, never by the keys,
 * so a scrape costs the same whatever the dataset.
 *
 * The HTTP side is deliberately small: one request per connection (the
 * response says Connection: close), a request head of at most
 * METRICS_REQUEST_MAX bytes, at most METRICS_CONNS_MAX connections at a
 * time, each closed if it has not sent its request within
 * METRICS_IDLE_MS.  A malformed request gets 400, a path other than
 * /metrics 404, a method other than GET or HEAD 405, and the connection is
 * closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../ds/alloc.h"
#include "../engine/cmd.h"
#include "server.h"

#define METRICS_REQUEST_MAX 8192
#define METRICS_CONNS_MAX   16
#define METRICS_IDLE_MS     10000

typedef struct metrics_conn {
    uv_tcp_t tcp;
    struct metrics *m;
    struct metrics_conn *prev, *next;
    int64_t accepted_ms;
    size_t used;
    char req[METRICS_REQUEST_MAX];
    uv_write_t wreq;
    uv_shutdown_t sreq;
    size_t drained; /* bytes dropped after the response */
    dstr head, body;
} metrics_conn;

struct metrics {
    cairn_server *srv;
    uv_tcp_t *listener; /* NULL when off; freed by its close callback */
    metrics_conn *conns;
    int nconns;
    cairn_session sess; /* runs INFO for the scrapes */
    long long scrapes;
};

/* ------------------------------------------------------------------------
 * INFO, parsed
 * --------------------------------------------------------------------- */

typedef struct field {
    const char *key, *val;
} field;

typedef struct info {
    dstr text; /* split in place: every field points into it */
    field *f;
    size_t n, cap;
} info;

/* INFO everything, as the INFO command would reply to a RESP2 client. */
static dstr run_info(struct metrics *m)
{
    cairn_engine *e = m->srv->engine;
    const cmd_def *cmd = cmd_lookup(e, "info", 4);
    if (!cmd) return NULL;
    cslice argv[2] = {{"info", 4}, {"everything", 10}};
    rbuf out;
    rbuf_init(&out, 2);
    cmd_call c;
    engine_call_init(&c, e, &m->sess, cmd, 2, argv, net_command_time_us(&m->srv->net), &out);
    cmd->proc(&c);
    size_t len;
    char *flat = rbuf_flatten(&out, &len);
    rbuf_free(&out);
    /* A bulk string: "$<n>\r\n<text>\r\n". */
    dstr text = NULL;
    char *nl = flat && len > 1 && flat[0] == '$' ? memchr(flat, '\n', len) : NULL;
    if (nl) {
        long long n = strtoll(flat + 1, NULL, 10);
        size_t start = (size_t)(nl + 1 - flat);
        if (n >= 0 && start + (size_t)n <= len) text = dstr_new(flat + start, (size_t)n);
    }
    cm_free(flat);
    return text;
}

static void info_add(info *in, const char *key, const char *val)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 256;
        in->f = cm_realloc(in->f, in->cap * sizeof(*in->f));
    }
    in->f[in->n++] = (field){key, val};
}

/* Split the "key:value" lines in place ("# Section" headers have no
 * colon: the keys are unique across sections). */
static void info_parse(info *in)
{
    char *p = in->text, *end = in->text + dstr_len(in->text);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (stop > p && stop[-1] == '\r') stop[-1] = '\0';
        *stop = '\0';
        char *colon = p[0] != '#' ? strchr(p, ':') : NULL;
        if (colon) {
            *colon = '\0';
            info_add(in, p, colon + 1);
        }
        p = stop + 1;
    }
}

static const char *info_get(const info *in, const char *key)
{
    for (size_t i = 0; i < in->n; i++)
        if (!strcmp(in->f[i].key, key)) return in->f[i].val;
    return NULL;
}

/* The value of "name=value" in a comma-separated list, as a number. */
static int sub_value(const char *list, const char *name, double *out)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (!strncmp(p, name, len) && p[len] == '=') {
            char *end;
            *out = strtod(p + len + 1, &end);
            return end != p + len + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The text format
 * --------------------------------------------------------------------- */

static dstr family(dstr out, const char *name, const char *type, const char *help)
{
    return dstr_catfmt(out, "# HELP redis_%s %s\n# TYPE redis_%s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static dstr cat_label(dstr out, const char *name, const char *v)
{
    out = dstr_catfmt(out, "%s=\"", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            out = dstr_catfmt(out, "\\%c", *v);
        else if (*v == '\n')
            out = dstr_cat(out, "\\n", 2);
        else
            out = dstr_cat(out, v, 1);
    }
    return dstr_cat(out, "\"", 1);
}

/* The shortest of %.15g and %.17g that reads back as v. */
static dstr cat_value(dstr out, double v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof(buf), "%.17g", v);
    return dstr_cat_cstr(out, buf);
}

static dstr sample(dstr out, const char *name, const char *lname, const char *lval, double v)
{
    out = dstr_catfmt(out, "redis_%s", name);
    if (lname) {
        out = cat_label(dstr_cat(out, "{", 1), lname, lval);
        out = dstr_cat(out, "}", 1);
    }
    return dstr_cat(cat_value(dstr_cat(out, " ", 1), v), "\n", 1);
}

/* A field's value as a number: statuses ok/err are 1/0, as the exporter
 * reads them. */
static int number(const char *s, double *out)
{
    if (!strcmp(s, "ok") || !strcmp(s, "up")) return *out = 1, 1;
    if (!strcmp(s, "err") || !strcmp(s, "down")) return *out = 0, 1;
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == '\0';
}

/* INFO fields the exporter maps one to one, and their metric names. */
static const struct {
    const char *key, *metric;
    int counter;
} simple_map[] = {
    {"uptime_in_seconds", "uptime_in_seconds", 0},
    {"process_id", "process_id", 0},
    {"connected_clients", "connected_clients", 0},
    {"blocked_clients", "blocked_clients", 0},
    {"tracking_clients", "tracking_clients", 0},
    {"client_recent_max_output_buffer", "client_recent_max_output_buffer_bytes", 0},
    {"client_recent_max_input_buffer", "client_recent_max_input_buffer_bytes", 0},
    {"used_memory", "memory_used_bytes", 0},
    {"used_memory_rss", "memory_used_rss_bytes", 0},
    {"used_memory_peak", "memory_used_peak_bytes", 0},
    {"used_memory_lua", "memory_used_lua_bytes", 0},
    {"used_memory_overhead", "memory_used_overhead_bytes", 0},
    {"used_memory_startup", "memory_used_startup_bytes", 0},
    {"used_memory_dataset", "memory_used_dataset_bytes", 0},
    {"used_memory_scripts", "memory_used_scripts_bytes", 0},
    {"maxmemory", "memory_max_bytes", 0},
    {"mem_fragmentation_ratio", "mem_fragmentation_ratio", 0},
    {"mem_fragmentation_bytes", "mem_fragmentation_bytes", 0},
    {"mem_clients_slaves", "mem_clients_slaves", 0},
    {"mem_clients_normal", "mem_clients_normal", 0},
    {"expired_stale_perc", "expired_stale_percentage", 0},
    {"mem_not_counted_for_evict", "mem_not_counted_for_eviction_bytes", 0},
    {"lazyfree_pending_objects", "lazyfree_pending_objects", 0},
    {"active_defrag_running", "active_defrag_running", 0},
    {"expired_time_cap_reached_count", "expired_time_cap_reached_total", 0},
    {"loading", "loading_dump_file", 0},
    {"rdb_changes_since_last_save", "rdb_changes_since_last_save", 0},
    {"rdb_bgsave_in_progress", "rdb_bgsave_in_progress", 0},
    {"rdb_last_save_time", "rdb_last_save_timestamp_seconds", 0},
    {"rdb_last_bgsave_status", "rdb_last_bgsave_status", 0},
    {"rdb_last_bgsave_time_sec", "rdb_last_bgsave_duration_sec", 0},
    {"rdb_current_bgsave_time_sec", "rdb_current_bgsave_duration_sec", 0},
    {"rdb_last_cow_size", "rdb_last_cow_size_bytes", 0},
    {"aof_enabled", "aof_enabled", 0},
    {"aof_rewrite_in_progress", "aof_rewrite_in_progress", 0},
    {"aof_rewrite_scheduled", "aof_rewrite_scheduled", 0},
    {"aof_last_rewrite_time_sec", "aof_last_rewrite_duration_sec", 0},
    {"aof_current_rewrite_time_sec", "aof_current_rewrite_duration_sec", 0},
    {"aof_last_cow_size", "aof_last_cow_size_bytes", 0},
    {"aof_current_size", "aof_current_size_bytes", 0},
    {"aof_base_size", "aof_base_size_bytes", 0},
    {"aof_pending_rewrite", "aof_pending_rewrite", 0},
    {"aof_buffer_length", "aof_buffer_length", 0},
    {"aof_rewrite_buffer_length", "aof_rewrite_buffer_length", 0},
    {"aof_pending_bio_fsync", "aof_pending_bio_fsync", 0},
    {"aof_delayed_fsync", "aof_delayed_fsync", 0},
    {"aof_last_bgrewrite_status", "aof_last_bgrewrite_status", 0},
    {"aof_last_write_status", "aof_last_write_status", 0},
    {"pubsub_channels", "pubsub_channels", 0},
    {"pubsub_patterns", "pubsub_patterns", 0},
    {"latest_fork_usec", "latest_fork_usec", 0},
    {"connected_slaves", "connected_slaves", 0},
    {"repl_backlog_size", "replication_backlog_bytes", 0},
    {"repl_backlog_active", "repl_backlog_is_active", 0},
    {"repl_backlog_first_byte_offset", "repl_backlog_first_byte_offset", 0},
    {"repl_backlog_histlen", "repl_backlog_history_bytes", 0},
    {"master_repl_offset", "master_repl_offset", 0},
    {"second_repl_offset", "second_repl_offset", 0},
    {"slave_expires_tracked_keys", "slave_expires_tracked_keys", 0},
    {"slave_priority", "slave_priority", 0},
    {"sync_full", "replica_resyncs_full", 0},
    {"sync_partial_ok", "replica_partial_resync_accepted", 0},
    {"sync_partial_err", "replica_partial_resync_denied", 0},
    {"hz", "hz", 0},
    {"configured_hz", "configured_hz", 0},
    {"maxclients", "config_maxclients", 0},
    {"total_connections_received", "connections_received_total", 1},
    {"total_commands_processed", "commands_processed_total", 1},
    {"rejected_connections", "rejected_connections_total", 1},
    {"total_net_input_bytes", "net_input_bytes_total", 1},
    {"total_net_output_bytes", "net_output_bytes_total", 1},
    {"expired_keys", "expired_keys_total", 1},
    {"evicted_keys", "evicted_keys_total", 1},
    {"evicted_clients", "evicted_clients_total", 1},
    {"keyspace_hits", "keyspace_hits_total", 1},
    {"keyspace_misses", "keyspace_misses_total", 1},
    {"used_cpu_sys", "cpu_sys_seconds_total", 1},
    {"used_cpu_user", "cpu_user_seconds_total", 1},
    {"used_cpu_sys_children", "cpu_sys_children_seconds_total", 1},
    {"used_cpu_user_children", "cpu_user_children_seconds_total", 1},
};

static dstr emit_simple(dstr out, const info *in)
{
    for (size_t i = 0; i < sizeof(simple_map) / sizeof(simple_map[0]); i++) {
        const char *v = info_get(in, simple_map[i].key);
        double x;
        if (!v || !number(v, &x)) continue;
        char help[96];
        snprintf(help, sizeof(help), "%s metric", simple_map[i].metric);
        out = family(out, simple_map[i].metric, simple_map[i].counter ? "counter" : "gauge", help);
        out = sample(out, simple_map[i].metric, NULL, NULL, x);
    }
    /* The exporter also reports maxmemory as a config value. */
    const char *maxmem = info_get(in, "maxmemory");
    double x;
    if (maxmem && number(maxmem, &x)) {
        out = family(out, "config_maxmemory", "gauge", "config_maxmemory metric");
        out = sample(out, "config_maxmemory", NULL, NULL, x);
    }
    return out;
}

static dstr emit_instance(dstr out, const info *in)
{
    static const char *const labels[] = {
        "role",     "redis_version", "redis_build_id", "redis_mode",   "os", "maxmemory_policy",
        "tcp_port", "run_id",        "process_id",     "master_replid"};
    out = family(out, "up", "gauge", "Information about the Redis instance");
    out = sample(out, "up", NULL, NULL, 1);
    out = family(out, "instance_info", "gauge", "Information about the Redis instance");
    out = dstr_cat_cstr(out, "redis_instance_info{");
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        const char *v = info_get(in, labels[i]);
        if (i) out = dstr_cat(out, ",", 1);
        out = cat_label(out, labels[i], v ? v : "");
    }
    out = dstr_cat_cstr(out, "} 1\n");
    const char *up = info_get(in, "uptime_in_seconds");
    double secs;
    if (up && number(up, &secs)) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        out = family(out, "start_time_seconds", "gauge",
                     "Start time of the Redis instance since unix epoch in seconds.");
        out = sample(out, "start_time_seconds", NULL, NULL, (double)tv.tv_sec - secs);
    }
    return out;
}

/* One labelled family over the fields whose key starts with
 * prefix: the label is the rest of the key, the value the sub-field `sub`
 * of the value, times scale. */
static dstr emit_labelled(dstr out, const info *in, const char *prefix, const char *sub,
                          double scale, const char *metric, const char *type, const char *label,
                          const char *help)
{
    size_t plen = strlen(prefix);
    int any = 0;
    for (size_t i = 0; i < in->n; i++) {
        double v;
        if (strncmp(in->f[i].key, prefix, plen) || !sub_value(in->f[i].val, sub, &v)) continue;
        if (!any++) out = family(out, metric, type, help);
        out = sample(out, metric, label, in->f[i].key + plen, v * scale);
    }
    return out;
}

/* Every database, as the exporter reports them (empty ones as 0). */
static dstr emit_keyspace(dstr out, const info *in, int databases)
{
    static const struct {
        const char *sub, *metric, *help;
        double scale;
    } kinds[] = {
        {"keys", "db_keys", "Total number of keys by DB", 1},
        {"expires", "db_keys_expiring", "Total number of expiring keys by DB", 1},
        {"avg_ttl", "db_avg_ttl_seconds", "Avg TTL in seconds", 0.001},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        out = family(out, kinds[k].metric, "gauge", kinds[k].help);
        for (int db = 0; db < databases; db++) {
            char name[16];
            snprintf(name, sizeof(name), "db%d", db);
            const char *v = info_get(in, name);
            double x = 0;
            if (v && !sub_value(v, kinds[k].sub, &x)) x = 0;
            out = sample(out, kinds[k].metric, "db", name, x * kinds[k].scale);
        }
    }
    return out;
}

/* latencystats as the exporter's summary: quantiles from the percentiles
 * INFO shows, count and sum from commandstats. */
static dstr emit_latency(dstr out, const info *in)
{
    static const char prefix[] = "latency_percentiles_usec_";
    int any = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (strncmp(in->f[i].key, prefix, sizeof(prefix) - 1)) continue;
        const char *cmd = in->f[i].key + sizeof(prefix) - 1;
        char key[160];
        snprintf(key, sizeof(key), "cmdstat_%s", cmd);
        const char *st = info_get(in, key);
        double calls, usec;
        if (!st || !sub_value(st, "calls", &calls) || !sub_value(st, "usec", &usec)) continue;
        if (!any++)
            out = family(out, "latency_percentiles_usec", "summary",
                         "A summary of latency percentile distribution per command");
        for (const char *p = in->f[i].val; p && *p;
             p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
            char *eq = strchr(p, '=');
            if (p[0] != 'p' || !eq) continue;
            double pct = strtod(p + 1, NULL), v = strtod(eq + 1, NULL);
            out = dstr_catfmt(out, "redis_latency_percentiles_usec{");
            out = cat_label(out, "cmd", cmd);
            out = dstr_cat_cstr(out, ",quantile=\"");
            out = dstr_cat_cstr(cat_value(out, pct / 100), "\"} ");
            out = dstr_cat(cat_value(out, v), "\n", 1);
        }
        out = dstr_cat_cstr(out, "redis_latency_percentiles_usec_sum{");
        out = dstr_cat(cat_value(dstr_cat_cstr(cat_label(out, "cmd", cmd), "} "), usec), "\n", 1);
        out = dstr_cat_cstr(out, "redis_latency_percentiles_usec_count{");
        out = dstr_cat(cat_value(dstr_cat_cstr(cat_label(out, "cmd", cmd), "} "), calls), "\n", 1);
    }
    return out;
}

/* The log's fsync durations as a Prometheus histogram.  A bucket of the
 * log-linear histogram counts under the first bound at or above its
 * highest value, so counts are placed within 1/HIST_SUB of their value. */
static dstr emit_fsync(dstr out, struct metrics *m)
{
    static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1};
    hist *h = cm_malloc(sizeof(*h));
    uint64_t sum_ns;
    if (persist_fsync_stats(m->srv->persist, h, &sum_ns) != 0) {
        cm_free(h);
        return out;
    }
    out = dstr_cat_cstr(out, "# HELP cairn_aof_fsync_duration_seconds How long fsync of the "
                             "append-only log took.\n"
                             "# TYPE cairn_aof_fsync_duration_seconds histogram\n");
    unsigned b = 0;
    uint64_t below = 0;
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        for (; b < HIST_BUCKETS && (double)hist_bucket_high(b) <= bounds[i] * 1e9; b++)
            below += h->counts[b];
        out = dstr_cat_cstr(out, "cairn_aof_fsync_duration_seconds_bucket{le=\"");
        out = dstr_catfmt(cat_value(out, bounds[i]), "\"} %llu\n", (unsigned long long)below);
    }
    out = dstr_catfmt(out, "cairn_aof_fsync_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                      (unsigned long long)h->total);
    out = dstr_cat_cstr(out, "cairn_aof_fsync_duration_seconds_sum ");
    out = dstr_cat(cat_value(out, (double)sum_ns / 1e9), "\n", 1);
    out = dstr_catfmt(out, "cairn_aof_fsync_duration_seconds_count %llu\n",
                      (unsigned long long)h->total);
    cm_free(h);
    return out;
}

/* Cairn's own, beyond the exporter's names. */
static dstr emit_cairn(dstr out, struct metrics *m, const info *in)
{
    const engine_stats *st = &m->srv->engine->stats;
    const char *v = info_get(in, "cairn_version");
    out = dstr_cat_cstr(out, "# HELP cairn_build_info The Cairn version serving.\n"
                             "# TYPE cairn_build_info gauge\ncairn_build_info{");
    out = dstr_cat_cstr(cat_label(out, "version", v ? v : ""), "} 1\n");
    out =
        dstr_catfmt(out,
                    "# HELP cairn_limiter_decisions_total Rate limiter calls (CL.THROTTLE, "
                    "CL.WINDOW, CL.LEAKY, ...) by their answer.\n"
                    "# TYPE cairn_limiter_decisions_total counter\n"
                    "cairn_limiter_decisions_total{decision=\"allowed\"} %lld\n"
                    "cairn_limiter_decisions_total{decision=\"limited\"} %lld\n"
                    "# HELP cairn_lock_acquisitions_total LOCK.ACQUIRE calls by their "
                    "outcome.\n"
                    "# TYPE cairn_lock_acquisitions_total counter\n"
                    "cairn_lock_acquisitions_total{result=\"acquired\"} %lld\n"
                    "cairn_lock_acquisitions_total{result=\"refused\"} %lld\n",
                    st->limiter_allowed, st->limiter_limited, st->lock_acquired, st->lock_refused);
    out = emit_fsync(out, m);
    return dstr_catfmt(out,
                       "# HELP cairn_metrics_scrapes_total Requests of /metrics served.\n"
                       "# TYPE cairn_metrics_scrapes_total counter\n"
                       "cairn_metrics_scrapes_total %lld\n",
                       m->scrapes);
}

static dstr render(struct metrics *m)
{
    info in = {.text = run_info(m)};
    if (!in.text) return NULL;
    info_parse(&in);
    dstr out = dstr_with_cap(16384);
    out = emit_instance(out, &in);
    out = emit_simple(out, &in);
    out = emit_keyspace(out, &in, m->srv->engine->ndbs);
    out = emit_labelled(out, &in, "cmdstat_", "calls", 1, "commands_total", "counter", "cmd",
                        "Total number of calls per command");
    out = emit_labelled(out, &in, "cmdstat_", "usec", 1e-6, "commands_duration_seconds_total",
                        "counter", "cmd", "Total amount of time in seconds spent per command");
    out = emit_labelled(out, &in, "cmdstat_", "rejected_calls", 1, "commands_rejected_calls_total",
                        "counter", "cmd",
                        "Total number of errors prior command execution per command");
    out = emit_labelled(out, &in, "cmdstat_", "failed_calls", 1, "commands_failed_calls_total",
                        "counter", "cmd",
                        "Total number of errors within command execution per command");
    out = emit_labelled(out, &in, "errorstat_", "count", 1, "errors_total", "counter", "err",
                        "Total number of errors per error type");
    out = emit_latency(out, &in);
    out = emit_cairn(out, m, &in);
    cm_free(in.f);
    dstr_free(in.text);
    return out;
}

/* ------------------------------------------------------------------------
 * HTTP
 * --------------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    metrics_conn *c = h->data;
    struct metrics *m = c->m;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    m->nconns--;
    dstr_free(c->head);
    dstr_free(c->body);
    cm_free(c);
}

static void conn_close(metrics_conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* After the response: read and drop what the client still sends (at most
 * a request's worth) until it closes, so that closing never resets the
 * connection under a response it has not read yet. */
static void on_drain_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    metrics_conn *c = h->data;
    *buf = uv_buf_init(c->req, sizeof(c->req));
}

static void on_drain(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    metrics_conn *c = s->data;
    if (nread < 0 || (c->drained += (size_t)nread) > 8 * sizeof(c->req)) conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    metrics_conn *c = req->data;
    if (status != 0 || uv_read_start((uv_stream_t *)&c->tcp, on_drain_alloc, on_drain) != 0)
        conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    metrics_conn *c = w->data;
    c->sreq.data = c;
    if (status != 0 || uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static void respond(metrics_conn *c, int code, const char *reason, const char *extra, dstr body,
                    int head_only)
{
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->body = body ? body : dstr_catfmt(dstr_new("", 0), "%d %s\n", code, reason);
    c->head =
        dstr_catfmt(dstr_new("", 0),
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: %s\r\n"
                    "Content-Length: %zu\r\n"
                    "%s"
                    "Connection: close\r\n\r\n",
                    code, reason,
                    body ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
                    dstr_len(c->body), extra ? extra : "");
    uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)dstr_len(c->head)),
                        uv_buf_init(c->body, (unsigned)dstr_len(c->body))};
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, head_only ? 1 : 2, on_written) != 0)
        conn_close(c);
}

static int is_token_char(char ch) { return ch > ' ' && ch < 127; }

/* Answer the request in c->req, whose head ends at `end`. */
static void handle_request(metrics_conn *c, const char *end)
{
    /* "METHOD SP target SP HTTP/1.x" */
    const char *line_end = memchr(c->req, '\r', (size_t)(end - c->req));
    const char *sp1 = memchr(c->req, ' ', (size_t)(line_end - c->req));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == c->req || sp2 == sp1 + 1 || sp1[1] != '/' ||
        line_end - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) ||
        (sp2[8] != '0' && sp2[8] != '1')) {
        respond(c, 400, "Bad Request", NULL, NULL, 0);
        return;
    }
    for (const char *p = c->req; p < sp1; p++)
        if (!is_token_char(*p)) {
            respond(c, 400, "Bad Request", NULL, NULL, 0);
            return;
        }
    size_t mlen = (size_t)(sp1 - c->req);
    int head = mlen == 4 && !memcmp(c->req, "HEAD", 4);
    if (!head && !(mlen == 3 && !memcmp(c->req, "GET", 3))) {
        respond(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", NULL, 0);
        return;
    }
    const char *path = sp1 + 1, *q = memchr(path, '?', (size_t)(sp2 - path));
    size_t plen = (size_t)((q ? q : sp2) - path);
    if (plen != 8 || memcmp(path, "/metrics", 8)) {
        respond(c, 404, "Not Found", NULL, NULL, 0);
        return;
    }
    c->m->scrapes++;
    dstr body = render(c->m);
    if (!body) {
        respond(c, 500, "Internal Server Error", NULL, NULL, 0);
        return;
    }
    respond(c, 200, "OK", NULL, body, head);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    metrics_conn *c = h->data;
    *buf = uv_buf_init(c->req + c->used, (unsigned)(sizeof(c->req) - c->used));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    metrics_conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    size_t from = c->used > 3 ? c->used - 3 : 0;
    c->used += (size_t)nread;
    for (size_t i = from; i + 4 <= c->used; i++) {
        if (!memcmp(c->req + i, "\r\n\r\n", 4)) {
            handle_request(c, c->req + i + 2);
            return;
        }
    }
    if (c->used == sizeof(c->req)) respond(c, 400, "Bad Request", NULL, NULL, 0);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct metrics *m = server->data;
    if (status < 0) return;
    metrics_conn *c = cm_calloc(1, sizeof(*c));
    c->m = m;
    if (uv_tcp_init(server->loop, &c->tcp) != 0) {
        cm_free(c);
        return;
    }
    c->tcp.data = c;
    c->next = m->conns;
    if (m->conns) m->conns->prev = c;
    m->conns = c;
    m->nconns++;
    c->accepted_ms = clock_mono_ms();
    /* Past the limit the connection is taken off the backlog and closed. */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || m->nconns > METRICS_CONNS_MAX ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* ------------------------------------------------------------------------
 * Life cycle
 * --------------------------------------------------------------------- */

static void on_listener_closed(uv_handle_t *h) { cm_free(h); }

static void stop_listening(struct metrics *m)
{
    if (!m->listener) return;
    uv_close((uv_handle_t *)m->listener, on_listener_closed);
    m->listener = NULL;
}

int metrics_init(cairn_server *srv)
{
    struct metrics *m = cm_calloc(1, sizeof(*m));
    m->srv = srv;
    session_init(srv->engine, &m->sess);
    srv->metrics = m;
    return 0;
}

const char *metrics_listen(cairn_server *srv)
{
    struct metrics *m = srv->metrics;
    stop_listening(m);
    int port = srv->cfg.metrics_port;
    if (port == 0) return NULL;
    const char *bind = srv->cfg.metrics_bind;
    struct sockaddr_storage addr;
    int rc = strchr(bind, ':') ? uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(bind, port, (struct sockaddr_in *)&addr);
    uv_tcp_t *l = cm_calloc(1, sizeof(*l));
    if (rc == 0) rc = uv_tcp_init(&srv->loop, l);
    if (rc != 0) {
        cm_free(l);
        server_log(srv, LL_WARNING, "Metrics endpoint: bad address %s:%d: %s", bind, port,
                   uv_strerror(rc));
        return "Unable to listen on this port. Check server logs.";
    }
    l->data = m;
    rc = uv_tcp_bind(l, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)l, 16, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)l, on_listener_closed);
        server_log(srv, LL_WARNING, "Metrics endpoint: can't listen on %s:%d: %s", bind, port,
                   uv_strerror(rc));
        return "Unable to listen on this port. Check server logs.";
    }
    m->listener = l;
    server_log(srv, LL_NOTICE, "Metrics endpoint on http://%s:%d/metrics", bind, port);
    return NULL;
}

void metrics_cron(cairn_server *srv, int64_t now_ms)
{
    struct metrics *m = srv->metrics;
    for (metrics_conn *c = m ? m->conns : NULL; c; c = c->next)
        if (now_ms - c->accepted_ms > METRICS_IDLE_MS) conn_close(c);
}

void metrics_shutdown(cairn_server *srv)
{
    struct metrics *m = srv->metrics;
    if (!m) return;
    stop_listening(m);
    for (metrics_conn *c = m->conns; c; c = c->next)
        conn_close(c);
}

void metrics_free(cairn_server *srv)
{
    struct metrics *m = srv->metrics;
    if (!m) return;
    session_reset(&m->sess);
    cm_free(m);
    srv->metrics = NULL;
}
