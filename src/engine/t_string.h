/* t_string.h -- what other families that edit strings in place (the bit
 * commands, HyperLogLog) share with t_string.c. */
#ifndef CAIRN_T_STRING_H
#define CAIRN_T_STRING_H

#include <stdint.h>

#include "engine.h"

/* Would a string of size + append bytes exceed proto-max-bulk-len (not
 * for an entry applied from the log) or what a dstr can hold? */
int string_exceeds_limit(const cmd_call *c, uint64_t size, uint64_t append);

/* Make the string o at key growable before editing it in place: an INT or
 * EMBSTR value is replaced by a RAW copy of its bytes (an INT by its
 * decimal text), keeping the key's TTL.  Returns the object now stored at
 * key. */
cobj *string_make_raw(cmd_call *c, const cslice *key, cobj *o);

#endif
