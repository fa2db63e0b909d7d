/* t_function_dump.c -- FUNCTION DUMP and FUNCTION RESTORE: the function
 * libraries in Redis's serialization, so they cross between Cairn and
 * Redis 7.0 both ways.
 *
 * The payload is what Redis's DUMP of a key is, with one FUNCTION2 record
 * (the opcode, then the library's code as an RDB string) per library in
 * place of a value (RESTORE also reads the FUNCTION records of Redis 7.0's
 * release candidates):
 *
 *   (0xF5 <code>)... <RDB version: 2 bytes LE> <CRC64 of the rest: 8 bytes LE>
 *
 * RESTORE is deterministic given its arguments and the libraries already
 * there, so it is logged as itself (DESIGN rule 4), as FUNCTION LOAD is. */
#include <stdio.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../engine/cmd.h"
#include "../script/function.h"
#include "rdb.h"

void function_dump_command(cmd_call *c)
{
    int n;
    const fn_lib *const *libs = function_libraries(script_get(c->e), &n);
    dstr out = dstr_with_cap(64);
    for (int i = 0; i < n; i++) {
        unsigned char op = RDB_OPCODE_FUNCTION2;
        out = dstr_cat(out, &op, 1);
        out =
            rdb_write_string(out, libs[i]->code, dstr_len(libs[i]->code), c->e->cfg.rdbcompression);
    }
    out = rdb_payload_trailer(out);
    reply_bulk(c->out, out, dstr_len(out));
    dstr_free(out);
}

/* The libraries' codes of a payload: they point into it, or into
 * scratch for those compressed. */
typedef struct codes {
    cslice *code;
    dstr *scratch;
    int n, cap;
} codes;

static void codes_free(codes *cs)
{
    for (int i = 0; i < cs->cap; i++)
        dstr_free(cs->scratch[i]);
    cm_free(cs->scratch);
    cm_free(cs->code);
}

/* Redis 7.0's release candidates wrote a library's name, engine and
 * description (if its indicator is set) before its code, which had no
 * shebang line: give it the one Redis gives it.  Returns NULL, or Redis's
 * message. */
static const char *read_pre_ga(rdb_reader *r, codes *cs)
{
    cslice name, engine;
    dstr name_buf = NULL, engine_buf = NULL;
    uint64_t has_desc;
    const char *msg = NULL;
    if (!rdb_read_string(r, &name, &name_buf))
        msg = "Failed loading library name";
    else if (!rdb_read_string(r, &engine, &engine_buf))
        msg = "Failed loading engine name";
    else if (!rdb_read_len(r, &has_desc, NULL))
        msg = "Failed loading library description indicator";
    else if (has_desc && !rdb_skip_string(r))
        msg = "Failed loading library description";
    else if (!rdb_read_string(r, &cs->code[cs->n], &cs->scratch[cs->n]))
        msg = "Failed loading library blob";
    if (!msg) {
        dstr code = dstr_catfmt(dstr_with_cap(64), "#!%.*s name=%.*s\n", (int)engine.len,
                                engine.ptr, (int)name.len, name.ptr);
        code = dstr_cat(code, cs->code[cs->n].ptr, cs->code[cs->n].len);
        dstr_free(cs->scratch[cs->n]);
        cs->scratch[cs->n] = code;
        cs->code[cs->n] = (cslice){code, dstr_len(code)};
    }
    dstr_free(name_buf);
    dstr_free(engine_buf);
    return msg;
}

/* Read the codes of payload p (its trailer already checked).  The reader
 * may run into the trailer, as Redis's does: a payload cut short fails
 * as it fails there.  Returns NULL, or Redis's message. */
static const char *read_codes(const cslice *p, codes *cs)
{
    const unsigned char *start = (const unsigned char *)p->ptr;
    rdb_reader r = {start, start + p->len, NULL};
    while (r.end - r.p > 10) {
        unsigned t;
        if (!rdb_read_u8(&r, &t)) return "can not read data type";
        if (t != RDB_OPCODE_FUNCTION && t != RDB_OPCODE_FUNCTION2)
            return "given type is not a function";
        if (cs->n == cs->cap) {
            int cap = cs->cap ? cs->cap * 2 : 4;
            cs->code = cm_realloc(cs->code, sizeof(*cs->code) * (size_t)cap);
            cs->scratch = cm_realloc(cs->scratch, sizeof(*cs->scratch) * (size_t)cap);
            for (int i = cs->cap; i < cap; i++)
                cs->scratch[i] = NULL;
            cs->cap = cap;
        }
        if (t == RDB_OPCODE_FUNCTION) {
            const char *msg = read_pre_ga(&r, cs);
            if (msg) return msg;
        } else if (!rdb_read_string(&r, &cs->code[cs->n], &cs->scratch[cs->n])) {
            return "Failed loading library payload";
        }
        cs->n++;
    }
    return NULL;
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] */
void function_restore_command(cmd_call *c)
{
    if (c->argc > 4) {
        reply_errorf(c->out,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "FUNCTION HELP.",
                     c->argv[1].len > 128 ? 128 : (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    int policy = FN_RESTORE_APPEND;
    if (c->argc == 4) {
        if (arg_is(c, 3, "append")) {
            policy = FN_RESTORE_APPEND;
        } else if (arg_is(c, 3, "replace")) {
            policy = FN_RESTORE_REPLACE;
        } else if (arg_is(c, 3, "flush")) {
            policy = FN_RESTORE_FLUSH;
        } else {
            reply_error(c->out, "ERR Wrong restore policy given, value should be either FLUSH, "
                                "APPEND or REPLACE.");
            return;
        }
    }
    const cslice *p = &c->argv[2];
    if (!rdb_payload_ok(p->ptr, p->len)) {
        reply_error(c->out, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    codes cs = {0};
    char err[1024];
    const char *msg = read_codes(p, &cs);
    if (!msg && function_restore(script_get(c->e), cs.code, cs.n, policy, err, sizeof(err)) < 0)
        msg = err;
    if (msg) {
        reply_errorf(c->out, "ERR %s", msg);
    } else {
        c->dirty++;
        reply_ok(c->out);
    }
    codes_free(&cs);
}
