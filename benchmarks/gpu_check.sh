#!/usr/bin/env bash
# The prepared GPU check of `cnnstat bench` (issue #8).  On a machine with a CUDA GPU and a CUDA
# build of torch: run the GPU tests (pytest -m gpu) and a short benchmark of resnet50, vgg16 and
# mobilenet-v2 at batch 64 in float32 and bfloat16, and write a markdown report naming the card,
# driver, CUDA and torch (benchmarks/gpu-report.md).  The checkout runs in place (python -m
# cnnstat); nothing is installed unless cnnstat's own dependencies or pytest are missing (then
# pip install -e '.[test]'; torch with CUDA must already be there).  Every step has a timeout;
# the whole check stays under 5 minutes.
#
#   bash benchmarks/gpu_check.sh                        # on the GPU machine
#   GPU_CHECK_DRY_RUN=1 bash benchmarks/gpu_check.sh    # the same steps on the CPU, tiny settings
#
# Environment: PYTHON (default python3), GPU_CHECK_OUT (the report's path), GPU_CHECK_DRY_RUN=1.
# Exit status: 0 when every step passed, 1 when a step failed (the report says which), 2 when
# the machine cannot run the check (no torch, or no CUDA device outside a dry run).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.." || exit 2
py="${PYTHON:-python3}"
dry="${GPU_CHECK_DRY_RUN:-0}"

if [[ "$dry" == 1 ]]; then
    device=cpu
    specs=(conv-example lenet5)
    batch=2
    timing=(--time-budget 0.05 --warmup 1 --threads 1)
    out="${GPU_CHECK_OUT:-${TMPDIR:-/tmp}/cnnstat-gpu-report.dry-run.md}"
else
    device=cuda
    specs=(resnet50 vgg16 mobilenet-v2)
    batch=64
    timing=(--time-budget 3 --warmup 5)
    out="${GPU_CHECK_OUT:-$here/gpu-report.md}"
fi
dtypes=(float32 bfloat16)

limit() {  # limit SECONDS CMD...: run CMD with a timeout where `timeout` exists
    local seconds="$1"
    shift
    if command -v timeout >/dev/null 2>&1; then
        timeout "$seconds" "$@"
    else
        "$@"
    fi
}

if ! "$py" -c "import torch" 2>/dev/null; then
    echo "gpu_check: $py cannot import torch; install a CUDA build of torch first" >&2
    exit 2
fi
if [[ "$dry" != 1 ]] && ! "$py" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "gpu_check: torch finds no CUDA device here (GPU_CHECK_DRY_RUN=1 runs on the CPU)" >&2
    exit 2
fi

# The one install allowed: cnnstat's own dependencies and test tools, when they are missing.
if ! "$py" -c "import click, rich, pydantic, yaml, pytest, hypothesis" 2>/dev/null; then
    echo "gpu_check: installing cnnstat's dependencies: pip install -e '.[test]'" >&2
    "$py" -m pip install -q -e '.[test]' || exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=()
start=$SECONDS

"$py" - "$device" "$dry" >"$tmp/header.md" <<'PY'
import datetime, platform, shutil, subprocess, sys
import torch

device, dry = sys.argv[1], sys.argv[2] == "1"
def smi(field):
    exe = shutil.which("nvidia-smi")
    if not exe:
        return "unknown (no nvidia-smi)"
    run = subprocess.run([exe, f"--query-gpu={field}", "--format=csv,noheader", "-i", "0"],
                         capture_output=True, text=True, timeout=20, check=False)
    return run.stdout.strip() or "unknown"
cpu = platform.processor() or platform.machine()
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print("# GPU check: `cnnstat bench`" + (" (DRY RUN on the CPU)" if dry else ""))
print()
print(f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by "
      "`benchmarks/gpu_check.sh`.")
print()
if device == "cuda":
    p = torch.cuda.get_device_properties(0)
    print(f"- card: {p.name} (compute capability {p.major}.{p.minor}, "
          f"{p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs)")
    print(f"- driver: {smi('driver_version')}")
    print(f"- CUDA (torch build): {torch.version.cuda}; cuDNN {torch.backends.cudnn.version()}")
else:
    print("- card: none (dry run: the same steps on the CPU with tiny settings)")
print(f"- torch: {torch.__version__}; Python {platform.python_version()}")
print(f"- host CPU: {cpu}")
PY
cp "$tmp/header.md" "$out"

{
    echo
    echo "## GPU tests: \`pytest -m gpu\`"
    echo
} >>"$out"
rc=0
limit 150 "$py" -m pytest -m gpu -q -p no:cacheprovider >"$tmp/pytest.txt" 2>&1 || rc=$?
if ((rc == 0)); then
    echo "passed:" >>"$out"
else
    failed+=("pytest -m gpu")
    echo "**FAILED** (exit $rc):" >>"$out"
fi
{
    echo
    echo '```text'
    tail -n 25 "$tmp/pytest.txt"
    echo '```'
} >>"$out"

for dtype in "${dtypes[@]}"; do
    cmd=("$py" -m cnnstat bench "${specs[@]}" --device "$device" --batch "$batch"
         --dtype "$dtype" "${timing[@]}")
    {
        echo
        echo "## ${specs[*]} at batch $batch, $dtype"
        echo
        echo "\`cnnstat ${cmd[*]:3}\`"
        echo
    } >>"$out"
    rc=0
    limit 60 "${cmd[@]}" --format markdown >"$tmp/bench.md" 2>"$tmp/bench.err" || rc=$?
    if ((rc == 0)); then
        cat "$tmp/bench.md" >>"$out"
    else
        failed+=("bench $dtype")
        {
            echo "**FAILED** (exit $rc):"
            echo
            echo '```text'
            tail -n 20 "$tmp/bench.err"
            echo '```'
        } >>"$out"
    fi
done

{
    echo
    echo "## Result"
    echo
    if ((${#failed[@]})); then
        echo "**FAILED**: ${failed[*]} ($((SECONDS - start)) s)."
    else
        echo "All steps passed in $((SECONDS - start)) s."
    fi
} >>"$out"
echo "gpu_check: report written to $out" >&2
((${#failed[@]} == 0)) || exit 1
