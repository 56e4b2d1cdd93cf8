"""Run pytest under several OpenBLAS kernels and thread counts.

    python3 tests/blas_variants.py PYTEST_ARGS...      (from tools/)

The descriptor tables and pinned descriptor values must not depend on the BLAS
kernel or thread count. This runs ``python3 -m pytest -q PYTEST_ARGS`` once for
each of two OpenBLAS core types the CPU supports (core_types) and each of 1 and
2 threads, and exits with the first failing status. A core type is requested
only if /proc/cpuinfo lists its instructions: OpenBLAS accepts any forced
OPENBLAS_CORETYPE and would stop with an illegal instruction."""

import os
import subprocess
import sys
from typing import List

# OpenBLAS core types in order of preference, with the CPU flags their kernels use.
# Haswell and Zen share most kernels; Sandybridge (AVX without FMA) rounds differently.
CORE_TYPES = (
    ("SkylakeX", {"avx512f", "avx512bw", "avx512dq", "avx512vl"}),
    ("Haswell", {"avx2", "fma"}),
    ("Sandybridge", {"avx"}),
    ("Zen", {"avx2", "fma"}),
    ("Nehalem", {"sse4_2"}),
)
THREADS = (1, 2)


def cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def core_types(count: int = 2) -> List[str]:
    """The first ``count`` core types of CORE_TYPES that this CPU can run (none
    where /proc/cpuinfo is missing, e.g. not on x86 Linux)."""
    flags = cpu_flags()
    return [name for name, need in CORE_TYPES if need <= flags][:count]


def main(args: List[str]) -> int:
    cores = core_types()
    if len(cores) < 2:
        print(f"blas_variants: fewer than two OpenBLAS core types usable on this CPU ({cores}); only the thread counts vary")
    status = 0
    for core in cores or [None]:
        for threads in THREADS:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
            if core is not None:
                env["OPENBLAS_CORETYPE"] = core
            print(f"== OPENBLAS_CORETYPE={core or '(default)'} OPENBLAS_NUM_THREADS={threads}", flush=True)
            rc = subprocess.call([sys.executable, "-m", "pytest", "-q", *args], env=env)
            status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
