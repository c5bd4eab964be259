"""Server-side SVG bar charts: geometry computed here, drawn by ``includes/bar_chart.html``.

Nothing is fetched from the network and no JavaScript runs; the template only places rectangles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 720
HEIGHT = 180
PADDING_LEFT = 40
PADDING_BOTTOM = 20


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    title: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    maximum: int = 0
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    # The numbers behind the bars, for the table screen readers (and anyone) can read.
    rows: list[tuple[str, list[int]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.bars

    @property
    def baseline(self) -> int:
        return self.height - PADDING_BOTTOM

    @property
    def left(self) -> int:
        return PADDING_LEFT


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    label_every: int = 5,
) -> Chart:
    """A stacked bar per label; ``series`` are ``(name, css_class, values)`` bottom to top."""
    chart = Chart(title=title, legend=[(name, css) for name, css, _ in series])
    if not labels:
        return chart
    chart.rows = [(label, [values[i] for _, _, values in series]) for i, label in enumerate(labels)]
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    chart.maximum = max(max(totals), 1)
    plot_height = chart.height - PADDING_BOTTOM - 10
    slot = (chart.width - PADDING_LEFT) / len(labels)
    bar_width = max(slot * 0.7, 1)
    for index, label in enumerate(labels):
        x = PADDING_LEFT + index * slot + (slot - bar_width) / 2
        bottom = float(chart.baseline)
        for name, css_class, values in series:
            value = values[index]
            if not value:
                continue
            height = value / chart.maximum * plot_height
            bottom -= height
            chart.bars.append(
                Bar(
                    x=round(x, 1),
                    y=round(bottom, 1),
                    width=round(bar_width, 1),
                    height=round(height, 1),
                    css_class=css_class,
                    title=f"{label}: {value} {name}",
                )
            )
        if index % label_every == 0 or index == len(labels) - 1:
            # Kept inside the drawing so the last label is not cut off at the edge.
            chart.labels.append((round(min(x + bar_width / 2, chart.width - 32), 1), label))
    return chart
