#!/usr/bin/env python3
"""Build ILLUSTRATIVE zone outlines: data/geo/zones_illustrative.geojson.

Ranh giới minh họa — KHÔNG phải ranh giới đo đạc. / Illustrative outlines — NOT surveyed boundaries.

No surveyed or official outline of any Bắc Giang KCN/CCN was available when the data were compiled. So that
the map can still show every zone whose commune is known, this script draws one stand-in polygon per zone:

* Input: data/zones.toml (zones with `anchor_gid3`; the others have no known location and are skipped),
  data/geo/communes_gadm41.geojson (GADM 4.1 communes, pre-2020 layout) and, as a fallback only,
  data/geo/districts_2022_gischinhphu.geojson (districts with `gso_code`).
* For each zone the "available area" is the union of its anchor communes, shrunk inward by MARGIN_M, minus
  every zone already placed (grown by GAP_M). Zones are placed in order of decreasing target area (ties by
  code), so each later zone avoids the earlier ones and no two outlines overlap.
* Target area = stated_area_ha, or a nominal NOMINAL_HA (30 ha) when the area is unknown (the `basis`
  property then says "diện tích không rõ — kích thước minh họa 30 ha").
* Shape: a circle whose radius is found by bisection so that (circle ∩ available area) — the piece holding
  the centre, lightly simplified (Douglas–Peucker, tolerance SIMPLIFY_STEPS_M, raised until every ring has at
  most MAX_VERTICES) — has the target area (computed in EPSG:32648, UTM 48N) within AREA_AIM (required:
  AREA_TOL). Centres tried: the point of the available area farthest from its edge (shapely polylabel) and a
  grid of interior points, deepest first; the most compact result wins (Polsby–Popper, capped at
  COMPACT_ENOUGH_PP), then the one lying most in the anchor commune, then the deepest. The result is a
  compact rounded polygon, clipped by the commune boundary (or a neighbour) only where there is no room for
  the full circle.
* If the anchor communes cannot hold the target area, the zone is placed inside its 2022 district instead,
  as close to the anchor communes as possible, and `basis` says so.
* Output: one Feature per placed zone, in data/zones.toml order, properties
  {code, geometry_source: "illustrative", illustrative_area_ha, basis}, MultiPolygon in EPSG:4326 (lon/lat),
  coordinates rounded to 6 decimals, exterior rings counter-clockwise (RFC 7946). Every output polygon is
  re-checked after rounding: valid, area within AREA_TOL of the target, inside its communes (or district),
  disjoint from all other outlines. The script aborts (exit 1) if any check fails.

Deterministic: same inputs and library versions (shapely/GEOS, pyproj) → byte-identical output. Re-runnable:
it only (over)writes the output file.

Licence: the outlines are derived from GADM 4.1 commune polygons, so GADM's terms (non-commercial use;
redistribution needs permission) apply to the output. Real outlines must come by import (e.g. the unverified
OSM way ids in zones.toml `osm_ref`, ODbL) — never by editing this file.

Usage (from the repository root):  .venv/bin/python scripts/build_illustrative_outlines.py [--check]
  --check  build in memory and compare with the existing file; exit 1 if it differs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import polylabel, unary_union

ROOT = Path(__file__).resolve().parent.parent
ZONES_TOML = ROOT / "data" / "zones.toml"
COMMUNES = ROOT / "data" / "geo" / "communes_gadm41.geojson"
DISTRICTS = ROOT / "data" / "geo" / "districts_2022_gischinhphu.geojson"
OUTPUT = ROOT / "data" / "geo" / "zones_illustrative.geojson"

METRIC_CRS = "EPSG:32648"  # UTM zone 48N, covers Bắc Giang
NOMINAL_HA = 30.0  # size used when the stated area is unknown
MARGIN_M = 40.0  # keep outlines this far inside their communes / district
GAP_M = 40.0  # and this far from outlines already placed
AREA_TOL = 0.01  # required: |area - target| / target <= 1 %
AREA_AIM = 0.001  # bisection stops when within 0.1 %
MAX_VERTICES = 39  # per ring (closing point not counted)
SIMPLIFY_STEPS_M = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0)  # all < MARGIN_M and < GAP_M
CIRCLE_QUAD_SEGS = 8  # 32 segments per full circle
N_CANDIDATES = 300  # candidate centres tried per zone (deepest first)
COMPACT_ENOUGH_PP = 0.9  # Polsby–Popper compactness above which all candidate outlines rank the same
DECIMALS = 6

_to_utm = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_to_wgs = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def to_utm(geom):
    return shapely.transform(geom, lambda c: np.column_stack(_to_utm.transform(c[:, 0], c[:, 1])))


def to_wgs(geom):
    return shapely.transform(geom, lambda c: np.column_stack(_to_wgs.transform(c[:, 0], c[:, 1])))


def area_ha(geom_wgs) -> float:
    return to_utm(geom_wgs).area / 10_000.0


def polygons(geom) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]


def ring_vertices(poly: Polygon) -> int:
    return max(len(r.coords) - 1 for r in [poly.exterior, *poly.interiors])


def fmt_ha(value: float) -> str:
    """Vietnamese number format: 207,45 / 426."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def clean_name(name: str) -> str:
    # GADM disambiguates duplicate names, e.g. "Bố Hạ (Xã)"; drop the suffix for display
    return name.split(" (")[0]


def describe_communes(props: list[dict]) -> str:
    types = [p["type_vi"].lower() for p in props]
    names = [clean_name(p["name_vi"]) for p in props]
    if len(props) == 1:
        return f"{types[0]} {names[0]}"
    if len(set(types)) == 1:
        return f"các {types[0]} {', '.join(names)}"
    return ", ".join(f"{t} {n}" for t, n in zip(types, names, strict=True))


def candidate_centres(avail, r_full: float) -> list[tuple[Point, float]]:
    """Candidate centres, deepest first: the polylabel of each part of `avail` plus the points of a regular grid
    (spacing r_full / 2, at least 100 m) inside it; at most N_CANDIDATES, each with its depth (distance to edge)."""
    pts = [polylabel(poly, tolerance=1.0) for poly in polygons(avail)]
    step = max(r_full / 2.0, 100.0)
    minx, miny, maxx, maxy = avail.bounds
    xs = np.arange(minx + step / 2.0, maxx, step)
    ys = np.arange(miny + step / 2.0, maxy, step)
    if len(xs) and len(ys):
        gx, gy = np.meshgrid(xs, ys)
        grid = shapely.points(gx.ravel(), gy.ravel())
        pts.extend(grid[shapely.contains(avail, grid)])
    edge = avail.boundary
    scored = sorted(((edge.distance(pt), pt.x, pt.y, pt) for pt in pts), key=lambda t: (-t[0], t[1], t[2]))
    return [(pt, depth) for depth, _x, _y, pt in scored[:N_CANDIDATES]]


def compactness(poly: Polygon) -> float:
    """Polsby–Popper: 1 for a disc, near 0 for a sliver."""
    return 4.0 * math.pi * poly.area / poly.length**2


def clipped_circle(centre: Point, radius: float, avail, tol: float) -> Polygon | None:
    disc = centre.buffer(radius, quad_segs=CIRCLE_QUAD_SEGS)
    parts = polygons(disc.intersection(avail))
    if not parts:
        return None
    piece = min(parts, key=lambda p: (p.distance(centre), -p.area))  # the part holding the centre
    piece = piece.simplify(tol, preserve_topology=True)
    return piece if isinstance(piece, Polygon) and not piece.is_empty and piece.is_valid else None


def fit(centre: Point, avail, target_m2: float, tol: float) -> tuple[Polygon, float] | None:
    """Bisection on the radius until the clipped circle has the target area: (polygon, radius) or None."""
    lo = 0.0
    hi = math.sqrt(target_m2 / math.pi)
    reach = avail.bounds
    max_r = math.hypot(reach[2] - reach[0], reach[3] - reach[1]) + hi
    while True:
        shape_hi = clipped_circle(centre, hi, avail, tol)
        if shape_hi is not None and shape_hi.area >= target_m2:
            break
        if hi > max_r:
            return None
        lo, hi = hi, hi * 1.25
    best, best_r = shape_hi, hi
    for _ in range(80):
        mid = (lo + hi) / 2
        cand = clipped_circle(centre, mid, avail, tol)
        area = cand.area if cand is not None else 0.0
        if cand is not None and abs(area - target_m2) < abs(best.area - target_m2):
            best, best_r = cand, mid
        if abs(area - target_m2) / target_m2 <= AREA_AIM:
            break
        if area < target_m2:
            lo = mid
        else:
            hi = mid
    return (best, best_r) if abs(best.area - target_m2) / target_m2 <= AREA_AIM * 2 else None


def to_output_geometry(poly_utm: Polygon) -> MultiPolygon:
    """UTM polygon → EPSG:4326 MultiPolygon, rounded to DECIMALS, CCW exterior rings."""
    wgs = orient(to_wgs(poly_utm), sign=1.0)
    rounded = shapely.transform(wgs, lambda c: np.round(c, DECIMALS))
    return MultiPolygon([orient(rounded, sign=1.0)])


def place(target_m2, container_utm, placed_utm, anchor_utm, near_utm=None):
    """Best compact outline of the target area inside container_utm, avoiding placed_utm.

    Candidate centres (see candidate_centres) are tried; the winner has the highest compactness (capped at
    COMPACT_ENOUGH_PP, so every compact-enough outline counts the same), then the largest share (to 0.1) inside
    the anchor commune (the first of anchor_gid3), then the deepest centre. The cap lets a big zone sit in
    its own anchor commune, slightly clipped, instead of filling a neighbouring commune another zone needs. Returns (polygon in UTM, clipped by the container edge?, clipped by an earlier
    outline?) or None when the container cannot hold the target area."""
    obstacles = unary_union([p.buffer(GAP_M) for p in placed_utm]) if placed_utm else None
    inner = container_utm.buffer(-MARGIN_M)
    avail = inner
    if obstacles is not None:
        avail = avail.difference(obstacles)
    if avail.is_empty or avail.area < target_m2:
        return None
    if near_utm is not None:
        # district fallback: use the part of the district next to the anchor communes when it is big enough
        local = avail.intersection(near_utm.buffer(3000.0))
        if local.area >= target_m2 * 1.5:
            avail = local
    r_full = math.sqrt(target_m2 / math.pi)
    best = None
    for centre, depth in candidate_centres(avail, r_full):
        for tol in SIMPLIFY_STEPS_M:
            fitted = fit(centre, avail, target_m2, tol)
            if fitted is None or ring_vertices(fitted[0]) <= MAX_VERTICES:
                break
        if fitted is None or ring_vertices(fitted[0]) > MAX_VERTICES:
            continue
        poly, radius = fitted
        in_anchor = round(poly.intersection(anchor_utm).area / poly.area, 1)
        key = (round(min(compactness(poly), COMPACT_ENOUGH_PP), 2), in_anchor, depth)
        if best is None or key > best[0]:
            best = (key, poly, centre, radius)
    if best is None:
        return None
    _key, poly, centre, radius = best
    disc = centre.buffer(radius * 0.999, quad_segs=CIRCLE_QUAD_SEGS)
    by_edge = not disc.within(inner)
    by_other = obstacles is not None and disc.intersects(obstacles)
    return poly, by_edge, by_other


def build() -> str:
    zones = tomllib.loads(ZONES_TOML.read_text(encoding="utf-8"))["zone"]
    communes = {
        f["properties"]["gid_3"]: f for f in json.loads(COMMUNES.read_text(encoding="utf-8"))["features"]
    }
    districts = {
        f["properties"]["gso_code"]: f for f in json.loads(DISTRICTS.read_text(encoding="utf-8"))["features"]
    }

    todo = []
    for zone in zones:
        gids = zone.get("anchor_gid3") or []
        if not gids:
            continue
        missing = [g for g in gids if g not in communes]
        if missing:
            sys.exit(f"{zone['code']}: anchor_gid3 not in {COMMUNES.name}: {missing}")
        stated = zone.get("stated_area_ha")
        target_ha = float(stated) if stated else NOMINAL_HA
        todo.append((zone, gids, stated, target_ha))

    placed_utm: list[Polygon] = []
    placed_out: dict[str, tuple] = {}  # code → (geometry, container (EPSG:4326), basis, target ha)
    for zone, gids, stated, target_ha in sorted(todo, key=lambda t: (-t[3], t[0]["code"])):
        target_m2 = target_ha * 10_000.0
        props = [communes[g]["properties"] for g in gids]
        communes_wgs = unary_union([shape(communes[g]["geometry"]) for g in gids])
        communes_utm = to_utm(communes_wgs)
        where = f"{describe_communes(props)} (GADM 4.1, ranh giới xã trước 2020)"
        unit = "xã"
        container_wgs = communes_wgs
        anchor_utm = to_utm(shape(communes[gids[0]]["geometry"]))
        result = place(target_m2, communes_utm, placed_utm, anchor_utm)
        if result is None:
            district = districts.get(zone.get("district_code", ""))
            if district is None:
                sys.exit(
                    f"{zone['code']}: communes cannot hold {target_ha} ha and no district to fall back to"
                )
            container_wgs = shape(district["geometry"])
            result = place(target_m2, to_utm(container_wgs), placed_utm, anchor_utm, near_utm=communes_utm)
            if result is None:
                sys.exit(f"{zone['code']}: neither communes nor district can hold {target_ha} ha")
            these = "các xã này" if len(props) > 1 else "xã này"
            where = (
                f"huyện {district['properties']['name_vi']} (ranh giới huyện gis.chinhphu.vn), gần "
                f"{describe_communes(props)} (GADM 4.1) vì {these} không đủ chỗ"
            )
            unit = "huyện"
        poly_utm, by_edge, by_other = result
        cuts = []
        if by_edge:
            cuts.append("ranh giới huyện" if container_wgs is not communes_wgs else "ranh giới xã")
        if by_other:
            cuts.append("ranh giới minh họa của vùng lân cận")
        form = f"hình tròn cắt theo {' và '.join(cuts)}," if cuts else "hình tròn"
        if stated:
            basis = (
                f"Ranh giới minh họa (không phải ranh giới đo đạc): {form} xấp xỉ {fmt_ha(float(stated))} ha "
                f"đặt trong {where}; vị trí trong {unit} là tùy ý."
            )
        else:
            basis = (
                f"Ranh giới minh họa (không phải ranh giới đo đạc): diện tích không rõ — kích thước minh họa "
                f"{fmt_ha(NOMINAL_HA)} ha; {form} đặt trong {where}; vị trí trong {unit} là tùy ý."
            )
        geom = to_output_geometry(poly_utm)
        placed_utm.append(to_utm(geom.geoms[0]))
        placed_out[zone["code"]] = (geom, container_wgs, basis, target_ha)

    # --- checks on the final, rounded geometries -------------------------------------------------------
    problems = []
    codes = list(placed_out)
    for code, (geom, container_wgs, _basis, target_ha) in placed_out.items():
        if not geom.is_valid:
            problems.append(f"{code}: invalid geometry")
        err = abs(area_ha(geom) - target_ha) / target_ha
        if err > AREA_TOL:
            problems.append(f"{code}: area {area_ha(geom):.2f} ha vs target {target_ha} ha")
        if not geom.within(container_wgs):
            problems.append(f"{code}: not inside its communes/district")
        if max(ring_vertices(p) for p in geom.geoms) > MAX_VERTICES:
            problems.append(f"{code}: too many vertices")
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            if placed_out[a][0].intersects(placed_out[b][0]):
                problems.append(f"{a} and {b} intersect")
    if problems:
        sys.exit("checks failed:\n  " + "\n  ".join(problems))

    # --- write, in zones.toml order ---------------------------------------------------------------------
    features = []
    for zone in zones:
        if zone["code"] not in placed_out:
            continue
        geom, _container, basis, _target = placed_out[zone["code"]]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": zone["code"],
                    "geometry_source": "illustrative",
                    "illustrative_area_ha": round(area_ha(geom), 2),
                    "basis": basis,
                },
                "geometry": mapping(geom),
            }
        )
    head = {
        "type": "FeatureCollection",
        "name": "zones_illustrative",
        "khgeo_note": (
            "ILLUSTRATIVE outlines generated by scripts/build_illustrative_outlines.py from GADM 4.1 "
            "communes (GADM licence applies). NOT surveyed; replace by imported outlines."
        ),
    }
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [']
    lines.append(",\n".join(json.dumps(f, ensure_ascii=False, separators=(", ", ": ")) for f in features))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the existing output instead of writing"
    )
    args = parser.parse_args()
    text = build()
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    n = text.count('"type": "Feature"')
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({n} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
