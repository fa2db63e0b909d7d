/* entry.h -- the command-log entry codec (DESIGN rule 4).
 *
 * One format for the append-only file, the Raft log and replication:
 *
 *   offset  size  field
 *   0       1     magic 0xCA
 *   1       1     format version (1)
 *   2       4     payload length, little endian
 *   6       4     CRC-32C of the payload, little endian
 *   10      n     payload:
 *                   varint db
 *                   8 bytes now_ms (little endian, two's complement)
 *                   8 bytes seed (little endian)
 *                   varint argc, then argc times: varint length, bytes
 *
 * Entries are self-delimiting (a reader knows where each ends before
 * parsing it), versioned, and checksummed so a torn or corrupted write is
 * detected rather than replayed. */
#ifndef CAIRN_ENTRY_H
#define CAIRN_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/dstr.h"
#include "../engine/engine.h"

#define ENTRY_MAGIC      0xCA
#define ENTRY_VERSION    1
#define ENTRY_HEADER_LEN 10
/* An entry larger than this is treated as corruption, not allocated.  A
 * command that fits client-query-buffer-limit (at most
 * CONFIG_MAX_QUERY_LEN, config.h) encodes to less. */
#define ENTRY_MAX_PAYLOAD ((2u << 30) + (1u << 20))

enum {
    ENTRY_OK = 0,
    ENTRY_INCOMPLETE = 1, /* more bytes needed: a truncated tail */
    ENTRY_CORRUPT = -1,   /* bad magic, version, length or checksum */
};

/* Append the encoding of e to out (which may move). */
dstr entry_encode(dstr out, const cairn_entry *e);

/* A decoded entry: argv points into the buffer that was decoded. */
typedef struct entry_view {
    cairn_entry e;
    cslice *argv; /* owned: free with entry_view_free */
    size_t size;  /* bytes the entry occupies in the buffer */
} entry_view;

/* Decode one entry at buf[0..len).  On ENTRY_OK fills v (free it with
 * entry_view_free); on ENTRY_CORRUPT sets *why to a static message. */
int entry_decode(const char *buf, size_t len, entry_view *v, const char **why);
void entry_view_free(entry_view *v);

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
