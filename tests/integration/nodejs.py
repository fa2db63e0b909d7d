"""Node.js packages for the tests that drive real Node.js clients and
libraries: installed with `npm ci` from a package-lock.json once, outside
the tree (in $<env_var>, default ~/.cache/cairn/<name>-<lock hash>)."""
import fcntl
import hashlib
import os
import shutil
import subprocess


def npm_install(package_dir, name, env_var, extra_args=()):
    """The node_modules folder of package_dir's locked packages."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed: run scripts/bootstrap.sh"
    with open(os.path.join(package_dir, "package-lock.json"), "rb") as f:
        lock_hash = hashlib.sha256(f.read()).hexdigest()[:12]
    where = os.environ.get(env_var) or os.path.join(
        os.path.expanduser("~"), ".cache", "cairn", f"{name}-{lock_hash}")
    marker = os.path.join(where, ".installed")
    os.makedirs(where, exist_ok=True)
    # Test files that share the packages may run at once (pytest -n).
    with open(os.path.join(where, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(marker):
            for f in ("package.json", "package-lock.json"):
                shutil.copy(os.path.join(package_dir, f), where)
            r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error",
                                *extra_args], cwd=where, capture_output=True, text=True,
                               timeout=600)
            assert r.returncode == 0, f"npm ci failed: {r.stdout[-2000:]}{r.stderr[-2000:]}"
            open(marker, "w").close()
    return os.path.join(where, "node_modules")
