"""`grade batch --roster` and `grade export DIR --format canvas|moodle|csv`: a real batch of
the course's exercises 1 and 2 with a roster (a student on it with no submission, one
submitted but not on it, names with a comma, a formula and non-ASCII letters, a folder name
stored decomposed), then each gradebook checked against its LMS's documented columns."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from grader.lms import number
from grader.roster import ROSTER_FILE

from conftest import COURSE, REPO, mistake_source, solution_source

EX1, EX2 = COURSE.find("1"), COURSE.find("2")
STEMS = [EX1.stem, EX2.stem]
FORMULA = '=HYPERLINK("http://x.example","click")'
# the roster as a spreadsheet saves it: a byte-order mark, CRLF, a blank line, a line of empty
# cells, headers in another case, a column gradewise does not know
ROSTER = ("\ufeffStudent,ID,Name,Email,Section,Notes\r\n"
          'ada,1001,"Lovelace, Ada",ada@uni.example,A1,first\r\n'
          "\r\n"
          f'ben,1002,"{FORMULA.replace(chr(34), chr(34) * 2)}",ben@uni.example,A2,\r\n'
          "cy,1003,Çelik Ayşe 李,cy@uni.example,A1,never came\r\n"
          ",,,,,\r\n"
          "zoë,1004,Zoë Ünal,zoe@uni.example,A2,\r\n")
ROSTER_ORDER = ["ada", "ben", "cy", "zoë"]


def grade(*args, **kwargs):
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The batch folder of a class graded with `grade batch --roster`."""
    root = tmp_path_factory.mktemp("lms")
    subs, out = root / "subs", root / "grades"
    write(subs / "ada" / f"{EX1.stem}.py", solution_source(EX1))  # nothing for exercise 2
    write(subs / "ben" / f"{EX1.stem}.py", mistake_source(EX1, EX1.mistakes[0]))
    write(subs / "ben" / f"{EX2.stem}.py", solution_source(EX2))
    write(subs / unicodedata.normalize("NFD", "zoë") / f"{EX1.stem}.py", solution_source(EX1))
    write(subs / "zed" / f"{EX1.stem}.py", solution_source(EX1))  # not on the roster
    (root / "roster.csv").write_bytes(ROSTER.encode("utf-8"))
    done = grade("batch", str(subs), "--out", str(out), "--roster", str(root / "roster.csv"),
                 "--exercises", "1,2", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    return root, out, done.stdout


def scores_of(out: Path, name: str) -> dict:
    """The scores in a student's feedback JSON, by exercise stem."""
    path = next(p for p in (out / "feedback").glob("*.json")
                if unicodedata.normalize("NFC", json.loads(p.read_text())["student"]) == name)
    data = json.loads(path.read_text())
    return {f"ex{r['exercise']:02d}_{r['slug']}": r["score"] for r in data["results"]}


def parse(text: str) -> list[list[str]]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # RFC 4180
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def export(out: Path, fmt: str, *extra: str) -> str:
    done = grade("export", str(out), "--format", fmt, *extra)
    assert done.returncode == 0, done.stderr
    return (out / f"gradebook-{fmt}.csv").read_bytes().decode("utf-8")


def assert_scores(out: Path, rows: list[list[str]], first_score: int) -> None:
    """Each roster student's scores, as numbers an LMS reads: cy's 0, the others' graded."""
    for name, row in zip(ROSTER_ORDER, rows):
        cells = row[first_score:]
        assert all(re.fullmatch(r"\d+(\.\d{1,4})?", cell) for cell in cells), row
        expected = {s: 0.0 for s in STEMS} if name == "cy" else scores_of(out, name)
        assert [float(c) for c in cells] == [expected.get(s, 0.0) for s in STEMS], name
    assert rows[2][first_score:] == ["0", "0"]


def assert_names_written_safely(names: list[str]) -> None:
    assert names[0] == "Lovelace, Ada"  # the comma stayed inside its cell
    assert names[1] == "'" + FORMULA  # shown as text, never run as a formula
    assert names[2] == "Çelik Ayşe 李" and names[3] == "Zoë Ünal"


def test_canvas_gradebook_has_canvas_columns_and_one_row_per_roster_student(batch):
    root, out, _ = batch
    rows = parse(export(out, "canvas"))
    # Canvas Instructor Guide, "How do I import grades in the Gradebook?"
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *STEMS]
    rows = rows[1:]
    assert [r[2] for r in rows] == ["1001", "1002", "1003", "1004"]  # SIS User ID, roster order
    assert [r[4] for r in rows] == ["A1", "A2", "A1", "A2"] and {r[1] for r in rows} == {""}
    assert_names_written_safely([r[0] for r in rows])
    assert_scores(out, rows, 5)
    assert 0 < float(rows[1][5]) < EX1.points and float(rows[1][6]) == EX2.points  # ben


def test_moodle_gradebook_has_an_identifying_column_and_one_per_grade_item(batch):
    root, out, _ = batch
    rows = parse(export(out, "moodle"))
    # MoodleDocs, "Grade import": map ID number/Email address/Username, then grade items
    assert rows[0] == ["Name", "ID number", "Email address", "Username", *STEMS]
    rows = rows[1:]
    assert [r[1] for r in rows] == ["1001", "1002", "1003", "1004"]
    assert [r[2] for r in rows] == [f"{n}@uni.example" for n in ("ada", "ben", "cy", "zoe")]
    assert_names_written_safely([r[0] for r in rows])
    assert_scores(out, rows, 4)


def test_the_batch_gradebook_lists_the_missing_and_the_unlisted_students(batch):
    root, out, stdout = batch
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [unicodedata.normalize("NFC", r["student"]) for r in rows] == [*ROSTER_ORDER, "zed"]
    by_name = {r["student"]: r for r in rows}
    assert by_name["cy"]["total"] == "0" and by_name["cy"]["note"] == "not submitted"
    assert by_name["zed"]["note"] == "not on the roster" and float(by_name["zed"]["total"]) > 0
    assert by_name["ada"]["id"] == "1001" and by_name["ada"]["email"] == "ada@uni.example"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["roster"] == {"students": 4, "not_submitted": ["cy"],
                                 "not_on_roster": ["zed"]}
    assert "no submission (0 on every exercise): cy" in stdout
    assert "graded but not on the roster" in stdout and "zed" in stdout


def test_the_batch_keeps_its_roster_so_export_needs_it_no_more(batch):
    root, out, _ = batch
    kept = out / ROSTER_FILE
    assert kept.stat().st_mode & 0o077 == 0  # names and emails: the instructor's only
    assert kept.read_text(encoding="utf-8").splitlines()[0] == "student,id,name,email,section,login"
    done = grade("export", str(out), "--format", "canvas", "--out", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Student,ID,SIS User ID")
    assert "with no submission score 0: cy" in done.stderr
    assert "Left out, not on the roster: zed" in done.stderr


def test_a_roster_given_to_export_overrides_the_batchs(batch, tmp_path):
    root, out, _ = batch
    other = tmp_path / "other.csv"
    other.write_text("student,id,login\nzed,2001,zed1\nada,2002,ada1\n", encoding="utf-8")
    done = grade("export", str(out), "--format", "canvas", "--roster", str(other),
                 "--out", str(tmp_path / "c.csv"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == 2 and report["not_submitted"] == []
    assert [unicodedata.normalize("NFC", n) for n in report["not_on_roster"]] == ["ben", "zoë"]
    rows = parse((tmp_path / "c.csv").read_bytes().decode("utf-8"))[1:]
    assert [(r[0], r[2], r[3]) for r in rows] == [("zed", "2001", "zed1"), ("ada", "2002", "ada1")]
    assert (out / ROSTER_FILE).read_text(encoding="utf-8").count("\n") == 5  # unchanged


def test_an_lms_gradebook_without_a_roster_or_identifiers_is_refused(batch, tmp_path):
    root, out, _ = batch
    bare = tmp_path / "bare"
    done = grade("batch", str(root / "subs"), "--out", str(bare), "--exercises", "1")
    assert done.returncode == 0, done.stderr
    done = grade("export", str(bare), "--format", "moodle")
    assert done.returncode == 1 and "--roster" in done.stderr
    assert not (bare / "gradebook-moodle.csv").exists()
    assert grade("export", str(bare), "--format", "csv").returncode == 0  # no roster needed
    thin = tmp_path / "thin.csv"
    thin.write_text("student,name,email\nada,Ada,ada@x\nben,Ben,\n", encoding="utf-8")
    done = grade("export", str(out), "--format", "moodle", "--roster", str(thin))
    assert done.returncode == 1 and "'ben' (line 3)" in done.stderr and "email" in done.stderr
    done = grade("export", str(tmp_path / "nowhere"), "--format", "csv")
    assert done.returncode == 1 and "not the output folder of `grade batch`" in done.stderr


def test_scores_are_written_as_plain_decimals():
    assert [number(x) for x in (0.0, 10.0, 7.5, 1 / 3, 1e-5, 2.00004, -0.0)] == \
        ["0", "10", "7.5", "0.3333", "0", "2", "0"]


# -- the roster in report.html; a student's feedback on what they did not submit --------------

def test_the_report_lists_every_roster_student_and_flags_those_not_on_it(batch, tmp_path):
    import shutil
    from html.parser import HTMLParser

    root, out, _ = batch
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    done = grade("report", str(copy))
    assert done.returncode == 0, done.stderr

    class Rows(HTMLParser):  # the cells of the students' table, row by row
        def __init__(self):
            super().__init__()
            self.rows, self.inside = [], False

        def handle_starttag(self, tag, attrs):
            self.inside |= tag == "table" and ("class", "gradebook") in attrs
            if self.inside and tag == "tr":
                self.rows.append([])
            if self.inside and tag in ("td", "th"):
                self.rows[-1].append("")

        def handle_endtag(self, tag):
            self.inside &= tag != "table"

        def handle_data(self, data):
            if self.inside and self.rows and self.rows[-1]:
                self.rows[-1][-1] += data

    html = (copy / "report.html").read_text(encoding="utf-8")
    table = Rows()
    table.feed(html)
    rows = {unicodedata.normalize("NFC", r[0]): [c.strip() for c in r] for r in table.rows[1:]}
    assert set(rows) == {"ada", "ben", "Çelik Ayşe 李", "zoë", "zed"}
    assert rows["Çelik Ayşe 李"][1:] == ["0", "0", "0/" + f"{EX1.points + EX2.points:g}",
                                        "not submitted"]
    assert rows["zed"][-1] == "not on the roster" and rows["ada"][-1] == ""
    totals = [float(r[-2].split("/")[0]) for r in rows.values()]
    mean = sum(totals) / len(totals)  # every row of gradebook.csv, cy's 0 included
    assert f"mean total {mean:.2f} of" in html
    assert "counts as 0" in html


def test_what_was_not_submitted_is_said_once_in_every_writer(batch):
    root, out, _ = batch
    ada = next(p for p in (out / "feedback").glob("*.md") if p.stem == "ada").read_text()
    html = (out / "report.html").read_text(encoding="utf-8")
    said = f"Not submitted:** no {EX2.stem}.py or .ipynb in ada/"
    assert said in ada and "not submitted" not in ada.lower().replace("not submitted:**", "")
    assert f"Not submitted: no {EX2.stem}.py or .ipynb in ada/" in html
    assert "submitted: not submitted" not in html.lower()


# -- which exercises an LMS file has; what the command counts; Moodle's identifying column ----

def test_an_lms_file_leaves_out_the_exercises_nobody_submitted(batch, tmp_path):
    root, _, _ = batch
    out = tmp_path / "grades"  # exercise 3 graded, nobody submitted it
    done = grade("batch", str(root / "subs"), "--out", str(out), "--exercises", "1-3",
                 "--roster", str(root / "roster.csv"))
    assert done.returncode == 0, done.stderr
    ex3 = COURSE.find("3").stem
    done = grade("export", str(out), "--format", "canvas")
    assert done.returncode == 0, done.stderr
    assert parse((out / "gradebook-canvas.csv").read_bytes().decode())[0][5:] == STEMS
    assert "Left out exercise(s) 3: nobody submitted them" in done.stdout
    done = grade("export", str(out), "--format", "moodle", "--exercises", "1,3")
    assert done.returncode == 0, done.stderr
    assert parse((out / "gradebook-moodle.csv").read_bytes().decode())[0][4:] == [EX1.stem, ex3]
    done = grade("export", str(out), "--format", "canvas", "--exercises", "4")
    assert done.returncode == 1 and "graded exercise(s) 1, 2, 3" in done.stderr
    assert "export" in grade("export", "--help").stdout
    assert "--seed" not in grade("export", "--help").stdout


def test_export_counts_the_roster_and_those_not_on_it_apart(batch):
    root, out, _ = batch
    done = grade("export", str(out), "--format", "csv", "--out", "-")
    assert done.returncode == 0, done.stderr
    assert f"Written to stdout: 4 students of the roster {out / ROSTER_FILE} and 1 not on " \
           "it" in done.stderr
    done = grade("export", str(out), "--format", "canvas", "--out", "-")
    assert f"Written to stdout: 4 students of the roster {out / ROSTER_FILE}," in done.stderr


def test_moodle_without_an_identifying_column_says_which_columns_it_can_use(batch, tmp_path):
    root, out, _ = batch
    names = tmp_path / "names.csv"
    names.write_text("student,name\nada,Ada\nben,Ben\n", encoding="utf-8")
    done = grade("export", str(out), "--format", "moodle", "--roster", str(names))
    assert done.returncode == 1
    assert "the roster has none of them filled in" in done.stderr
    assert all(f"`{c}`" in done.stderr for c in ("id", "email", "login"))
    assert "fullest" not in done.stderr and "(line 2)" not in done.stderr
