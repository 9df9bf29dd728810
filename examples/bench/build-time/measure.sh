#!/usr/bin/env bash
# Build time of the README's quickstart (`example-quickstart`) against the
# same app on tower-sessions-sqlx-store (`peer/`): a clean debug build, then
# five incremental rebuilds after a one-string edit of a handler, each
# contender's rebuilds interleaved with the other's. Each uses a target
# directory of its own under $OUT (default /tmp/build-time), removed first.
# Run it from the repository root on an otherwise idle machine.
set -euo pipefail
OUT=${OUT:-/tmp/build-time}
OURS=examples/quickstart/src/main.rs
PEER=examples/bench/build-time/peer/src/main.rs
rm -rf "$OUT"
mkdir -p "$OUT"
cp "$OURS" "$OUT/ours.rs"
cp "$PEER" "$OUT/peer.rs"
# The edited handlers go back as they were, however the run ends.
trap 'cp "$OUT/ours.rs" "$OURS"; cp "$OUT/peer.rs" "$PEER"' EXIT

seconds() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
ours() { CARGO_TARGET_DIR=$OUT/ours seconds cargo build -q -p example-quickstart; }
peer() { CARGO_TARGET_DIR=$OUT/peer seconds cargo build -q --manifest-path examples/bench/build-time/peer/Cargo.toml; }

echo "clean: ours $(ours) s, peer $(peer) s"
for i in 1 2 3 4 5; do
    sed -i "s/log in first[a-z0-9]*\\\\n/log in first$i\\\\n/" "$OURS" "$PEER"
    echo "incremental $i: ours $(ours) s, peer $(peer) s"
done
