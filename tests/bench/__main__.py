"""`make bench`: run every tests/bench/bench_*.py module's main() and print its measurements.

`python -m tests.bench [name ...]` runs only the named benchmarks (e.g. `labels`); `gpu` and
`scale` run only when named (`make bench-gpu`, `make bench-scale`).
"""

import importlib
import pkgutil
import sys
import time

import tests.bench as package

# gpu: full-size models on a GPU node (`make bench-gpu`); scale: the data build on a synthetic
# hg19-sized genome, about 25 minutes and 12 GB of disk (`make bench-scale`)
NAMED_ONLY = {"bench_gpu", "bench_scale"}


def main(selected: list[str]) -> None:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("bench_")
    )
    for name in names:
        if name.removeprefix("bench_") not in selected and (selected or name in NAMED_ONLY):
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"tests.bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f} s\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
