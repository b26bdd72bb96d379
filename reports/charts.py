"""Charts drawn on the server as SVG geometry: the templates only place the shapes, so the pages and the
PDF need no JavaScript and nothing from a CDN."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PALETTE = ("#1d5fbf", "#1e7b4a", "#a86000", "#b42318", "#6b4fbb", "#0f7c8c", "#8a6d00", "#c2417a", "#4b5563",
           "#2f855a", "#9c4221")  # fmt: skip
AGING_COLOURS = ("#1e7b4a", "#d69e2e", "#dd6b20", "#c05621", "#b42318")


@dataclass
class Bar:
    label: str
    value: Decimal | int
    x: float
    y: float
    width: float
    height: float
    colour: str
    text: str = ""


@dataclass
class Line:
    label: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, tooltip
    dashed: bool = False


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_labels: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label)
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, top, right, bottom


def aging_bars(aging: list[tuple[str, Decimal]], *, width: int = 520, height: int = 220) -> Chart:
    """Vertical bars, one per aging bucket, scaled to the largest."""
    left, top, right, bottom = 70, 14, width - 10, height - 34
    chart = Chart(width, height, plot=(left, top, right, bottom))
    largest = max((amount for _, amount in aging), default=Decimal("0")) or Decimal("1")
    slot = (right - left) / max(len(aging), 1)
    for index, (label, amount) in enumerate(aging):
        bar_height = float(amount / largest) * (bottom - top)
        x = left + index * slot + slot * 0.15
        chart.bars.append(
            Bar(label, amount, round(x, 1), round(bottom - bar_height, 1), round(slot * 0.7, 1),
                round(bar_height, 1), AGING_COLOURS[index % len(AGING_COLOURS)], f"{amount:,.2f}")
        )  # fmt: skip
        chart.x_labels.append((round(x + slot * 0.35, 1), label))
    chart.y_labels = _y_ticks(largest, top, bottom, money=True)
    return chart


def line_chart(
    x_labels: list[str],
    series: list[tuple[str, list[Decimal | None], bool]],
    *,
    width: int = 520,
    height: int = 220,
) -> Chart:
    """Lines over the same x positions; `series` is (label, values, dashed). Gaps where a value is None."""
    left, top, right, bottom = 50, 14, width - 24, height - 34
    chart = Chart(width, height, plot=(left, top, right, bottom))
    values = [v for _, vs, _ in series for v in vs if v is not None]
    largest = max(values, default=Decimal("0"))
    largest = largest if largest > 0 else Decimal("1")
    step = (right - left) / max(len(x_labels) - 1, 1)
    for index, label in enumerate(x_labels):
        chart.x_labels.append((round(left + index * step, 1), label))
    for number, (label, points, dashed) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        coordinates = []
        dots = []
        for index, value in enumerate(points):
            if value is None:
                continue
            x = round(left + index * step, 1)
            y = round(bottom - float(max(value, Decimal("0")) / largest) * (bottom - top), 1)
            coordinates.append(f"{x},{y}")
            dots.append((x, y, f"{label} {x_labels[index]}: {value}"))
        chart.lines.append(Line(label, colour, " ".join(coordinates), dots, dashed))
        chart.legend.append((colour, label))
    chart.y_labels = _y_ticks(largest, top, bottom)
    return chart


def pareto_chart(
    points: list[tuple[Decimal, Decimal, Decimal]], *, width: int = 520, height: int = 240
) -> Chart:
    """Cumulative effort and revenue (0-100%) against the share of customers, most effort first."""
    left, top, right, bottom = 50, 14, width - 24, height - 34
    chart = Chart(width, height, plot=(left, top, right, bottom))

    def place(x_share, y_share):
        x = round(left + float(x_share) / 100 * (right - left), 1)
        y = round(bottom - float(y_share) / 100 * (bottom - top), 1)
        return x, y

    for number, (label, column) in enumerate((("Effort (minutes)", 1), ("Revenue paid", 2))):
        colour = PALETTE[number]
        placed = [place(point[0], point[column]) for point in points]
        dots = [
            (x, y, f"{label}: {point[column]}% at {point[0]}% of customers")
            for (x, y), point in zip(placed, points, strict=True)
        ]
        chart.lines.append(Line(label, colour, " ".join(f"{x},{y}" for x, y in placed), dots))
        chart.legend.append((colour, label))
    chart.lines.append(Line("Equal share", "#9aa5b1", f"{left},{bottom} {right},{top}", [], dashed=True))
    chart.x_labels = [(place(share, 0)[0], f"{share}%") for share in (0, 25, 50, 75, 100)]
    chart.y_labels = [(place(0, share)[1], f"{share}%") for share in (0, 25, 50, 75, 100)]
    return chart


def stacked_bars(
    x_labels: list[str], stacks: list[dict[str, int]], categories: list[tuple[str, str]], *, width: int = 520,
    height: int = 240,
) -> Chart:  # fmt: skip
    """One bar per x label, stacked by category (counts)."""
    left, top, right, bottom = 40, 14, width - 10, height - 34
    chart = Chart(width, height, plot=(left, top, right, bottom))
    largest = max((sum(stack.values()) for stack in stacks), default=0) or 1
    slot = (right - left) / max(len(x_labels), 1)
    colours = {value: PALETTE[index % len(PALETTE)] for index, (value, _) in enumerate(categories)}
    for index, (label, stack) in enumerate(zip(x_labels, stacks, strict=True)):
        x = round(left + index * slot + slot * 0.15, 1)
        base = bottom
        for value, category_label in categories:
            count = stack.get(value, 0)
            if not count:
                continue
            bar_height = count / largest * (bottom - top)
            base -= bar_height
            chart.bars.append(
                Bar(category_label, count, x, round(base, 1), round(slot * 0.7, 1), round(bar_height, 1),
                    colours[value], f"{label} {category_label}: {count}")
            )  # fmt: skip
        chart.x_labels.append((round(x + slot * 0.35, 1), label))
    chart.legend = [(colours[value], label) for value, label in categories]
    chart.y_labels = _y_ticks(Decimal(largest), top, bottom)
    return chart


def _y_ticks(largest: Decimal, top: float, bottom: float, *, money: bool = False) -> list[tuple[float, str]]:
    ticks = []
    for quarter in range(5):
        value = largest * quarter / 4
        y = round(bottom - quarter / 4 * (bottom - top), 1)
        ticks.append((y, _short(value) if money else f"{value:,.0f}"))
    return ticks


def _short(value: Decimal) -> str:
    for limit, suffix in ((Decimal(10**9), "bn"), (Decimal(10**6), "m"), (Decimal(10**3), "k")):
        if abs(value) >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"
