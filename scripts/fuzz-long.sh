#!/usr/bin/env bash
# A long fuzz run of the DICOM core (packages/core/test/fuzz/run.ts) with a time-based seed, for nightly or by hand.
#   bash scripts/fuzz-long.sh [iterations]      default 5,000,000 iterations
# VEIL_FUZZ_SEED overrides the seed. A crash or hang prints the seed and iteration (replay with VEIL_FUZZ_SEED=<seed>
# VEIL_FUZZ_ONLY=<iteration>), saves the input under .tmp/fuzz-crashes/ and exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seed=${VEIL_FUZZ_SEED:-$(date +%s)}
iterations=${1:-${VEIL_FUZZ_ITERATIONS:-5000000}}
echo "fuzz-long: seed $seed, $iterations iterations"
exec env VEIL_FUZZ_SEED="$seed" VEIL_FUZZ_ITERATIONS="$iterations" node --import tsx packages/core/test/fuzz/run.ts
