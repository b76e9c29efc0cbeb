"""Peak memory of reading a ledger against the size of its files (docs/reliability.md, Memory).

    python bench/bench_ledger_memory.py                      # 100,000 households, CSV
    python bench/bench_ledger_memory.py --households 20000 --format json

Writes a synthetic county (``fupin_rules.io.generate``, seed 2017) in the format asked for, then
reads it with ``read_ledger`` in a fresh process and prints one JSON object: the size of the
files, the peak resident memory of the reading process (``ru_maxrss``), the same for a process
that only imports the library, their ratio to the file size, the memory still held by the
loaded dataset, and the seconds the read took.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

READ = """
import gc, json, resource, sys, time
from fupin_rules.io import read_ledger
start = time.perf_counter()
result = read_ledger(sys.argv[1])
seconds = time.perf_counter() - start
gc.collect()
held = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
print(json.dumps({
    "seconds": round(seconds, 1),
    "records": result.dataset.record_count(),
    "accounted": result.accounted,
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "held_kb": held,
}))
"""
WRITE = """
import sys
from fupin_rules.io import generate_county, to_dataset_dict, write_ledger
write_ledger(to_dataset_dict(generate_county(int(sys.argv[1]), 2017)), sys.argv[2], sys.argv[3])
print("{}")
"""
IMPORT_ONLY = """
import json, resource
import fupin_rules.io  # noqa: F401
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
    args = parser.parse_args()

    # every step in its own process, this one importing nothing large: on Linux a child's
    # ru_maxrss starts from its parent's peak at the fork
    with tempfile.TemporaryDirectory() as tmp:
        name = {"csv": "ledger", "json": "ledger.json", "xlsx": "ledger.xlsx"}[args.format]
        path = Path(tmp) / name
        _run(WRITE, str(args.households), str(path), args.format)
        size = _size(path)
        read = _run(READ, str(path))
        base = _run(IMPORT_ONLY)
    peak = int(str(read["peak_kb"])) * 1024
    floor = int(str(base["peak_kb"])) * 1024
    print(
        json.dumps(
            {
                "households": args.households,
                "format": args.format,
                "file_bytes": size,
                "peak_rss_bytes": peak,
                "import_only_rss_bytes": floor,
                "held_after_read_bytes": int(str(read["held_kb"])) * 1024,
                "peak_to_file_ratio": round(peak / size, 1),
                "peak_above_imports_to_file_ratio": round((peak - floor) / size, 1),
                "read_seconds": read["seconds"],
                "records": read["records"],
                "accounted": read["accounted"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
