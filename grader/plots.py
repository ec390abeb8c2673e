"""The plots of `report.html`, as inline SVG made with matplotlib's SVG backend.

matplotlib is imported here only, when a report is written (never on `grade exercise`'s
path). No pyplot and no global state: each plot is a `matplotlib.figure.Figure` saved to
SVG under `rc_context(STYLE)`. Text stays text (`svg.fonttype: none`: the browser's fonts,
no glyphs or font files), ids are deterministic (`svg.hashsalt`) and prefixed per plot (the
plots share one HTML document), and what an SVG file needs but HTML does not (the XML
declaration, the DOCTYPE, namespaces, metadata: each an address on the web) is left out:
the report holds no external address at all.

No text from a student ever enters a plot (only counts, and the course's own exercise,
check and diagnosis names), so the SVG is inserted into the page as it is.
"""

from __future__ import annotations

import io
import re
from html import escape

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "gradewise", "font.size": 9,
         "font.family": "sans-serif", "axes.spines.top": False, "axes.spines.right": False}
BAR_COLOUR = "#3b6ea8"
HEAT_COLOURS = "OrRd"  #: a sequential colour map that prints readably in grey too
MAX_LABEL = 38  #: characters of a check name on a heat map's axis (the table has it whole)


def score_histogram(ident: str, edges: list[float], counts: list[int], title: str,
                    description: str) -> str:
    """A bar chart of `counts` of students per score range `[edges[i], edges[i+1]]` (points):
    inline SVG with `title` and `description` (the numbers in words) for screen readers."""
    from matplotlib.figure import Figure
    from matplotlib import rc_context

    with rc_context(STYLE):
        figure = Figure(figsize=(4.2, 2.2))
        axes = figure.add_subplot()
        labels = [f"{low:g}–{high:g}" for low, high in zip(edges, edges[1:])]
        bars = axes.bar(labels, counts, color=BAR_COLOUR)
        axes.bar_label(bars, labels=[str(c) for c in counts], padding=2)
        axes.set_xlabel("points")
        axes.set_ylabel("students")
        axes.set_ylim(0, max(max(counts, default=0), 1) * 1.25)
        axes.yaxis.get_major_locator().set_params(integer=True)
        figure.tight_layout()
        return _svg(figure, ident, title, description)


def heat_map(ident: str, rows: list[str], columns: list[str], counts: list[list[int]],
             title: str, description: str) -> str:
    """`counts[i][j]` (students whose failure of check `rows[i]` has diagnosis `columns[j]`)
    as coloured cells, each with its number: inline SVG with `title` and `description`."""
    from matplotlib.figure import Figure
    from matplotlib import rc_context

    with rc_context(STYLE):
        figure = Figure(figsize=(1.6 + 0.75 * len(columns) + 0.06 * MAX_LABEL,
                                 1.2 + 0.32 * len(rows)))
        axes = figure.add_subplot()
        top = max((max(row) for row in counts), default=0) or 1
        # cells as vector shapes (pcolormesh), never an embedded bitmap (imshow): sharp when
        # printed, and nothing but SVG in the page
        axes.pcolormesh(counts, cmap=HEAT_COLOURS, vmin=0, vmax=top, edgecolors="white",
                        linewidth=2)
        for i, row in enumerate(counts):
            for j, count in enumerate(row):
                if count:
                    axes.text(j + 0.5, i + 0.5, str(count), ha="center", va="center",
                              color="white" if count > top * 0.6 else "black")
        axes.set_xticks([j + 0.5 for j in range(len(columns))], columns, rotation=30,
                        ha="left")
        axes.xaxis.tick_top()
        axes.set_yticks([i + 0.5 for i in range(len(rows))], [_short(r) for r in rows])
        axes.invert_yaxis()
        axes.tick_params(length=0)
        for side in axes.spines.values():
            side.set_visible(False)
        figure.tight_layout()
        return _svg(figure, ident, title, description)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


_XML_ONLY = [re.compile(r"<metadata>.*?</metadata>\s*", re.S),
             re.compile(r'\s+xmlns(:\w+)?="[^"]*"')]


def _svg(figure, ident: str, title: str, description: str) -> str:
    """`figure` as an `<svg>` element for an HTML page (see the module's docstring), with
    `role="img"`, a `<title>` and a `<desc>`."""
    buffer = io.StringIO()
    # "tight": the figure grows to hold every label (a heat map's slanted column names)
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight",
                   pad_inches=0.05)
    svg = buffer.getvalue()
    svg = re.sub(r"\n\s+", "\n", svg[svg.index("<svg"):])  # indentation
    for pattern in _XML_ONLY:
        svg = pattern.sub("", svg)
    svg = re.sub(r'\bid="', f'id="{ident}-', svg)
    svg = re.sub(r'(href="|url\()#', rf'\1#{ident}-', svg)
    head = (f'<svg role="img" aria-labelledby="{ident}-title {ident}-desc"',
            f'<title id="{ident}-title">{escape(title)}</title>'
            f'<desc id="{ident}-desc">{escape(description)}</desc>')
    opening = svg.index(">") + 1
    return head[0] + svg[4:opening] + head[1] + svg[opening:]
