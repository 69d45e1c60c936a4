"""What the dashboards hand to unfold's Chart.js canvases: options and data as JSON, money as
text. Plain JSON only (no callbacks), so a chart is described entirely by the template."""

import copy
import json

# Whole-number ticks, a quiet grid, no legend.
CHART_OPTIONS = {
    "animation": False,
    "responsive": True,
    "maintainAspectRatio": False,
    "plugins": {"legend": {"display": False}},
    "datasets": {
        "bar": {"borderRadius": 6, "maxBarThickness": 36},
        "line": {"borderWidth": 2, "pointRadius": 2, "tension": 0.3, "fill": True},
    },
    "scales": {
        "x": {"grid": {"display": False}, "ticks": {"color": "#9ca3af"}},
        "y": {
            "beginAtZero": True,
            "border": {"display": False},
            "grid": {"color": "rgba(156, 163, 175, 0.2)"},
            "ticks": {"color": "#9ca3af", "precision": 0},
        },
    },
}


def chart_options(*, legend: bool = False, second_axis: bool = False, y_ticks: bool = False) -> str:
    """CHART_OPTIONS as JSON, with a legend, a right-hand axis (`y1`), or the left axis's
    numbers shown (unfold hides them unless asked)."""
    options = copy.deepcopy(CHART_OPTIONS)
    if y_ticks:
        options["scales"]["y"]["ticks"]["display"] = True
    if legend:
        options["plugins"]["legend"] = {"display": True, "position": "top", "align": "end"}
    if second_axis:
        options["scales"]["y1"] = {
            "position": "right",
            "beginAtZero": True,
            "border": {"display": False},
            "grid": {"display": False},
            "ticks": {"color": "#9ca3af", "precision": 0},
        }
    return json.dumps(options)


def chart_data(labels, datasets) -> str:
    return json.dumps({"labels": labels, "datasets": datasets}, ensure_ascii=False)


def money(amount) -> str:
    """¥1,234.50, or ¥12,345 from ten thousand up; "—" for none."""
    if amount is None:
        return "—"
    return f"¥{amount:,.0f}" if abs(amount) >= 10000 else f"¥{amount:,.2f}"
