"""A grade no submission can forge: one test per kind of attack on the protocol between the
parent and the student process, on its bounds, and on what the sandbox lets a submission see.

Each attack knows the protocol (it finds the channel socket and the harness's own objects in
its process) and is graded next to the honest version of the same code: it never scores
more, its time stays bounded, no process of it is left, and the message says what happened.
The toy course: `scale(x, k)` (calls 0 and 1) and `total(x)` (calls 2 and 3), 2 points each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.batch import BatchOptions, run_batch
from grader.course import Course
from grader.grading import Grader
from grader.sandbox import Limits, run_time_bound
from grader.sandbox.parent import PARENT_MEMORY_BOUND
from test_hostile import FAST, GOOD_TOTAL, ROOT, TOY, checks, sandbox_processes

REPO = Path(__file__).resolve().parent.parent

# What an attacker finds in its own process: the channel to the parent, and the harness's
# objects (its `_Channel`, the request being served) in the frames below its own.
KIT = '''
import os, socket, stat, sys, threading, time
import numpy as np

def channel_socket():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass

def harness():
    frame = sys._getframe()
    while frame is not None and "channel" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals

def forge(**header):
    """An answer frame made by the harness's own code, for the call being served now."""
    found = harness()
    request = found.get("request") or found.get("header")
    header.setdefault("nonce", request.get("nonce"))
    header.setdefault("kind", "answer")
    found["channel"].send(header)
'''


@pytest.fixture(scope="module")
def spec():
    return TOY.find("1")


@pytest.fixture(scope="module")
def grader():
    with Grader(TOY, limits=Limits(**FAST)) as g:
        yield g


def grade(grader, spec, source: str):
    started = time.monotonic()
    result = grader.grade_source(spec, textwrap.dedent(source), "/sub/ex01_toy.py", "ex01_toy.py")
    return result, time.monotonic() - started


def assert_nothing_left(grader):
    assert sandbox_processes(grader) == []


# -- the parent drives, the child answers --------------------------------------------------------

def test_frames_written_during_a_slow_call_do_not_keep_it_alive(grader, spec):
    """A correct `scale` that needs 3 s (the limit is 0.5 s) and, from a thread, writes
    keep-alive frames every 0.1 s: the old `start` events, and frames of every kind."""
    slow = KIT + GOOD_TOTAL + '''
def scale(x, k):
    import signal
    signal.setitimer(signal.ITIMER_REAL, 0)          # cancel the call's own alarm
    if FORGE:
        fd = channel_socket()
        def beat():
            for n in range(100):
                for kind in ("start", "started", "hello"):
                    try:
                        forge(kind=kind, call=0)
                    except Exception:
                        pass
                time.sleep(0.1)
        threading.Thread(target=beat, daemon=True).start()
    time.sleep(3)
    return x * k
'''
    honest, _ = grade(grader, spec, slow.replace("FORGE", "False"))
    forged, seconds = grade(grader, spec, slow.replace("FORGE", "True"))
    assert forged.score <= honest.score == 2
    assert not checks(forged)["scale"].passed and checks(forged)["total"].passed
    assert checks(forged)["scale"].diagnosis in ("misbehaved", "timeout")
    assert seconds < 6
    assert_nothing_left(grader)


def test_answers_forged_for_calls_not_yet_made_are_refused(grader, spec):
    """No `total` at all. During its first call, `scale` forges answers for the `total` calls
    (2 and 3) in every way it can: made-up nonces, call indices, the harness's own channel."""
    source = KIT + '''
def scale(x, k):
    if not os.environ.get("DONE"):
        os.environ["DONE"] = "1"
        for call in (2, 3):
            for nonce in (None, "0" * 16, call):
                try:
                    forge(nonce=nonce, call=call, status="ok", output={"__float__": "1.0"})
                except Exception:
                    pass
    return x * k
'''
    honest, _ = grade(grader, spec, "def scale(x, k):\n    return x * k\n")
    forged, seconds = grade(grader, spec, source)
    assert honest.score == 2
    assert forged.score <= honest.score
    assert checks(forged)["total"].diagnosis == "missing-function"
    assert "grader's channel" in checks(forged)["scale"].message
    assert seconds < 5
    assert_nothing_left(grader)


def test_a_doctored_answer_cannot_hide_an_in_place_change(grader, spec):
    """`scale` multiplies x in place, then sends its own answer saying nothing changed (and
    exits before the harness can answer): the parent reads x back itself."""
    source = KIT + GOOD_TOTAL + '''
def scale(x, k):
    x *= k
    result = np.array(x)
    if FORGE:
        forge(status="ok", output={"__array__": "<f8", "shape": list(result.shape), "at": 0},
              after_changed=[])
        os._exit(0)
    return result
'''
    for forge_it in (False, True):
        result, seconds = grade(grader, spec, source.replace("FORGE", str(forge_it)))
        scale = checks(result)["scale"]
        assert not scale.passed and checks(result)["total"].passed
        assert seconds < 5
    honest, _ = grade(grader, spec, source.replace("FORGE", "False"))
    assert checks(honest)["scale"].diagnosis == "mutated-input"
    assert "left its input `x` changed" in checks(honest)["scale"].message
    assert_nothing_left(grader)


def test_a_dict_entry_replaced_in_the_argument_is_seen():
    """Containers: `params["W"] = ...` changes the caller's dict without touching an array."""
    import numpy as np

    from grader.sandbox import Call, Sandbox
    with Sandbox(Limits(**FAST)) as box:
        source = ("def step(p):\n    p['W'] = p['W'] * 2\n    return 0.0\n"
                  "def keep(p):\n    q = dict(p)\n    q['W'] = q['W'] * 2\n    return 0.0\n")
        params = {"W": np.ones(3)}
        outcome = box.run(source, "/sub/x.py", [Call("step", (params,), 1.0),
                                                Call("keep", (params,), 1.0)])
    changed, kept = outcome.calls
    assert changed.status == kept.status == "ok"
    assert not isinstance(changed.args_after[0], dict)  # seen as changed
    assert isinstance(kept.args_after[0], dict) and np.array_equal(kept.args_after[0]["W"],
                                                                   np.ones(3))


# -- a bounded, exception-safe parent ----------------------------------------------------------

MEMORY_PROBE = '''
import json, resource, sys, time
from pathlib import Path
from grader.course import Course
from grader.grading import Grader
from grader.sandbox import Limits, run_time_bound
course = Course(Path(sys.argv[1]))
spec = course.find(sys.argv[2] if len(sys.argv) > 2 else "1")
with Grader(course, limits=Limits(call_timeout=2.0, import_timeout=5.0)) as grader:
    source = sys.stdin.read()
    grader.solution(spec)
    grader.grade_source(spec, "def scale(x, k):\\n    return x * k\\n", "/sub/a.py", "a.py")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.monotonic()
    result = grader.grade_source(spec, source, "/sub/ex01_toy.py", "ex01_toy.py")
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"grown": after - before, "seconds": seconds, "score": result.score,
                  "checks": {c.function: [c.passed, c.diagnosis, c.message] for c in result.checks}}))
'''

FLOODS = {
    # a frame announcing 60 MiB of header: refused from its prefix alone
    "huge frame": "fd = channel_socket()\n"
                  "    os.write(fd, b'GWF1' + (60 << 20).to_bytes(4, 'big') + bytes(4))\n"
                  "    os.write(fd, b'[' * (1 << 20))\n    time.sleep(5)",
    # the answer itself: 1 MiB of lists nested 300 deep (the old attack's shape)
    "nested answer": "forge(status='ok', output=json.loads('[' + ','.join(['[' * 300 + ']' * 300] "
                     "* 1700) + ']'))\n    time.sleep(5)",
    # as many small well-formed frames as the pipe takes
    "many frames": "for _ in range(20000):\n        forge(kind='hello')\n    time.sleep(5)",
    # honest answers, as big as an answer may be, for every call
    "big results": "return (np.ones(2 ** 21), np.ones(2 ** 21) * k)",
    # after its last answer, the harness (rewritten by the file) sends frames of 1 MiB of
    # `[{},{},...]` until it is killed: only their nonces may be kept
    "hoard after the end": "return x * k",  # see HOARD: the harness, rewritten, does it
    # bytes that are no frame at all
    "garbage": "fd = channel_socket()\n    for _ in range(60):\n"
               "        os.write(fd, b'[' * (1 << 20))\n    time.sleep(5)",
}


# after its last answer, the harness (rewritten by the file) sends frames of 1 MiB of
# `[{},{},...]` until it is killed: only their nonces may be kept, and the last call pays
HOARD = '''
import grader.sandbox.frames as F
_receive = F.receive
def receive(sock):
    got = _receive(sock)
    if got is None:
        pad = F.pack({"kind": "hoard", "pad": [{}] * 340000})
        for _ in range(40):
            sock.sendall(pad)
        time.sleep(30)
    return got
F.receive = receive
'''


@pytest.mark.parametrize("flood", FLOODS)
def test_whatever_the_child_writes_the_parent_stays_within_its_memory_bound(flood):
    source = KIT + "import json\n" + GOOD_TOTAL + (HOARD if flood == "hoard after the end"
                                                  else "") + \
        f"\ndef scale(x, k):\n    {FLOODS[flood]}\n    return x * k\n"
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(TOY.root)], input=source,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["grown"] < PARENT_MEMORY_BOUND, report
    assert report["seconds"] < run_time_bound(Limits(call_timeout=2.0, import_timeout=5.0),
                                              [2.0] * 4)
    scale, total = report["checks"]["scale"], report["checks"]["total"]
    if flood == "hoard after the end":  # the last call answered is charged
        assert scale[0] and not total[0] and total[1] == "misbehaved"
        return
    assert not scale[0] and total[0], report
    if flood != "big results":
        assert scale[1] in ("misbehaved", "timeout"), scale


def test_many_answers_of_many_small_values_stay_within_the_memory_bound():
    """Exercise 5: every call answers a 4 MiB array and 99 990 empty lists (decoded values
    cost the parent far more than their bytes on the wire)."""
    source = ("import numpy as np\ndef _answer(*args):\n    return (np.ones(2 ** 19), [[]] * 99990)\n"
              "grad_W = grad_x = grad_u = score_and_grads = _answer\n")
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(REPO), "5"], input=source,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["grown"] < PARENT_MEMORY_BOUND, report
    assert report["score"] == 0


def test_a_function_that_fills_the_result_budget_costs_no_other_function(course):
    """Exercise 1: `softmax` returns as much as an answer may hold, every call; the correct
    `softmax_classifier` keeps its points."""
    source = ("import numpy as np\n"
              "def _softmax(f):\n    e = np.exp(f - np.max(f, axis=-1, keepdims=True))\n"
              "    return e / np.sum(e, axis=-1, keepdims=True)\n"
              "def softmax(f):\n    return (_softmax(f), np.zeros(2 ** 24, np.uint8), "
              "np.zeros(2 ** 24 - 4096, np.uint8))\n"
              "def softmax_classifier(W, X):\n    return _softmax(X @ W.T)\n")
    with Grader(course) as g:
        result = g.grade_source(course.find("1"), source, "/sub/ex01.py", "ex01.py")
    by_function = {}
    for check in result.checks:
        by_function.setdefault(check.function, []).append(check.passed)
    assert all(by_function["softmax_classifier"]) and not any(by_function["softmax"])


def test_a_child_that_keeps_every_pipe_full_meets_its_deadline(grader, spec):
    """Writers forked from the call keep both the output pipe and the channel full; the
    call ignores its alarm. The parent checks its deadlines on every turn."""
    source = KIT + GOOD_TOTAL + '''
def scale(x, k):
    import signal
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    channel = channel_socket()
    for fd in (1, channel, 1, 1):
        if os.fork() == 0:
            chunk = b"x" * 65536
            while True:
                try:
                    os.write(fd, chunk)
                except OSError:
                    os._exit(0)
    while True:
        time.sleep(1)
'''
    result, seconds = grade(grader, spec, source)
    assert seconds < 8
    assert not checks(result)["scale"].passed and checks(result)["total"].passed
    assert_nothing_left(grader)


def test_an_unencodable_result_is_one_failed_case_with_an_exact_message(grader, spec):
    result, _ = grade(grader, spec, GOOD_TOTAL + "def scale(x, k):\n    return 10**5000\n")
    scale = checks(result)["scale"]
    assert not scale.passed and checks(result)["total"].passed
    assert "an integer of about 5001 digits" in scale.message
    assert "sys.exit" not in scale.message
    exotic, _ = grade(grader, spec, GOOD_TOTAL + "def scale(x, k):\n    return (i for i in x)\n")
    assert "generator" in checks(exotic)["scale"].message


DEEP = "import numpy as np\nX = " + " + ".join(["1"] * 3000) + \
    "\ndef scale(x, k):\n    return x * k\n"


def test_an_expression_nested_too_deeply_is_reported_not_a_crash(grader, spec, tmp_path):
    result, _ = grade(grader, spec, DEEP)
    assert result.score == 0 and "nested too deeply" in result.error
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "deep.py").write_text(DEEP)  # one file for the whole student: parsed in the pool
    (subs / "good.py").write_text(GOOD_TOTAL + "def scale(x, k):\n    return x * k\n")
    summary = run_batch(subs, tmp_path / "out", TOY, TOY.specs(),
                        BatchOptions(jobs=1, limits=Limits(**FAST)))
    assert summary["graded"] == 2
    deep = json.loads((tmp_path / "out" / "feedback" / "deep.json").read_text())
    assert "nested too deeply" in deep["results"][0]["error"]
    good = json.loads((tmp_path / "out" / "feedback" / "good.json").read_text())
    assert good["score"] == 4


def test_a_bug_in_one_comparison_costs_that_check_only(grader, spec, monkeypatch):
    from grader import kinds
    compare = kinds.get("compare")
    original = compare.judge

    def broken(check, run, ctx, outputs):
        if check.function == "scale":
            raise ValueError("a comparison the grader did not foresee")
        return original(check, run, ctx, outputs)

    monkeypatch.setattr(compare, "judge", broken)
    result, _ = grade(grader, spec, GOOD_TOTAL + "def scale(x, k):\n    return x * k\n")
    scale = checks(result)["scale"]
    assert scale.diagnosis == "grader-error" and "not your fault" in scale.message
    assert checks(result)["total"].passed and result.score == 2


def test_an_array_where_the_reference_has_a_bool_is_a_type_message(tmp_path):
    """Exercise 8 through the CLI: gradecheck's first item is an array, not True/False (the
    parent once compared them with `!=` and crashed: exit 1, the whole exercise lost)."""
    source = tmp_path / "ex08.py"
    source.write_text(textwrap.dedent('''
        import numpy as np

        def numerical_gradient(f, x, eps=1e-5):
            grad = np.zeros(x.shape)
            for index in np.ndindex(x.shape):
                old = x[index]
                x[index] = old + eps
                plus = f(x)
                x[index] = old - eps
                minus = f(x)
                x[index] = old
                grad[index] = (plus - minus) / (2 * eps)
            return grad

        def relative_error(a, b):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))

        def gradcheck(f, grad_f, x, tol=1e-5):
            return np.array([1.0, 2.0]), 0.0, (0,)
        '''))
    done = subprocess.run(["grade", "exercise", "8", "--file", str(source), "--json"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "GRADEWISE_COURSE": str(REPO),
                               "GRADEWISE_WORKSPACE": str(tmp_path / "ws")})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    by_function = {}
    for check in result["checks"]:
        by_function.setdefault(check["function"], []).append(check)
    assert all(c["passed"] for f in ("numerical_gradient", "relative_error")
               for c in by_function[f])
    accepts = by_function["gradcheck"][0]
    assert not accepts["passed"] and "expected True or False" in accepts["message"]


# -- the sandbox sees the Python installation and nothing of the course -----------------------

@pytest.fixture
def outside_tmp():
    """A folder outside /tmp (which the sandbox replaces as a whole): what is hidden there
    is hidden by the course's own covering mounts."""
    import shutil
    import tempfile
    try:
        folder = Path(tempfile.mkdtemp(prefix="gradewise-test-", dir="/var/tmp"))
    except OSError:
        pytest.skip("/var/tmp is not writable here")
    os.chmod(folder, 0o755)  # as a clone is: readable by anyone, but for the covering mounts
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_no_copy_of_the_course_is_within_reach(outside_tmp):
    """A course with a .git, build/ and dist/ left by packaging, a workspace, and a cache:
    the student's code can read none of them."""
    import shutil
    course_root = outside_tmp / "course"
    shutil.copytree(TOY.root, course_root)
    places = [".git/objects/pack", "build/lib/grader/_bundled/solutions", "dist", "workspace"]
    for place in places:
        (course_root / place).mkdir(parents=True)
        (course_root / place / "secret.txt").write_text("the reference")
    secrets = [course_root / p / "secret.txt" for p in places]
    # and a worktree of it, whose history is in the main clone's .git (a `gitdir:` file)
    worktree = outside_tmp / "worktree"
    shutil.copytree(TOY.root, worktree)
    store = course_root / ".git" / "worktrees" / "w"
    store.mkdir(parents=True)
    (store / "commondir").write_text("../..\n")
    (worktree / ".git").write_text(f"gitdir: {store}\n")
    reading = GOOD_TOTAL + textwrap.dedent('''
        def scale(x, k):
            for path in PATHS:
                try:
                    open(path).read()
                    return x       # found something: scale fails, so the test sees it
                except OSError:
                    pass
            return x * k
        ''')
    # graded from the clone: all of it hidden; from the worktree: the worktree and its
    # history (another clone's other folders are not known to gradewise: SECURITY.md)
    for root, paths in ((course_root, [*secrets, course_root / "solutions" / "ex01_toy.py"]),
                        (worktree, [secrets[0], worktree / "solutions" / "ex01_toy.py"])):
        source = reading.replace("PATHS", repr(tuple(str(p) for p in paths)))
        course = Course(root)
        with Grader(course, limits=Limits(**FAST)) as g:
            result = g.grade_source(course.find("1"), source, "/sub/ex01_toy.py", "ex01.py")
            if "read-only filesystem" not in g.sandbox.isolation:
                pytest.skip(f"no mount namespace on this machine: {g.sandbox.isolation}")
            assert g.sandbox.exposed == []
        assert checks(result)["scale"].passed, f"a copy of the course was readable ({root})"


# -- without namespaces (situation C): nothing shared, nothing left -------------------------------

FRESH_GRADER = '''
import json, sys
from pathlib import Path
from grader.course import Course
from grader.grading import Grader
from grader.sandbox import Limits, run_time_bound
course = Course(Path(sys.argv[1]))
limits = Limits(call_timeout=2.0, import_timeout=5.0, namespaces=sys.argv[2] == "namespaces")
with Grader(course, limits=limits) as grader:  # one grader: one sandbox user for every file
    for source in json.loads(sys.stdin.read()):
        result = grader.grade_source(course.find("1"), source, "/sub/ex01_toy.py", "ex01_toy.py")
        print(json.dumps({"score": result.score, "output": result.output, "error": result.error,
                          "isolation": grader.sandbox.isolation,
                          "checks": [c.message for c in result.checks]}))
'''


def grade_in_a_fresh_interpreter(sources, mode: str):
    """Grade `sources` (one, or a list graded in turn by one Grader) in a grading process
    with nothing imported in advance (pytest imports modules a CLI process would not, which
    can hide a module the student's user cannot import)."""
    many = isinstance(sources, list)
    done = subprocess.run([sys.executable, "-c", FRESH_GRADER, str(TOY.root), mode],
                          input=json.dumps(sources if many else [sources]), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    return reports if many else reports[0]


@pytest.mark.skipif(not ROOT, reason="situation C needs root (a user of the sandbox's own)")
def test_without_namespaces_a_run_shares_nothing_and_leaves_nothing():
    marker = f"gw-left-{os.getpid()}"
    source = GOOD_TOTAL + textwrap.dedent(f'''
        import os
        def scale(x, k):
            here = os.getcwd()
            print("MODE", oct(os.stat(here).st_mode & 0o777), os.stat(here).st_uid == os.getuid())
            print("JOBS", [n for n in os.listdir("/tmp") if n.startswith("gradewise-")
                           and os.path.exists(os.path.join("/tmp", n, "job.json"))])
            for folder in ("/tmp", "/var/tmp", "/dev/shm"):
                try:
                    with open(os.path.join(folder, "{marker}"), "w") as fh:
                        fh.write("x" * 1000)
                    os.makedirs(os.path.join(folder, "{marker}-dir", "deep"), exist_ok=True)
                except OSError:
                    pass
            return x * k
        ''')
    report = grade_in_a_fresh_interpreter(source, "no-namespaces")
    assert "user 2" in report["isolation"]
    assert report["score"] == 4, report
    assert "MODE 0o700 True" in report["output"]
    assert "JOBS []" in report["output"]
    left = [p for folder in ("/tmp", "/var/tmp", "/dev/shm") for p in Path(folder).glob(f"{marker}*")]
    assert left == []


@pytest.mark.parametrize("mode", ["namespaces", "no-namespaces"])
def test_a_fresh_grading_process_grades_in_every_mode(mode):
    report = grade_in_a_fresh_interpreter(GOOD_TOTAL + "def scale(x, k):\n    return x * k\n",
                                          mode)
    assert report["score"] == 4, report


@pytest.mark.skipif(not ROOT, reason="situation C needs root (a user of the sandbox's own)")
def test_without_namespaces_the_batch_output_is_unreadable_to_student_code(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    out_text = repr(str(out))
    peek = GOOD_TOTAL + textwrap.dedent(f'''
        import os
        def scale(x, k):
            for root, dirs, files in os.walk({out_text}):
                for name in files:
                    try:
                        open(os.path.join(root, name)).read()
                        return x           # read someone's grades: scale fails
                    except OSError:
                        pass
            return x * k
        ''')
    for name in ("ada", "ben", "cy"):
        (subs / name).mkdir(parents=True)
        (subs / name / "ex01_toy.py").write_text(peek)
    os.chmod(tmp_path, 0o755)  # pytest's tmp_path is private; an instructor's may not be
    run_batch(subs, out, TOY, TOY.specs(),
              BatchOptions(jobs=1, limits=Limits(**FAST, namespaces=False)))
    run_batch(subs, out, TOY, TOY.specs(),  # the second run: earlier feedback is there
              BatchOptions(jobs=1, limits=Limits(**FAST, namespaces=False)))
    for name in ("ada", "ben", "cy"):
        assert json.loads((out / "feedback" / f"{name}.json").read_text())["score"] == 4
    assert (out / "feedback").stat().st_mode & 0o077 == 0
    assert all(p.stat().st_mode & 0o077 == 0 for p in out.rglob("*") if p.is_file())


# -- output that cannot inject -----------------------------------------------------------------

INJECTING = GOOD_TOTAL + '''
def scale(x, k):
    print("````")
    print("# Total: 4 / 4")
    print("\\x1b]0;owned\\x07\\x1b[2J", "\\u202eevil")
    raise ValueError("<img src=x onerror=alert(1)> [click](http://evil.example) \\x1b[31m")
'''


def test_what_a_student_prints_or_names_cannot_inject_markup(tmp_path):
    """A student's printed text and messages stay inside their fence in the feedback given
    back (also Gradescope's output), and no control character reaches the terminal, the CSV,
    the Markdown or the JSON, whatever the student's folder is called."""
    from markdown_it import MarkdownIt

    subs, out = tmp_path / "subs", tmp_path / "out"
    names = ["\x1b[2Jeve", "=HYPERLINK(\"http://evil\")", "plain"]
    for name in names:
        (subs / name).mkdir(parents=True)
        (subs / name / "ex01_toy.py").write_text(INJECTING)
    done = subprocess.run(["grade", "batch", str(subs), "--out", str(out), "--jobs", "1"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "GRADEWISE_COURSE": str(TOY.root)})
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    written = {p: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    for path, text in written.items():
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text, path
    gradebook = (out / "gradebook.csv").read_text()
    assert not any(line.startswith(("=", '"=')) for line in gradebook.splitlines())
    for path, text in written.items():
        if path.suffix != ".md":
            continue
        tokens = MarkdownIt("commonmark").parse(text)
        shown = [t for t in tokens if t.type == "fence"]
        assert len(shown) == 1 and "# Total: 4 / 4" in shown[0].content
        headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
        assert not any("Total" in h for h in headings), headings
        html = MarkdownIt("commonmark").render(text)
        assert "<img" not in html and 'href="http://evil' not in html


# -- attacks found by review ---------------------------------------------------------------------

def test_an_answer_after_the_limit_is_a_timeout_even_within_the_backstop(grader, spec):
    """Its own alarm switched off, `scale` computes for 0.8 s of CPU (its limit: 0.5 s) and
    answers before the parent's wall-clock backstop: the parent's own count of the CPU time
    of the student process decides, not the alarm."""
    source = GOOD_TOTAL + ("import signal, time\ndef scale(x, k):\n"
                           "    signal.setitimer(signal.ITIMER_PROF, 0)\n"
                           "    end = time.process_time() + 0.8\n"
                           "    while time.process_time() < end:\n        pass\n"
                           "    return x * k\n")
    result, _ = grade(grader, spec, source)
    assert checks(result)["scale"].diagnosis == "timeout" and checks(result)["total"].passed


def test_a_call_that_began_is_never_made_again(grader, spec):
    """`total` needs 1.5 s of CPU (limit 0.5 s). Once begun, it writes a frame carrying an
    earlier call's nonce: the parent must charge both calls, not give `total` a fresh clock."""
    source = KIT + '''
import grader.sandbox.frames as F
_receive, seen = F.receive, []
def receive(sock):
    got = _receive(sock)
    if got:
        seen.append(got[0].get("nonce"))
    return got
F.receive = receive

def scale(x, k):
    return x * k

def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass

def total(x):
    burn(0.3)
    if TRICK:
        os.write(channel_socket(), F.pack({"kind": "answer", "nonce": seen[-2]}))
        time.sleep(5)
    burn(1.2)
    return float(np.sum(x))
'''
    honest, _ = grade(grader, spec, source.replace("TRICK", "False"))
    tricked, seconds = grade(grader, spec, source.replace("TRICK", "True"))
    assert tricked.score <= honest.score == 2
    assert not checks(tricked)["total"].passed and seconds < 6


def test_shrinking_the_shared_argument_memory_cannot_break_the_parent(grader, spec):
    """The call truncates (and a thread keeps resizing) the memory holding its arguments:
    sealed, it cannot; the parent reads it back with pread, never through a mapping."""
    source = KIT + GOOD_TOTAL + '''
def scale(x, k):
    result = x * k
    for fd in range(3, 64):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:"):
                for size in (0, 1 << 20, 0):
                    try:
                        os.ftruncate(fd, size)
                    except OSError:
                        pass
        except OSError:
            pass
    return result
'''
    result, _ = grade(grader, spec, source)
    assert result.score == 4


def test_a_thread_left_by_one_call_cannot_cost_the_next(grader, spec):
    """`scale` leaves a thread that, later, ends the process or writes garbage: the next
    call runs in a fresh sandbox and keeps its points."""
    for act in ("os._exit(3)", "os.write(channel_socket(), b'garbage' * 100)"):
        source = KIT + GOOD_TOTAL + f'''
def scale(x, k):
    def later():
        time.sleep(0.2)
        {act}
    threading.Thread(target=later, daemon=True).start()
    return x * k
'''
        result, _ = grade(grader, spec, source)
        assert checks(result)["total"].passed, act


def test_a_sandbox_that_forged_a_malformed_answer_runs_no_other_call(grader, spec):
    """`scale`'s last call forges a malformed answer (lists 300 deep) and goes on running:
    it takes `total`'s request, acknowledges it as the harness would, and writes a second
    answer of its own. The parent finds the forgery while `total`'s call is sent: that call
    is withdrawn before anything more is read, and made in a fresh sandbox."""
    source = KIT + GOOD_TOTAL + '''
import json
def scale(x, k):
    if os.environ.get("SEEN"):
        mine = harness()["request"]["nonce"]
        forge(status="ok", output=json.loads("[" * 300 + "]" * 300))
        channel = harness()["channel"]
        following = channel.receive()[0]["nonce"]
        channel.acknowledge(following)
        channel.send({"kind": "answer", "nonce": mine, "status": "ok", "output": None})
        time.sleep(2)
    os.environ["SEEN"] = "1"
    return x * k
'''
    result, seconds = grade(grader, spec, source)
    assert checks(result)["total"].passed, checks(result)["total"].message
    assert checks(result)["scale"].diagnosis == "misbehaved"
    assert_nothing_left(grader)


def test_a_second_answer_written_before_the_next_call_began_costs_only_its_own(grader, spec):
    """`scale`'s last call forges a well-formed answer, then returns a big one a moment
    later: the harness writes that second answer before it takes `total`'s request, so it
    is `scale`'s alone, however late the parent reads it (the acknowledgement says how much
    the harness had written on the channel when `total` began)."""
    source = KIT + GOOD_TOTAL + '''
def scale(x, k):
    if os.environ.get("SEEN"):
        forge(status="ok", output=1.0)
        time.sleep(0.3)
        return [[]] * 90000
    os.environ["SEEN"] = "1"
    return x * k
'''
    for _ in range(3):
        result, _ = grade(grader, spec, source)
        assert checks(result)["total"].passed, checks(result)["total"].message
        assert checks(result)["scale"].diagnosis == "misbehaved"
    assert_nothing_left(grader)


def test_an_entry_replaced_by_an_object_at_the_same_address_is_seen(course):
    """Exercise 6: `sgd_step` replaces each array of `params` by a new one that Python put
    at the address of the old one (same id)."""
    source = '''import numpy as np
def sgd_step(params, grads, lr):
    for key in list(params):
        values = params[key] - lr * grads[key]
        old_id = id(params[key])
        del params[key]
        held = []
        for _ in range(10000):
            fresh = np.empty_like(values)
            if id(fresh) == old_id:
                break
            held.append(fresh)
        fresh[...] = values
        params[key] = fresh
    return params
'''
    with Grader(course) as g:
        result = g.grade_source(course.find("6"), source, "/sub/ex06.py", "ex06.py")
    step = next(c for c in result.checks if c.function == "sgd_step")
    assert not step.passed and step.diagnosis == "mutated-input"


@pytest.mark.parametrize("output", [{"__array__": ",", "shape": [1], "at": 0},
                                    {"__float__": "pwned"}, {"__array__": "<f8", "shape": [-1]},
                                    {"__tuple__": "not a list"}])
def test_a_malformed_answer_is_misbehaviour_not_a_crash(grader, spec, output):
    source = KIT + GOOD_TOTAL + f'''
def scale(x, k):
    forge(status="ok", output={output!r}, after_changed=[])
    os._exit(0)
'''
    result, _ = grade(grader, spec, source)
    assert checks(result)["scale"].diagnosis == "misbehaved"
    assert checks(result)["total"].passed


def test_a_hostile_exception_is_reported_as_an_exception(grader, spec):
    """A metaclass that lies about its name, a __str__ returning a str subclass whose
    slicing loops, a __traceback__ that raises, a __class__ that lies."""
    source = GOOD_TOTAL + '''
class Meta(type):
    @property
    def __name__(cls):
        return "\\x1b[2J<b>`x`</b>"

class Slippery(str):
    def __getitem__(self, item):
        while True:
            pass

class Boom(Exception, metaclass=Meta):
    def __str__(self):
        return Slippery("\\x1b]0;owned\\x07 message")
    @property
    def __traceback__(self):
        raise RuntimeError("no traceback")
    @property
    def __class__(self):
        return int

def scale(x, k):
    raise Boom()
'''
    result, _ = grade(grader, spec, source)
    scale = checks(result)["scale"]
    assert scale.diagnosis == "exception" and "sys.exit" not in scale.message
    assert "\x1b" not in scale.message and checks(result)["total"].passed


@pytest.mark.skipif(not ROOT, reason="needs root (a user of the sandbox's own)")
@pytest.mark.parametrize("mode", ["no-namespaces", "namespaces"])
def test_nothing_of_a_run_reaches_the_next(tmp_path, mode):
    """What outlives processes: without namespaces, a file in /run/lock or in a world-writable
    folder below /tmp, thousands of files, a System V shared-memory segment; in every mode, a
    key in the user's keyring. None is left for the next run of the same sandbox user."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(shared, 0o1777)
    leave = GOOD_TOTAL + textwrap.dedent(f"""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def scale(x, k):
            for folder in ("/run/lock", {str(shared)!r}):
                try:
                    open(os.path.join(folder, f"gw-left-{{os.getuid()}}"), "w").write("x")
                except OSError:
                    pass
            for n in range(3000):
                os.close(os.open(f"/tmp/gw-left-{{os.getuid()}}-{{n}}", os.O_CREAT | os.O_WRONLY))
            print("SHM", libc.shmget(0x47570000 + os.getpid() % 65536, 1 << 20, 0o1600))
            add_key = {{"x86_64": 248, "aarch64": 217}}.get(os.uname().machine, -1)
            print("KEY", libc.syscall(add_key, b"user", b"gw-left", b"x" * 100, 100, -4))
            return x * k
        """)
    find = GOOD_TOTAL + textwrap.dedent("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def scale(x, k):
            keyctl = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine, -1)
            print("FOUND", libc.syscall(keyctl, 10, -4, b"user", b"gw-left", 0))  # SEARCH
            return x * k
        """)
    first, second = grade_in_a_fresh_interpreter([leave, find], mode)
    assert first["score"] == second["score"] == 4, (first, second)
    assert "KEY -1" not in first["output"], first["output"]  # the key was made
    assert "FOUND -1" in second["output"], second["output"]  # and is gone for the next run
    if mode == "namespaces":  # the rest was private to the run's namespaces
        return
    uid = int(first["isolation"].split("user ")[1].split(",")[0])
    left = [p for folder in ("/tmp", "/run/lock", str(shared))
            for p in Path(folder).glob("gw-left-*") if p.lstat().st_uid == uid]
    assert left == []
    with open("/proc/sysvipc/shm") as fh:
        segments = [line.split() for line in fh.readlines()[1:]]
    assert not [row for row in segments if int(row[7]) == uid]


@pytest.mark.skipif(not ROOT, reason="needs root to become the sandbox's user")
def test_the_cleanup_can_only_remove_what_the_sandbox_user_could(tmp_path):
    """The cleanup runs as the sandbox's user and walks by descriptors: a link, or a folder
    swapped for one, never leads it to remove a file of another user."""
    from grader.sandbox import isolation
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(shared, 0o1777)
    uid = 2_000_000_000 + 4242
    pid = os.fork()
    if pid == 0:  # as the sandbox's user: a link to the victim, a folder with one inside
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.symlink(victim, shared / "link")
            (shared / "mine").mkdir()
            os.symlink(victim / "precious.txt", shared / "mine" / "file-link")
            os.chmod(shared / "mine", 0o500)  # closed, even to its owner
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    isolation._as_user(uid, lambda: isolation._remove_owned_by(uid, str(shared)))
    assert (victim / "precious.txt").read_text() == "keep me"
    assert list(shared.iterdir()) == []


def test_a_busy_machine_does_not_fail_correct_code():
    """Limits count CPU time: with twice as many busy processes as cores, a call that needs
    70% of its limit in CPU takes longer than its limit in wall time, and still passes. A
    call that sleeps past its limit is stopped by the wall-clock backstop."""
    from grader.sandbox import Call, Sandbox
    import numpy as np
    burn = ("import time\ndef work(x):\n    end = time.process_time() + 0.35\n"
            "    while time.process_time() < end:\n        pass\n    return x\n"
            "def nap(x):\n    time.sleep(60)\n    return x\n")
    # each in a session of its own, as other students' sandboxes are (Linux shares the CPU
    # between sessions first, with autogroups)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                start_new_session=True)
               for _ in range(2 * (os.cpu_count() or 1))]
    try:
        with Sandbox(Limits(call_timeout=0.5, import_timeout=5.0)) as box:
            started = time.monotonic()
            outcome = box.run(burn, "/sub/x.py", [Call("work", (np.ones(2),), 0.5),
                                                  Call("nap", (np.ones(2),), 0.5)])
            seconds = time.monotonic() - started
    finally:
        for process in burners:
            process.kill()
            process.wait()
    work, nap = outcome.calls
    assert work.status == "ok", work
    assert work.seconds > 0.5, "the machine was not busy enough to show anything"
    assert nap.status == "timeout" and seconds < 10


# The file's top level rewrites the harness's acknowledgement so that it claims a byte count
# far beyond anything written: every frame read during such a call then looks "written before
# the call began", so the call is not charged and is made again in a fresh sandbox.
HUGE_ACK = '''
_harness_channel = type(harness()["channel"])
_honest_ack = _harness_channel.acknowledge
def _huge_ack(self, nonce):
    function = sys._getframe(1).f_locals["request"].get("function")
    if function not in FORGED_FOR:
        return _honest_ack(self, nonce)
    os.write(self.acks, f"{nonce} {10 ** 17}\\n".encode())
_harness_channel.acknowledge = _huge_ack
'''


def test_a_forged_byte_count_cannot_move_a_call_s_charge_onto_an_honest_one(grader, spec):
    """`scale` is honest. `total`'s acknowledgements claim 10**17 bytes written; in the
    sandbox where `scale` ran, `total` writes a frame that answered no request. That frame is
    `total`'s doing (nothing of `scale` runs any more): `total` is charged, `scale` keeps its
    points, and `total` is not made again in a fresh sandbox where it behaves."""
    source = KIT + HUGE_ACK.replace("FORGED_FOR", "('total',)") + '''
def scale(x, k):
    os.environ["SCALED"] = "1"
    return x * k

def total(x):
    if os.environ.get("SCALED"):
        forge(kind="hello")
    return float(np.sum(x))
'''
    result, _ = grade(grader, spec, source)
    assert checks(result)["scale"].passed, checks(result)["scale"].message
    assert checks(result)["total"].diagnosis == "misbehaved", checks(result)["total"].message
    assert_nothing_left(grader)


def test_forged_byte_counts_cannot_run_the_file_out_of_time_for_the_others(grader, spec):
    """Every `scale` call writes a stray frame just within its wall-clock backstop under a
    forged byte count, and every load of the file sleeps most of its own backstop: each call
    is made twice, each time in a fresh sandbox, and `scale` is never stopped. The file's
    deadline (which budgets one sandbox per misbehaving call) must still leave `total` graded."""
    source = KIT + HUGE_ACK.replace("FORGED_FOR", "('scale',)") + '''
time.sleep(6)  # a load within its wall-clock backstop (3 x 2 s + 1 s)

def scale(x, k):
    time.sleep(2.2)  # within the call's backstop (3 x 0.5 s + 1 s)
    forge(kind="hello")
    time.sleep(5)
    return x * k

def total(x):
    return float(np.sum(x))
'''
    result, _ = grade(grader, spec, source)
    assert not checks(result)["scale"].passed
    assert checks(result)["total"].passed, checks(result)["total"].message
    assert_nothing_left(grader)
