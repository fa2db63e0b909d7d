/* reply_tree.h -- decoding the engine's RESP output into cairn_reply trees
 * for the embedding API (private to src/lib). */
#ifndef CAIRN_LIB_REPLY_TREE_H
#define CAIRN_LIB_REPLY_TREE_H

#include <locale.h>
#include <stddef.h>

#include "cairn.h"

/* Decode one complete RESP2/RESP3 reply starting at buf[*pos], advancing
 * *pos past it.  Doubles are parsed with loc (a "C" LC_NUMERIC locale, so
 * the application's locale cannot change how "3.5" reads).  Returns
 * CAIRN_OK with the tree in *out, or CAIRN_INTERNAL if the bytes are not
 * valid RESP (the engine emitted something broken). */
int rtree_decode(const char *buf, size_t len, size_t *pos, locale_t loc, cairn_reply **out);

/* A reply node with room for a string of len bytes (plus a NUL) inline,
 * and an empty aggregate of n elements (element[] zeroed) when n > 0. */
cairn_reply *rtree_node(int type, const char *str, size_t len, size_t n);

#endif
