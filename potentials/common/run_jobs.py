#!/usr/bin/python3
"""Run the data-generation jobs of a potential, a few at a time, resumably.

    run_jobs.py JOBS [--workers 2] [--nice 10]

JOBS: one job per line, 'NAME  COMMAND...' (blank lines and '#' comments skipped); the
command runs with bash under nice, with stdout and stderr in NAME.log, in the folder of
NAME (NAME may be a path, relative to the folder of JOBS or absolute). A finished job leaves NAME.done and is skipped when the list is run again, so
an interrupted regeneration continues where it stopped. Jobs start in the order given
(put the long ones first). Exit status 1 if any job failed.

sd/tb's exact diagonalisation is single-threaded and runs on MPI rank 0 only, so
independent serial LAMMPS processes side by side are the way to use several cores.
"""

import argparse
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jobs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nice", type=int, default=10)
    args = ap.parse_args()
    folder = os.path.dirname(os.path.abspath(args.jobs))
    jobs = []
    for line in open(args.jobs):
        line = line.strip()
        if line and not line.startswith("#"):
            name, cmd = line.split(None, 1)
            jobs.append((name, cmd))
    todo = [(n, c) for n, c in jobs if not os.path.exists(os.path.join(folder, n + ".done"))]
    print(f"[run_jobs] {len(jobs)} jobs in {args.jobs}, {len(jobs) - len(todo)} already done, "
          f"{len(todo)} to run on {args.workers} workers", flush=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    running, failed, t0 = {}, [], time.time()
    while todo or running:
        while todo and len(running) < args.workers:
            name, cmd = todo.pop(0)
            for stale in (name + ".done",):
                if os.path.exists(os.path.join(folder, stale)):
                    os.remove(os.path.join(folder, stale))
            log = open(os.path.join(folder, name + ".log"), "w")
            p = subprocess.Popen(["nice", "-n", str(args.nice), "bash", "-c", cmd],
                                 cwd=os.path.dirname(os.path.join(folder, name)),
                                 stdout=log, stderr=subprocess.STDOUT, env=env)
            running[name] = (p, time.time(), log)
            print(f"[run_jobs] {time.time() - t0:8.0f} s  start {name}", flush=True)
        time.sleep(2)
        for name in list(running):
            p, start, log = running[name]
            if p.poll() is None:
                continue
            log.close()
            del running[name]
            dt = time.time() - start
            if p.returncode == 0:
                open(os.path.join(folder, name + ".done"), "w").write(f"{dt:.1f} s\n")
                print(f"[run_jobs] {time.time() - t0:8.0f} s  done  {name} ({dt:.0f} s)", flush=True)
            else:
                failed.append(name)
                print(f"[run_jobs] {time.time() - t0:8.0f} s  FAILED {name} (status {p.returncode}, see {name}.log)",
                      flush=True)
    print(f"[run_jobs] finished in {time.time() - t0:.0f} s, {len(failed)} failed {failed}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
