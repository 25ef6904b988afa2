"""Draw the app icons (static/icons/khgeo-192.png, -512.png) from static/favicon.svg's shapes with Pillow.

The favicon is two shapes (a rounded square and a roofline), so they are drawn here rather than rasterised by an
SVG library the project does not otherwise need. Run again after changing the favicon:
    .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parents[1] / "static"
BACKGROUND = "#0b3d2e"
ROOFS = "#fee08b"
# static/favicon.svg: viewBox 0 0 32 32, rect rx=6, path "M6 24V12l6 4v-4l6 4v-4l8 5v7z"
ROOFLINE = [(6, 24), (6, 12), (12, 16), (12, 12), (18, 16), (18, 12), (26, 17), (26, 24)]
SUPERSAMPLE = 4


def icon(size: int) -> Image.Image:
    scale = size * SUPERSAMPLE / 32
    big = Image.new("RGBA", (size * SUPERSAMPLE, size * SUPERSAMPLE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    draw.rounded_rectangle((0, 0, big.width - 1, big.height - 1), radius=round(6 * scale), fill=BACKGROUND)
    draw.polygon([(x * scale, y * scale) for x, y in ROOFLINE], fill=ROOFS)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    (STATIC / "icons").mkdir(exist_ok=True)
    for size in (192, 512):
        icon(size).save(STATIC / "icons" / f"khgeo-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
