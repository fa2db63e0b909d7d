/* monitor.h -- MONITOR: sessions that receive a line for every command the
 * server runs, in Redis's format:
 *
 *   +1339518083.107412 [0 127.0.0.1:60866] "keys" "*"
 *
 * with "lua" for commands run by scripts and "unix:<path>" for clients of
 * the unix socket.  Fed from engine.c's observation of finished calls
 * (only while a session monitors: cfg.watch_ns) and, before the script
 * runs, by EVAL and EVALSHA, so the script comes before its commands. */
#ifndef CAIRN_MONITOR_H
#define CAIRN_MONITOR_H

typedef struct cairn_engine cairn_engine;
typedef struct cairn_session cairn_session;
typedef struct cmd_call cmd_call;
typedef struct monitors monitors;

/* Send call c to every monitor (the caller checked cfg.monitoring). */
void monitor_feed(cmd_call *c);
/* s leaves MONITOR mode (RESET, or its connection closed). */
void monitor_remove(cairn_engine *e, cairn_session *s);
void monitors_free(monitors *m);

#endif
