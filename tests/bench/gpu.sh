#!/usr/bin/env bash
# The GPU benchmark (tests/bench/bench_gpu.py) on a GPU node that cannot install packages.
#
#   tests/bench/gpu.sh            # from a copy of the working tree; prints one table
#
# Uses the node's own GPU framework: KERAS_BACKEND when set, else the first of jax, torch,
# tensorflow that imports. Keras and its small dependencies, when missing, are unpacked from
# the wheels in $WHEELS (default .whl/bench-gpu, filled on a machine with a registry by
# `make bench-gpu-wheels`) into a temporary folder; nothing is installed. Writes the table to
# $OUT/bench_gpu.txt and the rows to $OUT/bench_gpu.json when OUT is set; the generated split
# goes to $BENCH_GPU_DIR (default /tmp). The whole run stops after $BENCH_SECONDS (360).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl/bench-gpu}
LIMIT=${BENCH_SECONDS:-360}

if [ -z "${KERAS_BACKEND:-}" ]; then
	for backend in jax torch tensorflow; do
		if "$PYTHON" -c "import $backend" 2>/dev/null; then
			export KERAS_BACKEND=$backend
			break
		fi
	done
fi
echo "python: $("$PYTHON" --version 2>&1), KERAS_BACKEND=${KERAS_BACKEND:-none found}"

site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
# import name -> wheel name prefix; a wheel is a zip that unpacks into site-packages as is
"$PYTHON" - "$WHEELS" "$site" <<'EOF'
import importlib.util, sys, zipfile
from pathlib import Path

wheels, site = Path(sys.argv[1]), Path(sys.argv[2])
needed = {"keras": "keras", "h5py": "h5py", "namex": "namex", "rich": "rich", "absl": "absl_py",
          "optree": "optree", "ml_dtypes": "ml_dtypes", "packaging": "packaging",
          "markdown_it": "markdown_it_py", "mdurl": "mdurl", "pygments": "pygments",
          "typing_extensions": "typing_extensions"}
tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
for module, prefix in needed.items():
    if importlib.util.find_spec(module) is not None:
        continue
    found = [w for w in sorted(wheels.glob(f"{prefix}-*.whl"))
             if "-py3-none-any" in w.name or f"-{tag}-" in w.name]
    if not found:
        sys.exit(f"{module} is missing and {wheels} has no wheel of it for {tag}: on a machine "
                 "with a registry run `make bench-gpu-wheels` and copy the folder along")
    with zipfile.ZipFile(found[-1]) as wheel:
        wheel.extractall(site)
    print(f"using {found[-1].name} (unpacked, not installed)")
EOF

export PYTHONPATH="$site:$PWD/workflow:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export BENCH_GPU_SECONDS=${BENCH_GPU_SECONDS:-$((LIMIT - 60))}
export BENCH_GPU_DIR=${BENCH_GPU_DIR:-/tmp}
if [ -n "${OUT:-}" ]; then
	export BENCH_GPU_JSON=${BENCH_GPU_JSON:-$OUT/bench_gpu.json}
	timeout "$LIMIT" "$PYTHON" -m tests.bench gpu 2>&1 | tee "$OUT/bench_gpu.txt"
else
	timeout "$LIMIT" "$PYTHON" -m tests.bench gpu
fi
