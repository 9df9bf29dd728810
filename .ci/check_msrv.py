"""Fails when a locked dependency of session-runtime needs a newer Rust
than the workspace's declared rust-version, which would make it a lie."""

import json
import subprocess
import sys

metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
packages = {package["id"]: package for package in metadata["packages"]}
nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}


def version(text):
    parts = [int(part) for part in (text or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def dependencies(root):
    """Every normal or build dependency of `root`, transitively."""
    seen, pending = set(), [root]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for dependency in nodes[current]["deps"]:
            kinds = {kind["kind"] for kind in dependency["dep_kinds"]}
            if kinds & {None, "build"}:
                pending.append(dependency["pkg"])
    return seen - {root}


failed = False
for name in ("session-runtime", "session-derive"):
    root = next(p for p in packages.values() if p["name"] == name)
    declared = version(root["rust_version"])
    for dependency in sorted(dependencies(root["id"])):
        needed = packages[dependency].get("rust_version")
        if needed and version(needed) > declared:
            failed = True
            print(
                f"msrv: {name} declares rust-version {root['rust_version']}, "
                f"but {packages[dependency]['name']} {packages[dependency]['version']} needs {needed}",
                file=sys.stderr,
            )
if failed:
    sys.exit(1)
print("msrv: every locked dependency builds on the declared rust-version")
