/* rdb.h -- Redis's RDB serialization of values (rdb.c), the format of
 * DUMP/RESTORE payloads and of dump.rdb files.
 *
 * Values are written as Redis 7.0 writes them (RDB version 10): strings
 * (integers encoded as integers, long strings LZF-compressed), lists as
 * quicklists of listpacks, listpack and hashtable hashes, intset and
 * plain sets, listpack and skiplist sorted sets, and streams with their
 * consumer groups (rdb_stream.c).  Reading also accepts what RDB versions
 * 6 to 9 wrote: ziplists, zipmaps, plain lists, sorted sets with text
 * scores, and streams without 7.0's counters.
 *
 * Everything here works on bytes in memory: no I/O, no clock.  A reader
 * never trusts its input: every length is checked against the bytes left,
 * every blob (listpack, ziplist, intset, zipmap) is validated before it is
 * read, and a value that is not sound (repeated members, unordered or NaN
 * scores, empty collections) is refused with a reason, never a crash. */
#ifndef CAIRN_RDB_H
#define CAIRN_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/stream.h"
#include "../engine/engine.h"

#define RDB_VERSION 10

/* Value types. */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* Opcodes of a file, where a value type may stand. */
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* CRC-64/Jones as Redis computes it (reflected, initial value crc). */
uint64_t rdb_crc64(uint64_t crc, const void *p, size_t len);

/* ---- Writing ---------------------------------------------------------- */

/* Append a length in RDB's variable-size encoding. */
dstr rdb_write_len(dstr out, uint64_t len);
/* Append a string: as an integer when it reads as one of at most 32 bits,
 * LZF-compressed when compress is set and that saves room, else raw. */
dstr rdb_write_string(dstr out, const char *p, size_t len, int compress);
/* Append a Cairn listpack as Redis's: a string of its bytes with the
 * header rewritten (6 bytes). */
dstr rdb_write_listpack(dstr out, const unsigned char *lp, int compress);
/* Append the RDB type of o and its value. */
dstr rdb_write_object(dstr out, const cobj *o, int compress);
/* Append a stream's value (rdb_stream.c), RDB_TYPE_STREAM_LISTPACKS_2. */
dstr rdb_write_stream(dstr out, const stream *s, int compress);

/* A DUMP payload: o's type and value, the RDB version (2 bytes) and the
 * CRC64 of everything before it (8 bytes), both little-endian. */
dstr rdb_dump_payload(const cobj *o, int compress);
/* Is p a payload this version can read: long enough, an RDB version not
 * newer than ours, and a checksum that matches?  1 if so. */
int rdb_payload_ok(const char *p, size_t len);

/* ---- Reading ---------------------------------------------------------- */

typedef struct rdb_reader {
    const unsigned char *p, *end;
    const char *err; /* why the last read failed */
} rdb_reader;

int rdb_read_u8(rdb_reader *r, unsigned *v);
/* Read n bytes; *out points into the input. */
int rdb_read_bytes(rdb_reader *r, size_t n, const unsigned char **out);
/* A length; *encoded is set (when not NULL) for the special encodings of
 * strings, with *len then being which (RDB_ENC_*). */
int rdb_read_len(rdb_reader *r, uint64_t *len, int *encoded);
/* A string in any of its encodings.  The bytes point into the input, or
 * into *scratch (a dstr the caller owns and frees, NULL at first) for
 * integers and compressed strings; valid until *scratch is used again. */
int rdb_read_string(rdb_reader *r, cslice *out, dstr *scratch);
/* Skip a string without decoding it. */
int rdb_skip_string(rdb_reader *r);
/* A plain length that must also fit the bytes left (a collection's
 * count can never exceed them). */
int rdb_read_count(rdb_reader *r, uint64_t *n);
/* A Redis listpack blob as a Cairn listpack (the caller frees it with
 * lp_free()), its entries validated; NULL with r->err set if malformed. */
unsigned char *rdb_listpack_from(rdb_reader *r, cslice blob);

/* Is t a value type this reader knows? */
int rdb_is_object_type(int t);
/* Read a value of type t and build it the way Cairn would hold it under
 * c's engine configuration (the encoding a value built by commands would
 * have).  c supplies the engine and a deterministic PRNG (skiplist
 * levels).  Returns NULL with r->err set when the value is not sound. */
cobj *rdb_read_object(rdb_reader *r, cmd_call *c, int t);
/* A stream value (rdb_stream.c): RDB_TYPE_STREAM_LISTPACKS_2 when v2 is
 * set, else RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6). */
cobj *rdb_read_stream(rdb_reader *r, int v2);

#endif
