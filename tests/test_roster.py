"""The roster file: what a spreadsheet writes is accepted (a byte-order mark, CRLF, blank
lines, empty lines of cells, semicolons, other headers, extra columns); what would give a
student's grade to someone else is refused with the file, the line and what to do — before
`grade batch` grades or writes anything."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata

import pytest

from grader.errors import GradewiseError
from grader.results import ClassResults, StudentResults
from grader.roster import join, read_roster

from conftest import REPO


def roster_file(tmp_path, data, name="roster.csv"):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def refused(tmp_path, data) -> str:
    path = roster_file(tmp_path, data)
    with pytest.raises(GradewiseError) as caught:
        read_roster(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message[len(str(path)):]


def test_a_spreadsheets_roster_is_read_as_it_is_meant(tmp_path):
    data = ("\ufeffStudent , ID,Full Name,E-mail,Section,Login ID,Grader notes\r\n"
            "\r\n"
            ' ada ,1001,"Lovelace, Ada",ada@x.example,A,alovelace,quiet\r\n'
            ",,,,,,\r\n"
            'ben,1002,"Ben ""the"" Bit",,B,,\r\n'
            "cy,,,,\r\n")  # a short line: the cells it lacks are empty
    roster = read_roster(roster_file(tmp_path, data))
    ada, ben, cy = roster.students
    assert (ada.student, ada.id, ada.name, ada.email, ada.section, ada.login, ada.line) == \
        ("ada", "1001", "Lovelace, Ada", "ada@x.example", "A", "alovelace", 3)
    assert ben.name == 'Ben "the" Bit' and ben.line == 5 and cy.line == 6 and cy.id == ""
    assert read_roster(roster_file(tmp_path, roster.to_csv(), "copy.csv")).students == \
        tuple(type(s)(**{**s.__dict__, "line": i}) for i, s in enumerate(roster.students, 2))
    semicolons = read_roster(roster_file(tmp_path, "\nstudent;name\nada;Lovelace, Ada\n", "s.csv"))
    assert semicolons.students[0].name == "Lovelace, Ada"


@pytest.mark.parametrize("data, expected", [
    ("id,name\n1,Ada\n", r":1: no `student` column .* header has 'id', 'name'"),
    ("student,emial\nada,a@x\n", r":1: unknown column 'emial': did you mean 'email'\?"),
    ("student,email,E-mail\nada,a,b\n", r":1: two columns hold 'email'"),
    ("student,name\nada,Ada\nben,Ben\nada,Ada L.\n", r":4: student 'ada' is on line 2 too: keep one line per student"),
    ("student,email\nada,Ada@X.org\nben,ada@x.org\n", r":3: email 'ada@x.org' is ada's too \(line 2\)"),
    ("student,id\nada,7\nben,7\n", r":3: id '7' is ada's too"),
    ("student,name\nada,Lovelace, Ada\n", r":2: 3 cells where the header has 2: .*double quotes"),
    ("student,name\n,Ada\n", r":2: no student"),
    ("student,name\nada,\"Ada\nben,Ben\n", r":2: a double quote opened on this line is never closed"),
    ("", r": empty"),
    ("\n\n,,\n", r": empty"),
])
def test_a_roster_that_would_misplace_a_grade_is_refused_with_its_line(tmp_path, data, expected):
    assert re.match(expected, refused(tmp_path, data))


def test_a_roster_not_in_utf8_says_how_to_save_it(tmp_path):
    latin = "student,name\nada,Ada\nzoe,Zo\u00eb\n".encode("cp1252")
    assert refused(tmp_path, latin).startswith(":3: not UTF-8 text (byte 0xeb)")
    assert "UTF-16" in refused(tmp_path, "student\nada\n".encode("utf-16"))
    with pytest.raises(GradewiseError, match="no such file"):
        read_roster(tmp_path / "nowhere.csv")


def test_a_roster_student_is_the_submission_of_that_name_composed_or_not(tmp_path):
    roster = read_roster(roster_file(tmp_path, "student\nzo\u00eb\nada\n"))
    decomposed = unicodedata.normalize("NFD", "zoë")
    klass = ClassResults([], 0, {decomposed: StudentResults(decomposed, 0),
                                 "bob": StudentResults("bob", 0)})
    joined = join(roster, klass)
    assert [(s.student, r.student if r else None) for s, r in joined.rows] == \
        [("zoë", decomposed), ("ada", None)]
    assert [name for name, _ in joined.extra] == ["bob"]
    assert [s.student for s in joined.not_submitted] == ["ada"]


def test_grade_batch_refuses_a_bad_roster_before_grading_anything(tmp_path):
    subs = tmp_path / "subs" / "ada"
    subs.mkdir(parents=True)
    (subs / "ex01_softmax.py").write_text("x = 1\n")
    bad = roster_file(tmp_path, "student,name\nada,Ada\nada,Ada again\n")
    env = {**os.environ, "GRADEWISE_COURSE": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(tmp_path / "subs"),
                           "--out", str(tmp_path / "out"), "--roster", str(bad)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == f"Error: {bad}:3: student 'ada' is on line 2 too: keep one line " \
                          "per student\n"
    assert not (tmp_path / "out").exists()
