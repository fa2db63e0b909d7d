/* config_file.c -- the configuration file: read at start-up and applied
 * through the engine's config tables, and rewritten by CONFIG REWRITE
 * with the text config_rewrite_text() makes of it.  The engine does no
 * I/O, so both happen here. */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../log/fileio.h"
#include "server.h"

/* The largest configuration file CONFIG REWRITE reads. */
#define CONFIG_FILE_MAX (16 * 1024 * 1024)

int server_read_file(const char *path, dstr *out)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    dstr text = dstr_new("", 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        text = dstr_cat(text, chunk, n);
    int failed = ferror(fp);
    int saved_errno = errno;
    if (fclose(fp) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    if (failed) {
        dstr_free(text);
        errno = saved_errno;
        return -1;
    }
    *out = text;
    return 0;
}

/* Read a redis.conf-style file and apply it through the engine's config
 * table (the engine does no I/O, so the file is read here). */
int server_load_config_file(cairn_engine *e, const char *path, dstr *err)
{
    dstr text;
    if (server_read_file(path, &text) != 0) {
        *err = dstr_catfmt(dstr_new("", 0), "Fatal error, can't open config file '%s': %s", path,
                           strerror(errno));
        return -1;
    }
    int rc = config_load_string(e, text, dstr_len(text), err);
    dstr_free(text);
    return rc;
}

/* The deepest nesting of `include` (Redis has no limit, and recurses
 * until it runs out of stack on a file that includes itself). */
#define INCLUDE_DEPTH_MAX 16

static int include_one(cairn_server *srv, const char *path, dstr *err)
{
    if (srv->include_depth >= INCLUDE_DEPTH_MAX) {
        *err = dstr_catfmt(dstr_new("", 0),
                           "Fatal error, can't include config file '%s': "
                           "includes nested more than %d deep",
                           path, INCLUDE_DEPTH_MAX);
        return -1;
    }
    srv->include_depth++;
    int rc = server_load_config_file(srv->engine, path, err);
    srv->include_depth--;
    return rc;
}

/* `include path`, as Redis's loadServerConfig: a pattern with wildcards
 * includes every file it matches (none is fine: an empty conf.d), a plain
 * path must exist. */
int server_config_include(void *priv, const char *path, dstr *err)
{
    cairn_server *srv = priv;
    if (!strpbrk(path, "*?[")) return include_one(srv, path, err);
    glob_t g;
    int rc = glob(path, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) {
        *err = dstr_catfmt(dstr_new("", 0), "Fatal error, can't expand config file pattern '%s'",
                           path);
        return -1;
    }
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
        rc = include_one(srv, g.gl_pathv[i], err);
    globfree(&g);
    return rc;
}

/* Write text over path atomically, as Redis's rewriteConfigOverwriteFile:
 * a temporary file beside it, fsync, the old file's mode, rename, fsync of
 * the directory.  Returns 0, or -1 with errno set. */
int server_overwrite_file(const char *path, const char *text, size_t len)
{
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    dstr tmp = dstr_catfmt(dstr_new("", 0), "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        dstr_free(tmp);
        return -1;
    }
    int rc =
        write_all(fd, text, len, NULL) == 0 && fsync(fd) == 0 && fchmod(fd, mode) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
    } else {
        /* dirname() may modify its argument: give it the spare copy. */
        if (sync_dir(dirname(tmp)) != 0) {
            rc = -1;
            saved = errno;
        }
    }
    dstr_free(tmp);
    errno = saved;
    return rc;
}

const char *server_config_rewrite(void *priv)
{
    cairn_server *srv = priv;
    if (!srv->config_file) return "The server is running without a config file";
    dstr old = NULL;
    if (read_small_file(srv->config_file, CONFIG_FILE_MAX, &old) != 0) {
        /* A file removed since start-up is written anew, as Redis does. */
        if (errno != ENOENT) goto failed;
        old = dstr_new("", 0);
    }
    dstr text = config_rewrite_text(srv->engine, old, dstr_len(old));
    int rc = server_overwrite_file(srv->config_file, text, dstr_len(text));
    dstr_free(old);
    dstr_free(text);
    if (rc != 0) goto failed;
    server_log(srv, LL_NOTICE, "CONFIG REWRITE executed with success.");
    return NULL;

failed:
    snprintf(srv->config_error, sizeof(srv->config_error), "Rewriting config file: %s",
             strerror(errno));
    server_log(srv, LL_WARNING, "CONFIG REWRITE failed: %s", strerror(errno));
    return srv->config_error;
}
