/* t_list.h -- what other command families (SORT) need from the list type.
 *
 * A list is one listpack while it fits one quicklist node of
 * list-max-listpack-size, and a quicklist (a chain of listpack nodes)
 * beyond that, as in Redis 7.2; see t_list.c. */
#ifndef CAIRN_T_LIST_H
#define CAIRN_T_LIST_H

#include <stddef.h>

#include "engine.h"
#include "object.h"

/* Call cb with the bytes of each element of the list o, head to tail,
 * until it returns 0.  The bytes are valid during the call only; the list
 * must not change meanwhile. */
void list_foreach(cobj *o, int (*cb)(void *priv, const char *p, size_t len), void *priv);

/* A new list object holding the n items in order, in the encoding a list
 * pushed with them would have (SORT ... STORE). */
cobj *list_obj_from(cmd_call *c, const cslice *items, long n);

#endif
