"""docs/commands.md is generated from the command table: it must match
what the server's COMMAND and COMMAND DOCS report now."""
import importlib.util
import os

import pytest

from conftest import ROOT


@pytest.mark.cairn_only
def test_command_docs_are_current(server):
    spec = importlib.util.spec_from_file_location(
        "gen_command_docs", os.path.join(ROOT, "scripts", "gen_command_docs.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    client = server.client()
    client.response_callbacks.pop("COMMAND", None)
    with open(os.path.join(ROOT, "docs", "commands.md")) as f:
        committed = f.read()
    assert gen.render(client) == committed, \
        "docs/commands.md is stale: run scripts/gen_command_docs.py"
