/* acl_check.c -- the ACL check of a call (at dispatch and in scripts), ACL
 * LOG, and the descriptions of users that ACL LIST, ACL GETUSER and ACL
 * files use.  Redis 7.0's semantics and texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../ds/alloc.h"
#include "../ds/util.h"
#include "acl_internal.h"
#include "multi.h"

const acl_category acl_categories[] = {
    {"keyspace", ACL_KEYSPACE},
    {"read", ACL_READ},
    {"write", ACL_WRITE},
    {"set", ACL_SET},
    {"sortedset", ACL_SORTEDSET},
    {"list", ACL_LIST},
    {"hash", ACL_HASH},
    {"string", ACL_STRING},
    {"bitmap", ACL_BITMAP},
    {"hyperloglog", ACL_HYPERLOGLOG},
    {"geo", ACL_GEO},
    {"stream", ACL_STREAM},
    {"pubsub", ACL_PUBSUB},
    {"admin", ACL_ADMIN},
    {"fast", ACL_FAST},
    {"slow", ACL_SLOW},
    {"blocking", ACL_BLOCKING},
    {"dangerous", ACL_DANGEROUS},
    {"connection", ACL_CONNECTION},
    {"transaction", ACL_TRANSACTION},
    {"scripting", ACL_SCRIPTING},
    {NULL, 0},
};

/* ---------------------------------------------------------------------------
 * The check
 * ------------------------------------------------------------------------ */

static int sel_bit(const acl_selector *s, int id) { return (s->bits[id / 64] >> (id % 64)) & 1; }

static int firstarg_allowed(const acl_selector *s, int id, int argc, const cslice *argv)
{
    if (argc < 2) return 0;
    for (int i = 0; i < s->nfirst; i++)
        if (s->first[i].id == id && dstr_len(s->first[i].arg) == argv[1].len &&
            strncasecmp(s->first[i].arg, argv[1].ptr, argv[1].len) == 0)
            return 1;
    return 0;
}

static int key_allowed(const acl_selector *s, const cslice *key, int need)
{
    for (int i = 0; i < s->nkeys; i++) {
        const acl_keypat *p = &s->keys[i];
        if ((p->perm & need) != need) continue;
        if (glob_match(p->pat, dstr_len(p->pat), key->ptr, key->len, 0)) return 1;
    }
    return 0;
}

/* A channel, or for PSUBSCRIBE a pattern, which must be one of the
 * selector's patterns literally (a pattern could match more than the
 * user may read). */
static int channel_allowed(const acl_selector *s, const cslice *ch, int literal)
{
    for (int i = 0; i < s->nchannels; i++) {
        dstr p = s->channels[i];
        if (literal ? dstr_len(p) == ch->len && memcmp(p, ch->ptr, ch->len) == 0
                    : glob_match(p, dstr_len(p), ch->ptr, ch->len, 0))
            return 1;
    }
    return 0;
}

/* What a key with these key-spec flags needs, as Redis's ACL check reads
 * them: read to access its data, write to insert, update or delete. */
static int key_need(uint32_t flags)
{
    return ((flags & KF_ACCESS) ? KEY_READ : 0) |
           ((flags & (KF_INSERT | KF_UPDATE | KF_DELETE)) ? KEY_WRITE : 0);
}

/* Each key of the call against the selector's key patterns, with the
 * permissions that key needs.  Pub/sub commands have no keys: their
 * shard channels are positioned like keys for cluster routing only. */
static int check_keys(const acl_selector *s, const cmd_def *cmd, int argc, const cslice *argv,
                      int *pos)
{
    if ((s->flags & SEL_ALLKEYS) || (cmd->first_key <= 0 && !cmd->getkeys)) return ACL_OK;
    if (cmd->flags & CMD_PUBSUB) return ACL_OK;
    int stack[16];
    int *idx = argc <= 16 ? stack : cm_malloc(sizeof(int) * (size_t)argc);
    int n = cmd_get_keys(cmd, argc, argv, idx, argc);
    int rc = ACL_OK;
    for (int i = 0; i < n && rc == ACL_OK; i++) {
        if (!key_allowed(s, &argv[idx[i]], key_need(cmd_key_flags(cmd, i, argc, argv)))) {
            *pos = idx[i];
            rc = ACL_DENIED_KEY;
        }
    }
    if (idx != stack) cm_free(idx);
    return rc;
}

static int check_channels(const acl_selector *s, const cmd_def *cmd, int argc, const cslice *argv,
                          int *pos)
{
    if ((s->flags & SEL_ALLCHANNELS) || !(cmd->flags & CMD_CHANNELS)) return ACL_OK;
    int last = (cmd->flags & CMD_CHANNEL_PUB) ? 1 : argc - 1;
    int literal = (cmd->flags & CMD_CHANNEL_PATTERNS) != 0;
    for (int i = 1; i <= last && i < argc; i++) {
        if (!channel_allowed(s, &argv[i], literal)) {
            *pos = i;
            return ACL_DENIED_CHANNEL;
        }
    }
    return ACL_OK;
}

static int check_selector(const acl_state *a, const acl_selector *s, const cmd_def *cmd, int argc,
                          const cslice *argv, int *pos)
{
    *pos = 0;
    if (!(s->flags & SEL_ALLCOMMANDS) && !(cmd->flags & CMD_NO_AUTH)) {
        int id = acl_cmd_id(a, cmd);
        if (id < 0 || (!sel_bit(s, id) && !firstarg_allowed(s, id, argc, argv)))
            return ACL_DENIED_CMD;
    }
    int rc = check_keys(s, cmd, argc, argv, pos);
    if (rc == ACL_OK) rc = check_channels(s, cmd, argc, argv, pos);
    return rc;
}

int acl_check_user(cairn_engine *e, const acl_user *u, const cmd_def *cmd, int argc,
                   const cslice *argv, int *pos)
{
    if (u->flags & USER_ALLPERM) return ACL_OK;
    /* Any selector that allows all of the call will do; otherwise the
     * most specific refusal, as Redis reports it. */
    int worst = ACL_DENIED_CMD, worst_pos = 0;
    for (int i = 0; i < u->nsels; i++) {
        int p;
        int rc = check_selector(e->acl, &u->sels[i], cmd, argc, argv, &p);
        if (rc == ACL_OK) return ACL_OK;
        if (rc > worst || (rc == worst && p > worst_pos)) {
            worst = rc;
            worst_pos = p;
        }
    }
    *pos = worst_pos;
    return worst;
}

static void log_refusal(cmd_call *c, int rc, int ctx, int pos)
{
    const acl_user *u = c->s->user;
    if (rc == ACL_DENIED_CMD)
        acl_log_add(c, rc, ctx, u->name, dstr_len(u->name), c->cmd->name, strlen(c->cmd->name));
    else
        acl_log_add(c, rc, ctx, u->name, dstr_len(u->name), c->argv[pos].ptr, c->argv[pos].len);
}

int acl_refuse_call(cairn_engine *e, cairn_session *s, const cmd_def *cmd, int argc,
                    const cslice *argv, int64_t now_ms, rbuf *out)
{
    if (s->flags & SESS_LOADER) return 0;
    if (acl_auth_required(e, s) && !(cmd->flags & CMD_NO_AUTH)) {
        reply_error(out, "NOAUTH Authentication required.");
        return 1;
    }
    int pos;
    int rc = acl_check_user(e, s->user, cmd, argc, argv, &pos);
    if (rc == ACL_OK) return 0;
    /* ACL LOG reads the call as a handler would see it. */
    cmd_call c = {.e = e, .s = s, .cmd = cmd, .argc = argc, .argv = argv, .now_ms = now_ms};
    log_refusal(&c, rc, (s->flags & SESS_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL, pos);
    char msg[256];
    if (rc == ACL_DENIED_CMD)
        snprintf(msg, sizeof(msg), "NOPERM this user has no permissions to run the '%s' command",
                 cmd->name);
    else
        snprintf(msg, sizeof(msg),
                 "NOPERM this user has no permissions to access one of the %s used as arguments",
                 rc == ACL_DENIED_KEY ? "keys" : "channels");
    /* A refused EXEC aborts the transaction, as Redis's rejectCommand
     * (which answers so even outside MULTI). */
    if (strcmp(cmd->name, "exec") == 0) {
        reply_errorf(out, "EXECABORT Transaction discarded because of: %s", msg);
        multi_session_reset(e, s);
    } else {
        reply_error(out, msg);
    }
    return 1;
}

const char *acl_script_refusal(cmd_call *caller, const cmd_def *cmd, int argc, const cslice *argv)
{
    const acl_user *u = caller->s->user;
    if (!u || (u->flags & USER_ALLPERM) || (caller->s->flags & SESS_LOADER)) return NULL;
    int pos;
    int rc = acl_check_user(caller->e, u, cmd, argc, argv, &pos);
    if (rc == ACL_OK) return NULL;
    cmd_call c = *caller;
    c.cmd = cmd;
    c.argc = argc;
    c.argv = argv;
    log_refusal(&c, rc, ACL_CTX_LUA, pos);
    if (rc == ACL_DENIED_CMD)
        return "The user executing the script can't run this command or subcommand";
    if (rc == ACL_DENIED_KEY)
        return "The user executing the script can't access at least one of the keys mentioned in "
               "the command arguments";
    return "The user executing the script can't publish to the channel mentioned in the command";
}

int acl_script_permits(cmd_call *caller, const cmd_def *cmd, int argc, const cslice *argv)
{
    const acl_user *u = caller->s->user;
    if (!u || (u->flags & USER_ALLPERM) || (caller->s->flags & SESS_LOADER)) return 1;
    int pos;
    return acl_check_user(caller->e, u, cmd, argc, argv, &pos) == ACL_OK;
}

/* ---------------------------------------------------------------------------
 * ACL LOG
 * ------------------------------------------------------------------------ */

/* Two refusals within this many ms of each other, alike in all but time
 * and client, are one entry with a count (Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA). */
#define LOG_GROUPING_MS 60000

static void entry_free(acl_log_entry *en)
{
    dstr_free(en->object);
    dstr_free(en->username);
    dstr_free(en->client_info);
}

void acl_log_reset(acl_state *a)
{
    for (int i = 0; i < a->nlog; i++)
        entry_free(&a->log[i]);
    cm_free(a->log);
    a->log = NULL;
    a->nlog = 0;
}

static int dstr_is(dstr s, const char *p, size_t len)
{
    return dstr_len(s) == len && memcmp(s, p, len) == 0;
}

static dstr client_info(cmd_call *c)
{
    cairn_engine *e = c->e;
    if (e->host && e->host->client_info) return e->host->client_info(e->host_priv, c);
    return dstr_catfmt(dstr_new("", 0), "id=%llu", (unsigned long long)c->s->id);
}

void acl_log_add(cmd_call *c, int reason, int context, const char *user, size_t ulen,
                 const char *object, size_t olen)
{
    acl_state *a = c->e->acl;
    long long max = c->e->cfg.acllog_max_len;
    acl_log_entry en = {reason, context, 1, NULL, NULL, NULL, c->now_ms};
    for (int i = 0; i < a->nlog; i++) {
        acl_log_entry *o = &a->log[i];
        if (o->reason == reason && o->context == context && dstr_is(o->object, object, olen) &&
            dstr_is(o->username, user, ulen) && c->now_ms - o->ctime_ms < LOG_GROUPING_MS) {
            en = *o;
            en.count++;
            en.ctime_ms = c->now_ms;
            dstr_free(en.client_info);
            memmove(&a->log[i], &a->log[i + 1], sizeof(*a->log) * (size_t)(a->nlog - i - 1));
            a->nlog--;
            break;
        }
    }
    if (!en.object) {
        en.object = dstr_new(object, olen);
        en.username = dstr_new(user, ulen);
    }
    en.client_info = client_info(c);
    a->log = cm_realloc(a->log, sizeof(*a->log) * (size_t)(a->nlog + 1));
    memmove(&a->log[1], &a->log[0], sizeof(*a->log) * (size_t)a->nlog);
    a->log[0] = en;
    a->nlog++;
    while (a->nlog > 0 && a->nlog > max)
        entry_free(&a->log[--a->nlog]);
}

/* ---------------------------------------------------------------------------
 * Descriptions
 * ------------------------------------------------------------------------ */

static void count_category(const acl_state *a, const uint64_t *bits, uint32_t cat, long *on,
                           long *off)
{
    *on = *off = 0;
    for (int i = 0; i < a->ncmds; i++) {
        if (!(cmd_categories(a->cmds[i]) & cat)) continue;
        if ((bits[i / 64] >> (i % 64)) & 1)
            (*on)++;
        else
            (*off)++;
    }
}

static dstr cat_command_name(dstr r, const char *sign, const cmd_def *cmd)
{
    return dstr_catfmt(r, "%s%s ", sign, cmd->name);
}

/* Redis 7.0's ACLDescribeSelectorCommandRules: start from +@all or -@all,
 * add the categories that best fit what is allowed one at a time, then
 * the single commands that still differ, then the first-arg rules.  The
 * rules are replayed on a scratch selector to know what still differs. */
dstr acl_describe_commands(const acl_state *a, const acl_selector *s)
{
    int additive = !(s->flags & SEL_FUTURE);
    dstr r = dstr_new(additive ? "-@all " : "+@all ", 6);
    size_t words = sizeof(uint64_t) * (size_t)a->nwords;
    acl_selector fake = {0}, temp = {0};
    fake.bits = cm_malloc(words);
    temp.bits = cm_malloc(words);
    memset(fake.bits, additive ? 0 : 0xff, words);
    memcpy(temp.bits, s->bits, words);
    char applied[32] = {0};
    for (;;) {
        int best = -1;
        long mindiff = 1L << 30, maxsame = 0;
        for (int j = 0; acl_categories[j].name; j++) {
            if (applied[j]) continue;
            long on, off;
            count_category(a, temp.bits, acl_categories[j].bit, &on, &off);
            long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        sel_set_category(a, &fake, acl_categories[best].bit, additive);
        sel_set_category(a, &temp, acl_categories[best].bit, !additive);
        r = dstr_catfmt(r, "%s@%s ", additive ? "+" : "-", acl_categories[best].name);
        applied[best] = 1;
    }
    for (int i = 0; i < a->ncmds; i++) {
        int ub = sel_bit(s, i), fb = sel_bit(&fake, i);
        if (ub != fb) {
            r = cat_command_name(r, ub ? "+" : "-", a->cmds[i]);
            sel_change_perm(a, &fake, a->cmds[i], ub);
        }
        for (int k = 0; !ub && k < s->nfirst; k++)
            if (s->first[k].id == i)
                r = dstr_catfmt(r, "+%s|%s ", a->cmds[i]->name, s->first[k].arg);
    }
    cm_free(fake.bits);
    cm_free(temp.bits);
    dstr_set_len(r, dstr_len(r) - 1);
    return r;
}

dstr acl_describe_keys(const acl_selector *s)
{
    dstr r = dstr_new("", 0);
    if (s->flags & SEL_ALLKEYS) return dstr_cat_cstr(r, "~*");
    for (int i = 0; i < s->nkeys; i++) {
        int p = s->keys[i].perm;
        const char *pre = p == (KEY_READ | KEY_WRITE) ? "~" : p == KEY_READ ? "%R~" : "%W~";
        r = dstr_catfmt(r, "%s%s%s", i ? " " : "", pre, s->keys[i].pat);
    }
    return r;
}

dstr acl_describe_channels(const acl_selector *s)
{
    dstr r = dstr_new("", 0);
    if (s->flags & SEL_ALLCHANNELS) return dstr_cat_cstr(r, "&*");
    for (int i = 0; i < s->nchannels; i++)
        r = dstr_catfmt(r, "%s&%s", i ? " " : "", s->channels[i]);
    return r;
}

static dstr describe_selector(const acl_state *a, const acl_selector *s, dstr r)
{
    dstr k = acl_describe_keys(s), ch = acl_describe_channels(s),
         cmds = acl_describe_commands(a, s);
    if (dstr_len(k)) r = dstr_catfmt(r, "%s ", k);
    if (!(s->flags & SEL_ALLCHANNELS)) r = dstr_cat_cstr(r, "resetchannels ");
    if (dstr_len(ch)) r = dstr_catfmt(r, "%s ", ch);
    r = dstr_cat(r, cmds, dstr_len(cmds));
    dstr_free(k);
    dstr_free(ch);
    dstr_free(cmds);
    return r;
}

dstr acl_describe_user(const acl_state *a, const acl_user *u)
{
    dstr r =
        dstr_catfmt(dstr_new("", 0), "user %s %s", u->name, (u->flags & USER_ON) ? "on" : "off");
    if (u->flags & USER_NOPASS) r = dstr_cat_cstr(r, " nopass");
    if (u->flags & USER_SKIP_SANITIZE) r = dstr_cat_cstr(r, " skip-sanitize-payload");
    if (u->flags & USER_SANITIZE) r = dstr_cat_cstr(r, " sanitize-payload");
    for (int i = 0; i < u->npasswords; i++)
        r = dstr_catfmt(r, " #%s", u->passwords[i]);
    r = dstr_cat_cstr(r, " ");
    r = describe_selector(a, &u->sels[0], r);
    for (int i = 1; i < u->nsels; i++) {
        r = dstr_cat_cstr(r, " (");
        r = describe_selector(a, &u->sels[i], r);
        r = dstr_cat_cstr(r, ")");
    }
    return r;
}

dstr acl_users_text(cairn_engine *e)
{
    acl_state *a = e->acl;
    dstr r = dstr_new("", 0);
    for (int i = 0; i < a->nusers; i++) {
        dstr line = acl_describe_user(a, a->users[i]);
        r = dstr_cat(r, line, dstr_len(line));
        r = dstr_cat(r, "\n", 1);
        dstr_free(line);
    }
    return r;
}
