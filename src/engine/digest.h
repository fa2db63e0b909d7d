/* digest.h -- DEBUG DIGEST and DEBUG DIGEST-VALUE: SHA-1 based signatures
 * of the dataset and of single values, as Redis computes them, equal on
 * two nodes that hold equal data whatever the order it was written in
 * and whatever the encodings (replication checks compare nodes with it).
 *
 * Each key's signature mixes its name, its type, its value (in order for
 * lists, order-free for sets, hashes and sorted sets) and whether it has
 * an expiry; the dataset's XORs those of its keys (so key order does not
 * matter) after mixing in each non-empty db's number.  An empty dataset
 * is all zeros. */
#ifndef CAIRN_DIGEST_H
#define CAIRN_DIGEST_H

#include "engine.h"

#define DIGEST_LEN 20

void digest_dataset(cairn_engine *e, unsigned char out[DIGEST_LEN]);
/* The signature of o's value (zeros for NULL: a missing key). */
void digest_value(cobj *o, unsigned char out[DIGEST_LEN]);
/* 40 lower-case hex digits and a NUL. */
void digest_hex(const unsigned char d[DIGEST_LEN], char out[2 * DIGEST_LEN + 1]);

#endif
