/* acl.h -- users, their permissions, and the checks at dispatch (Redis
 * 7.0's ACL).
 *
 * A user has passwords (kept as SHA-256 hex digests) and one or more
 * selectors: the root selector and those given in parentheses.  A
 * selector allows a set of commands (a bitmap over the ids acl.c gives
 * every command and subcommand of the table), key patterns with read
 * and/or write permission, and channel patterns.  A call is allowed when
 * any selector allows all of it.  Sessions point at their user and hold a
 * reference, so a deleted user lives until its last session goes.
 *
 * The users are configuration, not data: nothing here is logged. */
#ifndef CAIRN_ACL_H
#define CAIRN_ACL_H

#include <stdint.h>

#include "../ds/dstr.h"
#include "engine.h"

typedef struct acl_state acl_state;
typedef struct acl_user acl_user;

enum {
    USER_ON = 1 << 0,
    USER_NOPASS = 1 << 1,
    USER_SANITIZE = 1 << 2,      /* sanitize-payload */
    USER_SKIP_SANITIZE = 1 << 3, /* skip-sanitize-payload */
    /* Every command, key and channel, no selector to consult: the check
     * at dispatch is skipped (the fast path). */
    USER_ALLPERM = 1 << 4,
    USER_DELETED = 1 << 5, /* removed from the table; freed with its last session */
};

struct acl_user {
    dstr name;
    int flags;
    dstr *passwords; /* 64 hex digits each */
    int npasswords;
    struct acl_selector *sels; /* sels[0] is the root selector */
    int nsels;
    long refs; /* sessions pointing here */
};

/* Why a call was refused, ordered as Redis orders them when several
 * selectors refuse for different reasons (the highest wins). */
enum { ACL_OK = 0, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_AUTH, ACL_DENIED_CHANNEL };
/* Where: ACL LOG's context field. */
enum { ACL_CTX_TOPLEVEL = 0, ACL_CTX_MULTI, ACL_CTX_LUA };

/* Create the users table with the default user (on, nopass, everything
 * allowed), and free it. */
void acl_init(cairn_engine *e);
void acl_free(cairn_engine *e);

/* A new session is the default user, authenticated when that user needs
 * no password; the session holds a reference until acl_session_gone(). */
void acl_session_init(cairn_engine *e, cairn_session *s);
void acl_session_gone(cairn_engine *e, cairn_session *s);

/* Does the session skip the check at dispatch?  Cheap on purpose: it is
 * made for every command. */
static inline int acl_session_fast(const cairn_session *s)
{
    return (s->flags & SESS_AUTHED) && (s->user->flags & USER_ALLPERM);
}

/* The check at dispatch for a session that is not on the fast path: the
 * NOAUTH error for an unauthenticated session, then the permissions of
 * its user.  Replies with Redis's error, logs to ACL LOG, and returns 1
 * when cmd may not run. */
int acl_refuse_call(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                    const cslice *argv, int64_t now_ms, rbuf *out);

/* The check for a command a script runs (redis.call), as caller's user.
 * Returns NULL, or the error message Redis gives a script (without
 * "ERR "); the refusal is in ACL LOG. */
const char *acl_script_refusal(cmd_call *caller, const cmd_def *cmd, int argc, const cslice *argv);

/* Whether caller's user may run cmd with these arguments (redis.acl_check_cmd):
 * the same check, nothing logged. */
int acl_script_permits(cmd_call *caller, const cmd_def *cmd, int argc, const cslice *argv);

/* Authenticate s as user with password: 1 on success (the session is
 * then that user's), 0 on failure (logged to ACL LOG as "auth"). */
int acl_authenticate(cmd_call *c, const cslice *user, const cslice *password);

/* Is authentication required before s may run commands (no password
 * given yet, and the default user needs one)? */
int acl_auth_required(cairn_engine *e, const cairn_session *s);

/* The user of that name, or NULL (CLIENT KILL USER). */
struct acl_user *acl_find_user_slice(cairn_engine *e, const cslice *name);

/* Does the default user need a password (on, not nopass)?  Protected
 * mode serves non-local clients only then. */
int acl_default_user_protected(cairn_engine *e);

/* requirepass changed: the default user's passwords become that one
 * (none: nopass), as Redis's ACLUpdateDefaultUserPassword. */
void acl_update_default_password(cairn_engine *e, const char *password, size_t len);

/* A `user name rule...` line of the configuration file: checked now,
 * applied by acl_apply_config_users() once the whole file is read.
 * Returns NULL or the error. */
const char *acl_config_user(cairn_engine *e, dstr *argv, int argc, char *err, size_t errlen);
/* Create the users of the configuration file's `user` lines.  Returns 0,
 * or -1 with the error in *err (the caller frees it). */
int acl_apply_config_users(cairn_engine *e, dstr *err);
/* Did the configuration file define users? */
int acl_has_config_users(const cairn_engine *e);

/* The users as ACL LIST shows them, one line each ending in "\n": what
 * ACL SAVE writes and CONFIG REWRITE appends. */
dstr acl_users_text(cairn_engine *e);
/* Replace the users with those of an ACL file's text, all or nothing.
 * Sessions of users that no longer exist are disconnected.  Returns 0,
 * or -1 with the error in *err (the caller frees it). */
int acl_load_text(cairn_engine *e, const char *text, size_t len, dstr *err);

#endif
