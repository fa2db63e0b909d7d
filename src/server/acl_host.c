/* acl_host.c -- the server's side of ACL: users at start-up (the
 * configuration file's `user` lines or the aclfile), ACL LOAD and ACL
 * SAVE (the engine does no I/O), and closing the connections of a
 * deleted user. */
#include <errno.h>
#include <string.h>

#include "../engine/acl.h"
#include "../engine/cmd.h"
#include "server.h"

static int has_aclfile(const cairn_engine *e)
{
    return e->cfg.aclfile && dstr_len(e->cfg.aclfile) > 0;
}

/* Read the aclfile and replace the users with its own.  Returns 0, or -1
 * with the error in *err. */
static int load_aclfile(cairn_engine *e, dstr *err)
{
    dstr text;
    if (server_read_file(e->cfg.aclfile, &text) != 0) {
        *err = dstr_catfmt(dstr_new("", 0), "Error loading ACLs, opening file '%s': %s",
                           e->cfg.aclfile, strerror(errno));
        return -1;
    }
    int rc = acl_load_text(e, text, dstr_len(text), err);
    dstr_free(text);
    return rc;
}

int server_acl_startup(cairn_server *srv)
{
    cairn_engine *e = srv->engine;
    dstr err = NULL;
    if (has_aclfile(e) && acl_has_config_users(e)) {
        server_log(srv, LL_WARNING,
                   "Configuring Redis with users defined in redis.conf and at the same setting an "
                   "ACL file path is invalid. This setup is very likely to lead to configuration "
                   "errors and security holes, please define either an ACL file or declare users "
                   "directly in your redis.conf, but not both.");
        return -1;
    }
    int rc = has_aclfile(e) ? load_aclfile(e, &err) : acl_apply_config_users(e, &err);
    if (rc != 0) {
        server_log(srv, LL_WARNING, "%s", err ? err : "Error loading users");
        dstr_free(err);
    }
    return rc;
}

void server_acl_file(void *priv, cmd_call *c, int save)
{
    (void)priv;
    cairn_engine *e = c->e;
    dstr err = NULL;
    if (!save) {
        if (load_aclfile(e, &err) == 0)
            reply_ok(c->out);
        else
            reply_errorf(c->out, "ERR %s", err);
        dstr_free(err);
        return;
    }
    dstr text = acl_users_text(e);
    if (server_overwrite_file(e->cfg.aclfile, text, dstr_len(text)) == 0)
        reply_ok(c->out);
    else
        reply_error(c->out, "ERR There was an error trying to save the ACLs. Please check the "
                            "server logs for more information");
    dstr_free(text);
}

void server_drop_user_sessions(void *priv, const struct acl_user *user)
{
    cairn_server *srv = priv;
    client *self = srv->net.current;
    for (client *cl = srv->net.clients, *next; cl; cl = next) {
        next = cl->next;
        if (cl->sess.user != user || (cl->flags & CLIENT_CLOSING)) continue;
        if (cl == self)
            cl->flags |= CLIENT_CLOSE_AFTER;
        else
            client_close(cl);
    }
}
