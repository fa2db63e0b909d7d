/* acl.c -- users, selectors, the rule language of ACL SETUSER, the check
 * at dispatch and ACL LOG; see acl.h.  Semantics, descriptions and error
 * strings are Redis 7.0's. */
#include "acl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/sha256.h"
#include "../ds/util.h"
#include "acl_internal.h"
#include "cmd.h"

/* ---------------------------------------------------------------------------
 * Command ids
 * ------------------------------------------------------------------------ */

typedef struct cmd_id {
    const cmd_def *cmd;
    int id;
} cmd_id;

static int cmp_cmd_id(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const cmd_id *)a)->cmd, y = (uintptr_t)((const cmd_id *)b)->cmd;
    return x < y ? -1 : x > y;
}

/* Number every command the table answers to (the first definition of a
 * name, and every subcommand), parents before their subcommands. */
static void number_commands(cairn_engine *e, acl_state *a)
{
    int n = 0, cap = 64;
    a->cmds = cm_malloc(sizeof(*a->cmds) * (size_t)cap);
    for (int f = 0; cmd_families[f]; f++) {
        for (const cmd_def *cmd = cmd_families[f]; cmd->name; cmd++) {
            if (cmd_lookup(e, cmd->name, strlen(cmd->name)) != cmd) continue;
            for (const cmd_def *sub = cmd; sub; sub = sub == cmd ? cmd->subcommands : sub + 1) {
                if (!sub->name) break;
                if (n == cap) {
                    cap *= 2;
                    a->cmds = cm_realloc(a->cmds, sizeof(*a->cmds) * (size_t)cap);
                }
                a->cmds[n++] = sub;
            }
        }
    }
    a->ncmds = n;
    a->nwords = (n + 63) / 64;
    a->byptr = cm_malloc(sizeof(cmd_id) * (size_t)n);
    for (int i = 0; i < n; i++)
        a->byptr[i] = (cmd_id){a->cmds[i], i};
    qsort(a->byptr, (size_t)n, sizeof(cmd_id), cmp_cmd_id);
}

int acl_cmd_id(const acl_state *a, const cmd_def *cmd)
{
    int lo = 0, hi = a->ncmds - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uintptr_t p = (uintptr_t)a->byptr[mid].cmd;
        if (p == (uintptr_t)cmd) return a->byptr[mid].id;
        if (p < (uintptr_t)cmd)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* ---------------------------------------------------------------------------
 * Selectors
 * ------------------------------------------------------------------------ */

static void sel_init(const acl_state *a, acl_selector *s)
{
    memset(s, 0, sizeof(*s));
    s->bits = cm_calloc((size_t)a->nwords, sizeof(uint64_t));
}

static void sel_reset_firstargs(acl_selector *s)
{
    for (int i = 0; i < s->nfirst; i++)
        dstr_free(s->first[i].arg);
    cm_free(s->first);
    s->first = NULL;
    s->nfirst = 0;
}

static void sel_reset_keys(acl_selector *s)
{
    for (int i = 0; i < s->nkeys; i++)
        dstr_free(s->keys[i].pat);
    cm_free(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
}

static void sel_reset_channels(acl_selector *s)
{
    for (int i = 0; i < s->nchannels; i++)
        dstr_free(s->channels[i]);
    cm_free(s->channels);
    s->channels = NULL;
    s->nchannels = 0;
}

static void sel_free(acl_selector *s)
{
    sel_reset_firstargs(s);
    sel_reset_keys(s);
    sel_reset_channels(s);
    cm_free(s->bits);
}

static void sel_copy(const acl_state *a, acl_selector *dst, const acl_selector *src)
{
    sel_init(a, dst);
    dst->flags = src->flags;
    memcpy(dst->bits, src->bits, sizeof(uint64_t) * (size_t)a->nwords);
    for (int i = 0; i < src->nfirst; i++)
        sel_add_firstarg(dst, src->first[i].id, src->first[i].arg, dstr_len(src->first[i].arg));
    for (int i = 0; i < src->nkeys; i++) {
        dst->keys = cm_realloc(dst->keys, sizeof(*dst->keys) * (size_t)(i + 1));
        dst->keys[i] = (acl_keypat){dstr_dup(src->keys[i].pat), src->keys[i].perm};
        dst->nkeys = i + 1;
    }
    for (int i = 0; i < src->nchannels; i++) {
        dst->channels = cm_realloc(dst->channels, sizeof(dstr) * (size_t)(i + 1));
        dst->channels[i] = dstr_dup(src->channels[i]);
        dst->nchannels = i + 1;
    }
}

void sel_add_firstarg(acl_selector *s, int id, const char *arg, size_t len)
{
    for (int i = 0; i < s->nfirst; i++)
        if (s->first[i].id == id && dstr_len(s->first[i].arg) == len &&
            strncasecmp(s->first[i].arg, arg, len) == 0)
            return;
    s->first = cm_realloc(s->first, sizeof(*s->first) * (size_t)(s->nfirst + 1));
    s->first[s->nfirst++] = (acl_firstarg){id, dstr_new(arg, len)};
}

static void sel_drop_firstargs_of(acl_selector *s, int id)
{
    int j = 0;
    for (int i = 0; i < s->nfirst; i++) {
        if (s->first[i].id == id)
            dstr_free(s->first[i].arg);
        else
            s->first[j++] = s->first[i];
    }
    s->nfirst = j;
}

static inline int sel_bit(const acl_selector *s, int id)
{
    return (s->bits[id / 64] >> (id % 64)) & 1;
}

void sel_set_bit(acl_selector *s, int id, int on)
{
    if (on) {
        s->bits[id / 64] |= UINT64_C(1) << (id % 64);
    } else {
        s->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

/* Allow or deny a command and, for a container, all its subcommands; its
 * first-arg rules go either way, as in Redis's ACLChangeSelectorPerm. */
void sel_change_perm(const acl_state *a, acl_selector *s, const cmd_def *cmd, int on)
{
    int id = acl_cmd_id(a, cmd);
    sel_drop_firstargs_of(s, id);
    sel_set_bit(s, id, on);
    if (cmd->subcommands)
        for (const cmd_def *sub = cmd->subcommands; sub->name; sub++)
            sel_change_perm(a, s, sub, on);
}

void sel_set_category(const acl_state *a, acl_selector *s, uint32_t cat, int on)
{
    for (int i = 0; i < a->ncmds; i++) {
        if (!(cmd_categories(a->cmds[i]) & cat)) continue;
        sel_drop_firstargs_of(s, i);
        sel_set_bit(s, i, on);
    }
}

static void sel_all_commands(const acl_state *a, acl_selector *s, int on)
{
    memset(s->bits, on ? 0xff : 0, sizeof(uint64_t) * (size_t)a->nwords);
    if (on)
        s->flags |= SEL_ALLCOMMANDS | SEL_FUTURE;
    else
        s->flags &= ~(SEL_ALLCOMMANDS | SEL_FUTURE);
    sel_reset_firstargs(s);
}

uint32_t acl_category_by_name(const char *name, size_t len)
{
    for (int i = 0; acl_categories[i].name; i++)
        if (strlen(acl_categories[i].name) == len &&
            strncasecmp(acl_categories[i].name, name, len) == 0)
            return acl_categories[i].bit;
    return 0;
}

/* A command by the name the table gives it: ACL rules name commands so
 * whatever rename-command did, as Redis's orig_commands. */
static const cmd_def *lookup_original(const acl_state *a, const char *name, size_t len)
{
    for (int i = 0; i < a->ncmds; i++) {
        const char *n = a->cmds[i]->name;
        if (strlen(n) == len && strncasecmp(n, name, len) == 0) return a->cmds[i];
    }
    return NULL;
}

static const char *sel_command_rule(cairn_engine *e, acl_selector *s, const char *op, size_t len)
{
    acl_state *a = e->acl;
    int on = op[0] == '+';
    op++, len--;
    if (len > 0 && op[0] == '@') {
        uint32_t cat = acl_category_by_name(op + 1, len - 1);
        if (!cat) return "Unknown command or category name in ACL";
        sel_set_category(a, s, cat, on);
        return NULL;
    }
    const char *bar = memchr(op, '|', len);
    size_t nlen = bar ? (size_t)(bar - op) : len;
    const cmd_def *cmd = lookup_original(a, op, nlen);
    if (!cmd) return "Unknown command or category name in ACL";
    if (!bar) {
        sel_change_perm(a, s, cmd, on);
        return NULL;
    }
    const char *arg = bar + 1;
    size_t alen = len - nlen - 1;
    if (cmd->subcommands) {
        if (memchr(arg, '|', alen)) return "Allowing first-arg of a subcommand is not supported";
        const cmd_def *sub = cmd_lookup_sub(cmd, arg, alen);
        if (!sub) return "Unknown command or category name in ACL";
        sel_change_perm(a, s, sub, on);
        return NULL;
    }
    /* A first argument of a command without subcommands (+select|0):
     * only ever allowed, and pointless once the whole command is. */
    if (!on || alen == 0) return "Unknown command or category name in ACL";
    if (memchr(arg, '|', alen)) return "Allowing first-arg of a subcommand is not supported";
    int id = acl_cmd_id(a, cmd);
    if (!sel_bit(s, id)) sel_add_firstarg(s, id, arg, alen);
    return NULL;
}

static const char *sel_add_key_pattern(acl_selector *s, const char *op, size_t len)
{
    int perm = 0;
    size_t i = 0;
    if (op[0] == '%') {
        for (i = 1; i < len && op[i] != '~'; i++) {
            if (op[i] == 'R' || op[i] == 'r')
                perm |= KEY_READ;
            else if (op[i] == 'W' || op[i] == 'w')
                perm |= KEY_WRITE;
            else
                return "Syntax error";
        }
        if (i == len || perm == 0) return "Syntax error";
    } else {
        perm = KEY_READ | KEY_WRITE;
    }
    const char *pat = op + i + 1;
    size_t plen = len - i - 1;
    if (s->flags & SEL_ALLKEYS)
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
               "not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    for (int k = 0; k < s->nkeys; k++) {
        if (dstr_len(s->keys[k].pat) == plen && memcmp(s->keys[k].pat, pat, plen) == 0) {
            s->keys[k].perm |= perm;
            return NULL;
        }
    }
    s->keys = cm_realloc(s->keys, sizeof(*s->keys) * (size_t)(s->nkeys + 1));
    s->keys[s->nkeys++] = (acl_keypat){dstr_new(pat, plen), perm};
    return NULL;
}

static const char *sel_add_channel(acl_selector *s, const char *pat, size_t plen)
{
    if (s->flags & SEL_ALLCHANNELS)
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
               "does not have any effect. Try 'resetchannels' to start with an empty list of "
               "channels";
    for (int k = 0; k < s->nchannels; k++)
        if (dstr_len(s->channels[k]) == plen && memcmp(s->channels[k], pat, plen) == 0) return NULL;
    s->channels = cm_realloc(s->channels, sizeof(dstr) * (size_t)(s->nchannels + 1));
    s->channels[s->nchannels++] = dstr_new(pat, plen);
    return NULL;
}

static int op_is(const char *op, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(op, word, len) == 0;
}

/* One rule of a selector (keys, channels, commands).  Returns NULL, or
 * the error of Redis's ACLSetSelector. */
static const char *sel_apply(cairn_engine *e, acl_selector *s, const char *op, size_t len)
{
    if (len == 0) return "Syntax error";
    /* "~*" and "&*" are the flags, not patterns: allowed again when set
     * (only a narrower pattern after them is refused), as Redis does;
     * "%RW~*" is a pattern. */
    if (op_is(op, len, "allkeys") || op_is(op, len, "~*")) {
        sel_reset_keys(s);
        s->flags |= SEL_ALLKEYS;
        return NULL;
    }
    if (op_is(op, len, "resetkeys")) {
        sel_reset_keys(s);
        s->flags &= ~SEL_ALLKEYS;
        return NULL;
    }
    if (op_is(op, len, "allchannels") || op_is(op, len, "&*")) {
        sel_reset_channels(s);
        s->flags |= SEL_ALLCHANNELS;
        return NULL;
    }
    if (op_is(op, len, "resetchannels")) {
        sel_reset_channels(s);
        s->flags &= ~SEL_ALLCHANNELS;
        return NULL;
    }
    if (op_is(op, len, "allcommands") || op_is(op, len, "+@all")) {
        sel_all_commands(e->acl, s, 1);
        return NULL;
    }
    if (op_is(op, len, "nocommands") || op_is(op, len, "-@all")) {
        sel_all_commands(e->acl, s, 0);
        return NULL;
    }
    if (op[0] == '~' || op[0] == '%') return sel_add_key_pattern(s, op, len);
    if (op[0] == '&') return sel_add_channel(s, op + 1, len - 1);
    if (op[0] == '+' || op[0] == '-') return sel_command_rule(e, s, op, len);
    return "Syntax error";
}

/* ---------------------------------------------------------------------------
 * Users
 * ------------------------------------------------------------------------ */

static acl_user *user_new(cairn_engine *e, const char *name, size_t len)
{
    acl_user *u = cm_calloc(1, sizeof(*u));
    u->name = dstr_new(name, len);
    u->sels = cm_malloc(sizeof(acl_selector));
    u->nsels = 1;
    sel_init(e->acl, &u->sels[0]);
    u->sels[0].flags |= SEL_ROOT;
    return u;
}

static void user_reset_passwords(acl_user *u)
{
    for (int i = 0; i < u->npasswords; i++)
        dstr_free(u->passwords[i]);
    cm_free(u->passwords);
    u->passwords = NULL;
    u->npasswords = 0;
}

static void user_clear_selectors(acl_user *u)
{
    for (int i = 1; i < u->nsels; i++)
        sel_free(&u->sels[i]);
    u->nsels = 1;
}

/* Free what u holds, not u itself. */
static void user_clear(acl_user *u)
{
    user_reset_passwords(u);
    for (int i = 0; i < u->nsels; i++)
        sel_free(&u->sels[i]);
    cm_free(u->sels);
    u->sels = NULL;
    u->nsels = 0;
}

static void user_free(acl_user *u)
{
    user_clear(u);
    dstr_free(u->name);
    cm_free(u);
}

/* Make dst's rules (not its name or sessions) a copy of src's. */
static void user_copy_rules(const acl_state *a, acl_user *dst, const acl_user *src)
{
    user_clear(dst);
    dst->flags = (src->flags & ~USER_DELETED) | (dst->flags & USER_DELETED);
    dst->passwords = cm_malloc(sizeof(dstr) * (size_t)(src->npasswords + 1));
    for (int i = 0; i < src->npasswords; i++)
        dst->passwords[i] = dstr_dup(src->passwords[i]);
    dst->npasswords = src->npasswords;
    dst->sels = cm_malloc(sizeof(acl_selector) * (size_t)src->nsels);
    for (int i = 0; i < src->nsels; i++)
        sel_copy(a, &dst->sels[i], &src->sels[i]);
    dst->nsels = src->nsels;
}

/* USER_ALLPERM: one selector that allows everything, with nothing to look
 * at for any call. */
static void user_update_fast(acl_user *u)
{
    int all = SEL_ALLCOMMANDS | SEL_ALLKEYS | SEL_ALLCHANNELS;
    if ((u->sels[0].flags & all) == all)
        u->flags |= USER_ALLPERM;
    else
        u->flags &= ~USER_ALLPERM;
}

static int is_hex_hash(const char *p, size_t len)
{
    if (len != 64) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

static void user_add_hash(acl_user *u, const char *hex)
{
    for (int i = 0; i < u->npasswords; i++)
        if (memcmp(u->passwords[i], hex, 64) == 0) return;
    u->passwords = cm_realloc(u->passwords, sizeof(dstr) * (size_t)(u->npasswords + 1));
    u->passwords[u->npasswords++] = dstr_new(hex, 64);
    u->flags &= ~USER_NOPASS;
}

static const char *user_del_hash(acl_user *u, const char *hex)
{
    for (int i = 0; i < u->npasswords; i++) {
        if (memcmp(u->passwords[i], hex, 64) != 0) continue;
        dstr_free(u->passwords[i]);
        u->passwords[i] = u->passwords[--u->npasswords];
        return NULL;
    }
    return "The password you are trying to remove from the user does not exist";
}

static const char *user_password_rule(acl_user *u, const char *op, size_t len)
{
    char hex[65];
    if (op[0] == '>' || op[0] == '<') {
        sha256_hex(op + 1, len - 1, hex);
    } else {
        if (!is_hex_hash(op + 1, len - 1))
            return "The password hash must be exactly 64 characters and contain only lowercase "
                   "hexadecimal characters";
        memcpy(hex, op + 1, 64);
    }
    if (op[0] == '>' || op[0] == '#') {
        user_add_hash(u, hex);
        return NULL;
    }
    return user_del_hash(u, hex);
}

/* `reset`: as a new user with acl-pubsub-default resetchannels, off, and
 * sanitize-payload. */
static void user_reset(cairn_engine *e, acl_user *u)
{
    user_reset_passwords(u);
    user_clear_selectors(u);
    acl_selector *root = &u->sels[0];
    sel_reset_keys(root);
    sel_reset_channels(root);
    root->flags &= ~(SEL_ALLKEYS | SEL_ALLCHANNELS);
    sel_all_commands(e->acl, root, 0);
    u->flags = USER_SANITIZE;
}

/* A selector in parentheses: "(rule rule ...)". */
static const char *user_add_selector(cairn_engine *e, acl_user *u, const char *op, size_t len)
{
    acl_selector s;
    sel_init(e->acl, &s);
    const char *err = NULL;
    int argc;
    dstr *argv = config_split_args(op + 1, len - 2, &argc);
    if (!argv) err = "Syntax error";
    for (int i = 0; !err && i < argc; i++)
        err = sel_apply(e, &s, argv[i], dstr_len(argv[i]));
    config_free_args(argv, argc);
    if (err) {
        sel_free(&s);
        return err;
    }
    u->sels = cm_realloc(u->sels, sizeof(acl_selector) * (size_t)(u->nsels + 1));
    u->sels[u->nsels++] = s;
    return NULL;
}

/* One rule of ACL SETUSER.  Returns NULL, or Redis's error. */
static const char *user_apply(cairn_engine *e, acl_user *u, const char *op, size_t len)
{
    if (op_is(op, len, "on")) {
        u->flags |= USER_ON;
    } else if (op_is(op, len, "off")) {
        u->flags &= ~USER_ON;
    } else if (op_is(op, len, "skip-sanitize-payload")) {
        u->flags = (u->flags & ~USER_SANITIZE) | USER_SKIP_SANITIZE;
    } else if (op_is(op, len, "sanitize-payload")) {
        u->flags = (u->flags & ~USER_SKIP_SANITIZE) | USER_SANITIZE;
    } else if (op_is(op, len, "nopass")) {
        user_reset_passwords(u);
        u->flags |= USER_NOPASS;
    } else if (op_is(op, len, "resetpass")) {
        user_reset_passwords(u);
        u->flags &= ~USER_NOPASS;
    } else if (op_is(op, len, "reset")) {
        user_reset(e, u);
    } else if (op_is(op, len, "clearselectors")) {
        user_clear_selectors(u);
    } else if (len > 0 && (op[0] == '>' || op[0] == '<' || op[0] == '#' || op[0] == '!')) {
        return user_password_rule(u, op, len);
    } else if (len >= 2 && op[0] == '(' && op[len - 1] == ')') {
        return user_add_selector(e, u, op, len);
    } else {
        return sel_apply(e, &u->sels[0], op, len);
    }
    return NULL;
}

/* Users are kept sorted by name, as ACL LIST and ACL USERS show them. */
static void insert_user(acl_state *a, acl_user *u)
{
    int i = a->nusers;
    a->users = cm_realloc(a->users, sizeof(acl_user *) * (size_t)(a->nusers + 1));
    while (i > 0) {
        dstr o = a->users[i - 1]->name;
        size_t n = dstr_len(o) < dstr_len(u->name) ? dstr_len(o) : dstr_len(u->name);
        int c = memcmp(o, u->name, n);
        if (c < 0 || (c == 0 && dstr_len(o) < dstr_len(u->name))) break;
        a->users[i] = a->users[i - 1];
        i--;
    }
    a->users[i] = u;
    a->nusers++;
}

acl_user *acl_find_user(const acl_state *a, const char *name, size_t len)
{
    for (int i = 0; i < a->nusers; i++)
        if (dstr_len(a->users[i]->name) == len && memcmp(a->users[i]->name, name, len) == 0)
            return a->users[i];
    return NULL;
}

acl_user *acl_find_user_slice(cairn_engine *e, const cslice *name)
{
    return acl_find_user(e->acl, name->ptr, name->len);
}

/* Join arguments that make up one selector: "(~a* +get" ")" as Redis's
 * ACLMergeSelectorArguments.  Returns the merged list (freed with
 * config_free_args), or NULL when a parenthesis is not closed. */
dstr *acl_merge_selector_args(const cslice *argv, int argc, int *out_argc)
{
    dstr *out = cm_malloc(sizeof(dstr) * (size_t)(argc + 1));
    int n = 0;
    dstr open = NULL;
    for (int i = 0; i < argc; i++) {
        const cslice *a = &argv[i];
        if (open) {
            open = dstr_cat(dstr_cat(open, " ", 1), a->ptr, a->len);
            if (a->len && a->ptr[a->len - 1] == ')') {
                out[n++] = open;
                open = NULL;
            }
        } else if (a->len && a->ptr[0] == '(' && a->ptr[a->len - 1] != ')') {
            open = dstr_new(a->ptr, a->len);
        } else {
            out[n++] = dstr_new(a->ptr, a->len);
        }
    }
    if (open) {
        dstr_free(open);
        config_free_args(out, n);
        return NULL;
    }
    *out_argc = n;
    return out;
}

const char *acl_set_user(cairn_engine *e, const char *name, size_t nlen, const cslice *rules,
                         int nrules, char *err, size_t errlen)
{
    acl_state *a = e->acl;
    int argc;
    dstr *argv = acl_merge_selector_args(rules, nrules, &argc);
    if (!argv) {
        snprintf(err, errlen, "Unmatched parenthesis in acl selector starting at '%s'.", "(");
        return err;
    }
    acl_user *old = acl_find_user(a, name, nlen);
    /* Rules apply to a copy, which replaces the user only if all of them
     * are valid. */
    acl_user *u = user_new(e, name, nlen);
    if (old) user_copy_rules(a, u, old);
    const char *msg = NULL;
    int bad = -1;
    for (int i = 0; i < argc && !msg; i++) {
        msg = user_apply(e, u, argv[i], dstr_len(argv[i]));
        if (msg) bad = i;
    }
    if (msg) {
        snprintf(err, errlen, "Error in ACL SETUSER modifier '%s': %s", argv[bad], msg);
        config_free_args(argv, argc);
        user_free(u);
        return err;
    }
    config_free_args(argv, argc);
    user_update_fast(u);
    if (old) {
        user_copy_rules(a, old, u);
        user_update_fast(old);
        user_free(u);
    } else {
        insert_user(a, u);
    }
    return NULL;
}

static void user_release(acl_user *u)
{
    if (--u->refs == 0 && (u->flags & USER_DELETED)) user_free(u);
}

int acl_delete_user(cairn_engine *e, const char *name, size_t len)
{
    acl_state *a = e->acl;
    for (int i = 0; i < a->nusers; i++) {
        acl_user *u = a->users[i];
        if (dstr_len(u->name) != len || memcmp(u->name, name, len) != 0) continue;
        memmove(&a->users[i], &a->users[i + 1], sizeof(acl_user *) * (size_t)(a->nusers - i - 1));
        a->nusers--;
        u->flags = (u->flags | USER_DELETED) & ~(USER_ON | USER_ALLPERM);
        /* Its sessions go; the user is freed with the last of them. */
        u->refs++;
        if (e->host && e->host->drop_user_sessions) e->host->drop_user_sessions(e->host_priv, u);
        user_release(u);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Lifecycle and sessions
 * ------------------------------------------------------------------------ */

void acl_init(cairn_engine *e)
{
    acl_state *a = cm_calloc(1, sizeof(*a));
    e->acl = a;
    number_commands(e, a);
    acl_user *u = user_new(e, "default", 7);
    acl_selector *root = &u->sels[0];
    root->flags |= SEL_ALLKEYS | SEL_ALLCHANNELS;
    sel_all_commands(a, root, 1);
    u->flags = USER_ON | USER_NOPASS;
    user_update_fast(u);
    insert_user(a, u);
    a->default_user = u;
    u->refs = 1; /* the table's own: the default user is never freed before the engine */
}

void acl_free(cairn_engine *e)
{
    acl_state *a = e->acl;
    if (!a) return;
    for (int i = 0; i < a->nusers; i++)
        user_free(a->users[i]);
    cm_free(a->users);
    acl_log_reset(a);
    config_free_args(a->config_users, a->nconfig_users);
    cm_free(a->cmds);
    cm_free(a->byptr);
    cm_free(a);
    e->acl = NULL;
}

static int default_user_open(const acl_state *a)
{
    int f = a->default_user->flags;
    return (f & USER_NOPASS) && (f & USER_ON);
}

void acl_session_set_user(cairn_session *s, acl_user *u, int authed)
{
    u->refs++;
    if (s->user) user_release(s->user);
    s->user = u;
    if (authed)
        s->flags |= SESS_AUTHED;
    else
        s->flags &= ~SESS_AUTHED;
}

void acl_session_init(cairn_engine *e, cairn_session *s)
{
    acl_session_set_user(s, e->acl->default_user, default_user_open(e->acl));
}

void acl_session_gone(cairn_engine *e, cairn_session *s)
{
    (void)e;
    if (!s->user) return;
    user_release(s->user);
    s->user = NULL;
}

int acl_default_user_protected(cairn_engine *e)
{
    return !(e->acl->default_user->flags & USER_NOPASS);
}

int acl_auth_required(cairn_engine *e, const cairn_session *s)
{
    return !(s->flags & SESS_AUTHED) && !default_user_open(e->acl);
}

void acl_update_default_password(cairn_engine *e, const char *password, size_t len)
{
    acl_user *u = e->acl->default_user;
    user_reset_passwords(u);
    if (len == 0) {
        u->flags |= USER_NOPASS;
        return;
    }
    u->flags &= ~USER_NOPASS;
    char hex[65];
    sha256_hex(password, len, hex);
    user_add_hash(u, hex);
}

/* Compare two 64-byte hashes in time that does not depend on where they
 * differ. */
static int hash_equal(const char *a, const char *b)
{
    unsigned diff = 0;
    for (int i = 0; i < 64; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
    return diff == 0;
}

static int user_password_ok(const acl_user *u, const cslice *password)
{
    if (!(u->flags & USER_ON)) return 0;
    if (u->flags & USER_NOPASS) return 1;
    char hex[65];
    sha256_hex(password->ptr, password->len, hex);
    int ok = 0;
    for (int i = 0; i < u->npasswords; i++)
        ok |= hash_equal(u->passwords[i], hex);
    return ok;
}

int acl_authenticate(cmd_call *c, const cslice *user, const cslice *password)
{
    acl_user *u = acl_find_user(c->e->acl, user->ptr, user->len);
    if (u && user_password_ok(u, password)) {
        acl_session_set_user(c->s, u, 1);
        c->s->auth_failures = 0;
        return 1;
    }
    c->s->auth_failures++;
    /* The object is the command as the client spelled it (AUTH, HELLO). */
    acl_log_add(c, ACL_DENIED_AUTH, c->s->flags & SESS_MULTI ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
                user->ptr, user->len, c->argv[0].ptr, c->argv[0].len);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Users from the configuration file and from ACL files
 * ------------------------------------------------------------------------ */

static int valid_user_name(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') return 0;
    return len > 0;
}

/* Apply `user name rules...` (argv[0] is "user") to e.  Returns NULL or
 * the error in err. */
static const char *apply_user_line(cairn_engine *e, dstr *argv, int argc, char *err, size_t errlen)
{
    if (argc < 2) return "Bad directive or wrong number of arguments";
    if (!valid_user_name(argv[1], dstr_len(argv[1])))
        return "Usernames can't contain spaces or null characters";
    cslice *rules = cm_malloc(sizeof(cslice) * (size_t)argc);
    for (int i = 2; i < argc; i++)
        rules[i - 2] = (cslice){argv[i], dstr_len(argv[i])};
    const char *msg = acl_set_user(e, argv[1], dstr_len(argv[1]), rules, argc - 2, err, errlen);
    cm_free(rules);
    return msg;
}

const char *acl_config_user(cairn_engine *e, dstr *argv, int argc, char *err, size_t errlen)
{
    acl_state *a = e->acl;
    if (argc < 2) return "Bad directive or wrong number of arguments";
    for (int i = 0; i + 1 < a->nconfig_users; i++) {
        int starts = i == 0 || !a->config_users[i - 1];
        if (starts && dstr_len(a->config_users[i + 1]) == dstr_len(argv[1]) &&
            memcmp(a->config_users[i + 1], argv[1], dstr_len(argv[1])) == 0) {
            snprintf(err, errlen, "Duplicate user '%s' found", argv[1]);
            return err;
        }
    }
    /* The rules must be valid now, on a scratch user; the users are made
     * once the whole file is read (acl_apply_config_users). */
    acl_user *u = user_new(e, argv[1], dstr_len(argv[1]));
    cslice *rules = cm_malloc(sizeof(cslice) * (size_t)argc);
    for (int i = 2; i < argc; i++)
        rules[i - 2] = (cslice){argv[i], dstr_len(argv[i])};
    int n;
    dstr *merged = acl_merge_selector_args(rules, argc - 2, &n);
    cm_free(rules);
    const char *msg = merged ? NULL : "Unmatched parenthesis in acl selector";
    for (int i = 0; merged && !msg && i < n; i++)
        msg = user_apply(e, u, merged[i], dstr_len(merged[i]));
    if (merged) config_free_args(merged, n);
    user_free(u);
    if (msg) {
        snprintf(err, errlen, "Error in user declaration '%s': %s", argv[1], msg);
        return err;
    }
    a->config_users =
        cm_realloc(a->config_users, sizeof(dstr) * (size_t)(a->nconfig_users + argc + 1));
    for (int i = 0; i < argc; i++)
        a->config_users[a->nconfig_users++] = dstr_dup(argv[i]);
    a->config_users[a->nconfig_users++] = NULL;
    return NULL;
}

int acl_has_config_users(const cairn_engine *e) { return e->acl->nconfig_users > 0; }

int acl_apply_config_users(cairn_engine *e, dstr *err)
{
    acl_state *a = e->acl;
    char buf[512];
    for (int i = 0; i < a->nconfig_users;) {
        int n = 0;
        while (a->config_users[i + n])
            n++;
        const char *msg = apply_user_line(e, &a->config_users[i], n, buf, sizeof(buf));
        if (msg) {
            *err = dstr_catfmt(dstr_new("", 0), "Error in user declaration '%s': %s",
                               a->config_users[i + 1], msg);
            return -1;
        }
        i += n + 1;
    }
    return 0;
}

/* Give e the users of `from` (a scratch table), as Redis 7.0's ACL LOAD:
 * every user but the default one is replaced, so the connections of all
 * the others close; the default user takes its new rules in place. */
static void replace_users(cairn_engine *e, acl_state *from)
{
    acl_state *a = e->acl;
    for (int i = a->nusers - 1; i >= 0; i--) {
        acl_user *u = a->users[i];
        if (u != a->default_user) acl_delete_user(e, u->name, dstr_len(u->name));
    }
    for (int i = 0; i < from->nusers; i++) {
        acl_user *nu = from->users[i];
        acl_user *old = acl_find_user(a, nu->name, dstr_len(nu->name));
        if (old) {
            user_copy_rules(a, old, nu);
            user_update_fast(old);
            user_free(nu);
        } else {
            insert_user(a, nu);
        }
    }
    from->nusers = 0;
}

int acl_load_text(cairn_engine *e, const char *text, size_t len, dstr *err)
{
    /* Parse into a scratch table that shares the command ids. */
    acl_state *a = e->acl, scratch = *a;
    scratch.users = NULL;
    scratch.nusers = 0;
    scratch.log = NULL;
    scratch.nlog = 0;
    e->acl = &scratch;
    *err = NULL;
    size_t pos = 0;
    int linenum = 0;
    char buf[512];
    while (pos < len && !*err) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t llen = end - pos;
        pos = end + 1;
        linenum++;
        while (llen && (line[llen - 1] == '\r' || line[llen - 1] == ' '))
            llen--;
        while (llen && line[0] == ' ')
            line++, llen--;
        if (llen == 0 || line[0] == '#') continue;
        int argc;
        dstr *argv = config_split_args(line, llen, &argc);
        const char *msg = NULL;
        if (!argv)
            msg = "Unbalanced quotes in configuration line";
        else if (argc < 2 || strcasecmp(argv[0], "user") != 0)
            msg = "line should start with user keyword";
        else if (acl_find_user(&scratch, argv[1], dstr_len(argv[1])))
            msg = "Duplicate user found";
        else
            msg = apply_user_line(e, argv, argc, buf, sizeof(buf));
        if (msg) *err = dstr_catfmt(dstr_new("", 0), "Error in ACL file line %d: %s", linenum, msg);
        config_free_args(argv, argc);
    }
    e->acl = a;
    if (!*err) {
        /* A file without the default user gives it its initial rules. */
        if (!acl_find_user(&scratch, "default", 7)) {
            acl_user *d = user_new(e, "default", 7);
            d->sels[0].flags |= SEL_ALLKEYS | SEL_ALLCHANNELS;
            sel_all_commands(a, &d->sels[0], 1);
            d->flags = USER_ON | USER_NOPASS;
            user_update_fast(d);
            insert_user(&scratch, d);
        }
        replace_users(e, &scratch);
    }
    for (int i = 0; i < scratch.nusers; i++)
        user_free(scratch.users[i]);
    cm_free(scratch.users);
    return *err ? -1 : 0;
}
