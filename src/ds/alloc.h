/* alloc.h -- checked allocation for every Cairn module.
 *
 * Every allocation in Cairn goes through these wrappers so that an
 * allocation failure is never ignored: on Linux with overcommit a failed
 * malloc means the process is already out of memory, and continuing would
 * corrupt the dataset, so the wrappers print a message and abort() -- the
 * same policy as Redis's zmalloc.  Memory use is bounded by `maxmemory`,
 * not by recovering from NULL.  Accounting (INFO used_memory) is read from
 * the allocator itself (jemalloc's stats) rather than kept in a global
 * counter, so this module holds no state. */
#ifndef CAIRN_ALLOC_H
#define CAIRN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *cm_malloc(size_t size);
void *cm_calloc(size_t n, size_t size);
void *cm_realloc(void *ptr, size_t size);
char *cm_strdup(const char *s);
void *cm_memdup(const void *p, size_t len);
void cm_free(void *ptr);
/* Bytes actually reserved for ptr (>= the size asked for). */
size_t cm_usable_size(void *ptr);
/* Bytes currently allocated by the whole process, as the allocator reports.
 * With jemalloc this merges every arena's statistics: about 20 us. */
size_t cm_used_memory(void);
/* Bytes the calling thread has allocated minus those it has freed, from
 * the allocator's per-thread counters: two loads, cheap enough to read
 * per command.  *thread identifies those counters; only the difference of
 * two readings with the same *thread means anything.  Without per-thread
 * counters, *thread is NULL and the result is cm_used_memory(). */
int64_t cm_thread_net_allocated(const void **thread);
/* The allocator's own statistics as text, written in pieces (MEMORY
 * MALLOC-STATS).  Returns 0 when the allocator has none. */
typedef struct cm_stats_sink {
    void (*write)(void *priv, const char *s);
    void *priv;
} cm_stats_sink;
int cm_malloc_stats(cm_stats_sink *sink);
/* Give the allocator's dirty pages back to the OS (MEMORY PURGE); returns
 * 0 when the allocator cannot. */
int cm_purge(void);
/* The allocator's view of the process (INFO allocator_*, MEMORY STATS):
 * bytes handed out, bytes in the pages that hold them (active) and bytes
 * resident in the allocator's mappings.  Returns 0 when the allocator does
 * not report them; then active and resident equal allocated. */
typedef struct cm_allocator_figures {
    size_t allocated, active, resident;
} cm_allocator_figures;
int cm_allocator_stats(cm_allocator_figures *f);
/* Name of the allocator underneath ("jemalloc-5.3.0" or "libc"). */
const char *cm_allocator_name(void);

#endif
