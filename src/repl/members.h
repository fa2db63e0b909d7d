/* members.h -- where a group's members are: the node's address book.
 *
 * The Raft core knows members by id only (raft_conf).  A node learns
 * where they listen from raft-peers and from the group itself: adding a
 * node (RAFT ADD-NODE) puts its address in the log as an entry of its own,
 * which every node applies as it commits, and a snapshot starts with the
 * whole book, so a node that restarts or catches up from a snapshot knows
 * every address the compacted log carried.
 *
 * An address entry is a Raft entry of the normal type whose data starts
 * with MEMBERS_TAG (a batch of commands starts with the entry codec's
 * magic, 0xCA):
 *   0   1   MEMBERS_TAG       1   8   id       9   4   port
 *   13  1   host length       14  n   host
 * The book at the start of a snapshot's data:
 *   0   4   "CNAB"            4   4   count, then each address as above
 *                                     without the tag */
#ifndef CAIRN_REPL_MEMBERS_H
#define CAIRN_REPL_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "../ds/dstr.h"
#include "node.h"

#define MEMBERS_TAG      0xCE
#define MEMBERS_BOOK_MAX (8 + RAFT_MAX_PEERS * (13 + 64))

/* Record id's address in cfg (replacing a previous one).  A full book
 * drops an id that is not in conf.  Returns 0, or -1 if there is no room. */
int members_set(repl_node_config *cfg, const raft_conf *conf, const repl_peer *p);

dstr members_encode_entry(dstr out, const repl_peer *p);
/* Is this entry's data an address?  Then decode it (-1: malformed). */
int members_is_entry(const uint8_t *data, size_t len);
int members_decode_entry(const uint8_t *data, size_t len, repl_peer *out);

dstr members_encode_book(dstr out, const repl_node_config *cfg);
/* Merge the book at the start of data into cfg; *used gets its length.
 * Returns 0, or -1 if it is malformed. */
int members_decode_book(const uint8_t *data, size_t len, repl_node_config *cfg,
                        const raft_conf *conf, size_t *used);

/* Is host an IPv4 or IPv6 address, or a host name (letters, digits, '-',
 * '.', '_'; resolved by the links, src/net/resolve.h)? */
int members_host_ok(const char *host);
/* Parse "host:port" into p (id untouched).  Returns 0 or -1. */
int members_parse_addr(const char *s, size_t len, repl_peer *p);

#endif
