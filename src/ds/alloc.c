/* alloc.c -- checked allocation; see alloc.h for the policy. */
#include "alloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CAIRN_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static void oom(size_t size)
{
    fprintf(stderr, "cairn: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *cm_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    return p;
}

void *cm_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *cm_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) oom(size);
    return p;
}

void *cm_memdup(const void *src, size_t len)
{
    void *p = cm_malloc(len);
    memcpy(p, src, len);
    return p;
}

char *cm_strdup(const char *s) { return cm_memdup(s, strlen(s) + 1); }

void cm_free(void *ptr) { free(ptr); }

size_t cm_usable_size(void *ptr) { return ptr ? malloc_usable_size(ptr) : 0; }

#ifdef CAIRN_JEMALLOC
size_t cm_used_memory(void)
{
    /* jemalloc caches its statistics; bumping the epoch refreshes them. */
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch), allocated = 0;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0) return 0;
    return allocated;
}

const char *cm_allocator_name(void)
{
    const char *v = NULL;
    size_t sz = sizeof(v);
    if (mallctl("version", &v, &sz, NULL, 0) != 0 || !v) return "jemalloc";
    static __thread char name[64]; /* per-thread scratch, not shared state */
    snprintf(name, sizeof(name), "jemalloc-%.*s", (int)strcspn(v, "-"), v);
    return name;
}
#else
size_t cm_used_memory(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

const char *cm_allocator_name(void) { return "libc"; }
#endif
