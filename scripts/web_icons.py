"""The web app's home-screen icons: a lightning bolt on the header's navy, 192 and 512 px, each in two
forms: "any" (a rounded tile) and "maskable" (the navy to the edges, the bolt inside the middle 80 %
a launcher's mask keeps). Run once with the project's Python (Pillow) after changing the drawing; the
PNGs are committed in energy_grid/web/static/icons/.

    python scripts/web_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parents[1] / "energy_grid" / "web" / "static" / "icons"
NAVY = (15, 27, 45, 255)  # the header's #0f1b2d, also the manifest's theme colour
AMBER = (242, 169, 0, 255)  # the charts' production colour
SIZES_PX = (192, 512)
# The bolt on a unit square: top point, the notch, the bottom point.
BOLT = [(0.58, 0.06), (0.22, 0.56), (0.47, 0.56), (0.40, 0.94), (0.78, 0.42), (0.53, 0.42)]
SUPERSAMPLE = 4  # drawn four times larger, then scaled down: smooth edges


def icon(size_px: int, maskable: bool) -> Image.Image:
    big = size_px * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=NAVY)
        inset, span = 0.2 * big, 0.6 * big  # inside the 80 % safe circle
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(0.22 * big), fill=NAVY)
        inset, span = 0.12 * big, 0.76 * big
    draw.polygon([(inset + x * span, inset + y * span) for x, y in BOLT], fill=AMBER)
    return image.resize((size_px, size_px), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size_px in SIZES_PX:
        icon(size_px, maskable=False).save(ICONS / f"icon-{size_px}.png", optimize=True)
        icon(size_px, maskable=True).save(ICONS / f"icon-maskable-{size_px}.png", optimize=True)


if __name__ == "__main__":
    main()
