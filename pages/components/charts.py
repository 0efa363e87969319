"""Pure Plotly builders: frames in, figures out (tested directly; AppTest cannot see Plotly)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from pages.components import geo
from pages.components.i18n import _, current_lang
from settlement.explain import yuan

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
        xaxis_type="category",  # periods are months ("2026-10"), not dates on a time axis
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


def china_map(by_province: pl.DataFrame, measure: str) -> go.Figure:
    """A choropleth of the measure by province on China's boundaries (every province drawn,
    those without tickets in grey); a province is selectable (``customdata`` its code)."""
    data = with_rates(by_province)
    column, label = MEASURES[measure][0], measure_label(measure)
    scale = 100 if column.endswith("_cents") else 1
    values = (data[column].cast(pl.Float64) / scale).to_list()
    measured_codes = data["province_code"].to_list()
    # Both traces take their shapes from the static file, each drawing its own provinces.
    grey = [code for code in geo.PROVINCE_CODES if code not in set(measured_codes)]
    base = go.Choropleth(
        geojson=geo.URL, locations=grey, z=[0] * len(grey), showscale=False,
        colorscale=[[0, "#eeeeee"], [1, "#eeeeee"]], hoverinfo="skip",
        marker_line_color="white", marker_line_width=0.5,
    )  # fmt: skip
    measured = go.Choropleth(
        geojson=geo.URL,
        locations=measured_codes,
        z=values,
        text=data["province_name"].to_list(),
        customdata=data["province_code"].to_list(),
        colorscale="RdBu" if measure == "margin" else "YlOrRd",
        zmid=0 if measure == "margin" else None,
        colorbar_title="¥",
        marker_line_color="white",
        marker_line_width=0.5,
        hovertemplate="%{text}<br>" + label + ": ¥%{z:,.2f}<extra></extra>",
    )
    figure = go.Figure([base, measured])
    figure.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    figure.update_layout(
        title=_("{measure} by province").format(measure=label),
        height=560,
        margin={"t": 50, "l": 0, "r": 0, "b": 0},
    )
    return figure


CHANGE_BINS = 40


def change_bins(lines: pl.DataFrame, bins: int = CHANGE_BINS) -> pl.DataFrame:
    """The moved tickets counted by their total change, in at most ``bins`` bins of equal
    width in cents: (low_cents, high_cents, tickets), a bin holding low ≤ change ≤ high."""
    per_ticket = (
        lines.filter(pl.col("ticket_id").is_not_null())
        .group_by("ticket_id")
        .agg(delta_cents=pl.col("delta_cents").sum())
        .filter(pl.col("delta_cents") != 0)
    )
    if per_ticket.is_empty():
        return pl.DataFrame(schema={"low_cents": pl.Int64, "high_cents": pl.Int64,
                                    "tickets": pl.UInt32})  # fmt: skip
    low = int(per_ticket["delta_cents"].min())  # type: ignore[arg-type]
    high = int(per_ticket["delta_cents"].max())  # type: ignore[arg-type]
    width = -(-(high - low + 1) // bins)  # ceiling: every change falls in one of the bins
    return (
        per_ticket.group_by(bin=(pl.col("delta_cents") - low) // width)
        .agg(tickets=pl.len())
        .sort("bin")
        .select(
            low_cents=low + pl.col("bin") * width,
            high_cents=low + (pl.col("bin") + 1) * width - 1,
            tickets="tickets",
        )
    )


def change_per_ticket(lines: pl.DataFrame) -> go.Figure | None:
    """How a draft moves each ticket's total (¥), as a histogram binned here (a few dozen bars
    are sent to the browser, not every moved ticket); None when nothing moves."""
    counted = change_bins(lines)
    if counted.is_empty():
        return None
    low, high = counted["low_cents"].to_list(), counted["high_cents"].to_list()
    ranges = [f"{yuan(a)} – {yuan(b)}" for a, b in zip(low, high, strict=True)]
    bar = go.Bar(
        x=[(a + b + 1) / 200 for a, b in zip(low, high, strict=True)],
        y=counted["tickets"].to_list(),
        width=(high[0] - low[0] + 1) / 100,
        customdata=ranges,
        hovertemplate="%{customdata}<br>%{y:,}<extra></extra>",
    )
    figure = go.Figure(bar)
    return figure.update_layout(
        title=_("Change per ticket (¥)"), xaxis_title="¥", yaxis_title=_("Tickets"), bargap=0.05
    )
