"""Two binaries alternated in the same run (the benchmark scripts that
compare an old and a new cairn-server: bench/digest.py,
bench/snap_catchup.py): on a shared machine only figures taken side by
side, round after round, can be compared."""
import sys


def alternate(doc, rounds, run):
    """OLD_BIN and NEW_BIN from the command line (else exits with doc):
    run(round, name, binary) for each, "old" then "new", rounds times.
    Returns {"old": [results], "new": [results]}."""
    if len(sys.argv) != 3:
        sys.exit(doc)
    bins = {"old": sys.argv[1], "new": sys.argv[2]}
    res = {name: [] for name in bins}
    for rnd in range(rounds):
        for name, binary in bins.items():
            res[name].append(run(rnd, name, binary))
    return res
