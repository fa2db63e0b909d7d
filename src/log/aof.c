/* aof.c -- the append-only log: manifest, writer, reader; see aof.h. */
#include "aof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../ds/alloc.h"
#include "../engine/config.h"
#include "clock.h"
#include "fileio.h"

/* ---------------------------------------------------------------------- */
/* Names                                                                   */
/* ---------------------------------------------------------------------- */

dstr aof_manifest_name(const char *prefix)
{
    return dstr_catfmt(dstr_new("", 0), "%s.manifest", prefix);
}

dstr aof_base_name(const char *prefix, long long seq)
{
    return dstr_catfmt(dstr_new("", 0), "%s.%lld.base.rdb", prefix, seq);
}

dstr aof_incr_name(const char *prefix, long long seq)
{
    return dstr_catfmt(dstr_new("", 0), "%s.%lld.incr.aof", prefix, seq);
}

/* ---------------------------------------------------------------------- */
/* Manifest                                                                */
/* ---------------------------------------------------------------------- */

void manifest_init(aof_manifest *m) { memset(m, 0, sizeof(*m)); }

static void file_free(aof_file *f)
{
    dstr_free(f->name);
    f->name = NULL;
}

void manifest_free(aof_manifest *m)
{
    file_free(&m->base);
    for (int i = 0; i < m->nincr; i++)
        file_free(&m->incr[i]);
    for (int i = 0; i < m->nhist; i++)
        file_free(&m->hist[i]);
    cm_free(m->incr);
    cm_free(m->hist);
    manifest_init(m);
}

static aof_file file_dup(const aof_file *f)
{
    aof_file c = *f;
    c.name = f->name ? dstr_dup(f->name) : NULL;
    return c;
}

void manifest_copy(aof_manifest *dst, const aof_manifest *src)
{
    *dst = *src;
    dst->base = file_dup(&src->base);
    dst->incr = cm_malloc(sizeof(aof_file) * ((size_t)src->nincr + 1));
    for (int i = 0; i < src->nincr; i++)
        dst->incr[i] = file_dup(&src->incr[i]);
    dst->hist = cm_malloc(sizeof(aof_file) * ((size_t)src->nhist + 1));
    for (int i = 0; i < src->nhist; i++)
        dst->hist[i] = file_dup(&src->hist[i]);
}

static void push_file(aof_file **list, int *n, aof_file f)
{
    *list = cm_realloc(*list, sizeof(aof_file) * ((size_t)*n + 1));
    (*list)[(*n)++] = f;
}

void manifest_add_incr(aof_manifest *m, const char *name, long long seq)
{
    aof_file f = {dstr_from_cstr(name), seq, AOF_INCR};
    push_file(&m->incr, &m->nincr, f);
    if (seq > m->incr_seq) m->incr_seq = seq;
}

void manifest_retire_all(aof_manifest *m)
{
    if (m->base.name) {
        m->base.type = AOF_HIST;
        push_file(&m->hist, &m->nhist, m->base);
        m->base.name = NULL;
    }
    for (int i = 0; i < m->nincr; i++) {
        m->incr[i].type = AOF_HIST;
        push_file(&m->hist, &m->nhist, m->incr[i]);
    }
    m->nincr = 0;
}

static int valid_file_name(const char *s, size_t len)
{
    if (len == 0 || len > 255) return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == '\0' || (unsigned char)s[i] <= ' ') return 0;
    return 1;
}

/* Parse one "file NAME seq N type T" line into f. */
static int parse_line(const char *line, size_t len, aof_file *f, char *err, size_t errlen)
{
    char buf[1100];
    if (len >= sizeof(buf)) {
        snprintf(err, errlen, "manifest line too long");
        return -1;
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *save = NULL, *tok[8];
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 8) break;
        tok[n++] = t;
    }
    const char *name = NULL, *seq = NULL, *type = NULL;
    for (int i = 0; i + 1 < n; i += 2) {
        if (!strcmp(tok[i], "file")) name = tok[i + 1];
        if (!strcmp(tok[i], "seq")) seq = tok[i + 1];
        if (!strcmp(tok[i], "type")) type = tok[i + 1];
    }
    if (n % 2 || !name || !seq || !type) {
        snprintf(err, errlen, "invalid manifest line '%.*s'", (int)(len > 200 ? 200 : len), line);
        return -1;
    }
    char *end;
    errno = 0;
    long long s = strtoll(seq, &end, 10);
    if (errno || *end || s <= 0 || !valid_file_name(name, strlen(name)) || strlen(type) != 1 ||
        (type[0] != AOF_BASE && type[0] != AOF_HIST && type[0] != AOF_INCR)) {
        snprintf(err, errlen, "invalid manifest line '%.*s'", (int)(len > 200 ? 200 : len), line);
        return -1;
    }
    f->name = dstr_from_cstr(name);
    f->seq = s;
    f->type = type[0];
    return 0;
}

static int add_parsed(aof_manifest *m, aof_file f, char *err, size_t errlen)
{
    switch (f.type) {
    case AOF_BASE:
        if (m->base.name) {
            snprintf(err, errlen, "the manifest names two base files");
            file_free(&f);
            return -1;
        }
        m->base = f;
        if (f.seq > m->base_seq) m->base_seq = f.seq;
        return 0;
    case AOF_INCR:
        if (m->nincr && f.seq <= m->incr[m->nincr - 1].seq) {
            snprintf(err, errlen, "incremental files out of order in the manifest");
            file_free(&f);
            return -1;
        }
        push_file(&m->incr, &m->nincr, f);
        if (f.seq > m->incr_seq) m->incr_seq = f.seq;
        return 0;
    default: push_file(&m->hist, &m->nhist, f); return 0;
    }
}

int manifest_parse(const char *text, size_t len, aof_manifest *m, char *err, size_t errlen)
{
    manifest_init(m);
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t stop = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t llen = stop - pos;
        pos = stop + 1;
        while (llen && (line[llen - 1] == '\r' || line[llen - 1] == ' '))
            llen--;
        if (llen == 0 || line[0] == '#') continue;
        aof_file f;
        if (parse_line(line, llen, &f, err, errlen) != 0 || add_parsed(m, f, err, errlen) != 0) {
            manifest_free(m);
            return -1;
        }
    }
    if (!m->base.name && m->nincr == 0) {
        snprintf(err, errlen, "the manifest names no files");
        manifest_free(m);
        return -1;
    }
    return 0;
}

static dstr format_file(dstr s, const aof_file *f)
{
    return dstr_catfmt(s, "file %s seq %lld type %c\n", f->name, f->seq, f->type);
}

dstr manifest_format(const aof_manifest *m)
{
    dstr s = dstr_new("", 0);
    if (m->base.name) s = format_file(s, &m->base);
    for (int i = 0; i < m->nhist; i++)
        s = format_file(s, &m->hist[i]);
    for (int i = 0; i < m->nincr; i++)
        s = format_file(s, &m->incr[i]);
    return s;
}

int manifest_load(const char *dir, const char *name, aof_manifest *m, char *err, size_t errlen)
{
    dstr path = path_join(dir, name);
    dstr text;
    int rc = read_small_file(path, 1u << 20, &text);
    if (rc != 0) {
        int missing = errno == ENOENT;
        if (!missing)
            snprintf(err, errlen, "can't read the manifest %s: %s", path, strerror(errno));
        dstr_free(path);
        return missing ? 1 : -1;
    }
    char why[256];
    rc = manifest_parse(text, dstr_len(text), m, why, sizeof(why));
    if (rc != 0) snprintf(err, errlen, "bad manifest %s: %s", path, why);
    dstr_free(text);
    dstr_free(path);
    return rc;
}

int manifest_save(const char *dir, const char *name, const aof_manifest *m)
{
    dstr text = manifest_format(m);
    int rc = write_file_atomic(dir, name, text, dstr_len(text));
    int saved = errno;
    dstr_free(text);
    errno = saved;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Writer                                                                  */
/* ---------------------------------------------------------------------- */

/* Count an fsync that took ns; the caller holds mu. */
static void record_fsync(aof_writer *w, int64_t ns)
{
    hist_record(&w->fsync_ns, ns > 0 ? (uint64_t)ns : 0);
    w->fsync_sum_ns += ns > 0 ? (uint64_t)ns : 0;
}

/* fsync from the loop, counted like the thread's. */
static int sync_counted(aof_writer *w, int fd)
{
    int64_t start = clock_mono_ns();
    int rc = sync_fd(fd);
    int saved = errno;
    int64_t ns = clock_mono_ns() - start;
    pthread_mutex_lock(&w->mu);
    record_fsync(w, ns);
    pthread_mutex_unlock(&w->mu);
    errno = saved;
    return rc;
}

void aof_writer_fsync_stats(aof_writer *w, hist *out, uint64_t *sum_ns)
{
    pthread_mutex_lock(&w->mu);
    *out = w->fsync_ns;
    *sum_ns = w->fsync_sum_ns;
    pthread_mutex_unlock(&w->mu);
}

/* The everysec thread: whenever written data is not yet synced, fsync it,
 * then rest until a second has passed since that fsync began.  It runs
 * off the event loop because an fsync can take hundreds of milliseconds
 * on a busy disk. */
static void *fsync_thread(void *arg)
{
    aof_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->bg_stop) {
        if (w->policy != AOF_FSYNC_EVERYSEC || w->bg_fd < 0 || w->bg_target <= w->bg_synced) {
            struct timespec ts;
            clock_mono_deadline(&ts, 1000);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            continue;
        }
        int fd = w->bg_fd;
        uint64_t target = w->bg_target;
        w->bg_busy = 1;
        struct timespec next;
        clock_mono_deadline(&next, 1000);
        pthread_mutex_unlock(&w->mu);
        int64_t start = clock_mono_ns();
        int rc = sync_fd(fd);
        int saved = errno;
        int64_t took = clock_mono_ns() - start;
        pthread_mutex_lock(&w->mu);
        record_fsync(w, took);
        w->bg_busy = 0;
        if (rc == 0) {
            if (target > w->bg_synced) w->bg_synced = target;
            w->bg_errno = 0;
        } else {
            w->bg_errno = saved;
        }
        pthread_cond_broadcast(&w->cv);
        while (!w->bg_stop && pthread_cond_timedwait(&w->cv, &w->mu, &next) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int aof_writer_init(aof_writer *w, int policy)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->bg_fd = -1;
    w->policy = policy;
    w->buf = dstr_with_cap(64 * 1024);
    pthread_mutex_init(&w->mu, NULL);
    /* Timed waits on the monotonic clock: a step of the wall clock
     * neither stalls nor hurries the fsync thread. */
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0) rc = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&w->mu);
        dstr_free(w->buf);
        w->buf = NULL;
        errno = rc;
        return -1;
    }
    rc = pthread_create(&w->thread, NULL, fsync_thread, w);
    if (rc != 0) {
        aof_writer_destroy(w); /* no thread to stop: frees the rest */
        errno = rc;
        return -1;
    }
    w->thread_started = 1;
    return 0;
}

/* Wait until the thread is not fsyncing (so its fd may be replaced). */
static void wait_bg_idle(aof_writer *w)
{
    while (w->bg_busy)
        pthread_cond_wait(&w->cv, &w->mu);
}

void aof_writer_destroy(aof_writer *w)
{
    if (w->thread_started) {
        pthread_mutex_lock(&w->mu);
        w->bg_stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->thread_started = 0;
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    dstr_free(w->buf);
    w->buf = NULL;
}

static int write_buffer(aof_writer *w);

/* Entries wait in the buffer for the commit at the end of the loop
 * iteration; past this much, a burst of large ones is written out early,
 * so the buffer (a dstr: 32-bit lengths) stays below what it can hold:
 * this plus one entry (at most ENTRY_MAX_PAYLOAD).  Writing early only
 * makes entries durable sooner; replies still wait for the commit. */
#define AOF_BUF_EARLY_WRITE (1u << 30)

void aof_writer_append(aof_writer *w, const cairn_entry *e)
{
    /* A failure is reported (and retried) by the next commit. */
    if (dstr_len(w->buf) >= AOF_BUF_EARLY_WRITE && w->fd >= 0) write_buffer(w);
    size_t before = dstr_len(w->buf);
    w->buf = entry_encode(w->buf, e);
    w->appended += dstr_len(w->buf) - before;
}

/* Drop the first n bytes of the buffer (they are in the file now). */
static void buf_consume(aof_writer *w, size_t n)
{
    size_t left = dstr_len(w->buf) - n;
    if (left) memmove(w->buf, w->buf + n, left);
    dstr_set_len(w->buf, left);
    /* A burst may have grown the buffer a lot: give it back. */
    if (left == 0 && dstr_cap(w->buf) > (4u << 20)) {
        dstr_free(w->buf);
        w->buf = dstr_with_cap(64 * 1024);
    }
}

static void bg_update(aof_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->bg_fd = w->fd;
    w->bg_target = w->written;
    if (w->bg_synced < w->synced) w->bg_synced = w->synced;
    if (w->policy == AOF_FSYNC_EVERYSEC) pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Write the buffer.  A failed write may have left part of an entry in
 * the file: cut it off again so the file stays a sequence of whole
 * entries; if even that fails, keep what was written (the rest of the
 * buffer will complete it on the next try). */
static int write_buffer(aof_writer *w)
{
    size_t len = dstr_len(w->buf), done = 0;
    if (len == 0) return 0;
    if (write_all(w->fd, w->buf, len, &done) == 0) {
        buf_consume(w, len);
        w->file_size += (off_t)len;
        w->written += len;
        return 0;
    }
    int saved = errno;
    if (done > 0 && ftruncate(w->fd, w->file_size) != 0) {
        buf_consume(w, done);
        w->file_size += (off_t)done;
        w->written += done;
    }
    errno = saved;
    return -1;
}

int aof_writer_commit(aof_writer *w)
{
    if (w->fd < 0) return 0;
    w->write_us = w->fsync_us = -1;
    int64_t t = w->timed && dstr_len(w->buf) ? clock_mono_us() : 0;
    if (write_buffer(w) != 0) {
        w->write_errno = errno;
        w->fsync_failed = 0;
        return -1;
    }
    if (t) w->write_us = clock_mono_us() - t;
    if (w->policy == AOF_FSYNC_ALWAYS && w->synced < w->written) {
        t = w->timed ? clock_mono_us() : 0;
        int rc = sync_counted(w, w->fd);
        if (t) w->fsync_us = clock_mono_us() - t;
        if (rc != 0) {
            w->write_errno = errno;
            w->fsync_failed = 1;
            return -1;
        }
        w->synced = w->written;
    }
    if (w->policy == AOF_FSYNC_EVERYSEC) {
        pthread_mutex_lock(&w->mu);
        int bg_err = w->bg_errno;
        if (w->bg_synced > w->synced) w->synced = w->bg_synced;
        pthread_mutex_unlock(&w->mu);
        if (bg_err) {
            w->write_errno = bg_err;
            w->fsync_failed = 1;
            bg_update(w);
            return -1;
        }
        bg_update(w);
    }
    w->write_errno = 0;
    w->fsync_failed = 0;
    return 0;
}

int aof_writer_sync_now(aof_writer *w)
{
    if (w->fd < 0) return 0;
    if (write_buffer(w) != 0) {
        w->write_errno = errno;
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    if (w->bg_synced > w->synced) w->synced = w->bg_synced;
    pthread_mutex_unlock(&w->mu);
    if (w->synced < w->written && sync_counted(w, w->fd) != 0) {
        w->write_errno = errno;
        w->fsync_failed = 1;
        return -1;
    }
    w->synced = w->written;
    bg_update(w);
    return 0;
}

void aof_writer_switch(aof_writer *w, int fd, off_t size)
{
    pthread_mutex_lock(&w->mu);
    wait_bg_idle(w);
    int old = w->fd;
    w->fd = fd;
    w->bg_fd = fd;
    w->file_size = size;
    pthread_mutex_unlock(&w->mu);
    if (old >= 0) close(old);
}

void aof_writer_set_policy(aof_writer *w, int policy)
{
    pthread_mutex_lock(&w->mu);
    w->policy = policy;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int aof_writer_restart(aof_writer *w)
{
    pthread_mutex_lock(&w->mu);
    wait_bg_idle(w);
    int rc = w->fd >= 0 ? ftruncate(w->fd, 0) : 0;
    if (rc == 0) {
        dstr_set_len(w->buf, 0);
        w->file_size = 0;
        w->written = w->synced = w->appended;
        w->bg_target = w->bg_synced = w->appended;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t aof_writer_durable(aof_writer *w)
{
    return w->policy == AOF_FSYNC_ALWAYS ? w->synced : w->written;
}

int aof_writer_fsync_busy(aof_writer *w)
{
    pthread_mutex_lock(&w->mu);
    int busy = w->bg_busy;
    pthread_mutex_unlock(&w->mu);
    return busy;
}

/* ---------------------------------------------------------------------- */
/* Reader                                                                  */
/* ---------------------------------------------------------------------- */

#define READER_CHUNK (1u << 20)

void aof_reader_init(aof_reader *r, int fd)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    off_t size = fd_size(fd);
    r->size = size > 0 ? (uint64_t)size : 0;
    r->buf = dstr_with_cap(READER_CHUNK);
}

void aof_reader_free(aof_reader *r)
{
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    dstr_free(r->buf);
    r->buf = NULL;
}

/* Read at least `more` bytes beyond what is buffered (fewer at the end
 * of the file).  Returns -1 on a read error. */
static int reader_fill(aof_reader *r, size_t more)
{
    if (r->pos > 0) {
        size_t left = dstr_len(r->buf) - r->pos;
        memmove(r->buf, r->buf + r->pos, left);
        dstr_set_len(r->buf, left);
        r->pos = 0;
    }
    size_t want = more > READER_CHUNK ? more : READER_CHUNK;
    if (dstr_cap(r->buf) - dstr_len(r->buf) < want) r->buf = dstr_reserve(r->buf, want);
    ssize_t n = read_full(r->fd, r->buf + dstr_len(r->buf), want);
    if (n < 0) return -1;
    if (n == 0) r->eof = 1;
    dstr_set_len(r->buf, dstr_len(r->buf) + (size_t)n);
    return 0;
}

/* Is everything from the current position to the end of the file zero?
 * A crash can leave a file longer than what was written into it (the
 * size reached the disk, the data did not): such a tail is a torn write,
 * not corruption. */
static int rest_is_zero(aof_reader *r)
{
    for (;;) {
        for (size_t i = r->pos; i < dstr_len(r->buf); i++)
            if (r->buf[i] != 0) return 0;
        r->pos = dstr_len(r->buf);
        if (r->eof) return 1;
        if (reader_fill(r, READER_CHUNK) != 0) return 0;
    }
}

int aof_reader_next(aof_reader *r, entry_view *v, const char **why)
{
    for (;;) {
        size_t have = dstr_len(r->buf) - r->pos;
        int rc = have ? entry_decode(r->buf + r->pos, have, v, why) : ENTRY_INCOMPLETE;
        if (rc == ENTRY_OK) {
            r->pos += v->size;
            r->off += v->size;
            return AOF_READ_OK;
        }
        if (rc == ENTRY_CORRUPT) {
            size_t keep = r->pos;
            if (r->buf[r->pos] == 0 && rest_is_zero(r)) {
                r->pos = keep;
                return AOF_READ_TRUNCATED;
            }
            return AOF_READ_CORRUPT;
        }
        if (r->eof) return have ? AOF_READ_TRUNCATED : AOF_READ_END;
        /* Incomplete: read enough for the whole entry if the header says
         * how long it is. */
        size_t need = ENTRY_HEADER_LEN;
        if (have >= ENTRY_HEADER_LEN) {
            const unsigned char *h = (const unsigned char *)r->buf + r->pos;
            uint32_t payload =
                (uint32_t)h[2] | (uint32_t)h[3] << 8 | (uint32_t)h[4] << 16 | (uint32_t)h[5] << 24;
            need = ENTRY_HEADER_LEN + (size_t)payload - have;
        }
        if (reader_fill(r, need) != 0) return AOF_READ_IOERR;
    }
}
