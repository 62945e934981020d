#!/bin/sh
# Runs BenchmarkDPOStepTiny (go backend) and its PyTorch CPU peer on the same
# machine, one after the other, and prints both tokens/s and their ratio.
# Usage (from the repository root): sh lab/seqmodel/torchpeer/compare.sh [steps]
set -eu
steps="${1:-10}"
export GOEXPERIMENT=simd GOFLAGS=-mod=mod GOMLX_BACKEND=go GOMLX_NO_AUTO_INSTALL=1
here="$(cd "$(dirname "$0")" && pwd)"
go_out="$(go test ./lab/seqmodel/ -run '^$' -bench '^BenchmarkDPOStepTiny$' -benchtime "${steps}x" -count 1 2>&1)" ||
	{ echo "$go_out"; exit 1; }
torch_out="$(/usr/bin/python3 "$here/dpo_step.py" "$steps")"
echo "$go_out" | grep -E 'backend|Benchmark'
echo "$torch_out"
go_tps="$(echo "$go_out" | awk '/^BenchmarkDPOStepTiny/ { for (i = 1; i < NF; i++) if ($(i+1) == "tokens/s") print $i }')"
torch_tps="$(echo "$torch_out" | awk '/^torch tokens\/s:/ { print $3 }')"
echo "go tokens/s: $go_tps"
echo "torch tokens/s: $torch_tps"
awk -v g="$go_tps" -v t="$torch_tps" 'BEGIN { printf "ratio go/torch: %.3f (torch is %.2fx faster)\n", g / t, t / g }'
