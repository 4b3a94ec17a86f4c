"""Server-rendered SVG charts of the meeting report (issue 12.6): readable without JavaScript.

Each chart is an `<svg role="img">` with a `<title>`, an `aria-label` and a `<desc>` that say
what it shows in words, and every bar carries its label and its number as text, so nothing is
told by colour alone. A chart is drawn in a viewBox 360 units wide (a phone's width: at 390 px
its text is the page's size) and scales with its box; colours are classes the stylesheet can
change (dark mode), with presentation attributes as the default. No script, no inline style
(the Content-Security-Policy allows neither).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
FONT = 14
ROW = 44  # a bar chart's row: its label above, its bar below
BAR = 16
NUMBER_ROOM = 64  # right of the longest bar: its number
LABEL_CHARS = 44  # longer labels are cut with an ellipsis (the whole one is in the title)
TEXT = 'fill="currentColor"'


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its value (the bar's length) and the number printed beside it."""

    key: str  # a stable name for tests and styles (`data-key`)
    label: str
    value: float
    shown: str


@dataclass(frozen=True, slots=True)
class Budget:
    """The time chart's budget line (R4): where it is and what it says."""

    value: float
    label: str


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, empty: str) -> Markup:
    """A horizontal bar chart, one row per bar, longest bar the full width less its number.

    `empty` is what the chart says when there is nothing to draw.
    """
    if not bars:
        height = ROW
        rows = [f'<text x="0" y="{FONT + 6}" {TEXT} font-size="{FONT}">{escape(empty)}</text>']
    else:
        height = ROW * len(bars) + 4
        most = max(bar.value for bar in bars) or 1
        rows = [_row(n, bar, most) for n, bar in enumerate(bars)]
    words = "; ".join(f"{bar.label}: {bar.shown}" for bar in bars) or empty
    return _svg(chart_id, title, words, height, rows, kind="bars")


def _row(n: int, bar: Bar, most: float) -> str:
    top = n * ROW
    length = max(0.0, bar.value) / most * (WIDTH - NUMBER_ROOM)
    label = _cut(bar.label)
    return (
        f'<g class="chart-row" data-key="{escape(bar.key)}" data-value="{escape(bar.shown)}">'
        f"<title>{escape(bar.label)}: {escape(bar.shown)}</title>"
        f'<text class="chart-label" x="0" y="{top + FONT}" {TEXT} font-size="{FONT}">'
        f"{escape(label)}</text>"
        f'<rect class="chart-bar" x="0" y="{top + FONT + 6}" width="{length:.1f}" height="{BAR}"'
        f' rx="2" fill="#2563eb"/>'
        f'<text class="chart-number" x="{length + 6:.1f}" y="{top + FONT + 6 + BAR - 3}" {TEXT}'
        f' font-size="{FONT}" font-weight="bold">{escape(bar.shown)}</text>'
        "</g>"
    )


# The time chart's parts and their default colours (the stylesheet's classes may change them).
COLOURS = {
    "presentation": "#b45309",
    "qa": "#2563eb",
    "break": "#6b7280",
    "other": "#a3a3a3",
}
OVER = "#b91c1c"


def time_chart(
    chart_id: str, title: str, parts: Sequence[Bar], budget: Budget, *, scale: float
) -> Markup:
    """Where the meeting's time went (R4): one bar of its parts end to end, the presentation
    first, against the budget line (a quarter of the planned time), then a legend row per
    part with its time and share. `scale` is the value the full width stands for (the longer
    of the planned and the actual length), so the line sits where a quarter of the plan ends.
    """
    scale = scale or 1
    span = WIDTH - 2
    at, pieces = 1.0, []
    top = FONT + 12  # room for the budget's label above the bar
    for part in parts:
        length = max(0.0, part.value) / scale * span
        pieces.append(_piece(part, at, top, length))
        at += length
    line = 1 + budget.value / scale * span
    anchor = "end" if line > WIDTH / 2 else "start"
    budget_mark = (
        f'<g class="chart-budget" data-value="{escape(budget.label)}">'
        f'<line x1="{line:.1f}" y1="{FONT + 4}" x2="{line:.1f}" y2="{top + 34}" stroke="{OVER}"'
        f' stroke-width="2" stroke-dasharray="4 2"/>'
        f'<text x="{line + (-4 if anchor == "end" else 4):.1f}" y="{FONT}" {TEXT}'
        f' font-size="{FONT}" text-anchor="{anchor}">{escape(budget.label)}</text></g>'
    )
    legend = [_legend(n, part, top + 48) for n, part in enumerate(parts)]
    height = top + 48 + len(parts) * 24
    words = "; ".join([budget.label, *(f"{part.label}: {part.shown}" for part in parts)])
    return _svg(chart_id, title, words, height, [*pieces, budget_mark, *legend], kind="time")


def _piece(part: Bar, at: float, top: int, length: float) -> str:
    colour = OVER if part.key == "overrun" else COLOURS.get(part.key, COLOURS["other"])
    return (
        f'<rect class="chart-part chart-{escape(part.key)}" data-key="{escape(part.key)}"'
        f' x="{at:.1f}" y="{top}" width="{length:.1f}" height="28" fill="{colour}">'
        f"<title>{escape(part.label)}: {escape(part.shown)}</title></rect>"
    )


def _legend(n: int, part: Bar, top: int) -> str:
    y = top + n * 24
    colour = OVER if part.key == "overrun" else COLOURS.get(part.key, COLOURS["other"])
    return (
        f'<g class="chart-row" data-key="{escape(part.key)}" data-value="{escape(part.shown)}">'
        f'<rect class="chart-part chart-{escape(part.key)}" x="1" y="{y + 2}" width="14"'
        f' height="14" fill="{colour}"/>'
        f'<text x="22" y="{y + FONT}" {TEXT} font-size="{FONT}">{escape(_cut(part.label))}:'
        f' <tspan font-weight="bold">{escape(part.shown)}</tspan></text></g>'
    )


def _svg(
    chart_id: str, title: str, words: str, height: float, body: list[str], *, kind: str
) -> Markup:
    label = f"{title}. {words}"
    return Markup(
        f'<svg class="chart chart-{kind}" id="{escape(chart_id)}" role="img"'
        f' aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height:.0f}"'
        f' xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title><desc>{escape(words)}</desc>{''.join(body)}</svg>"
    )


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
