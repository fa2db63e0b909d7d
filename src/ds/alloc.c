/* alloc.c -- checked allocation; see alloc.h for the policy. */
#include "alloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CAIRN_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Built with AddressSanitizer (gcc defines the macro, clang has the
 * feature test)? */
#if defined(__SANITIZE_ADDRESS__)
#define CM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CM_ASAN 1
#endif
#endif
#ifndef CM_ASAN
#define CM_ASAN 0
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
    /* Blocks freed into this thread's cache still count as allocated
     * until the cache is flushed: flush it, so that the figure agrees
     * with the per-thread counters of cm_thread_net_allocated(). */
    mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    /* jemalloc caches its statistics; bumping the epoch refreshes them. */
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch), allocated = 0;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0) return 0;
    return allocated;
}

/* jemalloc hands out the addresses of the calling thread's counters; they
 * are looked up once per thread (per-thread, so no shared state). */
static _Thread_local const uint64_t *thread_allocated, *thread_deallocated;

int64_t cm_thread_net_allocated(const void **thread)
{
    if (!thread_allocated) {
        uint64_t *a = NULL, *d = NULL;
        size_t sz = sizeof(a);
        if (mallctl("thread.allocatedp", &a, &sz, NULL, 0) != 0 ||
            mallctl("thread.deallocatedp", &d, &sz, NULL, 0) != 0 || !a || !d) {
            *thread = NULL;
            return (int64_t)cm_used_memory();
        }
        thread_allocated = a;
        thread_deallocated = d;
    }
    *thread = thread_allocated;
    return (int64_t)(*thread_allocated - *thread_deallocated);
}

static void stats_write(void *priv, const char *s)
{
    cm_stats_sink *sink = priv;
    sink->write(sink->priv, s);
}

int cm_malloc_stats(cm_stats_sink *sink)
{
    malloc_stats_print(stats_write, sink, NULL);
    return 1;
}

int cm_purge(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "arena.%d.purge", MALLCTL_ARENAS_ALL);
    return mallctl(cmd, NULL, NULL, NULL, 0) == 0;
}

int cm_allocator_stats(cm_allocator_figures *f)
{
    f->allocated = cm_used_memory(); /* refreshes the statistics epoch */
    f->active = f->resident = f->allocated;
    size_t active = 0, resident = 0, sz = sizeof(size_t);
    if (mallctl("stats.active", &active, &sz, NULL, 0) != 0 ||
        mallctl("stats.resident", &resident, &sz, NULL, 0) != 0)
        return 0;
    f->active = active;
    f->resident = resident;
    return 1;
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
#elif CM_ASAN
/* AddressSanitizer replaces malloc, so glibc's mallinfo2() sees none of
 * the heap: ask the sanitizer's allocator (declared here, as its header
 * is not installed for every compiler). */
size_t __sanitizer_get_current_allocated_bytes(void);

size_t cm_used_memory(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
size_t cm_used_memory(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

#ifndef CAIRN_JEMALLOC
int64_t cm_thread_net_allocated(const void **thread)
{
    *thread = NULL;
    return (int64_t)cm_used_memory();
}

const char *cm_allocator_name(void) { return "libc"; }

int cm_allocator_stats(cm_allocator_figures *f)
{
    f->allocated = f->active = f->resident = cm_used_memory();
    return 0;
}
#endif

#ifndef CAIRN_JEMALLOC
int cm_malloc_stats(cm_stats_sink *sink)
{
    (void)sink;
    return 0;
}

int cm_purge(void) { return 0; }
#endif
