#!/usr/bin/env bash
# Every GPU check in one command, on a machine with an NVIDIA GPU, in at most 10 minutes:
#
#   bash benchmarks/gpu_check.sh
#
# 1. installs a CUDA build of PyTorch, unless the installed torch already sees a GPU (from
#    the index in TORCH_INDEX, default https://download.pytorch.org/whl/cu128: pick the one
#    that matches the driver, `nvidia-smi` shows its CUDA version; cu126 and cu130 exist too),
#    then the project with its test extras;
# 2. `pytest -m gpu`: one tiny run of each task on CUDA against the CPU, amp and compile;
# 3. the shared training loop against a hand-written one on the GPU
#    (benchmarks/train_throughput.py --device cuda; then with --amp, and with --compile while
#    time is left);
# 4. configs/tiny.yaml through the real Snakemake on the GPU (its defaults.device set to cuda
#    in a copy), in a temporary copy of the workflow, and which device each run recorded.
#
# Results go to benchmarks/results/gpu_check/: environment.txt, gpu_tests.txt (and .xml),
# train_throughput_cuda*.json, pipeline.txt (the Snakemake console), pipeline.json (runs and
# their devices) and steps.tsv (each step's status and seconds). A step that fails is
# recorded and the next one runs; the script exits non-zero if any failed.
set -uo pipefail

cd "$(dirname "$0")/.."
OUT=benchmarks/results/gpu_check
BUDGET=${GPU_CHECK_SECONDS:-600}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cu128}
PYTHON=${PYTHON:-python}
mkdir -p "$OUT"
printf 'step\tstatus\tseconds\n' >"$OUT/steps.tsv"
FAILED=0

left() { echo $((BUDGET - SECONDS)); }

step() { # step NAME TIMEOUT_S COMMAND...: run it, record its status and time
    local name=$1 limit=$2 start=$SECONDS status
    shift 2
    if ((limit > $(left))); then limit=$(left); fi
    if ((limit < 10)); then
        printf '%s\tskipped (out of time)\t0\n' "$name" >>"$OUT/steps.tsv"
        echo "== $name: skipped, $(left) s of the budget left"
        return
    fi
    echo "== $name (at most ${limit} s)"
    timeout "$limit" bash -o pipefail -c '"$@"' "$name" "$@" # timeout runs programs: a new bash
    status=$?
    if ((status == 0)); then status=ok; else status="failed ($status)"; FAILED=1; fi
    printf '%s\t%s\t%s\n' "$name" "$status" $((SECONDS - start)) >>"$OUT/steps.tsv"
    echo "== $name: $status in $((SECONDS - start)) s"
}

install() {
    if "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
        echo "torch already sees CUDA: not reinstalled"
    else
        "$PYTHON" -m pip install --quiet torch --index-url "$TORCH_INDEX" || return 1
    fi
    "$PYTHON" -m pip install --quiet -e '.[test]' || return 1
    "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' || {
        echo "torch $("$PYTHON" -c 'import torch; print(torch.__version__)') sees no GPU"
        return 1
    }
}

environment() {
    {
        date -u +%FT%TZ
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
        "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"device", torch.cuda.get_device_name(0), "bf16", torch.cuda.is_bf16_supported())'
        nproc
    } >"$OUT/environment.txt" 2>&1
    cat "$OUT/environment.txt"
}

gpu_tests() {
    "$PYTHON" -m pytest -m gpu -q tests/test_gpu.py --junitxml="$OUT/gpu_tests.xml" 2>&1 |
        tee "$OUT/gpu_tests.txt"
}

throughput() { # throughput [--amp] [--compile] [--repeats N]
    "$PYTHON" benchmarks/train_throughput.py --device cuda "$@" || return 1
    local name
    name=$(printf 'train_throughput_cuda%s' "$(for a in "$@"; do
        case $a in --amp) printf _amp ;; --compile) printf _compile ;; esac
    done)")
    mv "benchmarks/results/$name.json" "$OUT/$name.json"
}

pipeline() { # configs/tiny.yaml on the GPU in a temporary copy of the workflow
    local copy status start=$SECONDS
    copy=$(mktemp -d)
    cp -r Snakefile rules configs profiles envs pipeline.yaml studies "$copy"/
    "$PYTHON" - "$copy/configs/tiny_cuda.yaml" <<'EOF'
import sys, yaml
tiny = yaml.safe_load(open("configs/tiny.yaml"))
tiny["defaults"]["device"] = "cuda"
yaml.safe_dump(tiny, open(sys.argv[1], "w"))
EOF
    (cd "$copy" && "$PYTHON" -m snakemake --cores 4 --resources gpu=1 \
        --configfile configs/tiny_cuda.yaml) >"$OUT/pipeline.txt" 2>&1
    status=$?
    tail -n 5 "$OUT/pipeline.txt"
    "$PYTHON" - "$copy" "$OUT/pipeline.json" "$status" $((SECONDS - start)) <<'EOF'
import json, sys
from pathlib import Path
copy, out, status, seconds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = {
    str(p.parent.relative_to(copy)): json.loads(p.read_text())["provenance"]["device"]
    for p in sorted(copy.glob("results/*/*/seed*/run.json"))
}
record = {"exit_status": status, "seconds": seconds, "run_devices": runs}
out.write_text(json.dumps(record, indent=2) + "\n")
print(record)
sys.exit(status or not runs or any(not d.startswith("cuda") for d in runs.values()))
EOF
    status=$?
    rm -rf "$copy"
    return $status
}

export OUT PYTHON TORCH_INDEX
export -f install environment gpu_tests throughput pipeline
step install 240 install
if ! grep -q $'^install\tok' "$OUT/steps.tsv"; then
    echo "no CUDA build of torch here: nothing else can run"
    exit 1
fi
step environment 30 environment
step gpu_tests 180 gpu_tests
step throughput 90 throughput --repeats 5
step pipeline 150 pipeline
step throughput_amp 60 throughput --amp --repeats 3
if (($(left) > 150)); then
    step throughput_compile 150 throughput --compile --repeats 1
fi
column -t -s $'\t' "$OUT/steps.tsv"
echo "results in $OUT ($SECONDS s)"
exit $FAILED
