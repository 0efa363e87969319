"""Pure Plotly builders: frames in, figures out (tested directly; AppTest cannot see Plotly)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from pages.components.i18n import _, current_lang

# Provincial capitals (longitude, latitude), rounded: enough to lay provinces out as tiles on a
# map of China without shipping or fetching any geometry.
PROVINCE_TILES: dict[str, tuple[float, float]] = {
    "11": (116.4, 39.9), "12": (117.8, 39.1), "13": (114.5, 38.0), "14": (112.5, 37.9),
    "15": (111.7, 40.8), "21": (123.4, 41.8), "22": (125.3, 43.9), "23": (126.6, 45.8),
    "31": (121.5, 31.2), "32": (118.8, 32.1), "33": (120.2, 30.3), "34": (117.3, 31.9),
    "35": (119.3, 26.1), "36": (115.9, 28.7), "37": (117.0, 36.7), "41": (113.7, 34.8),
    "42": (114.3, 30.6), "43": (113.0, 28.2), "44": (113.3, 23.1), "45": (108.3, 22.8),
    "46": (110.3, 20.0), "50": (106.5, 29.6), "51": (104.1, 30.7), "52": (106.7, 26.6),
    "53": (102.7, 25.0), "54": (91.1, 29.7), "61": (108.9, 34.3), "62": (103.8, 36.1),
    "63": (101.8, 36.6), "64": (106.3, 38.5), "65": (87.6, 43.8),
}  # fmt: skip

MEASURES = {  # measure: (column, English label; shown through _())
    "payout": ("payout_cents", "Payouts"),
    "payout_per_ticket": ("payout_per_ticket", "Payout per ticket"),
    "margin": ("margin_cents", "Margin"),
}


def measure_label(measure: str) -> str:
    return _(MEASURES[measure][1])


def yuan_ticks(values: list[float]) -> dict[str, list]:
    """Axis ticks in yuan read the Chinese way (万 / 亿), since Plotly only knows k / M / G."""
    top = max((abs(v) for v in values if v is not None), default=0.0)
    if top < 1e4:
        return {}
    if current_lang() == "zh":
        size, unit = (1e8, "亿") if top >= 1e8 else (1e4, "万")
    else:
        size, unit = (1e6, "M") if top >= 1e6 else (1e3, "K")
    raw = top / 4
    step = 10 ** len(str(int(raw))) / 10
    step = next(s * step for s in (1, 2, 5, 10) if s * step >= raw)
    low = min(min(v for v in values if v is not None), 0.0)
    ticks, tick = [], (low // step) * step
    while tick <= top + step:
        ticks.append(tick)
        tick += step
    return {"tickvals": ticks, "ticktext": [f"¥{t / size:,.4g}{unit}" for t in ticks]}


def with_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Per-ticket figures and margin (yuan, for charts) beside the sums in cents."""
    return frame.with_columns(
        revenue_per_ticket=pl.col("revenue_cents") / pl.col("tickets") / 100,
        payout_per_ticket=pl.col("payout_cents") / pl.col("tickets") / 100,
        margin_cents=pl.col("revenue_cents") - pl.col("payout_cents"),
    )


def trend_figure(trend: pl.DataFrame, split_label: str) -> go.Figure:
    data = with_rates(trend).sort("period")
    figure = go.Figure()
    for (segment,), rows in data.group_by("segment", maintain_order=True):
        figure.add_trace(
            go.Scatter(
                x=rows["period"].to_list(),
                y=rows["revenue_per_ticket"].to_list(),
                mode="lines+markers",
                name=str(segment),
                hovertemplate="%{x}<br>¥%{y:,.2f} "
                + _("per ticket")
                + "<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        title=_("Revenue per ticket by {split}").format(split=split_label),
        yaxis_title=_("¥ per ticket"),
        yaxis_tickprefix="¥",
        legend_title=split_label,
        margin={"t": 50, "b": 30},
    )
    return figure


def ranking_figure(ranking: pl.DataFrame, measure: str, title: str) -> go.Figure:
    data = with_rates(ranking)
    column, label = MEASURES[measure][0], measure_label(measure)
    values = data[column].cast(pl.Float64) / (100 if column.endswith("_cents") else 1)
    figure = go.Figure(
        go.Bar(
            x=values.to_list(),
            y=data["province_name"].to_list(),
            orientation="h",
            marker_color=["#2e7d32" if v >= 0 else "#c62828" for v in values.to_list()],
            hovertemplate="%{y}: ¥%{x:,.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"title": f"{label} (¥)", "tickprefix": "¥", **yuan_ticks(values.to_list())},
        margin={"t": 50},
    )
    return figure


def heatmap_figure(
    matrix: pl.DataFrame, measure: str, row_label: str, column_label: str
) -> go.Figure:
    """A matrix of the measure; cells without tickets stay empty."""
    data = with_rates(matrix)
    column, label = MEASURES[measure][0], measure_label(measure)
    scale = 100 if column.endswith("_cents") else 1
    rows = sorted(data["row_key"].unique().to_list())
    if "column_rank" in data.columns:  # region group, then province: the order people read
        ranked = data.group_by("column_key").agg(pl.col("column_rank").min()).sort("column_rank")
        columns = ranked["column_key"].to_list()
    else:
        columns = sorted(data["column_key"].unique().to_list())
    lookup = {
        (r, c): float(v) / scale
        for r, c, v in data.select("row_key", "column_key", column).iter_rows()
        if v is not None
    }
    z = [[lookup.get((r, c)) for c in columns] for r in rows]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=rows,
            # Margin diverges around zero: losses red, gains blue, zero white.
            colorscale="RdBu" if measure == "margin" else "YlOrRd",
            zmid=0 if measure == "margin" else None,
            texttemplate="%{z:,.0f}",
            colorbar_title="¥",
            hovertemplate=(
                f"{row_label} %{{y}}<br>{column_label} %{{x}}<br>{label}: ¥%{{z:,.2f}}"
                "<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        title=_("{measure} by {rows} × {columns}").format(
            measure=label, rows=row_label, columns=column_label
        ),
        height=max(360, 22 * len(rows) + 160),
        margin={"t": 50},
    )
    return figure


def china_tiles(by_province: pl.DataFrame, measure: str) -> go.Figure:
    """Provinces as square tiles at their capitals; colour is the measure; tiles are selectable."""
    data = with_rates(by_province).filter(pl.col("province_code").is_in(list(PROVINCE_TILES)))
    column, label = MEASURES[measure][0], measure_label(measure)
    scale = 100 if column.endswith("_cents") else 1
    codes = data["province_code"].to_list()
    figure = go.Figure(
        go.Scatter(
            x=[PROVINCE_TILES[c][0] for c in codes],
            y=[PROVINCE_TILES[c][1] for c in codes],
            mode="markers+text",
            text=data["province_name"].str.slice(0, 2).to_list(),
            customdata=codes,
            marker={
                "symbol": "square",
                "size": 34,
                "color": (data[column] / scale).to_list(),
                "colorscale": "YlOrRd",
                "colorbar": {"title": "¥"},
                "line": {"width": 1, "color": "white"},
            },
            hovertemplate="%{text}: ¥%{marker.color:,.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=_("{measure} by province").format(measure=label),
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        height=460,
        margin={"t": 50, "l": 10, "r": 10, "b": 10},
    )
    return figure


def change_per_ticket(lines: pl.DataFrame) -> go.Figure | None:
    """How a draft moves each ticket's total (¥), as a histogram; None when nothing moves."""
    per_ticket = (
        lines.filter(pl.col("ticket_id").is_not_null())
        .group_by("ticket_id")
        .agg(delta_cents=pl.col("delta_cents").sum())
        .filter(pl.col("delta_cents") != 0)
    )
    if per_ticket.is_empty():
        return None
    figure = go.Figure(go.Histogram(x=(per_ticket["delta_cents"] / 100).to_list(), nbinsx=40))
    return figure.update_layout(title=_("Change per ticket (¥)"), xaxis_title="¥", bargap=0.05)
