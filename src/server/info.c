/* info.c -- the parts of INFO only the server process knows: the process
 * itself, its connections, resident memory and CPU time.  The engine
 * builds INFO (t_server.c) and calls server_info() for these pieces; each
 * appends "field:value\r\n" lines to the section the engine has opened,
 * after the engine's own lines of that section. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "../engine/tracking.h"
#include "../script/script.h"
#include "cairn.h"
#include "server.h"

/* A run id identifies this run of the process (clients and sentinels use
 * it to notice a restart): 40 random hex digits, drawn once. */
static const char *run_id(cairn_server *srv)
{
    if (srv->run_id[0]) return srv->run_id;
    unsigned char raw[20];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        /* Unlikely; a run id only has to differ between runs. */
        unsigned long long mix = (unsigned long long)getpid() * 0x9E3779B97F4A7C15ull ^
                                 (unsigned long long)clock_real_us();
        for (size_t i = 0; i < sizeof(raw); i++) {
            mix = mix * 6364136223846793005ull + 1442695040888963407ull;
            raw[i] = (unsigned char)(mix >> 56);
        }
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        srv->run_id[2 * i] = hex[raw[i] >> 4];
        srv->run_id[2 * i + 1] = hex[raw[i] & 15];
    }
    srv->run_id[40] = '\0';
    return srv->run_id;
}

/* The compiler that built us, as Redis reports gcc_version. */
static void compiler_version(char *buf, size_t size)
{
#ifdef __GNUC__
    snprintf(buf, size, "%d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    snprintf(buf, size, "0.0.0");
#endif
}

/* The lines of the server section that only the process knows; the engine
 * writes the rest (versions, mode, uptime, hz). */
static void info_server(cairn_server *srv, dstr *out)
{
    struct utsname name;
    if (uname(&name) != 0) memset(&name, 0, sizeof(name));
    char cc[32];
    compiler_version(cc, sizeof(cc));
    /* libuv polls with epoll on Linux, kqueue on the BSDs. */
#ifdef __linux__
    const char *mplex = "epoll";
#else
    const char *mplex = "kqueue";
#endif
    *out = dstr_catfmt(*out,
                       "os:%s %s %s\r\n"
                       "monotonic_clock:POSIX clock_gettime\r\n"
                       "multiplexing_api:%s\r\n"
                       "atomicvar_api:c11-builtin\r\n"
                       "gcc_version:%s\r\n"
                       "process_id:%ld\r\n"
                       "process_supervised:%s\r\n"
                       "run_id:%s\r\n"
                       "tcp_port:%d\r\n"
                       "server_time_usec:%lld\r\n"
                       "executable:%s\r\n"
                       "config_file:%s\r\n"
                       "io_threads_active:0\r\n",
                       name.sysname, name.release, name.machine, mplex, cc, (long)getpid(),
                       srv->supervisor == SUPERVISED_SYSTEMD   ? "systemd"
                       : srv->supervisor == SUPERVISED_UPSTART ? "upstart"
                                                               : "no",
                       run_id(srv), srv->cfg.port, (long long)clock_real_us(),
                       srv->executable ? srv->executable : "",
                       srv->config_file ? srv->config_file : "");
}

/* Resident set size from /proc (0 where there is none). */
static size_t rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(fp, "%lu %lu", &size, &resident);
    fclose(fp);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

/* The lines that follow used_memory_human: resident memory, the peak and
 * the machine's memory. */
static void info_memory(cairn_server *srv, dstr *out)
{
    size_t used = cm_used_memory();
    if ((int64_t)used > srv->stat_peak_memory) srv->stat_peak_memory = (int64_t)used;
    size_t peak = (size_t)srv->stat_peak_memory;
    size_t rss = rss_bytes();
    cm_allocator_figures al;
    cm_allocator_stats(&al);
    size_t clients = 0;
    for (client *c = srv->net.clients; c; c = c->next)
        clients += client_mem_usage(c);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    unsigned long long total = pages > 0 && page > 0 ? (unsigned long long)pages * page : 0;
    char rss_h[32], peak_h[32], total_h[32];
    bytes_to_human(rss_h, sizeof(rss_h), rss);
    bytes_to_human(peak_h, sizeof(peak_h), peak);
    bytes_to_human(total_h, sizeof(total_h), total);
    *out = dstr_catfmt(*out,
                       "used_memory_rss:%zu\r\n"
                       "used_memory_rss_human:%s\r\n"
                       "used_memory_peak:%zu\r\n"
                       "used_memory_peak_human:%s\r\n"
                       "used_memory_peak_perc:%.2f%%\r\n"
                       "allocator_allocated:%zu\r\n"
                       "allocator_active:%zu\r\n"
                       "allocator_resident:%zu\r\n"
                       "total_system_memory:%llu\r\n"
                       "total_system_memory_human:%s\r\n",
                       rss, rss_h, peak, peak_h, peak ? 100.0 * (double)used / (double)peak : 0,
                       al.allocated, al.active, al.resident, total, total_h);
    *out =
        dstr_catfmt(*out,
                    "allocator_frag_ratio:%.2f\r\n"
                    "allocator_frag_bytes:%lld\r\n"
                    "allocator_rss_ratio:%.2f\r\n"
                    "allocator_rss_bytes:%lld\r\n"
                    "rss_overhead_ratio:%.2f\r\n"
                    "rss_overhead_bytes:%lld\r\n"
                    "mem_fragmentation_ratio:%.2f\r\n"
                    "mem_fragmentation_bytes:%lld\r\n"
                    "mem_not_counted_for_evict:0\r\n"
                    "mem_replication_backlog:0\r\n"
                    "mem_clients_slaves:0\r\n"
                    "mem_clients_normal:%zu\r\n"
                    "mem_aof_buffer:%zu\r\n",
                    ratio(al.active, al.allocated), (long long)al.active - (long long)al.allocated,
                    ratio(al.resident, al.active), (long long)al.resident - (long long)al.active,
                    ratio(rss, al.resident), (long long)rss - (long long)al.resident,
                    ratio(rss, used), (long long)rss - (long long)used, clients,
                    srv->persist ? persist_aof_buffer_mem(srv->persist) : 0);
    /* The Lua interpreter exists once a script command ran. */
    const script_engine *se = srv->engine->script;
    size_t lua = se ? se->lua_mem : 0;
    char lua_human[32];
    bytes_to_human(lua_human, sizeof(lua_human), lua);
    *out = dstr_catfmt(*out,
                       "used_memory_lua:%zu\r\n"
                       "used_memory_lua_human:%s\r\n"
                       "number_of_cached_scripts:%ld\r\n",
                       lua, lua_human, se ? se->nscripts : 0L);
}

static void track(inst_metric *m, long long value, int64_t now_ms)
{
    int64_t elapsed = now_ms - m->last_ms;
    if (m->last_ms && elapsed > 0) {
        m->samples[m->idx] = (value - m->last_value) * 1000 / elapsed;
        m->idx = (m->idx + 1) % INST_SAMPLES;
    }
    m->last_value = value;
    m->last_ms = now_ms;
}

void server_track_metrics(cairn_server *srv, int64_t now_ms)
{
    /* Sample about every 100 ms whatever hz is, as Redis does. */
    if (now_ms - srv->inst[INST_OPS].last_ms < 100) return;
    track(&srv->inst[INST_OPS], srv->engine->stats.commands_processed, now_ms);
    track(&srv->inst[INST_NET_IN], srv->net.stats.net_input_bytes, now_ms);
    track(&srv->inst[INST_NET_OUT], srv->net.stats.net_output_bytes, now_ms);
}

static long long inst_rate(const inst_metric *m)
{
    long long sum = 0;
    for (int i = 0; i < INST_SAMPLES; i++)
        sum += m->samples[i];
    return sum / INST_SAMPLES;
}

static void info_stats(cairn_server *srv, dstr *out)
{
    const net_stats *st = &srv->net.stats;
    *out =
        dstr_catfmt(*out,
                    "total_connections_received:%lld\r\n"
                    "instantaneous_ops_per_sec:%lld\r\n"
                    "total_net_input_bytes:%lld\r\n"
                    "total_net_output_bytes:%lld\r\n"
                    "instantaneous_input_kbps:%.2f\r\n"
                    "instantaneous_output_kbps:%.2f\r\n"
                    "rejected_connections:%lld\r\n",
                    st->total_connections, inst_rate(&srv->inst[INST_OPS]), st->net_input_bytes,
                    st->net_output_bytes, (double)inst_rate(&srv->inst[INST_NET_IN]) / 1024,
                    (double)inst_rate(&srv->inst[INST_NET_OUT]) / 1024, st->rejected_connections);
}

static double tv_secs(struct timeval tv) { return (double)tv.tv_sec + tv.tv_usec / 1e6; }

static void info_cpu(dstr *out)
{
    struct rusage self, children;
    memset(&self, 0, sizeof(self));
    memset(&children, 0, sizeof(children));
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    *out = dstr_catfmt(*out,
                       "used_cpu_sys:%.6f\r\n"
                       "used_cpu_user:%.6f\r\n"
                       "used_cpu_sys_children:%.6f\r\n"
                       "used_cpu_user_children:%.6f\r\n",
                       tv_secs(self.ru_stime), tv_secs(self.ru_utime), tv_secs(children.ru_stime),
                       tv_secs(children.ru_utime));
}

void server_info(void *priv, const char *section, dstr *out)
{
    cairn_server *srv = priv;
    if (!strcmp(section, "server"))
        info_server(srv, out);
    else if (!strcmp(section, "clients"))
        net_info_clients(&srv->net, out);
    else if (!strcmp(section, "memory"))
        info_memory(srv, out);
    else if (!strcmp(section, "stats"))
        info_stats(srv, out);
    else if (!strcmp(section, "cpu"))
        info_cpu(out);
    else if (!strcmp(section, "replication") && srv->node)
        repl_node_info(srv->node, out);
    else if (!strcmp(section, "replication"))
        replica_info(srv, out);
}
