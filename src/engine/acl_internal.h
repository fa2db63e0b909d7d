/* acl_internal.h -- what acl.c (users and rules), acl_check.c (the check
 * and ACL LOG) and t_acl.c (the commands) share.  Nothing else includes
 * it. */
#ifndef CAIRN_ACL_INTERNAL_H
#define CAIRN_ACL_INTERNAL_H

#include "acl.h"
#include "cmd.h"

enum {
    SEL_ROOT = 1 << 0,
    SEL_ALLKEYS = 1 << 1,
    SEL_ALLCHANNELS = 1 << 2,
    SEL_ALLCOMMANDS = 1 << 3,
    /* Set by +@all and cleared only by -@all: commands added to the table
     * later would be allowed (Redis's reserved command bit).  It decides
     * whether a description starts from +@all or -@all. */
    SEL_FUTURE = 1 << 4,
};

enum { KEY_READ = 1 << 0, KEY_WRITE = 1 << 1 };

typedef struct acl_keypat {
    dstr pat;
    int perm; /* KEY_READ | KEY_WRITE */
} acl_keypat;

/* +cmd|arg for a command without subcommands: allowed with that first
 * argument only. */
typedef struct acl_firstarg {
    int id;
    dstr arg;
} acl_firstarg;

typedef struct acl_selector {
    int flags;
    uint64_t *bits; /* by command id */
    acl_firstarg *first;
    int nfirst;
    acl_keypat *keys;
    int nkeys;
    dstr *channels;
    int nchannels;
} acl_selector;

typedef struct acl_log_entry {
    int reason, context;
    long long count;
    dstr object, username, client_info;
    int64_t ctime_ms;
} acl_log_entry;

struct acl_state {
    acl_user **users;
    int nusers;
    acl_user *default_user;
    /* Every command and subcommand the table answers to, by id, and the
     * same sorted by address to find a command's id. */
    const cmd_def **cmds;
    struct cmd_id *byptr;
    int ncmds, nwords;
    /* ACL LOG, newest first. */
    acl_log_entry *log;
    int nlog;
    /* `user` lines of the configuration file, as given, until the file
     * is read: each line's arguments after "user", NULL-separated. */
    dstr *config_users;
    int nconfig_users;
};

/* The category names, in Redis's order, with their bits. */
typedef struct acl_category {
    const char *name;
    uint32_t bit;
} acl_category;
extern const acl_category acl_categories[];

int acl_cmd_id(const acl_state *a, const cmd_def *cmd);
uint32_t acl_category_by_name(const char *name, size_t len);
acl_user *acl_find_user(const acl_state *a, const char *name, size_t len);
void sel_add_firstarg(acl_selector *s, int id, const char *arg, size_t len);
void sel_set_bit(acl_selector *s, int id, int on);
void sel_change_perm(const acl_state *a, acl_selector *s, const cmd_def *cmd, int on);
void sel_set_category(const acl_state *a, acl_selector *s, uint32_t cat, int on);
dstr *acl_merge_selector_args(const cslice *argv, int argc, int *out_argc);

/* ACL SETUSER name rules...: create or change a user, all rules or none.
 * Returns NULL, or the error (without "ERR ") in err. */
const char *acl_set_user(cairn_engine *e, const char *name, size_t nlen, const cslice *rules,
                         int nrules, char *err, size_t errlen);
/* Delete a user and disconnect its sessions; 0 if there is none. */
int acl_delete_user(cairn_engine *e, const char *name, size_t len);
void acl_session_set_user(cairn_session *s, acl_user *u, int authed);

/* Would u be allowed to run cmd with argv?  ACL_OK or why not, with the
 * position of the refused key or channel in *pos. */
int acl_check_user(cairn_engine *e, const acl_user *u, const cmd_def *cmd, int argc,
                   const cslice *argv, int *pos);
/* Add a refusal to ACL LOG (grouped with a like one of the last minute). */
void acl_log_add(cmd_call *c, int reason, int context, const char *user, size_t ulen,
                 const char *object, size_t olen);
void acl_log_reset(acl_state *a);
/* A selector or user as ACL LIST and ACL GETUSER describe them. */
dstr acl_describe_commands(const acl_state *a, const acl_selector *s);
dstr acl_describe_keys(const acl_selector *s);
dstr acl_describe_channels(const acl_selector *s);
dstr acl_describe_user(const acl_state *a, const acl_user *u);

#endif
