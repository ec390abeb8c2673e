"""`report.html`: written by a real `grade batch` of correct, wrong, looping and missing
students, parsed (every student, every exercise, every plot with its numbers as text),
self-contained, student text shown and never obeyed, made again the same by `grade report
DIR`, and opened in a real headless browser with the network off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from grader.htmlreport import anchor

from conftest import COURSE, REPO, mistake_source, solution_source

EX1, EX2 = COURSE.find("1"), COURSE.find("2")
CHROMIUM = Path("/usr/bin/chromium")  #: Debian's package (.ci/run installs it)
#: the browser with nothing to reach: no network service, no first-run, no sync, no updates
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars"]
HOSTILE_NAME = "zoe<script>alert(1)<b>"  #: a folder name (no slash possible)
HOSTILE_PRINT = "<script>alert(2)</script>"
SPACED_NAME = "Александра Петрова"  #: non-ASCII letters and a space: an anchor all the same
# a mistake no diagnosis catalogues: the scores doubled (a "temperature" of 1/2)
DOUBLED = "\n\ndef softmax_classifier(W, X):\n    return softmax(2 * (X @ W.T))\n"
LOOPS = "\n\ndef softmax(f):\n    while True:\n        pass\n"


def run_cli(*args, timeout=300):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A class graded by the real `grade batch` on exercises 1 and 2: (out, its stdout)."""
    root = tmp_path_factory.mktemp("report")
    subs, out = root / "subs", root / "out"
    files = {
        "ada": {EX1.stem: solution_source(EX1), EX2.stem: solution_source(EX2)},
        SPACED_NAME: {EX1.stem: solution_source(EX1), EX2.stem: solution_source(EX2)},
        "ben": {EX1.stem: mistake_source(EX1, EX1.mistakes[0])},
        "cy": {EX1.stem: solution_source(EX1) + LOOPS, EX2.stem: solution_source(EX2)},
        "eli": {EX1.stem: solution_source(EX1) + DOUBLED},
        "fred": {EX1.stem: solution_source(EX1) + DOUBLED, EX2.stem: solution_source(EX2)},
        HOSTILE_NAME: {EX1.stem: f"print({HOSTILE_PRINT!r})\n" + solution_source(EX1)
                       + DOUBLED},
    }
    for name, by_stem in files.items():
        for stem, source in by_stem.items():
            path = subs / name / f"{stem}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source, encoding="utf-8")
    (subs / "dee").mkdir()  # submitted nothing
    (subs / "dee" / "notes.txt").write_text("I will submit tomorrow")
    done = run_cli("batch", str(subs), "--out", str(out), "--exercises", "1,2", "--jobs", "2",
                   "--timeout", "0.5")
    assert done.returncode == 0, done.stderr
    return out, done.stdout


class Page(HTMLParser):
    """What a browser would build of the page: elements with their attributes, the text
    outside scripts and styles, and each <figure>'s SVG title/desc and caption."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.figures: list[dict] = []
        self._open: list[str] = []
        self.html = html
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "figure":
            self.figures.append({"svg": 0, "title": "", "desc": "", "figcaption": "",
                                 "role": None})
        if tag == "svg" and self.figures:
            self.figures[-1]["svg"] += 1
            self.figures[-1]["role"] = dict(attrs).get("role")
        self._open.append(tag)

    def handle_endtag(self, tag):
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data):
        self.text.append(data)
        inside = self._open[-1] if self._open else ""
        if self.figures and inside in ("title", "desc", "figcaption") and "figure" in self._open:
            self.figures[-1][inside] += data

    def html_of(self, ident: str) -> str:
        """The markup of the element with id `ident`, up to the next element with an id
        of the same tag (enough for the sections of the report)."""
        html = self.html
        start = html.index(f'id="{ident}"')
        end = html.find("<section id=", start + 1)
        return html[start:end if end > 0 else len(html)]

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if "id" in attrs}

    def all_text(self) -> str:
        return " ".join(self.text)


def test_every_batch_writes_a_report_with_every_student_and_exercise(batch):
    out, stdout = batch
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text())
    files = sorted(p.stem for p in (out / "feedback").glob("*.json"))
    assert len(files) == 8 and summary["graded"] == 8
    ids = page.ids()
    for file in files:  # an anchor per student, after the name of their feedback files
        assert anchor(file) in ids
        assert ("a", {"href": f"#{anchor(file)}"}) in page.tags
    assert {"exercise-1", "exercise-2"} <= ids
    text = page.all_text()
    for name in ("ada", "ben", "cy", "dee", "eli", "fred", HOSTILE_NAME, SPACED_NAME):
        assert name in text
    assert "timeout" in text and "not submitted" in text.lower()  # cy loops, dee sent nothing
    assert f"[{EX1.mistakes[0].id}]" in text  # ben's catalogued mistake, with its message
    # the uncatalogued mistake, on both checks of softmax_classifier, linked to its students
    assert [(c["check"], c["size"]) for c in summary["clusters"]] == [
        ("softmax_classifier on a batch", 3), ("softmax_classifier with large scores", 3)]
    clusters = page.html_of("clusters")
    for cluster in summary["clusters"]:
        assert cluster["difference"] in clusters
        for student in cluster["students"]:
            assert f'href="#{anchor(student["file"])}"' in clusters
    assert clusters.count("3 students") == 2
    assert "report.html" in stdout  # the terminal says where it is


def test_every_plot_carries_its_numbers_as_text(batch):
    out, _ = batch
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text())
    plots = [f for f in page.figures if f["svg"]]
    # one score histogram per exercise submitted, one heat map per exercise with failures
    assert len(plots) >= 2 * len(summary["exercises"]) - 1
    for figure in plots:
        assert figure["role"] == "img" and figure["title"] and figure["desc"]
        assert figure["figcaption"]
    for exercise in summary["exercises"]:
        histogram = next(f for f in plots if f["title"] == f"Scores of exercise "
                                                            f"{exercise['exercise']}")
        edges, counts = exercise["histogram"]["edges"], exercise["histogram"]["counts"]
        for low, high, count in zip(edges, edges[1:], counts):
            assert f"{low:g}–{high:g} points: {count}" in histogram["desc"]
            assert f"{low:g}–{high:g} points: {count}" in histogram["figcaption"]
    heat = next(f for f in plots if f["title"] == "Diagnoses of exercise 1")
    ben_mistake = EX1.mistakes[0].id
    assert f"{ben_mistake} 1" in heat["desc"] and "timeout" in heat["desc"]
    assert "no diagnosis 3" in heat["desc"]  # eli, fred and zoe: the uncatalogued mistake


def test_the_report_is_self_contained_and_fetches_nothing(batch):
    out, _ = batch
    html = (out / "report.html").read_text(encoding="utf-8")
    page = Page(html)
    assert "http:" not in html and "https:" not in html and "//" not in html.replace(
        "<!--", "")  # no address of any kind, even a namespace's
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "image")
        assert "src" not in attrs, tag
        for name in ("href", "xlink:href"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert "@import" not in html and "url(" not in html.replace("url(#", "")
    policy = next(a["content"] for t, a in page.tags if a.get("http-equiv") ==
                  "Content-Security-Policy")
    assert "default-src 'none'" in policy
    assert "@media print" in html  # readable when printed


def test_every_link_to_a_student_is_a_fragment_that_matches_its_id(batch):
    """A browser percent-decodes a URL's fragment and looks for the element with that id:
    each id must be ASCII, and the decoded fragment of each link the id itself."""
    from urllib.parse import unquote

    out, _ = batch
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    ids = {i for i in page.ids() if i.startswith("student-")}
    assert len(ids) == 8
    for ident in ids:
        assert ident.isascii() and not any(c in ident for c in " %#\"'<>")
    hrefs = [a["href"] for tag, a in page.tags if tag == "a" and "href" in a]
    fragments = {unquote(h[1:]) for h in hrefs if h.startswith("#student-")}
    assert fragments == ids
    spaced = next(p.stem for p in (out / "feedback").glob("*.json")
                  if json.loads(p.read_text())["student"] == SPACED_NAME)
    assert anchor(spaced) in ids and anchor(spaced) != anchor(spaced.replace(" ", "_"))


def test_student_text_is_shown_as_text_never_obeyed(batch):
    out, _ = batch
    html = (out / "report.html").read_text(encoding="utf-8")
    page = Page(html)
    assert "<script" not in html.lower() and "<b>" not in html
    assert [t for t, _ in page.tags].count("b") == 0
    text = page.all_text()
    assert HOSTILE_NAME in text and HOSTILE_PRINT in text  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;b&gt;" in html


def test_grade_report_makes_the_same_page_again_from_the_folder(batch, tmp_path):
    out, _ = batch
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    made = (copy / "report.html").read_text(encoding="utf-8")
    (copy / "report.html").unlink()
    done = run_cli("report", str(copy))
    assert done.returncode == 0, done.stderr
    assert f"Wrote {copy / 'report.html'}" in done.stdout
    assert (copy / "report.html").read_text(encoding="utf-8") == made
    assert (copy / "report.html").stat().st_mode & 0o077 == 0  # the instructor's alone


def test_grade_report_of_an_interrupted_batch_says_it_is_incomplete(batch, tmp_path):
    out, _ = batch
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    next((copy / "feedback").glob("ada.json")).unlink()  # as if the batch stopped before ada
    done = run_cli("report", str(copy))
    assert done.returncode == 0, done.stderr
    assert "Incomplete: 7 of 8 students graded: the batch did not finish" in done.stdout
    assert "--resume" in done.stdout
    assert "7 of 8 students graded: the batch did not finish" in \
        (copy / "report.html").read_text(encoding="utf-8")


def test_grade_report_on_a_folder_that_is_no_batch_says_what_to_do(tmp_path):
    done = run_cli("report", str(tmp_path / "nonexistent"))
    assert done.returncode == 1 and "nonexistent: no such folder" in done.stderr
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("Error:") and "grade batch" in done.stderr
    assert "Traceback" not in done.stderr
    (tmp_path / "summary.json").write_text("{ broken")
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 1 and "cannot be read" in done.stderr
    assert "Traceback" not in done.stderr


# -- in a real browser --------------------------------------------------------------------------

def _chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    why = os.environ.get("GRADEWISE_NO_CHROMIUM") or \
        "not installed (`.ci/run` installs it as root: apt-get install -y chromium)"
    pytest.skip(f"{CHROMIUM}: {why}")


def _offline(argv: list[str]) -> list[str]:
    """`argv` in a network namespace of its own (no interface but loopback) when this
    machine allows one; otherwise as it is (the flags keep the browser from the network)."""
    for prefix in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        if shutil.which("unshare") and subprocess.run(
                [*prefix, "true"], capture_output=True).returncode == 0:
            return [*prefix, *argv]
    return argv


def test_the_report_opens_in_headless_chromium_offline_and_shows_its_plots(batch, tmp_path):
    from matplotlib import image

    out, _ = batch
    browser = _chromium_or_skip()
    shot = tmp_path / "report.png"
    done = subprocess.run(_offline([str(browser), *CHROMIUM_FLAGS,
                                    f"--user-data-dir={tmp_path / 'profile'}",
                                    f"--screenshot={shot}", "--window-size=1200,1600",
                                    (out / "report.html").resolve().as_uri()]),
                          capture_output=True, text=True, timeout=180)
    assert shot.exists(), done.stderr[-2000:]
    pixels = (image.imread(shot)[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    assert len(colours) > 50, "a blank page"  # text, its anti-aliasing and the plots
    assert counts.max() < 0.98 * len(pixels)
    from grader.plots import BAR_COLOUR  # the histograms' bars were drawn
    bar = tuple(int(BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    assert (pixels == bar).all(axis=1).sum() > 200


def test_a_blank_page_fails_the_browser_check(tmp_path):
    """The check above can fail: a page with nothing on it has one colour."""
    from matplotlib import image

    browser = _chromium_or_skip()
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>x</title>")
    shot = tmp_path / "blank.png"
    subprocess.run(_offline([str(browser), *CHROMIUM_FLAGS,
                             f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                             "--window-size=400,300", blank.as_uri()]),
                   capture_output=True, timeout=180)
    pixels = (image.imread(shot)[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) <= 2


# -- what the report costs everyone else --------------------------------------------------------

def test_grading_an_exercise_imports_neither_jinja2_nor_matplotlib(tmp_path):
    probe = ("import sys\nfrom grader.cli import main\n"
             f"main(['exercise', '1', '--file', {str(REPO / 'solutions' / 'ex01_softmax.py')!r}])\n"
             "print([m for m in ('jinja2', 'matplotlib') if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"GRADEWISE_COURSE": str(REPO),
                                                      "PATH": "/usr/bin:/bin", "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_gradescope_autograder_does_not_install_what_only_the_report_needs(tmp_path):
    import zipfile

    from grader.gradescope import build_autograder

    build_autograder(tmp_path / "ag.zip", COURSE, [EX1])
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        pyproject = zf.read("gradewise/pyproject.toml").decode()
    dependencies = next(line for line in pyproject.splitlines()
                        if line.startswith("dependencies"))
    assert "numpy" in dependencies
    assert "jinja2" not in dependencies.lower() and "matplotlib" not in dependencies
