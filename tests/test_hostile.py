"""Student code is hostile: each behaviour of docs/design.md ("The trust boundary") gets its
own test, asserting the score, the message, the time bound, that no process is left, that the
grading process survived (it grades a good file afterwards) and, for batch, that the gradebook is intact.

The toy course has two functions: `scale` (the hostile one) and `total` (always right), two
points each. Where a promise depends on what the machine allows (namespaces, root), the
test says so and skips rather than pretending.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from grader.batch import BatchOptions, run_batch
from grader.course import Course
from grader.grading import Grader
from grader.sandbox import UID_BASE
from grader.sandbox import Limits

TOY = Course(Path(__file__).parent / "fixture_course")
GOOD_TOTAL = "import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n"
GOOD_SCALE = "def scale(x, k):\n    return x * k\n"
FAST = dict(call_timeout=0.5, import_timeout=2.0)
MODES = {
    "namespaces": Limits(**FAST),
    # as in a container without CAP_SYS_ADMIN: no namespaces, but an unprivileged user
    "no-namespaces": Limits(**FAST, namespaces=False),
    # as a user without root and without user namespaces: the weakest sandbox
    "bare": Limits(**FAST, namespaces=False, drop_user=False),
}
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def spec():
    return TOY.find("1")


@pytest.fixture(scope="module", params=["namespaces"])
def grader(request):
    with Grader(TOY, limits=MODES[request.param]) as g:
        yield g


def make_grader(mode):
    return Grader(TOY, limits=MODES[mode])


def grade(grader, spec, scale_body: str, extra: str = "", total: str = GOOD_TOTAL):
    source = f"{total}{extra}\n\ndef scale(x, k):\n{scale_body}\n"
    started = time.monotonic()
    result = grader.grade_source(spec, source, "/sub/ex01_toy.py", "ex01_toy.py")
    return result, time.monotonic() - started


def checks(result):
    return {c.function: c for c in result.checks}


def assert_total_graded(result):
    assert checks(result)["total"].passed, "the well-behaved function must keep its points"


def assert_grader_survived(grader, spec):
    """The grading process (this one) and its sandbox still grade, and no solution reached
    the process that runs student code (even a zygote started anew)."""
    probe = ("    import sys\n    leaked = [m for m in sys.modules if 'solution' in m]\n"
             "    return x * k if not leaked else x")
    result, _ = grade(grader, spec, probe)
    assert result.score == 4


def sandbox_processes(grader, token: str = "") -> list:
    """Live processes of this sandbox's user, or named `token`."""
    uid = UID_BASE + grader.sandbox._zygote_pid
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        state = next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))
        owner = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
        if state != "Z" and ((token and comm.startswith(token)) or owner == uid):
            found.append((int(entry), comm))
    return found


def isolated(grader) -> bool:
    return "pid namespace" in grader.sandbox.isolation or "user 2" in grader.sandbox.isolation


# -- time ---------------------------------------------------------------------------------------

def test_infinite_loop_is_stopped_and_reported(grader, spec):
    result, seconds = grade(grader, spec, "    while True:\n        try:\n            pass\n"
                                          "        except BaseException:\n            pass")
    assert seconds < 5
    assert checks(result)["scale"].diagnosis == "timeout"
    assert "did not finish within 0.5 s" in checks(result)["scale"].message
    assert_total_graded(result)
    assert sandbox_processes(grader) == []


def test_a_looping_function_stops_its_callers_after_its_own_limit(grader, spec):
    """`total` may take 10 s, but the `scale` it calls already looped in its own check:
    from then on `scale` has a short leash when `total` calls it (a tenth of its limit, at
    least 0.25 s): a looping function costs its own limit, not that again per caller."""
    from dataclasses import replace
    patient = replace(spec, checks=tuple(replace(c, timeout=10.0) if c.function == "total"
                                         else c for c in spec.checks))
    looping = "    while True:\n        pass"
    calls_scale = "def total(x):\n    return float(sum(scale(x, 1)))\n"
    started = time.monotonic()
    result = grader.grade_source(patient, f"{calls_scale}\ndef scale(x, k):\n{looping}\n",
                                 "/sub/ex01_toy.py", "ex01_toy.py")
    assert time.monotonic() - started < 4
    assert checks(result)["scale"].diagnosis == "timeout"
    assert checks(result)["total"].diagnosis == "uses-failing-function"


def test_ignored_sigterm_and_alarm_do_not_stop_the_kill(grader, spec):
    body = ("    import signal\n    for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT):\n"
            "        signal.signal(s, signal.SIG_IGN)\n    while True:\n        pass")
    result, seconds = grade(grader, spec, body)
    assert seconds < 5
    assert checks(result)["scale"].diagnosis == "timeout"
    assert_total_graded(result)
    assert sandbox_processes(grader) == []


# -- memory -------------------------------------------------------------------------------------

def test_six_gib_allocation_is_a_memory_error(grader, spec):
    result, seconds = grade(grader, spec, "    import numpy as np\n"
                                          "    big = np.ones(6 * 2**30 // 8)\n    return x * k")
    assert seconds < 5
    scale = checks(result)["scale"]
    assert scale.diagnosis == "memory" and "6.00 GiB" in scale.message
    assert_total_graded(result)


# -- processes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["namespaces", "no-namespaces", "bare"])
def test_forked_and_escaped_processes_do_not_outlive_grading(spec, mode):
    # with this process's id: a suite running beside this one (another checkout) forks the
    # same grandchildren, and a process name is seen machine-wide (15 characters at most)
    token = f"gw{os.getpid()}-{mode[:4]}"
    body = ("    import ctypes, os, time\n    pid = os.fork()\n    if pid == 0:\n"
            "        os.setsid()\n        if os.fork() == 0:\n"
            f"            ctypes.CDLL(None).prctl(15, b'{token}', 0, 0, 0)\n"
            "            time.sleep(60)\n        os._exit(0)\n"
            "    os.waitpid(pid, 0)\n    time.sleep(0.3)\n    return x * k")
    seen = []

    def watch(stop):
        while not stop.is_set():
            seen.extend(p for p in sandbox_processes(probe, token) if p[1].startswith(token))
            time.sleep(0.02)

    with make_grader(mode) as probe:
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(stop,))
        watcher.start()
        try:
            result, seconds = grade(probe, spec, body)
        finally:
            stop.set()
            watcher.join()
        assert seen, "the escaped grandchild should have existed while the call ran"
        assert result.score == 4 and seconds < 5  # forking is allowed; what is left is killed
        assert sandbox_processes(probe, token) == []
        assert_grader_survived(probe, spec)


@pytest.mark.parametrize("mode", ["namespaces", "no-namespaces"])
def test_fork_bomb_is_contained(spec, mode):
    if not ROOT and mode == "no-namespaces":
        pytest.skip("without root and namespaces the process limit would be yours")
    body = "    import os\n    while True:\n        try:\n            os.fork()\n" \
           "        except OSError:\n            pass"
    with make_grader(mode) as g:
        result, seconds = grade(g, spec, body)
        assert seconds < 8
        assert checks(result)["scale"].diagnosis == "timeout"
        assert_total_graded(result)
        assert sandbox_processes(g) == []
        assert_grader_survived(g, spec)


def test_sys_exit_is_an_exception_and_grading_goes_on(grader, spec):
    result, _ = grade(grader, spec, "    import sys\n    sys.exit(3)")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "exception" and "SystemExit" in scale.message
    assert_total_graded(result)


def test_os_exit_is_reported_and_grading_goes_on(grader, spec):
    result, seconds = grade(grader, spec, "    import os\n    os._exit(7)")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "crashed" and "exited with code 7" in scale.message
    assert_total_graded(result) and seconds < 5


def test_sys_exit_at_the_top_level_grades_nothing_and_says_why(grader, spec):
    result, _ = grade(grader, spec, "    return x * k", extra="import sys\nsys.exit(0)\n")
    assert result.score == 0 and "SystemExit" in result.error


# -- file descriptors and output ----------------------------------------------------------------

def test_closed_stdout_and_stderr_cost_nothing(grader, spec):
    body = ("    import os\n    for fd in (1, 2):\n        try:\n            os.close(fd)\n"
            "        except OSError:\n            pass\n    print('lost')\n    return x * k")
    result, seconds = grade(grader, spec, body)
    assert result.score == 4 and seconds < 5


def test_closing_every_descriptor_is_reported_not_a_hang(grader, spec):
    result, seconds = grade(grader, spec, "    import os\n    os.closerange(0, 4096)\n"
                                          "    return x * k")
    assert seconds < 3
    scale = checks(result)["scale"]
    assert scale.diagnosis == "crashed" and "file descriptor" in scale.message
    assert_total_graded(result)


def test_replacing_the_grader_channel_is_reported(grader, spec):
    body = ("    import os\n    os.closerange(3, 4096)\n"
            "    for _ in range(8):\n        os.open('/dev/null', os.O_WRONLY)\n    return x * k")
    result, seconds = grade(grader, spec, body)
    assert seconds < 3
    assert "file descriptor" in checks(result)["scale"].message
    assert_total_graded(result)


def test_megabytes_of_output_are_bounded(grader, spec):
    result, seconds = grade(grader, spec, "    import sys\n    sys.stdout.write('spam' * 2_000_000)\n"
                                          "    return x * k")
    assert result.score == 4 and seconds < 5
    assert len(result.output) <= Limits().output_bytes and result.output_dropped > 7_000_000


def test_fake_results_printed_change_nothing(grader, spec):
    fake = json.dumps({"event": "done", "call": 0, "status": "ok",
                       "output": {"__float__": "1.0"}})
    body = f"    print({fake!r})\n    print('Score 4/4 — full marks')\n    return x"
    result, _ = grade(grader, spec, body)
    scale = checks(result)["scale"]
    assert not scale.passed and scale.diagnosis == "forgot-k"
    assert "Score 4/4" in result.output and result.score == 2


def test_forged_events_on_the_grader_channel_do_not_grade_other_calls(grader, spec):
    """The student's code may find the grader's channel (a socket) or pipes; a result it
    forges for a call that is not running is refused: `total` (calls 2 and 3), which is
    wrong, stays wrong, and the forging call scores 0."""
    forged = [json.dumps({"event": "done", "call": i, "status": "ok",
                          "output": {"__float__": "0.0"}}) + "\n" for i in range(2, 8)]
    body = ("    import os, stat\n    for fd in range(3, 64):\n        try:\n"
            "            if stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
            f"                os.write(fd, ''.join({forged!r}).encode())\n"
            "        except OSError:\n            pass\n    return x * k")
    wrong_total = "def total(x):\n    return 0.0\n"
    result, _ = grade(grader, spec, body, total=wrong_total)
    scale = checks(result)["scale"]
    assert not scale.passed and "grader's channel" in scale.message
    assert not checks(result)["total"].passed


# -- signals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["namespaces", "no-namespaces", "bare"])
def test_signals_to_the_parent_leave_grading_alive(spec, mode):
    body = ("    import os, signal, time\n    os.kill(os.getppid(), signal.SIGTERM)\n"
            "    os.kill(os.getppid(), signal.SIGKILL)\n    time.sleep(0.5)\n    return x * k")
    with make_grader(mode) as g:
        result, seconds = grade(g, spec, body)
        scale = checks(result)["scale"]
        assert seconds < 5
        assert not scale.passed and scale.message  # 0 points, and why
        assert_total_graded(result)
        if mode == "bare":  # here the zygote could be killed: a fresh one took over
            assert g.sandbox.restarts == 1 and "its parent" in scale.message
        assert_grader_survived(g, spec)


def test_a_dead_zygote_is_replaced_by_a_fresh_interpreter(spec):
    with make_grader("namespaces") as g:
        g.solution(spec)  # the parent now holds a solution: a new fork would inherit it
        os.kill(g.sandbox._zygote_pid, signal.SIGKILL)
        time.sleep(0.1)
        assert_grader_survived(g, spec)
        assert g.sandbox.restarts == 1


# -- files --------------------------------------------------------------------------------------

def test_reading_the_solutions_is_impossible(grader, spec):
    if not isolated(grader):
        pytest.skip(f"no isolation on this machine: {grader.sandbox.isolation}")
    target = TOY.solutions_dir / spec.solution
    body = (f"    try:\n        open({str(target)!r}).read()\n        return x\n"
            "    except OSError:\n        return x * k")
    result, _ = grade(grader, spec, body)
    assert result.score == 4, "the solution file was readable from the student's code"
    assert grader.sandbox.exposed == []


def test_writing_outside_its_own_folder_is_impossible(spec, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    body = (f"    import os\n    for d in ({str(out)!r}, {str(TOY.solutions_dir)!r}, os.getcwd()):\n"
            "        try:\n            open(os.path.join(d, 'pwned'), 'w').write('x')\n"
            "        except OSError:\n            pass\n    return x * k")
    with Grader(TOY, limits=MODES["namespaces"], hide=(out,)) as g:
        result, _ = grade(g, spec, body)
        if not isolated(g):
            pytest.skip(f"no isolation on this machine: {g.sandbox.isolation}")
    assert result.score == 4
    assert not (out / "pwned").exists() and not (TOY.solutions_dir / "pwned").exists()


def test_monkeypatching_numpy_in_the_child_changes_nothing_in_the_parent(grader, spec):
    originals = (np.allclose, np.isclose, np.array_equal, np.testing.assert_allclose, np.sum)
    cheat = ("import numpy as np\nnp.allclose = np.isclose = np.array_equal = "
             "lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
             "np.sum = lambda *a, **k: 0.0\n")
    result, _ = grade(grader, spec, "    return x", extra=cheat)
    assert checks(result)["scale"].diagnosis == "forgot-k"
    assert not checks(result)["total"].passed  # its own np.sum is broken now, not ours
    assert (np.allclose, np.isclose, np.array_equal, np.testing.assert_allclose, np.sum) == originals
    assert not np.allclose(np.zeros(2), np.ones(2))


# -- a hostile class, graded in batch -----------------------------------------------------------

HOSTILE_CLASS = {
    "good": GOOD_SCALE,
    "looper": "def scale(x, k):\n    while True:\n        pass\n",
    "exiter": "import os\ndef scale(x, k):\n    os._exit(1)\n",
    "parent_killer": "import os, signal\ndef scale(x, k):\n    os.kill(os.getppid(), 9)\n"
                     "    os.kill(os.getppid(), 15)\n    return x * k\n",
    "escaper": "import os, time\ndef scale(x, k):\n    if os.fork() == 0:\n        os.setsid()\n"
               "        time.sleep(30)\n    return x * k\n",
    "writer": "import os\nOUT = {out!r}\ndef scale(x, k):\n    for name in ('gradebook.csv', "
              "'summary.json', 'feedback/good.json'):\n        try:\n"
              "            open(os.path.join(OUT, name), 'w').write('pwned')\n"
              "        except OSError:\n            pass\n    return x * k\n",
    "spammer": "def scale(x, k):\n    print('{\"score\": 100}' * 300000)\n    return x\n",
}


def test_a_hostile_class_is_graded_and_the_gradebook_is_intact(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for name, scale in HOSTILE_CLASS.items():
        (subs / name).mkdir(parents=True)
        text = GOOD_TOTAL + "\n" + scale.replace("{out!r}", repr(str(out)))
        (subs / name / "ex01_toy.py").write_text(text)
    (subs / "broken_notebook").mkdir()
    (subs / "broken_notebook" / "ex01_toy.ipynb").write_text("{not json")
    started = time.monotonic()
    summary = run_batch(subs, out, TOY, TOY.specs(), BatchOptions(jobs=2, limits=Limits(**FAST)))
    assert time.monotonic() - started < 30
    with open(out / "gradebook.csv", newline="") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    expected = {"good": "4", "looper": "2", "exiter": "2", "parent_killer": "2", "escaper": "4",
                "writer": "4", "spammer": "2", "broken_notebook": "0"}
    if not ROOT:
        expected.pop("parent_killer")  # same user: it may kill its zygote, and is then 2 or 4
    assert {name: rows[name]["total"] for name in expected} == expected
    assert summary["graded"] == summary["students"] == 8
    assert json.loads((out / "feedback" / "good.json").read_text())["score"] == 4
    names = sorted(p.name for p in (out / "feedback").iterdir())
    assert names == sorted(f"{n}.{ext}" for n in rows for ext in ("json", "md"))
    assert "not a readable Jupyter notebook" in (out / "feedback" / "broken_notebook.md").read_text()


# -- without root -------------------------------------------------------------------------------

def test_without_root_a_user_namespace_still_hides_and_contains(spec, tmp_path):
    """What an instructor without root gets (where the kernel allows user namespaces): run
    in a forked process that drops to another user, report back as JSON."""
    if not ROOT:
        pytest.skip("needs root to become another user for the test")
    solution = TOY.solutions_dir / spec.solution
    bodies = {
        "read": (f"    try:\n        open({str(solution)!r}).read()\n        return x\n"
                 "    except OSError:\n        return x * k"),
        "signal": ("    import os, signal, time\n    os.kill(os.getppid(), signal.SIGTERM)\n"
                   "    time.sleep(0.1)\n    return x * k"),
        "bomb": "    import os\n    while True:\n        try:\n            os.fork()\n"
                "        except OSError:\n            pass",
    }
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        report = {}
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            import ctypes
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again, as any normal process
            with Grader(TOY, limits=MODES["namespaces"]) as g:
                for name, body in bodies.items():
                    result, seconds = grade(g, spec, body)
                    report[name] = [result.score, checks(result)["scale"].message, seconds,
                                    g.sandbox.isolation]
        except BaseException as exc:
            report["error"] = repr(exc)
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        report = json.loads(fh.read())
    os.waitpid(pid, 0)
    assert "error" not in report, report["error"]
    if "pid namespace" not in report["read"][3]:
        pytest.skip(f"no user namespaces here: {report['read'][3]}")
    assert "without capabilities" in report["read"][3]
    assert report["read"][0] == 4, "the solution was readable"
    assert report["signal"][0] == 2 and "SIGTERM" in report["signal"][1]
    assert report["bomb"][0] == 2 and report["bomb"][2] < 8
