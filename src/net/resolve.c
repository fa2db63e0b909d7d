/* resolve.c -- the host names of a group's nodes; see resolve.h. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"

struct resolve_req {
    uv_getaddrinfo_t req;
    resolve_names *names; /* NULL once cancelled */
    resolve_cb cb;        /* NULL once cancelled */
    void *priv;
    int port;
    char host[RESOLVE_HOST_MAX];
};

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

int resolve_numeric(const char *host, int port, resolved *r)
{
    memset(r, 0, sizeof(*r));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&r->addr[0]) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&r->addr[0]) != 0)
        return 0;
    r->n = 1;
    return 1;
}

static void ip_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
    if (ss->ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)ss, out, len);
    else
        uv_ip4_name((const struct sockaddr_in *)ss, out, len);
}

static void names_note(resolve_names *names, const char *host, const resolved *r)
{
    int at = -1;
    for (int i = 0; i < RESOLVE_NAMES_MAX && at < 0; i++)
        if (strcmp(names->e[i].host, host) == 0) at = i;
    for (int i = 0; i < RESOLVE_NAMES_MAX && at < 0; i++)
        if (!names->e[i].host[0]) at = i;
    if (at < 0) { /* more names than a group has nodes: reuse the oldest */
        at = names->next;
        names->next = (names->next + 1) % RESOLVE_NAMES_MAX;
    }
    snprintf(names->e[at].host, sizeof(names->e[at].host), "%s", host);
    names->e[at].n = r->n;
    for (int i = 0; i < r->n; i++)
        ip_name(&r->addr[i], names->e[at].ip[i], sizeof(names->e[at].ip[i]));
}

int resolve_names_has(const resolve_names *names, const char *host, const char *ip)
{
    for (int i = 0; i < RESOLVE_NAMES_MAX; i++) {
        if (strcmp(names->e[i].host, host) != 0) continue;
        for (int k = 0; k < names->e[i].n; k++)
            if (strcmp(names->e[i].ip[k], ip) == 0) return 1;
    }
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    resolve_req *req = g->data;
    resolved r = {0};
    for (struct addrinfo *a = res; a && r.n < RESOLVE_MAX_ADDRS; a = a->ai_next) {
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
            a->ai_addrlen > sizeof(r.addr[0]))
            continue;
        memcpy(&r.addr[r.n], a->ai_addr, a->ai_addrlen);
        set_port(&r.addr[r.n], req->port);
        r.n++;
    }
    uv_freeaddrinfo(res);
    if (status == 0 && r.n == 0) status = UV_EAI_NODATA;
    if (status == 0 && req->names) names_note(req->names, req->host, &r);
    if (req->cb) req->cb(req->priv, status, &r);
    cm_free(req);
}

resolve_req *resolve_start(uv_loop_t *loop, resolve_names *names, const char *host, int port,
                           resolve_cb cb, void *priv, int *rc)
{
    resolve_req *req = cm_calloc(1, sizeof(*req));
    req->names = names;
    req->cb = cb;
    req->priv = priv;
    req->port = port;
    snprintf(req->host, sizeof(req->host), "%s", host);
    req->req.data = req;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    *rc = uv_getaddrinfo(loop, &req->req, on_resolved, req->host, NULL, &hints);
    if (*rc != 0) {
        cm_free(req);
        return NULL;
    }
    return req;
}

void resolve_cancel(resolve_req *req)
{
    req->cb = NULL;
    req->names = NULL;
    /* a lookup not yet started ends now (UV_ECANCELED); one under way runs
     * to its end on its thread */
    uv_cancel((uv_req_t *)&req->req);
}
