"""A lesson's one-page handout: the figure as it stands and the lesson's text, in one HTML file.

Plotly.js is inlined (``include_plotlyjs=True``), so the file opens offline. Every piece of text is
HTML-escaped here (the lessons' sentences hold numbers and, for data sets, group labels).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

__all__ = ["handout_html"]

STYLE = """body{font-family:Inter,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.2em}
.question{font-size:1.2em;font-style:italic}.footer{color:#666;font-size:.85em;margin-top:2em}"""


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(str(s))}</li>" for s in items) + "</ul>"


def handout_html(title: str, question: str, figures: Sequence["go.Figure"], sections: Sequence[tuple[str, Sequence[str]]],
                 check: tuple[str, Sequence[str], str] | None = None, footer: str = "") -> str:
    """The handout as a complete HTML page: ``title``, the lesson's ``question``, each figure (interactive,
    plotly.js inline once), ``sections`` as (heading, sentences), and the check question
    (question, options, answer with why) at the end."""
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p class='question'>{html.escape(question)}</p>"]
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(include_plotlyjs=(i == 0), full_html=False, config={"displaylogo": False}))
    for heading, sentences in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>" + _list(sentences))
    if check is not None:
        q, options, answer = check
        parts.append(f"<h2>Check</h2><p>{html.escape(q)}</p>" + _list(options)
                     + f"<details><summary>Answer</summary><p>{html.escape(answer)}</p></details>")
    if footer:
        parts.append(f"<p class='footer'>{html.escape(footer)}</p>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
