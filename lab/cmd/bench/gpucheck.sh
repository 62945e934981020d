#!/bin/sh
# GPU check: the lab's DPO step and sweep on an NVIDIA GPU (XLA through a
# CUDA PJRT plugin) beside PyTorch on the same machine, plus the pure-Go
# backend's CPU scaling, all written to one directory.
#
# Step 1, on any Linux x86-64 machine with Go and a C compiler (the XLA
# backend is linked with cgo and the build tag xla), from the repository root:
#
#	sh lab/cmd/bench/gpucheck.sh build [DIR]     # default DIR: gpucheck-build
#
# writes DIR/bench (the benchmark program, PyTorch peer embedded) and
# DIR/gpucheck.sh. Step 2, on the NVIDIA machine (no network needed; it needs
# a CUDA PJRT plugin, e.g. a jax-cuda wheel's xla_cuda_plugin.so, and Python
# with torch):
#
#	sh DIR/gpucheck.sh run [OUT]                 # default OUT: gpucheck-out
#
# OUT gets machine.txt (GPU, driver, CPUs, plugin), one JSON per run and
# summary.txt (every result line). The runs:
#
#	auto-tiny   no GOMLX_BACKEND: lab.Backend's own discovery must pick the GPU
#	xla-tiny    GOMLX_BACKEND=xla:<plugin>, --size tiny --torch, and the sweep
#	xla-gpu     GOMLX_BACKEND=xla:<plugin>, --size gpu --torch
#	cpu-N       the pure-Go backend's DPO step with GOMAXPROCS=N (2, 4, 8, all
#	            CPUs), comparing backend configs (--compare), and PyTorch CPU
#	            (CUDA hidden) at the same thread count
#
# Environment: PLUGIN (path of the CUDA PJRT plugin; default: the first
# xla_cuda_plugin.so or pjrt_c_api_cuda*_plugin.so found on this file
# system), BENCH_PYTHON (Python with torch; default: the first of python3 on
# PATH and /usr/bin/python3 that imports torch), STEPS_TINY (default 30),
# STEPS_GPU (default 10), CPU_CONFIGS (default
# "go:ops_sequential;go:ops_sequential,parallelism=8;go:ops_sequential,parallelism=4;go:parallelism=-1").
set -eu

cmd="${1:-}"
case "$cmd" in
build)
	dir="${2:-gpucheck-build}"
	mkdir -p "$dir"
	GOEXPERIMENT=simd CGO_ENABLED=1 GOFLAGS="${GOFLAGS:--mod=mod}" go build -tags xla -o "$dir/bench" ./lab/cmd/bench
	cp "$0" "$dir/gpucheck.sh"
	echo "built $dir/bench; copy $dir to the NVIDIA machine and run: sh $dir/gpucheck.sh run OUT"
	;;
run)
	here="$(cd "$(dirname "$0")" && pwd)"
	bench="$here/bench"
	out="${2:-gpucheck-out}"
	mkdir -p "$out"
	export GOMLX_NO_AUTO_INSTALL=1
	plugin="${PLUGIN:-}"
	if [ -z "$plugin" ]; then
		plugin="$(find / -xdev \( -name xla_cuda_plugin.so -o -name 'pjrt_c_api_cuda*_plugin.so' \) 2>/dev/null | head -1 || true)"
	fi
	py="${BENCH_PYTHON:-}"
	if [ -z "$py" ]; then
		for cand in "$(command -v python3 || true)" /usr/bin/python3; do
			if [ -n "$cand" ] && "$cand" -c 'import torch' 2>/dev/null; then
				py="$cand"
				break
			fi
		done
	fi
	ncpu="$(nproc)"
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "host: $(hostname)"
		echo "cpus: $ncpu ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'))"
		nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
		echo "plugin: ${plugin:-none found}"
		if [ -n "$py" ]; then
			echo "python: $py, torch $("$py" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')"
		else
			echo "python: no python3 with torch found"
		fi
	} >"$out/machine.txt" 2>&1
	cat "$out/machine.txt"
	export BENCH_PYTHON="${py:-/usr/bin/python3}"
	torch=""
	[ -n "$py" ] && torch="--torch"
	status=0
	step() { # name, then env assignments and bench flags
		name="$1"
		shift
		echo "== $name: $*" | tee -a "$out/summary.txt"
		if env "$@" --out "$out/$name.json" >"$out/$name.log" 2>&1; then :; else
			echo "   FAILED (exit $?), see $out/$name.log" | tee -a "$out/summary.txt"
			status=1
		fi
		grep -E 'dpo-step|sweep256|^lab: ' "$out/$name.log" | tee -a "$out/summary.txt" || true
	}
	steps_tiny="${STEPS_TINY:-30}"
	steps_gpu="${STEPS_GPU:-10}"
	step auto-tiny "$bench" --size tiny --steps "$steps_tiny" --sweep=false
	if [ -n "$plugin" ]; then
		step xla-tiny GOMLX_BACKEND="xla:$plugin" "$bench" --size tiny --steps "$steps_tiny" $torch
		step xla-gpu GOMLX_BACKEND="xla:$plugin" "$bench" --size gpu --steps "$steps_gpu" --sweep=false $torch
	else
		echo "no CUDA PJRT plugin found: skipping the XLA runs" | tee -a "$out/summary.txt"
		status=1
	fi
	configs="${CPU_CONFIGS:-go:ops_sequential;go:ops_sequential,parallelism=8;go:ops_sequential,parallelism=4;go:parallelism=-1}"
	counts="2 4 8"
	case " $counts " in *" $ncpu "*) ;; *) counts="$counts $ncpu" ;; esac
	for n in $counts; do
		[ "$n" -le "$ncpu" ] || continue
		step "cpu-$n" GOMAXPROCS="$n" GOMLX_BACKEND=go "$bench" --size tiny --steps 3 --rounds 4 --compare "$configs"
		if [ -n "$py" ]; then
			step "cpu-$n-torch" CUDA_VISIBLE_DEVICES= GOMAXPROCS="$n" OMP_NUM_THREADS="$n" GOMLX_BACKEND=go \
				"$bench" --size tiny --steps 10 --sweep=false --torch
		fi
	done
	echo "results in $out (summary.txt)"
	exit "$status"
	;;
*)
	sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
