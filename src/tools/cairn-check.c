/* cairn-check -- verify Cairn's persistence files, like redis-check-aof and
 * redis-check-rdb together.
 *
 *   cairn-check [--fix [--yes]] PATH
 *   cairn-check --rdb FILE
 *
 * PATH is a snapshot (dump.rdb, a base), a log of entries (an incremental
 * file), a manifest, the log directory (appendonlydir) or a data
 * directory holding one.  Every file is read to the end and checked
 * entry by entry or frame by frame; the first bad offset is reported.
 *
 * --fix cuts a damaged log at its last whole entry -- everything after
 * that offset is lost, so it asks first (--yes answers for scripts).
 * Only the last file of a log can be cut: earlier files are followed by
 * others that depend on them.  Snapshots are never changed: restore a
 * damaged one from a backup.
 *
 * --rdb reads a Redis RDB file (versions 1 to 10) the way start-up would
 * load it, value by value into a scratch store, and reports its keys per
 * database or the first bad offset.
 *
 * Exit status: 0 every file is sound (or was fixed), 1 damage remains,
 * 2 usage or I/O error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../engine/db.h"
#include "../log/aof.h"
#include "../log/fileio.h"
#include "../log/rdb_file.h"
#include "../log/snapshot.h"

enum { EXIT_SOUND = 0, EXIT_DAMAGED = 1, EXIT_USAGE = 2 };

typedef struct options {
    int fix;
    int yes;
} options;

/* The outcome of checking one file. */
typedef struct verdict {
    int ok;      /* the whole file is sound */
    int fixable; /* a log whose good prefix ends at good_len */
    uint64_t good_len, size;
    long long items;
    char why[512];
} verdict;

static void usage(void)
{
    fprintf(stderr,
            "Usage: cairn-check [--fix [--yes]] <file-or-directory>\n"
            "       cairn-check --rdb <redis-rdb-file>\n\n"
            "Checks a snapshot (dump.rdb, *.base.rdb), a log (*.incr.aof), a manifest, or a\n"
            "log directory (appendonlydir, or a data directory holding one), and reports\n"
            "the first bad offset of each damaged file.\n\n"
            "  --fix   cut a damaged log at its last whole entry (what follows is lost);\n"
            "          asks for confirmation first\n"
            "  --yes   do not ask (for scripts)\n"
            "  --rdb   check a Redis RDB file (dump.rdb written by redis-server)\n");
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- single files ------------------------------------------------------- */

static void check_snapshot(int fd, verdict *v)
{
    uint64_t bad;
    snap_stats st;
    v->ok = snapshot_verify(fd, &bad, &st, v->why, sizeof(v->why)) == 0;
    v->items = st.keys;
    v->good_len = bad;
}

static void check_log(int fd, verdict *v)
{
    aof_reader r;
    aof_reader_init(&r, fd);
    for (;;) {
        entry_view e;
        const char *why = "";
        int rc = aof_reader_next(&r, &e, &why);
        if (rc == AOF_READ_OK) {
            entry_view_free(&e);
            v->items++;
            continue;
        }
        v->good_len = r.off;
        if (rc == AOF_READ_END) {
            v->ok = 1;
        } else if (rc == AOF_READ_TRUNCATED) {
            v->fixable = 1;
            snprintf(v->why, sizeof(v->why),
                     "the file ends inside an entry (a torn write) at offset %llu",
                     (unsigned long long)r.off);
        } else if (rc == AOF_READ_CORRUPT) {
            v->fixable = 1;
            snprintf(v->why, sizeof(v->why), "bad entry at offset %llu: %s",
                     (unsigned long long)r.off, why);
        } else {
            snprintf(v->why, sizeof(v->why), "read error: %s", strerror(errno));
        }
        break;
    }
    r.fd = -1; /* the caller's */
    aof_reader_free(&r);
}

/* Check one file; the kind is told by its first bytes. */
static int check_file(const char *path, verdict *v)
{
    memset(v, 0, sizeof(*v));
    int fd = open_read(path);
    if (fd < 0) {
        fprintf(stderr, "cairn-check: can't open %s: %s\n", path, strerror(errno));
        return -1;
    }
    off_t size = fd_size(fd);
    v->size = size > 0 ? (uint64_t)size : 0;
    char head[8];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n < 0) {
        fprintf(stderr, "cairn-check: can't read %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    int snap = snapshot_sniff(head, (size_t)n);
    if (snap)
        check_snapshot(fd, v);
    else
        check_log(fd, v);
    close(fd);
    if (v->ok)
        printf("%s: OK (%s, %lld %s, %llu bytes)\n", path, snap ? "snapshot" : "log", v->items,
               snap ? "keys" : "entries", (unsigned long long)v->size);
    else
        printf("%s: DAMAGED: %s (first bad offset %llu of %llu; %lld good %s before it)\n", path,
               v->why, (unsigned long long)v->good_len, (unsigned long long)v->size, v->items,
               snap ? "keys" : "entries");
    if (snap && !v->ok) v->fixable = 0;
    return 0;
}

static int confirm(const options *o, const char *path, const verdict *v)
{
    printf("This will cut %s from %llu to %llu bytes: %llu bytes (everything after offset %llu) "
           "will be lost.\n",
           path, (unsigned long long)v->size, (unsigned long long)v->good_len,
           (unsigned long long)(v->size - v->good_len), (unsigned long long)v->good_len);
    if (o->yes) return 1;
    printf("Continue? [y/N]: ");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 0;
    return line[0] == 'y' || line[0] == 'Y';
}

/* Cut a log file at its last whole entry, after asking. */
static int fix_log(const options *o, const char *path, const verdict *v)
{
    if (!confirm(o, path, v)) {
        printf("Not fixed.\n");
        return EXIT_DAMAGED;
    }
    if (truncate(path, (off_t)v->good_len) != 0) {
        fprintf(stderr, "cairn-check: can't truncate %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    printf("Fixed: %s now ends at offset %llu.\n", path, (unsigned long long)v->good_len);
    return EXIT_SOUND;
}

/* A single file given on the command line. */
static int run_file(const options *o, const char *path)
{
    verdict v;
    if (check_file(path, &v) != 0) return EXIT_USAGE;
    if (v.ok) return EXIT_SOUND;
    if (!o->fix) return EXIT_DAMAGED;
    if (!v.fixable) {
        printf("A damaged snapshot can't be repaired by cutting it: restore it from a backup.\n");
        return EXIT_DAMAGED;
    }
    return fix_log(o, path, &v);
}

/* ---- a log directory ---------------------------------------------------- */

/* Find the manifest in dir (the log directory itself, or a data directory
 * with appendonlydir in it).  Returns its path or NULL. */
static dstr find_manifest(const char *dir, dstr *logdir)
{
    const char *subdirs[] = {"", "appendonlydir"};
    for (size_t i = 0; i < 2; i++) {
        dstr d = subdirs[i][0] ? path_join(dir, subdirs[i]) : dstr_from_cstr(dir);
        dstr m = path_join(d, "appendonly.aof.manifest");
        if (path_exists(m)) {
            *logdir = d;
            return m;
        }
        dstr_free(m);
        dstr_free(d);
    }
    return NULL;
}

static int run_manifest(const options *o, const char *dir, const char *mpath)
{
    dstr text;
    if (read_small_file(mpath, 1u << 20, &text) != 0) {
        fprintf(stderr, "cairn-check: can't read %s: %s\n", mpath, strerror(errno));
        return EXIT_USAGE;
    }
    aof_manifest m;
    char err[512];
    int rc = manifest_parse(text, dstr_len(text), &m, err, sizeof(err));
    dstr_free(text);
    if (rc != 0) {
        printf("%s: DAMAGED: %s\n", mpath, err);
        return EXIT_DAMAGED;
    }
    printf("%s: OK (base %s, %d incremental file%s)\n", mpath, m.base.name ? m.base.name : "none",
           m.nincr, m.nincr == 1 ? "" : "s");
    int status = EXIT_SOUND, nfiles = (m.base.name ? 1 : 0) + m.nincr;
    for (int i = 0; i < nfiles && status != EXIT_USAGE; i++) {
        const aof_file *f = m.base.name ? (i == 0 ? &m.base : &m.incr[i - 1]) : &m.incr[i];
        int last = i == nfiles - 1 && f->type == AOF_INCR;
        dstr path = path_join(dir, f->name);
        verdict v;
        if (check_file(path, &v) != 0) {
            status = EXIT_USAGE;
        } else if (!v.ok) {
            if (o->fix && v.fixable && last) {
                int r = fix_log(o, path, &v);
                if (r != EXIT_SOUND) status = r;
            } else {
                if (o->fix)
                    printf("Only the last incremental file can be cut; %s is followed by "
                           "others (or is a snapshot): restore it from a backup.\n",
                           f->name);
                status = EXIT_DAMAGED;
            }
        }
        dstr_free(path);
    }
    manifest_free(&m);
    return status;
}

static int run_dir(const options *o, const char *dir)
{
    dstr logdir = NULL;
    dstr mpath = find_manifest(dir, &logdir);
    if (!mpath) {
        /* A data directory without a log: check its snapshot. */
        dstr rdb = path_join(dir, "dump.rdb");
        int rc = EXIT_USAGE;
        if (path_exists(rdb))
            rc = run_file(o, rdb);
        else
            fprintf(stderr, "cairn-check: no appendonly.aof.manifest or dump.rdb in %s\n", dir);
        dstr_free(rdb);
        return rc;
    }
    int rc = run_manifest(o, logdir, mpath);
    dstr_free(mpath);
    dstr_free(logdir);
    return rc;
}

static void print_warning(void *priv, const char *msg)
{
    (void)priv;
    printf("%s\n", msg);
}

/* Load a Redis RDB into a scratch store, as start-up would. */
static int run_rdb(const char *path)
{
    int fd = open_read(path);
    if (fd < 0) {
        fprintf(stderr, "can't open %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    uint8_t seed[32] = {0};
    cairn_engine *e = engine_create(seed);
    engine_start(e, 0);
    char why[512];
    rdb_loader *l = rdb_loader_new(fd, e, 0, print_warning, NULL, why, sizeof(why));
    int rc = EXIT_DAMAGED;
    if (!l) {
        printf("%s: %s\n", path, why);
    } else {
        int step;
        while ((step = rdb_loader_step(l, 100000, why, sizeof(why))) == RDB_LOAD_MORE)
            ;
        const rdb_load_stats *st = rdb_loader_stats(l);
        if (step == RDB_LOAD_ERROR) {
            printf("%s: %s\n", path, why);
        } else {
            for (int i = 0; i < e->ndbs; i++)
                if (db_size(&e->dbs[i]))
                    printf("db%d: keys=%lld,expires=%lld\n", i, db_size(&e->dbs[i]),
                           db_volatile_count(&e->dbs[i]));
            printf("%s: OK, a Redis RDB of version %d: %lld keys, %lld with an expiry, %lld "
                   "function libraries, %lld module aux sections skipped\n",
                   path, st->version, st->keys, st->expires, st->functions, st->module_aux_skipped);
            rc = EXIT_SOUND;
        }
        rdb_loader_free(l);
    }
    engine_free(e);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--rdb")) return run_rdb(argv[2]);
    options o = {0, 0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fix")) {
            o.fix = 1;
        } else if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y")) {
            o.yes = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return EXIT_SOUND;
        } else if (argv[i][0] == '-' || path) {
            usage();
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage();
        return EXIT_USAGE;
    }
    if (is_dir(path)) return run_dir(&o, path);
    /* A manifest is text naming the files next to it. */
    size_t len = strlen(path);
    if (len > 9 && !strcmp(path + len - 9, ".manifest")) {
        char *copy = cm_strdup(path);
        char *slash = strrchr(copy, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = copy[0] ? copy : "/";
        }
        int rc = run_manifest(&o, dir, path);
        cm_free(copy);
        return rc;
    }
    return run_file(&o, path);
}
