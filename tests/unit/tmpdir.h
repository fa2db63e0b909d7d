/* tmpdir.h -- a flat temporary directory for a unit test: made under
 * /tmp, removed with the files in it. */
#ifndef CAIRN_TEST_TMPDIR_H
#define CAIRN_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ds/dstr.h"
#include "log/fileio.h"

/* dir (size bytes) becomes /tmp/cairn-unit-NAME-XXXXXX, or "" on failure. */
static inline void tmpdir_make(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/cairn-unit-%s-XXXXXX", name);
    if (!mkdtemp(dir)) dir[0] = '\0';
}

static inline void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        dstr p = path_join(dir, de->d_name);
        unlink(p);
        dstr_free(p);
    }
    closedir(d);
    rmdir(dir);
}

#endif
