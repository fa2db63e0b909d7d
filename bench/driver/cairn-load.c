/* cairn-load: the benchmark's own load driver (bench/run.sh), on hiredis.
 *
 *   cairn-load mix  [options]   a GET/SET mix over a skewed (zipfian) key
 *                               distribution, from many connections with
 *                               epoll; prints one JSON line: requests/s and
 *                               latency percentiles (p50, p99, p99.9, max)
 *   cairn-load fill [options]   load a data set (for the memory figures and
 *                               to pre-set keys), pipelined on one connection
 *
 * Common options:
 *   -h HOST       server address            (127.0.0.1)
 *   -p PORT       server port               (6379)
 *
 * mix options:
 *   -c CLIENTS    connections                (50)
 *   -n REQUESTS   requests in all            (1000000)
 *   -P PIPELINE   requests in flight per connection (1)
 *   -r KEYS       keyspace: key:000000000000 .. key:<KEYS-1>  (100000)
 *   -d SIZE       value size of SETs, bytes  (3)
 *   -g RATIO      share of GETs, 0..1        (0.9)
 *   -s THETA      zipf exponent, 0 = uniform (0.99)
 *   -S SEED       random seed                (1)
 *
 *   Key ranks are drawn from a zipfian distribution (Gray et al., "Quickly
 *   generating billion-record synthetic databases", as in YCSB) over KEYS
 *   keys; rank i is key:%012d of i, so with -r equal to the number of keys
 *   pre-set every GET is a hit.  Latency is measured per request, from the
 *   moment its batch (of PIPELINE requests) is written to the moment its
 *   reply is parsed, as redis-benchmark does.
 *
 * fill options:
 *   -t TYPE       string | list | hash | set | zset | smallhash
 *   -n COUNT      keys (string, smallhash) or elements (list, hash, set, zset)
 *   -d SIZE       value size, bytes          (16)
 *   -e SECONDS    string: SET ... EX SECONDS (0: no TTL)
 *   -f FIELDS     smallhash: fields per hash (10)
 *   -k KEY        the key of list/hash/set/zset, or the prefix of
 *                 string/smallhash keys      (key: / bench:<type>)
 *   -o OFFSET     first index                (0)
 *
 *   string:    SET <prefix>%012d <value> [EX e]         (16-byte keys with key:)
 *   list:      RPUSH KEY <value> ...                    (100 per command)
 *   hash:      HSET KEY field:%010d <value> ...         (100 per command)
 *   set:       SADD KEY member:%09d ...                 (100 per command)
 *   zset:      ZADD KEY <i> member:%09d ...             (100 per command)
 *   smallhash: HSET <prefix>%08d f0 <value> .. f<F-1> <value>
 *   Values are SIZE bytes of 'x' (never an integer, so no int encoding).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 6379;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "cairn-load: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* random numbers and the zipfian generator */

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    uint64_t n;
    double theta, alpha, zetan, eta, half_pow_theta;
} zipf_t;

static void zipf_init(zipf_t *z, uint64_t n, double theta)
{
    z->n = n;
    z->theta = theta;
    if (theta <= 0) return;
    double zetan = 0, zeta2 = 1.0 + pow(0.5, theta);
    for (uint64_t i = 1; i <= n; i++)
        zetan += 1.0 / pow((double)i, theta);
    z->zetan = zetan;
    z->alpha = 1.0 / (1.0 - theta);
    z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / zetan);
    z->half_pow_theta = 1.0 + pow(0.5, theta);
}

static uint64_t zipf_next(const zipf_t *z)
{
    if (z->theta <= 0) return rng_next() % z->n;
    double u = rng_unit(), uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < z->half_pow_theta) return 1;
    uint64_t r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return r < z->n ? r : z->n - 1;
}

/* ------------------------------------------------------------------------ */
/* mix */

typedef struct {
    int fd;
    redisReader *reader;
    char *out; /* pending output */
    size_t outlen, outpos;
    int inflight;     /* requests sent, replies not yet read */
    uint64_t sent_at; /* when the current batch was written */
    int connected;
    int events; /* what epoll watches for */
} conn_t;

static struct {
    int clients, pipeline;
    uint64_t requests, keys;
    size_t datasize;
    double get_ratio, theta;
    uint64_t seed;
} mo = {50, 1, 1000000, 100000, 3, 0.9, 0.99, 1};

static zipf_t zipf;
static char *setval;
static uint64_t issued, done, gets, sets, hits, misses, errors;
static uint32_t *lat_us; /* one per request */

static void append_cmd(conn_t *c)
{
    char key[32];
    int klen = snprintf(key, sizeof key, "key:%012llu", (unsigned long long)zipf_next(&zipf));
    char buf[128];
    int n;
    if (rng_unit() < mo.get_ratio) {
        n = snprintf(buf, sizeof buf, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", klen, key);
        gets++;
    } else {
        n = snprintf(buf, sizeof buf, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%zu\r\n", klen, key,
                     mo.datasize);
        sets++;
    }
    size_t need = c->outlen + (size_t)n + mo.datasize + 2;
    c->out = realloc(c->out, need);
    if (!c->out) die("%s", "out of memory");
    memcpy(c->out + c->outlen, buf, (size_t)n);
    c->outlen += (size_t)n;
    if (buf[1] == '3') {
        memcpy(c->out + c->outlen, setval, mo.datasize);
        c->outlen += mo.datasize;
        memcpy(c->out + c->outlen, "\r\n", 2);
        c->outlen += 2;
    }
}

/* Queue the next batch on c, if requests remain.  Returns 1 if queued. */
static int next_batch(conn_t *c)
{
    if (issued >= mo.requests) return 0;
    c->outlen = c->outpos = 0;
    int k = 0;
    while (k < mo.pipeline && issued < mo.requests) {
        append_cmd(c);
        issued++;
        k++;
    }
    c->inflight = k;
    c->sent_at = now_ns();
    return 1;
}

/* Write what c has pending; watch for EPOLLOUT only while some remains
 * (level-triggered EPOLLOUT on an idle socket would spin). */
static void flush_out(int ep, conn_t *c)
{
    while (c->outpos < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outpos, c->outlen - c->outpos);
        if (w < 0) {
            if (errno == EAGAIN) break;
            die("write: %s", strerror(errno));
        }
        c->outpos += (size_t)w;
    }
    int want = c->outpos < c->outlen ? EPOLLIN | EPOLLOUT : EPOLLIN;
    if (want != c->events) {
        struct epoll_event ev = {.events = (uint32_t)want, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
        c->events = want;
    }
}

static int connect_nb(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("bad address %s", host);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        die("connect: %s", strerror(errno));
    return fd;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t n, double p) /* ms */
{
    if (n == 0) return 0;
    uint64_t i = (uint64_t)ceil(p / 100.0 * (double)n);
    if (i > 0) i--;
    if (i >= n) i = n - 1;
    return lat_us[i] / 1000.0;
}

static int cmd_mix(void)
{
    setval = malloc(mo.datasize + 1);
    memset(setval, 'x', mo.datasize);
    zipf_init(&zipf, mo.keys, mo.theta);
    lat_us = malloc(sizeof *lat_us * (mo.requests ? mo.requests : 1));
    conn_t *cs = calloc((size_t)mo.clients, sizeof *cs);
    if (!lat_us || !cs || !setval) die("%s", "out of memory");
    int ep = epoll_create1(0);
    uint64_t t0 = now_ns();
    for (int i = 0; i < mo.clients; i++) {
        conn_t *c = &cs[i];
        c->fd = connect_nb();
        c->reader = redisReaderCreate();
        c->events = EPOLLIN | EPOLLOUT; /* EPOLLOUT: the connect completing */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    }
    int live = mo.clients;
    struct epoll_event evs[256];
    char rbuf[65536];
    while (done < mo.requests && live > 0) {
        int ne = epoll_wait(ep, evs, 256, 10000);
        if (ne < 0 && errno == EINTR) continue;
        if (ne <= 0) die("%s", ne == 0 ? "no progress for 10 s" : strerror(errno));
        for (int e = 0; e < ne; e++) {
            conn_t *c = evs[e].data.ptr;
            if (evs[e].events & (EPOLLERR | EPOLLHUP))
                die("%s", "connection failed or closed by the server");
            if (!c->connected && (evs[e].events & EPOLLOUT)) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) die("connect: %s", strerror(err));
                c->connected = 1;
                if (!next_batch(c)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    live--;
                    continue;
                }
                flush_out(ep, c);
            } else if (evs[e].events & EPOLLOUT) {
                flush_out(ep, c);
            }
            if (evs[e].events & EPOLLIN) {
                for (;;) {
                    ssize_t r = read(c->fd, rbuf, sizeof rbuf);
                    if (r == 0) die("%s", "server closed a connection");
                    if (r < 0) {
                        if (errno == EAGAIN) break;
                        die("read: %s", strerror(errno));
                    }
                    if (redisReaderFeed(c->reader, rbuf, (size_t)r) != REDIS_OK)
                        die("%s", "reader error");
                    if ((size_t)r < sizeof rbuf) break;
                }
                void *rep;
                uint64_t t = 0;
                while (c->inflight > 0) {
                    if (redisReaderGetReply(c->reader, &rep) != REDIS_OK)
                        die("protocol error: %s", c->reader->errstr);
                    if (!rep) break;
                    redisReply *rr = rep;
                    if (rr->type == REDIS_REPLY_ERROR) {
                        if (errors++ < 3) fprintf(stderr, "cairn-load: error reply: %s\n", rr->str);
                    } else if (rr->type == REDIS_REPLY_NIL) {
                        misses++;
                    } else if (rr->type == REDIS_REPLY_STRING) {
                        hits++;
                    }
                    freeReplyObject(rep);
                    if (!t) t = now_ns();
                    uint64_t us = (t - c->sent_at) / 1000;
                    lat_us[done++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
                    c->inflight--;
                }
                if (c->inflight == 0 && c->outpos == c->outlen) {
                    if (!next_batch(c)) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                        live--;
                        continue;
                    }
                    flush_out(ep, c);
                }
            }
        }
    }
    uint64_t t1 = now_ns();
    double secs = (double)(t1 - t0) / 1e9;
    qsort(lat_us, done, sizeof *lat_us, cmp_u32);
    double sum = 0;
    for (uint64_t i = 0; i < done; i++)
        sum += lat_us[i];
    printf("{\"requests\": %llu, \"seconds\": %.4f, \"rps\": %.1f, \"avg_ms\": %.4f, "
           "\"p50_ms\": %.3f, \"p95_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
           "\"max_ms\": %.3f, \"gets\": %llu, \"sets\": %llu, \"hits\": %llu, "
           "\"misses\": %llu, \"errors\": %llu}\n",
           (unsigned long long)done, secs, (double)done / secs,
           done ? sum / (double)done / 1000.0 : 0.0, pct(done, 50), pct(done, 95), pct(done, 99),
           pct(done, 99.9), done ? lat_us[done - 1] / 1000.0 : 0.0, (unsigned long long)gets,
           (unsigned long long)sets, (unsigned long long)hits, (unsigned long long)misses,
           (unsigned long long)errors);
    for (int i = 0; i < mo.clients; i++) {
        close(cs[i].fd);
        redisReaderFree(cs[i].reader);
        free(cs[i].out);
    }
    free(cs);
    free(lat_us);
    free(setval);
    return errors || done < mo.requests ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* fill */

#define BATCH_CMDS 1000 /* commands in flight per round trip */
#define PER_CMD    100  /* elements per RPUSH/HSET/SADD/ZADD */

static redisContext *ctx;
static long pending;

static void flush_replies(void)
{
    while (pending > 0) {
        redisReply *r;
        if (redisGetReply(ctx, (void **)&r) != REDIS_OK) die("connection error: %s", ctx->errstr);
        if (r->type == REDIS_REPLY_ERROR) die("error reply: %s", r->str);
        freeReplyObject(r);
        pending--;
    }
}

static void send_argv(int argc, const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(ctx, argc, argv, lens) != REDIS_OK) die("append: %s", ctx->errstr);
    if (++pending >= BATCH_CMDS) flush_replies();
}

static int cmd_fill(const char *type, long count, size_t size, long ttl, int fields,
                    const char *key, long offset)
{
    struct timeval tv = {10, 0};
    ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx || ctx->err) die("connect: %s", ctx ? ctx->errstr : "out of memory");
    redisSetTimeout(ctx, (struct timeval){60, 0});
    char *val = malloc(size + 1);
    memset(val, 'x', size);
    val[size] = 0;
    enum { MAXARGS = 2 + 3 * PER_CMD + 32 };
    const char *argv[MAXARGS];
    size_t lens[MAXARGS];
    char(*bufs)[40] = malloc(sizeof *bufs * MAXARGS);
    char ttlbuf[32];
    snprintf(ttlbuf, sizeof ttlbuf, "%ld", ttl);
    char defkey[64];
    if (!key) {
        snprintf(defkey, sizeof defkey, strcmp(type, "string") == 0 ? "key:" : "bench:%s", type);
        key = defkey;
    }
    if (strcmp(type, "string") == 0) {
        for (long i = offset; i < offset + count; i++) {
            int n = 0;
            argv[n] = "SET", lens[n++] = 3;
            lens[n] = (size_t)snprintf(bufs[n], 40, "%s%012ld", key, i), argv[n] = bufs[n], n++;
            argv[n] = val, lens[n++] = size;
            if (ttl > 0) {
                argv[n] = "EX", lens[n++] = 2;
                argv[n] = ttlbuf, lens[n++] = strlen(ttlbuf);
            }
            send_argv(n, argv, lens);
        }
    } else if (strcmp(type, "smallhash") == 0) {
        for (long i = offset; i < offset + count; i++) {
            int n = 0;
            argv[n] = "HSET", lens[n++] = 4;
            lens[n] = (size_t)snprintf(bufs[n], 40, "%s%08ld", key, i), argv[n] = bufs[n], n++;
            for (int f = 0; f < fields && n + 2 < MAXARGS; f++) {
                lens[n] = (size_t)snprintf(bufs[n], 40, "f%d", f), argv[n] = bufs[n], n++;
                argv[n] = val, lens[n++] = size;
            }
            send_argv(n, argv, lens);
        }
    } else {
        const char *verb;
        if (strcmp(type, "list") == 0)
            verb = "RPUSH";
        else if (strcmp(type, "hash") == 0)
            verb = "HSET";
        else if (strcmp(type, "set") == 0)
            verb = "SADD";
        else if (strcmp(type, "zset") == 0)
            verb = "ZADD";
        else
            die("unknown type %s", type);
        for (long i = offset; i < offset + count;) {
            int n = 0;
            argv[n] = verb, lens[n++] = strlen(verb);
            argv[n] = key, lens[n++] = strlen(key);
            for (int k = 0; k < PER_CMD && i < offset + count; k++, i++) {
                switch (verb[0]) {
                case 'R': argv[n] = val, lens[n++] = size; break;
                case 'H':
                    lens[n] = (size_t)snprintf(bufs[n], 40, "field:%010ld", i), argv[n] = bufs[n],
                    n++;
                    argv[n] = val, lens[n++] = size;
                    break;
                case 'S':
                    lens[n] = (size_t)snprintf(bufs[n], 40, "member:%09ld", i), argv[n] = bufs[n],
                    n++;
                    break;
                case 'Z':
                    lens[n] = (size_t)snprintf(bufs[n], 40, "%ld", i), argv[n] = bufs[n], n++;
                    lens[n] = (size_t)snprintf(bufs[n], 40, "member:%09ld", i), argv[n] = bufs[n],
                    n++;
                    break;
                }
            }
            send_argv(n, argv, lens);
        }
    }
    flush_replies();
    redisFree(ctx);
    free(bufs);
    free(val);
    return 0;
}

/* ------------------------------------------------------------------------ */

static long num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) die("bad number for %s", what);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "mix") && strcmp(argv[1], "fill"))) {
        fprintf(stderr, "usage: cairn-load mix|fill [options] (see the source's header)\n");
        return 2;
    }
    int fill = strcmp(argv[1], "fill") == 0;
    const char *type = "string", *key = NULL;
    long count = 0, ttl = 0, offset = 0;
    int fields = 10;
    size_t fsize = 16;
    int have_d = 0;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] != '-' || !argv[i][1] || argv[i][2] || i + 1 >= argc)
            die("bad argument %s", argv[i]);
        const char *v = argv[++i];
        switch (argv[i - 1][1]) {
        case 'h': host = v; break;
        case 'p': port = (int)num(v, "-p"); break;
        case 'c': mo.clients = (int)num(v, "-c"); break;
        case 'n': mo.requests = (uint64_t)num(v, "-n"), count = num(v, "-n"); break;
        case 'P': mo.pipeline = (int)num(v, "-P"); break;
        case 'r': mo.keys = (uint64_t)num(v, "-r"); break;
        case 'd': mo.datasize = fsize = (size_t)num(v, "-d"), have_d = 1; break;
        case 'g': mo.get_ratio = atof(v); break;
        case 's': mo.theta = atof(v); break;
        case 'S': mo.seed = (uint64_t)num(v, "-S"); break;
        case 't': type = v; break;
        case 'e': ttl = num(v, "-e"); break;
        case 'f': fields = (int)num(v, "-f"); break;
        case 'k': key = v; break;
        case 'o': offset = num(v, "-o"); break;
        default: die("unknown option %s", argv[i - 1]);
        }
    }
    (void)have_d;
    if (fill) return cmd_fill(type, count, fsize, ttl, fields, key, offset);
    if (mo.clients < 1 || mo.pipeline < 1 || mo.keys < 1 || mo.theta >= 1.0 || mo.theta < 0)
        die("%s", "need -c, -P, -r >= 1 and 0 <= -s < 1");
    rng_state = mo.seed;
    return cmd_mix();
}
