/* t_geo.c -- the GEO command family over sorted sets.
 *
 * A place is a sorted-set member whose score is the 52-bit interleaved
 * geohash of its coordinates (geohash.c), exactly as Redis 7.0 computes
 * it, so GEOADD'ed sets are ordinary sorted sets (TYPE zset, ZRANGE works)
 * and results, their order and the distances printed equal Redis's.
 *
 * A search scans the score ranges of the centre cell and its neighbours,
 * keeps the members inside the shape, then sorts them by distance when
 * asked (or when COUNT needs the nearest).  Every command here is
 * deterministic, so its arguments are its log entry. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "cmd.h"
#include "db.h"
#include "geohash.h"
#include "notify.h"
#include "t_zset.h"

#define ERR_NOT_FLOAT_GEO "ERR value is not a valid float"
#define ERR_BAD_MEMBER    "ERR could not decode requested zset member"

/* ------------------------------------------------------------------ */
/* Replies and arguments                                                */
/* ------------------------------------------------------------------ */

/* A distance with four decimals, rounded as Redis's fixedpoint_d2string
 * (the value times 10^4 rounded to an integer). */
static void reply_distance(cmd_call *c, double d)
{
    char buf[64];
    long long v = llrint(d * 10000.0);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int len = snprintf(buf, sizeof(buf), "%s%llu.%04llu", v < 0 ? "-" : "", u / 10000, u % 10000);
    reply_bulk(c->out, buf, (size_t)len);
}

/* A coordinate as Redis's addReplyHumanLongDouble: "%.17Lf" without the
 * trailing zeros; a bulk string in RESP2, a double in RESP3. */
static void reply_coord(cmd_call *c, double d)
{
    char buf[LDOUBLE_STR_MAX];
    int len = ldouble_to_str(buf, sizeof(buf), (long double)d);
    if (c->out->resp >= 3) {
        rbuf_append(c->out, ",", 1);
        rbuf_append(c->out, buf, (size_t)len);
        rbuf_append(c->out, "\r\n", 2);
    } else {
        reply_bulk(c->out, buf, (size_t)len);
    }
}

static void reply_lonlat(cmd_call *c, const double xy[2])
{
    reply_array_len(c->out, 2);
    reply_coord(c, xy[0]);
    reply_coord(c, xy[1]);
}

/* Parse argument i as a double, replying "ERR <err>" on failure. */
static int geo_double(cmd_call *c, int i, double *out, const char *err)
{
    if (str_to_double(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(c->out, err);
    return 0;
}

/* Longitude and latitude at arguments i, i+1.  Returns 0 after replying. */
static int parse_lonlat(cmd_call *c, int i, double xy[2])
{
    if (!geo_double(c, i, &xy[0], ERR_NOT_FLOAT_GEO) ||
        !geo_double(c, i + 1, &xy[1], ERR_NOT_FLOAT_GEO))
        return 0;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
        xy[1] > GEO_LAT_MAX) {
        reply_errorf(c->out, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return 0;
    }
    return 1;
}

/* Meters per unit of argument i (m, km, ft, mi), or -1 after replying. */
static double parse_unit(cmd_call *c, int i)
{
    if (arg_is(c, i, "m")) return 1;
    if (arg_is(c, i, "km")) return 1000;
    if (arg_is(c, i, "ft")) return 0.3048;
    if (arg_is(c, i, "mi")) return 1609.34;
    reply_error(c->out, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* radius unit at arguments i, i+1.  Returns 0 after replying. */
static int parse_radius(cmd_call *c, int i, geo_shape *s)
{
    if (!geo_double(c, i, &s->radius, "ERR need numeric radius")) return 0;
    if (s->radius < 0) {
        reply_error(c->out, "ERR radius cannot be negative");
        return 0;
    }
    if ((s->conversion = parse_unit(c, i + 1)) < 0) return 0;
    s->type = GEO_SHAPE_CIRCLE;
    return 1;
}

/* width height unit at arguments i..i+2.  Returns 0 after replying. */
static int parse_box(cmd_call *c, int i, geo_shape *s)
{
    if (!geo_double(c, i, &s->width, "ERR need numeric width") ||
        !geo_double(c, i + 1, &s->height, "ERR need numeric height"))
        return 0;
    if (s->height < 0 || s->width < 0) {
        reply_error(c->out, "ERR height or width cannot be negative");
        return 0;
    }
    if ((s->conversion = parse_unit(c, i + 2)) < 0) return 0;
    s->type = GEO_SHAPE_BOX;
    return 1;
}

/* The coordinates of a member, from its score.  Returns 0 if absent. */
static int member_lonlat(cobj *zobj, const cslice *member, double xy[2])
{
    double score;
    if (!zset_score(zobj, member->ptr, member->len, &score)) return 0;
    return geohash_decode_score(score, xy);
}

/* The sorted set at argument i for reading: NULL if missing; *wrong set
 * (after replying WRONGTYPE) if of another type. */
static cobj *geo_lookup(cmd_call *c, int i, int *wrong)
{
    cobj *o = lookup_read(c, &c->argv[i]);
    *wrong = o && check_type(c, o, OBJ_ZSET);
    return *wrong ? NULL : o;
}

/* ------------------------------------------------------------------ */
/* GEOADD, GEOPOS, GEODIST, GEOHASH                                     */
/* ------------------------------------------------------------------ */

/* GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD of the
 * members with their geohash scores; replies what ZADD would. */
static void geoadd_command(cmd_call *c)
{
    int flags = 0, ch = 0, first = 2;
    for (; first < c->argc; first++) {
        if (arg_is(c, first, "nx"))
            flags |= ZADD_IN_NX;
        else if (arg_is(c, first, "xx"))
            flags |= ZADD_IN_XX;
        else if (arg_is(c, first, "ch"))
            ch = 1;
        else
            break;
    }
    int elements = (c->argc - first) / 3;
    if ((c->argc - first) % 3 || elements == 0 || ((flags & ZADD_IN_NX) && (flags & ZADD_IN_XX))) {
        reply_syntax_error(c);
        return;
    }
    double *scores = cm_malloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++) {
        double xy[2];
        geo_hash h;
        if (!parse_lonlat(c, first + 3 * j, xy)) goto done;
        geohash_encode_wgs84(xy[0], xy[1], GEO_STEP_MAX, &h);
        scores[j] = (double)geohash_align52(h);
    }

    const cslice *key = &c->argv[1];
    cobj *zobj = lookup_write(c, key);
    if (zobj && check_type(c, zobj, OBJ_ZSET)) goto done;
    long added = 0, updated = 0;
    if (!zobj) {
        if (flags & ZADD_IN_XX) goto reply;
        zobj = db_add(c, c->db, key, zset_create(c, 0, c->argv[first + 2].len));
    }
    for (int j = 0; j < elements; j++) {
        const cslice *ele = &c->argv[first + 3 * j + 2];
        int out;
        zset_add(c, zobj, scores[j], ele->ptr, ele->len, flags, &out, NULL);
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
    }
    c->dirty += added + updated;
    /* GEOADD is a ZADD for keyspace events too. */
    if (added || updated) notify_key(c, NOTIFY_ZSET, "zadd", key);
reply:
    reply_int(c->out, ch ? added + updated : added);
done:
    cm_free(scores);
}

/* GEOPOS key member [member ...] */
static void geopos_command(cmd_call *c)
{
    int wrong;
    cobj *zobj = geo_lookup(c, 1, &wrong);
    if (wrong) return;
    reply_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        if (zobj && member_lonlat(zobj, &c->argv[j], xy))
            reply_lonlat(c, xy);
        else
            reply_null_array(c->out);
    }
}

/* GEODIST key member1 member2 [M|KM|FT|MI] */
static void geodist_command(cmd_call *c)
{
    double to_meter = 1;
    if (c->argc == 5) {
        if ((to_meter = parse_unit(c, 4)) < 0) return;
    } else if (c->argc > 5) {
        reply_syntax_error(c);
        return;
    }
    int wrong;
    cobj *zobj = geo_lookup(c, 1, &wrong);
    if (wrong) return;
    double a[2], b[2];
    if (!zobj || !member_lonlat(zobj, &c->argv[2], a) || !member_lonlat(zobj, &c->argv[3], b)) {
        reply_null(c->out);
        return;
    }
    reply_distance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_meter);
}

/* GEOHASH key [member ...]: the standard 11-character geohash, computed
 * over latitudes -90..90 (the score uses -85.05..85.05). */
static void geohash_command(cmd_call *c)
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const geo_range lon_r = {-180, 180}, lat_r = {-90, 90};
    int wrong;
    cobj *zobj = geo_lookup(c, 1, &wrong);
    if (wrong) return;
    reply_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        geo_hash h;
        if (!zobj || !member_lonlat(zobj, &c->argv[j], xy)) {
            reply_null(c->out);
            continue;
        }
        geohash_encode(&lon_r, &lat_r, xy[0], xy[1], GEO_STEP_MAX, &h);
        char buf[11];
        for (int i = 0; i < 11; i++) {
            /* 52 bits make ten characters; the eleventh is always '0'. */
            unsigned idx = i == 10 ? 0 : (unsigned)(h.bits >> (52 - (i + 1) * 5)) & 0x1f;
            buf[i] = alphabet[idx];
        }
        reply_bulk(c->out, buf, sizeof(buf));
    }
}

/* ------------------------------------------------------------------ */
/* Searching                                                            */
/* ------------------------------------------------------------------ */

typedef struct geo_point {
    double lon, lat, dist, score;
    size_t member_off, member_len; /* in the result's member bytes */
    size_t seq;                    /* the order found, to keep sorting stable */
} geo_point;

typedef struct geo_result {
    geo_point *pts;
    size_t n, cap;
    dstr members; /* copies: a STORE may replace the set they came from */
} geo_result;

static void result_add(geo_result *r, const double xy[2], double dist, double score, const char *m,
                       size_t mlen)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->pts = cm_realloc(r->pts, sizeof(*r->pts) * r->cap);
    }
    r->pts[r->n] = (geo_point){xy[0], xy[1], dist, score, dstr_len(r->members), mlen, r->n};
    r->members = dstr_cat(r->members, m, mlen);
    r->n++;
}

/* Add the members of one cell that lie in the shape; stop at limit
 * results (0: none). */
static void scan_cell(cobj *zobj, geo_hash cell, const geo_shape *s, geo_result *r, size_t limit)
{
    geo_hash next = {cell.bits + 1, cell.step};
    zrange_spec range = {(double)geohash_align52(cell), (double)geohash_align52(next), 0, 1};
    for (zset_pos p = zset_pos_first_in_range(zobj, &range); zset_pos_valid(&p);
         zset_pos_next(&p)) {
        double score = zset_pos_score(&p), xy[2], dist;
        if (!zsl_value_lte_max(score, &range)) break;
        if (geohash_decode_score(score, xy) && geohash_in_shape(s, xy[0], xy[1], &dist)) {
            zset_entry e;
            zset_pos_member(&p, &e);
            result_add(r, xy, dist, score, e.ele, e.len);
            if (limit && r->n >= limit) break;
        }
    }
}

/* Scan the centre cell and its neighbours in Redis's order, skipping
 * cleared cells and a cell equal to the one scanned just before it. */
static void search_shape(cobj *zobj, const geo_shape *s, geo_result *r, size_t limit)
{
    geo_search_area area;
    geohash_search_area(s, &area);
    int last = 0;
    for (int i = 0; i < 9; i++) {
        geo_hash h = area.cells[i];
        if (h.bits == 0 && h.step == 0) continue;
        /* With huge radii neighbours repeat.  As in Redis, the centre
         * (index 0) never counts as "the one before". */
        if (last && h.bits == area.cells[last].bits && h.step == area.cells[last].step) continue;
        if (r->n && limit && r->n >= limit) break;
        scan_cell(zobj, h, s, r, limit);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b)
{
    const geo_point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist > y->dist ? 1 : -1;
    return x->seq > y->seq ? 1 : -1;
}

static int by_dist_desc(const void *a, const void *b)
{
    const geo_point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? 1 : -1;
    return x->seq > y->seq ? 1 : -1;
}

enum { SORT_NONE, SORT_ASC, SORT_DESC };
enum {
    GEO_COORDS = 1 << 0,     /* GEORADIUS: centre given as lon lat */
    GEO_MEMBER = 1 << 1,     /* GEORADIUSBYMEMBER: centre is a member */
    GEO_NOSTORE = 1 << 2,    /* the _RO variants */
    GEO_SEARCH = 1 << 3,     /* GEOSEARCH syntax */
    GEO_SEARCHSTORE = 1 << 4 /* GEOSEARCHSTORE */
};

typedef struct geo_opts {
    int withdist, withhash, withcoord, any, sort, storedist;
    int frommember, fromloc, byradius, bybox;
    long long count;
    const cslice *storekey;
} geo_opts;

/* Parse the options from argument `base` on, as Redis's georadiusGeneric
 * (the same order of checks and errors).  zobj may be NULL (no source):
 * FROMMEMBER is then only skipped.  Returns 0 after replying. */
static int parse_search_opts(cmd_call *c, int base, int flags, cobj *zobj, geo_shape *s,
                             geo_opts *o)
{
    int search = (flags & GEO_SEARCH) != 0;
    int can_store = !(flags & GEO_NOSTORE) && !search;
    for (int i = base; i < c->argc; i++) {
        int rem = c->argc - i - 1; /* arguments after this one */
        if (arg_is(c, i, "withdist")) {
            o->withdist = 1;
        } else if (arg_is(c, i, "withhash")) {
            o->withhash = 1;
        } else if (arg_is(c, i, "withcoord")) {
            o->withcoord = 1;
        } else if (arg_is(c, i, "any")) {
            o->any = 1;
        } else if (arg_is(c, i, "asc")) {
            o->sort = SORT_ASC;
        } else if (arg_is(c, i, "desc")) {
            o->sort = SORT_DESC;
        } else if (arg_is(c, i, "count") && rem >= 1) {
            if (!arg_ll(c, i + 1, &o->count)) return 0;
            if (o->count <= 0) {
                reply_error(c->out, "ERR COUNT must be > 0");
                return 0;
            }
            i++;
        } else if ((arg_is(c, i, "store") || arg_is(c, i, "storedist")) && rem >= 1 && can_store) {
            o->storedist = arg_is(c, i, "storedist");
            o->storekey = &c->argv[++i];
        } else if (arg_is(c, i, "storedist") && (flags & GEO_SEARCHSTORE)) {
            o->storedist = 1;
        } else if (arg_is(c, i, "frommember") && rem >= 1 && search && !o->fromloc) {
            if (zobj && !member_lonlat(zobj, &c->argv[i + 1], s->xy)) {
                reply_error(c->out, ERR_BAD_MEMBER);
                return 0;
            }
            o->frommember = 1;
            i++;
        } else if (arg_is(c, i, "fromlonlat") && rem >= 2 && search && !o->frommember) {
            if (!parse_lonlat(c, i + 1, s->xy)) return 0;
            o->fromloc = 1;
            i += 2;
        } else if (arg_is(c, i, "byradius") && rem >= 2 && search && !o->bybox) {
            if (!parse_radius(c, i + 1, s)) return 0;
            o->byradius = 1;
            i += 2;
        } else if (arg_is(c, i, "bybox") && rem >= 3 && search && !o->byradius) {
            if (!parse_box(c, i + 1, s)) return 0;
            o->bybox = 1;
            i += 3;
        } else {
            reply_syntax_error(c);
            return 0;
        }
    }
    if (o->storekey && (o->withdist || o->withhash || o->withcoord)) {
        reply_errorf(c->out,
                     "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     (flags & GEO_SEARCHSTORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return 0;
    }
    char name[32];
    arg_cstr(c, 0, name, sizeof(name));
    if (search && !(o->frommember || o->fromloc)) {
        reply_errorf(c->out, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s",
                     name);
        return 0;
    }
    if (search && !(o->byradius || o->bybox)) {
        reply_errorf(c->out, "ERR exactly one of BYRADIUS and BYBOX can be specified for %s", name);
        return 0;
    }
    if (o->any && !o->count) {
        reply_error(c->out, "ERR the ANY argument requires COUNT argument");
        return 0;
    }
    return 1;
}

/* Reply the found points (n of them, already ordered). */
static void reply_points(cmd_call *c, const geo_opts *o, const geo_result *r, size_t n,
                         double conversion)
{
    int extra = o->withdist + o->withhash + o->withcoord;
    reply_array_len(c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        const geo_point *p = &r->pts[i];
        if (extra) reply_array_len(c->out, extra + 1);
        reply_bulk(c->out, r->members + p->member_off, p->member_len);
        if (o->withdist) reply_distance(c, p->dist / conversion);
        if (o->withhash) reply_int(c->out, (long long)p->score);
        if (o->withcoord) {
            double xy[2] = {p->lon, p->lat};
            reply_lonlat(c, xy);
        }
    }
}

/* Store the n found points at the store key as a sorted set scored by
 * geohash (or by distance with STOREDIST); nothing found deletes it. */
static void store_points(cmd_call *c, const geo_opts *o, const geo_result *r, size_t n,
                         double conversion)
{
    if (n == 0) {
        if (db_delete(c, c->db, o->storekey)) {
            c->dirty++;
            notify_key(c, NOTIFY_GENERIC, "del", o->storekey);
        }
        reply_int(c->out, 0);
        return;
    }
    cobj *zobj = zset_new_skiplist(c);
    size_t maxlen = 0, totlen = 0;
    for (size_t i = 0; i < n; i++) {
        const geo_point *p = &r->pts[i];
        double score = o->storedist ? p->dist / conversion : p->score;
        zset_skiplist_insert(c, zobj->v.ptr, score, r->members + p->member_off, p->member_len);
        if (p->member_len > maxlen) maxlen = p->member_len;
        totlen += p->member_len;
    }
    zset_convert_to_listpack_if_needed(c, zobj, maxlen, totlen);
    db_store(c, c->db, o->storekey, zobj);
    c->dirty += (long long)n;
    /* GEOSEARCHSTORE stores into its first argument; GEORADIUS ... STORE
     * into an option's. */
    notify_key(c, NOTIFY_ZSET, o->storekey == &c->argv[1] ? "geosearchstore" : "georadiusstore",
               o->storekey);
    reply_int(c->out, (long long)n);
}

/* GEORADIUS, GEORADIUSBYMEMBER (and _RO), GEOSEARCH, GEOSEARCHSTORE. */
static void georadius_generic(cmd_call *c, int src, int flags)
{
    int wrong;
    cobj *zobj = geo_lookup(c, src, &wrong);
    if (wrong) return;

    geo_shape s = {0};
    geo_opts o = {0};
    int base;
    if (flags & GEO_COORDS) {
        base = 6;
        if (!parse_lonlat(c, 2, s.xy) || !parse_radius(c, 4, &s)) return;
    } else if (flags & GEO_MEMBER) {
        base = 5;
        if (zobj) {
            if (!member_lonlat(zobj, &c->argv[2], s.xy)) {
                reply_error(c->out, ERR_BAD_MEMBER);
                return;
            }
            if (!parse_radius(c, 3, &s)) return;
        }
    } else {
        base = (flags & GEO_SEARCHSTORE) ? 3 : 2;
        if (flags & GEO_SEARCHSTORE) o.storekey = &c->argv[1];
    }
    if (!parse_search_opts(c, base, flags, zobj, &s, &o)) return;

    if (!zobj) {
        if (o.storekey) {
            if (db_delete(c, c->db, o.storekey)) {
                c->dirty++;
                notify_key(c, NOTIFY_GENERIC, "del", o.storekey);
            }
            reply_int(c->out, 0);
        } else {
            reply_empty_array(c->out);
        }
        return;
    }
    /* The nearest COUNT need sorting; ANY takes the first found. */
    if (o.count && o.sort == SORT_NONE && !o.any) o.sort = SORT_ASC;

    geo_result r = {NULL, 0, 0, dstr_with_cap(64)};
    search_shape(zobj, &s, &r, o.any ? (size_t)o.count : 0);
    size_t n = (o.count == 0 || r.n < (size_t)o.count) ? r.n : (size_t)o.count;
    if (o.sort != SORT_NONE && r.n > 1)
        qsort(r.pts, r.n, sizeof(*r.pts), o.sort == SORT_ASC ? by_dist_asc : by_dist_desc);
    if (o.storekey)
        store_points(c, &o, &r, n, s.conversion);
    else
        reply_points(c, &o, &r, n, s.conversion);
    cm_free(r.pts);
    dstr_free(r.members);
}

/* GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD]
 *   [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key]
 *   [STOREDIST key] */
static void georadius_command(cmd_call *c) { georadius_generic(c, 1, GEO_COORDS); }

static void georadius_ro_command(cmd_call *c) { georadius_generic(c, 1, GEO_COORDS | GEO_NOSTORE); }

/* GEORADIUSBYMEMBER key member radius M|KM|FT|MI [...as GEORADIUS] */
static void georadiusbymember_command(cmd_call *c) { georadius_generic(c, 1, GEO_MEMBER); }

static void georadiusbymember_ro_command(cmd_call *c)
{
    georadius_generic(c, 1, GEO_MEMBER | GEO_NOSTORE);
}

/* GEOSEARCH key FROMMEMBER member|FROMLONLAT lon lat
 *   BYRADIUS radius unit|BYBOX width height unit [ASC|DESC]
 *   [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH] */
static void geosearch_command(cmd_call *c) { georadius_generic(c, 1, GEO_SEARCH); }

/* GEOSEARCHSTORE destination source ... [STOREDIST] */
static void geosearchstore_command(cmd_call *c)
{
    georadius_generic(c, 2, GEO_SEARCH | GEO_SEARCHSTORE);
}

/* Keys of GEORADIUS and GEORADIUSBYMEMBER: the source, and the last
 * STORE/STOREDIST key if any. */
static int georadius_getkeys(int argc, const cslice *argv, int *idx, int max)
{
    int stored = -1;
    for (int i = 5; i < argc; i++) {
        if ((slice_is(&argv[i], "store") || slice_is(&argv[i], "storedist")) && i + 1 < argc) {
            stored = i + 1;
            i++;
        }
    }
    int n = stored < 0 ? 1 : 2;
    if (max < n) return -1;
    idx[0] = 1;
    if (stored >= 0) idx[1] = stored;
    return n;
}

/* ------------------------------------------------------------------ */
/* The table fragment                                                   */
/* ------------------------------------------------------------------ */

#define CX_GEOSEARCH                                                                               \
    "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "         \
    "around the shape provided as the filter and M is the number of items inside the shape"
#define CX_GEORADIUS                                                                               \
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "       \
    "area delimited by center and radius and M is the number of items inside the index."

const cmd_def geo_commands[] = {
    {"geoadd", geoadd_command, -5, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_GEO | ACL_SLOW, 1, 1, 1,
     "geo", "3.2.0",
     "Add one or more geospatial items in the geospatial index represented using "
     "a sorted set",
     "O(log(N)) for each item added, where N is the number of elements in the sorted set.", NULL,
     .key_spec = KEY_FLAGS(KF_RW | KF_UPDATE)},
    {"geopos", geopos_command, -2, CMD_READONLY, ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1, "geo",
     "3.2.0", "Returns longitude and latitude of members of a geospatial index",
     "O(N) where N is the number of members requested.", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"geodist", geodist_command, -4, CMD_READONLY, ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1, "geo",
     "3.2.0", "Returns the distance between two members of a geospatial index", "O(log(N))", NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"geohash", geohash_command, -2, CMD_READONLY, ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1, "geo",
     "3.2.0", "Returns members of a geospatial index as standard geohash strings",
     "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"georadius", georadius_command, -6, CMD_WRITE | CMD_DENYOOM, ACL_WRITE | ACL_GEO | ACL_SLOW, 1,
     1, 1, "geo", "3.2.0",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a point",
     CX_GEORADIUS, NULL, georadius_getkeys, NULL, KEY_SPEC(KF_RO | KF_ACCESS, KF_OW | KF_UPDATE)},
    {"georadius_ro", georadius_ro_command, -6, CMD_READONLY, ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1,
     "geo", "3.2.10", "A read-only variant for GEORADIUS", CX_GEORADIUS, NULL,
     .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"georadiusbymember", georadiusbymember_command, -5, CMD_WRITE | CMD_DENYOOM,
     ACL_WRITE | ACL_GEO | ACL_SLOW, 1, 1, 1, "geo", "3.2.0",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a member",
     "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "
     "area delimited by center and radius and M is the number of items inside the index.",
     NULL, georadius_getkeys, NULL, KEY_SPEC(KF_RO | KF_ACCESS, KF_OW | KF_UPDATE)},
    {"georadiusbymember_ro", georadiusbymember_ro_command, -5, CMD_READONLY,
     ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1, "geo", "3.2.10",
     "A read-only variant for GEORADIUSBYMEMBER",
     "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "
     "area delimited by center and radius and M is the number of items inside the index.",
     NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"geosearch", geosearch_command, -7, CMD_READONLY, ACL_READ | ACL_GEO | ACL_SLOW, 1, 1, 1,
     "geo", "6.2.0",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle.",
     CX_GEOSEARCH, NULL, .key_spec = KEY_FLAGS(KF_RO | KF_ACCESS)},
    {"geosearchstore", geosearchstore_command, -8, CMD_WRITE | CMD_DENYOOM,
     ACL_WRITE | ACL_GEO | ACL_SLOW, 1, 2, 1, "geo", "6.2.0",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle, and store the result in another key.",
     CX_GEOSEARCH, NULL, NULL, NULL, KEY_SPEC(KF_OW | KF_UPDATE, KF_RO | KF_ACCESS)},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL},
};
