"""How long `report.html` takes for a class of 100: grade the class of `benchmarks/batch.py`
once, then time `grade report DIR` (a whole process: imports of jinja2 and matplotlib
included) and, in this process, its parts: reading the folder back, the class summary with
its clusters (`grade batch` makes it again after every student), and the page.

    python benchmarks/report.py [--students 100] [--jobs 2] [--from DIR]

`--from DIR`: a batch's output folder to report on instead (nothing is graded).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from batch import generate, grade_command, timed  # noqa: E402  (benchmarks/batch.py)
from grader.course import Course  # noqa: E402


def best_of(runs: int, work) -> float:
    """The fastest of `runs` calls of `work()`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--from", dest="source", type=Path, help="a batch's output folder")
    args = parser.parse_args()
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    work = Path(tempfile.mkdtemp(prefix="gradewise-report-bench-"))
    try:
        out = args.source
        if out is None:
            out = work / "out"
            generate(Course(REPO), work / "subs", args.students)
            wall, _ = timed(grade_command() + ["batch", str(work / "subs"), "--out", str(out),
                                               "--jobs", str(args.jobs)], env)
            print(f"grade batch of {args.students} students (report.html included): "
                  f"{wall:.1f} s wall")
        report = timed(grade_command() + ["report", str(out)], env)
        again = [timed(grade_command() + ["report", str(out)], env) for _ in range(2)]
        walls = [w for w, _ in (report, *again)]
        print(f"grade report DIR (a whole process): {min(walls):.2f} s wall (median "
              f"{statistics.median(walls):.2f} s), {report[1]:.2f} s CPU")

        from grader.gradebook import class_summary
        from grader.htmlreport import report_html
        from grader.results import ClassResults

        results = ClassResults.read(out)
        read = best_of(3, lambda: ClassResults.read(out))
        summary = best_of(3, lambda: class_summary(results))
        page = best_of(3, lambda: report_html(results))
        made = class_summary(results)
        print(f"  of which: reading {len(results.students)} students' feedback {read:.2f} s; "
              f"class summary with clusters {summary * 1000:.0f} ms (made again after every "
              f"student of a batch); the page {page:.2f} s")
        size = (out / "report.html").stat().st_size
        print(f"report.html: {size / 1024:.0f} KiB, {len(made['exercises'])} exercises, "
              f"{len(made['clusters'])} clusters")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
