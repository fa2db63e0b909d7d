/* splitargs.h -- Redis's argument splitting (sdssplitargs), shared by the
 * inline request parser and the configuration file.
 *
 * "double quotes" take the escapes \n \r \t \b \a \xHH and \<any>;
 * 'single quotes' take \' only; a closing quote must be followed by a blank
 * or the end.  Blanks (space, \t, \r, \n, \v, \f) separate arguments, but
 * only space, \t, \r and \n end an unquoted one, as in Redis. */
#ifndef CAIRN_SPLITARGS_H
#define CAIRN_SPLITARGS_H

#include <stddef.h>

/* Find the next argument of s[*pos .. end) and unquote it in place (the
 * result is never longer than its source).  Returns 1 with the argument at
 * s[*off .. *off + *len) and *pos past it, 0 when only blanks are left, or
 * -1 on unbalanced quotes. */
int split_next_arg(char *s, size_t *pos, size_t end, size_t *off, size_t *len);

#endif
