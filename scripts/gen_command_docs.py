#!/usr/bin/python3
"""Write docs/commands.md from the command table, as a running server
reports it through COMMAND INFO and COMMAND DOCS (DESIGN rule 3: the docs
read the one table).  Usage: scripts/gen_command_docs.py [cairn-server]"""
import os
import socket
import subprocess
import sys
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def render(client):
    infos = {i[0]: i for i in client.execute_command("COMMAND")}
    docs = client.execute_command("COMMAND", "DOCS")
    docs = dict(zip(docs[0::2], docs[1::2]))
    by_group = {}
    for name, doc in docs.items():
        doc = dict(zip(doc[0::2], doc[1::2]))
        by_group.setdefault(doc.get("group", "other"), []).append((name, doc))
    out = ["# Commands", "",
           "Generated from the command table by `scripts/gen_command_docs.py`; "
           "do not edit by hand.", ""]
    for group in sorted(by_group):
        out += [f"## {group}", "", "| command | arity | flags | since | summary | complexity |",
                "|---|---:|---|---|---|---|"]
        for name, doc in sorted(by_group[group]):
            info = infos[name]
            subs = info[9] if len(info) > 9 else []
            rows = [(name, info, doc)]
            subdocs = doc.get("subcommands") or []
            subdocs = dict(zip(subdocs[0::2], subdocs[1::2]))
            for sub in sorted(subs, key=lambda s: s[0]):
                sd = dict(zip(subdocs.get(sub[0], [])[0::2], subdocs.get(sub[0], [])[1::2]))
                rows.append((sub[0], sub, sd))
            for cname, ci, cd in rows:
                flags = ", ".join(ci[2])
                out.append(f"| `{cname.upper().replace('|', ' ')}` | {ci[1]} | {flags} | {cd.get('since', '')} | "
                           f"{cd.get('summary', '')} | {cd.get('complexity', '')} |")
        out.append("")
    return "\n".join(out)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cairn-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, decode_responses=True)
        client.response_callbacks.pop("COMMAND", None)  # keep the raw replies
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        text = render(client)
    finally:
        proc.terminate()
        proc.wait()
    with open(os.path.join(ROOT, "docs", "commands.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
