#!/usr/bin/env python3
"""Regenerate provgate's bundled demo media for the (fictional) production "The Lighthouse".

Every file under ``sample_media/`` except this script and README.md is made here, from nothing:
pictures drawn with Pillow's ImageDraw, audio synthesised sample by sample, the clip encoded with
PyAV. The metadata each file carries imitates what a real camera, generator or tool writes
(see ``reference/ai-markers.md``), so provgate has something realistic to recognise:

    stills/sh010_plate.jpg               camera plate: EXIF ARRI / ALEXA 35, XMP digitalCapture
    stills/sh020_concept_a1111.png       AUTOMATIC1111 'parameters' tEXt chunk
    stills/sh030_moodboard_comfyui.png   ComfyUI 'prompt' + 'workflow' JSON tEXt chunks
    stills/sh040_matte_genfill.jpg       XMP compositeWithTrainedAlgorithmicMedia (https form)
    stills/sh050_storyboard_midjourney.png  Midjourney-style XMP iTXt + 'Description' ... Job ID
    stills/sh060_bg_flux.jpg             Flux reference CLI EXIF (Software, Make, Model, prompt)
    stills/title_card.png                no metadata at all
    clips/sh010_ref.mp4                  1.5 s 384x216 H.264, no provenance metadata
    audio/room_tone.wav                  1 s mono 16-bit 48 kHz, no metadata
    audio/temp_vo_elevenlabs.wav         1 s mono 16-bit 24 kHz, RIFF LIST/INFO ISFT "ElevenLabs"
    delivery/...                         a demo delivery package: copies of five of the above

Usage (from the repository root)::

    .venv/bin/pip install av                 # once; see below
    .venv/bin/python sample_media/make_samples.py [--out DIR]

Requirements: Pillow (a provgate dependency) and, for the clip only, PyAV (``pip install av``).
PyAV is a development-time tool for this script and NOT a dependency of provgate; without it the
script still writes everything else and keeps any existing ``clips/sh010_ref.mp4``.

The output is deterministic: fixed seeds, fixed timestamps, no wall-clock values, single-threaded
bit-exact encoding. Re-running it with the same Pillow / PyAV (FFmpeg, x264) / zlib builds
produces byte-identical files; other library versions may encode the pixels slightly differently
but carry the same metadata.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import shutil
import struct
import sys
import wave
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from PIL.PngImagePlugin import PngInfo

HERE = Path(__file__).resolve().parent

Color = tuple[int, int, int]

# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------


def lerp(a: Color, b: Color, t: float) -> Color:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def gradient_color(stops: list[tuple[float, Color]], t: float) -> Color:
    """The colour at position t (0..1) along a list of (position, colour) stops."""
    if t <= stops[0][0]:
        return stops[0][1]
    for (p0, c0), (p1, c1) in zip(stops, stops[1:], strict=False):
        if t <= p1:
            return lerp(c0, c1, (t - p0) / (p1 - p0) if p1 > p0 else 0.0)
    return stops[-1][1]


def vertical_gradient(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], stops: list[tuple[float, Color]]
) -> None:
    x0, y0, x1, y1 = box
    height = max(1, y1 - y0 - 1)
    for y in range(y0, y1):
        draw.line([(x0, y), (x1 - 1, y)], fill=gradient_color(stops, (y - y0) / height))


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font (no system fonts: the output must not depend on the machine)."""
    return ImageFont.load_default(size=size)


def lighthouse(
    draw: ImageDraw.ImageDraw,
    base_x: float,
    base_y: float,
    height: float,
    body: Color,
    trim: Color,
    lamp: Color,
    stripes: Color | None = None,
) -> tuple[float, float]:
    """Draw a tapered lighthouse standing on (base_x, base_y); return the lamp's centre."""
    half_base = height * 0.13
    half_top = height * 0.08
    top_y = base_y - height * 0.74
    tower = [
        (base_x - half_base, base_y),
        (base_x + half_base, base_y),
        (base_x + half_top, top_y),
        (base_x - half_top, top_y),
    ]
    draw.polygon(tower, fill=body)
    if stripes is not None:  # two painted bands, following the taper
        for k in (0.22, 0.52):
            ya, yb = base_y - height * 0.74 * k, base_y - height * 0.74 * (k + 0.14)

            def half(y: float) -> float:
                return half_base + (half_top - half_base) * (base_y - y) / (base_y - top_y)

            draw.polygon(
                [
                    (base_x - half(ya), ya),
                    (base_x + half(ya), ya),
                    (base_x + half(yb), yb),
                    (base_x - half(yb), yb),
                ],
                fill=stripes,
            )
    # door and a small window
    draw.rectangle(
        [base_x - height * 0.025, base_y - height * 0.07, base_x + height * 0.025, base_y],
        fill=trim,
    )
    draw.rectangle(
        [
            base_x - height * 0.015,
            base_y - height * 0.42,
            base_x + height * 0.015,
            base_y - height * 0.37,
        ],
        fill=lamp,
    )
    # gallery (balcony) and railing
    gallery_y = top_y
    draw.rectangle(
        [base_x - half_top * 1.45, gallery_y - height * 0.025, base_x + half_top * 1.45, gallery_y],
        fill=trim,
    )
    # lantern room with the lamp
    lantern_top = gallery_y - height * 0.13
    draw.rectangle(
        [base_x - half_top * 0.8, lantern_top, base_x + half_top * 0.8, gallery_y - height * 0.025],
        fill=lamp,
    )
    for k in (-0.4, 0.0, 0.4):  # window mullions
        x = base_x + half_top * 0.8 * k
        draw.line([(x, lantern_top), (x, gallery_y - height * 0.025)], fill=trim, width=1)
    # dome and finial
    draw.pieslice(
        [
            base_x - half_top,
            lantern_top - half_top * 0.9,
            base_x + half_top,
            lantern_top + half_top * 0.9,
        ],
        180,
        360,
        fill=trim,
    )
    draw.line(
        [(base_x, lantern_top - half_top * 0.9), (base_x, lantern_top - half_top * 1.4)],
        fill=trim,
        width=max(1, round(height * 0.01)),
    )
    return base_x, (lantern_top + gallery_y - height * 0.025) / 2


def beam_layer(
    size: tuple[int, int],
    origin: tuple[float, float],
    angle_deg: float,
    length: float,
    spread_deg: float,
    color: Color,
    alpha: int,
    blur: float,
) -> Image.Image:
    """A soft light beam (RGBA layer) fanning out from `origin` towards `angle_deg`."""
    layer = Image.new("RGBA", size, (*color, 0))
    d = ImageDraw.Draw(layer)
    ox, oy = origin
    a0 = math.radians(angle_deg - spread_deg / 2)
    a1 = math.radians(angle_deg + spread_deg / 2)
    d.polygon(
        [
            (ox, oy),
            (ox + length * math.cos(a0), oy - length * math.sin(a0)),
            (ox + length * math.cos(a1), oy - length * math.sin(a1)),
        ],
        fill=(*color, alpha),
    )
    d.ellipse([ox - 6, oy - 6, ox + 6, oy + 6], fill=(*color, min(255, alpha * 2)))
    return layer.filter(ImageFilter.GaussianBlur(blur))


def waves(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    box: tuple[int, int, int, int],
    color: Color,
    count: int,
    phase: float = 0.0,
) -> None:
    """Short horizontal highlight strokes on the sea, denser and longer towards the viewer."""
    x0, y0, x1, y1 = box
    for _ in range(count):
        t = rng.random() ** 1.6
        y = y0 + (y1 - y0) * t
        length = 4 + 28 * t
        x = x0 + ((rng.random() * (x1 - x0) + phase * (8 + 30 * t)) % (x1 - x0))
        draw.line([(x, y), (x + length, y)], fill=color, width=1 if t < 0.6 else 2)


def stars(draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int, n: int) -> None:
    for _ in range(n):
        x, y = rng.random() * w, rng.random() * h
        level = 150 + rng.randrange(100)
        draw.point((x, y), fill=(level, level, min(255, level + 20)))


def headland(draw: ImageDraw.ImageDraw, w: int, horizon: int, color: Color, scale: float) -> None:
    """A rocky headland rising from the right-hand side of the frame."""
    pts = [
        (w * 0.42, horizon + 6 * scale),
        (w * 0.50, horizon - 4 * scale),
        (w * 0.58, horizon - 10 * scale),
        (w * 0.66, horizon - 22 * scale),
        (w * 0.80, horizon - 26 * scale),
        (w * 0.92, horizon - 30 * scale),
        (w, horizon - 34 * scale),
        (w, horizon + 60 * scale),
        (w * 0.42, horizon + 60 * scale),
    ]
    draw.polygon(pts, fill=color)


# --------------------------------------------------------------------------------------------
# The pictures
# --------------------------------------------------------------------------------------------


def scene(
    w: int,
    h: int,
    sky: list[tuple[float, Color]],
    sea: list[tuple[float, Color]],
    land: Color,
    tower: Color,
    trim: Color,
    lamp: Color,
    beam: Color | None,
    beam_angle: float,
    seed: int,
    n_stars: int = 0,
    moon: Color | None = None,
    stripes: Color | None = None,
    wave_color: Color = (120, 150, 170),
    wave_phase: float = 0.0,
) -> Image.Image:
    """The Lighthouse: sky, sea, a headland and the tower with its beam."""
    rng = random.Random(seed)
    s = h / 360
    horizon = round(h * 0.62)
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    vertical_gradient(d, (0, 0, w, horizon), sky)
    vertical_gradient(d, (0, horizon, w, h), sea)
    if n_stars:
        stars(d, rng, w, round(horizon * 0.7), n_stars)
    if moon is not None:
        mx, my, mr = w * 0.18, h * 0.2, 16 * s
        d.ellipse([mx - mr, my - mr, mx + mr, my + mr], fill=moon)
    waves(d, rng, (0, horizon + 2, w, h), wave_color, round(140 * s), wave_phase)
    headland(d, w, horizon, land, s)
    lamp_xy = lighthouse(d, w * 0.72, horizon - 22 * s, 150 * s, tower, trim, lamp, stripes)
    if beam is not None:
        layer = beam_layer((w, h), lamp_xy, beam_angle, w * 0.9, 9, beam, 120, 5 * s)
        img = Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
    return img


def draw_plate(w: int = 640, h: int = 360) -> Image.Image:
    """sh010: the camera plate at dusk, a little soft like a real lens."""
    img = scene(
        w,
        h,
        sky=[
            (0.0, (28, 42, 82)),
            (0.55, (92, 88, 128)),
            (0.85, (214, 140, 96)),
            (1.0, (238, 176, 112)),
        ],
        sea=[(0.0, (70, 78, 96)), (1.0, (18, 26, 38))],
        land=(22, 22, 28),
        tower=(222, 218, 206),
        trim=(40, 40, 46),
        lamp=(255, 236, 170),
        beam=(255, 240, 200),
        beam_angle=168,
        seed=10,
        wave_color=(150, 140, 150),
    )
    return img.filter(ImageFilter.GaussianBlur(0.6))


def draw_concept(w: int = 640, h: int = 360) -> Image.Image:
    """sh020: stormy concept art, strong beam, heavy clouds."""
    img = scene(
        w,
        h,
        sky=[(0.0, (18, 12, 40)), (0.6, (60, 44, 96)), (1.0, (110, 92, 130))],
        sea=[(0.0, (30, 52, 70)), (1.0, (6, 14, 24))],
        land=(10, 10, 16),
        tower=(236, 232, 222),
        trim=(150, 30, 36),
        lamp=(255, 246, 200),
        beam=(255, 246, 214),
        beam_angle=160,
        seed=20,
        stripes=(170, 32, 40),
        wave_color=(110, 150, 170),
    )
    clouds = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(clouds)
    rng = random.Random(21)
    for _ in range(14):
        cx, cy = rng.random() * w, rng.random() * h * 0.35
        rx, ry = 40 + rng.random() * 90, 12 + rng.random() * 22
        shade = 30 + rng.randrange(40)
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(shade, shade - 6, shade + 20, 150))
    img = Image.alpha_composite(img.convert("RGBA"), clouds.filter(ImageFilter.GaussianBlur(8)))
    return img.convert("RGB")


def draw_moodboard(w: int = 640, h: int = 360) -> Image.Image:
    """sh030: a 3x2 grid of colour/lighting variations plus a palette strip."""
    img = Image.new("RGB", (w, h), (236, 232, 224))
    variants = [
        (
            [(0.0, (250, 200, 160)), (1.0, (252, 232, 200))],
            [(0.0, (120, 150, 170)), (1.0, (60, 90, 120))],
            None,
        ),
        (
            [(0.0, (30, 40, 80)), (1.0, (230, 150, 100))],
            [(0.0, (70, 80, 100)), (1.0, (20, 30, 40))],
            (255, 236, 190),
        ),
        (
            [(0.0, (8, 10, 28)), (1.0, (40, 50, 90))],
            [(0.0, (20, 30, 50)), (1.0, (4, 8, 16))],
            (220, 230, 255),
        ),
        (
            [(0.0, (150, 160, 165)), (1.0, (200, 205, 205))],
            [(0.0, (130, 140, 145)), (1.0, (90, 100, 105))],
            (255, 250, 230),
        ),
        (
            [(0.0, (40, 20, 60)), (1.0, (120, 60, 90))],
            [(0.0, (50, 40, 70)), (1.0, (10, 8, 20))],
            (255, 220, 160),
        ),
        (
            [(0.0, (90, 140, 190)), (1.0, (190, 215, 230))],
            [(0.0, (40, 90, 120)), (1.0, (10, 40, 60))],
            None,
        ),
    ]
    tile_w, tile_h, gap = 196, 110, 12
    left = (w - (3 * tile_w + 2 * gap)) // 2
    for i, (sky, sea, beam) in enumerate(variants):
        tile = scene(
            tile_w * 2,
            tile_h * 2,
            sky=sky,
            sea=sea,
            land=(24, 24, 30),
            tower=(230, 226, 214),
            trim=(50, 50, 56),
            lamp=(255, 240, 180),
            beam=beam,
            beam_angle=150 + 12 * i,
            seed=30 + i,
            n_stars=40 if i == 2 else 0,
        ).resize((tile_w, tile_h), Image.Resampling.LANCZOS)
        x = left + (i % 3) * (tile_w + gap)
        y = 16 + (i // 3) * (tile_h + gap)
        img.paste(tile, (x, y))
    d = ImageDraw.Draw(img)
    palette = [
        (28, 42, 82),
        (92, 88, 128),
        (214, 140, 96),
        (238, 176, 112),
        (222, 218, 206),
        (150, 30, 36),
        (18, 26, 38),
        (255, 236, 170),
    ]
    sw = (3 * tile_w + 2 * gap) // len(palette)
    for i, c in enumerate(palette):
        d.rectangle([left + i * sw, 268, left + (i + 1) * sw - 4, 300], fill=c)
    d.text((left, 312), "THE LIGHTHOUSE  -  look & palette", font=font(16), fill=(60, 56, 52))
    return img


def draw_matte(w: int = 640, h: int = 360) -> Image.Image:
    """sh040: the plate with an extended, painted night sky (a generative-fill composite)."""
    img = scene(
        w,
        h,
        sky=[(0.0, (10, 14, 40)), (0.6, (34, 46, 92)), (1.0, (120, 110, 140))],
        sea=[(0.0, (50, 60, 86)), (1.0, (12, 18, 30))],
        land=(16, 16, 22),
        tower=(214, 210, 200),
        trim=(36, 36, 44),
        lamp=(255, 236, 170),
        beam=(240, 240, 255),
        beam_angle=20,
        seed=40,
        n_stars=160,
        moon=(240, 236, 214),
        wave_color=(140, 150, 180),
    )
    glow = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(glow)
    mx, my = w * 0.18, h * 0.2
    d.ellipse([mx - 44, my - 44, mx + 44, my + 44], fill=(200, 210, 255, 60))
    return Image.alpha_composite(
        img.convert("RGBA"), glow.filter(ImageFilter.GaussianBlur(14))
    ).convert("RGB")


def draw_storyboard(w: int = 640, h: int = 360) -> Image.Image:
    """sh050: three pencil-style storyboard panels with captions."""
    paper = (246, 243, 236)
    ink = (52, 52, 56)
    img = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(img)
    d.text((16, 10), "THE LIGHTHOUSE  -  SC 12  storyboard", font=font(16), fill=ink)
    pw, ph, top = 192, 150, 44
    tone = (206, 204, 198)  # pencil shading
    captions = ["12A  WIDE - keeper climbs", "12B  beam sweeps the bay", "12C  CU lantern room"]
    rng = random.Random(50)
    for i in range(3):
        x0 = 16 + i * (pw + 16)
        box = (x0, top, x0 + pw, top + ph)
        d.rectangle(box, outline=ink, width=2)
        horizon = top + round(ph * 0.62)
        if i < 2:
            d.line([(x0 + 2, horizon), (x0 + pw - 2, horizon)], fill=ink)
            for _ in range(12):  # hatched sea
                y = horizon + 4 + rng.random() * (ph * 0.34)
                xx = x0 + 4 + rng.random() * (pw - 30)
                d.line([(xx, y), (xx + 10 + rng.random() * 14, y)], fill=(120, 120, 124))
        if i == 0:
            d.polygon(
                [
                    (x0 + 70, top + ph - 2),
                    (x0 + 110, horizon - 12),
                    (x0 + pw - 2, horizon - 20),
                    (x0 + pw - 2, top + ph - 2),
                ],
                outline=ink,
                fill=tone,
            )
            lighthouse(d, x0 + 146, horizon - 15, 80, tone, ink, paper)
            d.text((x0 + 120, horizon + 12), "keeper", font=font(10), fill=ink)
            d.line([(x0 + 138, horizon + 10), (x0 + 144, horizon - 24)], fill=ink)
            d.line([(x0 + 20, top + 20), (x0 + 60, top + 20)], fill=ink, width=2)  # camera move
            d.polygon([(x0 + 60, top + 15), (x0 + 70, top + 20), (x0 + 60, top + 25)], fill=ink)
            d.text((x0 + 8, top + 26), "push in", font=font(11), fill=ink)
        elif i == 1:
            d.polygon(
                [
                    (x0 + 130, horizon),
                    (x0 + 150, horizon - 8),
                    (x0 + pw - 2, horizon - 12),
                    (x0 + pw - 2, horizon),
                ],
                fill=tone,
                outline=ink,
            )
            lx, ly = lighthouse(d, x0 + 166, horizon - 9, 70, tone, ink, paper)
            for da in (-4, 4):
                a = math.radians(188 + da)
                d.line([(lx, ly), (lx + 140 * math.cos(a), ly - 140 * math.sin(a))], fill=ink)
            d.polygon(
                [
                    (x0 + 40, horizon + 10),
                    (x0 + 64, horizon + 10),
                    (x0 + 58, horizon + 16),
                    (x0 + 46, horizon + 16),
                ],
                fill=ink,
            )  # a small boat
            d.line([(x0 + 52, horizon + 10), (x0 + 52, horizon - 6)], fill=ink)
        else:
            d.rectangle(
                [x0 + 40, top + 30, x0 + pw - 40, top + ph - 14], fill=tone, outline=ink, width=2
            )
            for k in range(1, 4):
                xx = x0 + 40 + k * (pw - 80) / 4
                d.line([(xx, top + 30), (xx, top + ph - 14)], fill=ink)
            cx, cy = x0 + pw / 2, top + ph / 2 + 8
            d.ellipse([cx - 24, cy - 24, cx + 24, cy + 24], fill=paper, outline=ink, width=2)
            for k in range(8):  # lens rays
                a = math.pi * k / 4
                d.line(
                    [
                        (cx + 28 * math.cos(a), cy + 28 * math.sin(a)),
                        (cx + 38 * math.cos(a), cy + 38 * math.sin(a)),
                    ],
                    fill=ink,
                )
            d.arc([x0 + 20, top + 10, x0 + pw - 20, top + 56], 200, 340, fill=ink, width=2)
        d.text((x0, top + ph + 8), captions[i], font=font(12), fill=ink)
    d.text(
        (16, 232),
        "Music: low drone builds under 12B.  VO (temp): keeper, one line over 12A.",
        font=font(12),
        fill=ink,
    )
    d.text((16, 330), "Temp boards - for discussion only", font=font(12), fill=(110, 108, 104))
    return img


def draw_background(w: int = 640, h: int = 360) -> Image.Image:
    """sh060: a foggy morning seascape background (no lighthouse)."""
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    horizon = round(h * 0.58)
    vertical_gradient(d, (0, 0, w, horizon), [(0.0, (168, 184, 196)), (1.0, (222, 226, 224))])
    vertical_gradient(d, (0, horizon, w, h), [(0.0, (150, 166, 172)), (1.0, (70, 90, 100))])
    rng = random.Random(60)
    # distant cliffs, lighter further away (aerial perspective)
    for shade, height, base, right in ((190, 40, 0, 1.1), (150, 62, 8, 0.8), (100, 90, 18, 0.34)):
        pts = [(0.0, horizon + base)]
        x = 0.0
        while x < w * right:  # a ragged ridge, then a slope down to the water
            pts.append((x, horizon + base - height * (0.5 + 0.5 * rng.random())))
            x += 30 + rng.random() * 50
        pts += [(x + height * 1.2, horizon + base), (0.0, horizon + base)]
        d.polygon(pts, fill=(shade, shade + 8, shade + 12))
    waves(d, rng, (0, horizon + 20, w, h), (190, 200, 204), 120)
    fog = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    fd = ImageDraw.Draw(fog)
    fd.rectangle([0, horizon - 30, w, horizon + 24], fill=(235, 238, 238, 120))
    return Image.alpha_composite(
        img.convert("RGBA"), fog.filter(ImageFilter.GaussianBlur(12))
    ).convert("RGB")


def draw_title(w: int = 640, h: int = 360) -> Image.Image:
    img = Image.new("RGB", (w, h), (8, 10, 16))
    d = ImageDraw.Draw(img)
    title = "THE LIGHTHOUSE"
    f_big = font(44)
    tw = d.textlength(title, font=f_big)
    d.text(((w - tw) / 2, 150), title, font=f_big, fill=(236, 230, 210))
    sub = "a provgate demo production"
    f_small = font(16)
    sw = d.textlength(sub, font=f_small)
    d.text(((w - sw) / 2, 212), sub, font=f_small, fill=(150, 150, 160))
    lighthouse(d, w / 2, 138, 90, (200, 196, 184), (90, 90, 96), (255, 232, 160))
    d.line([(w / 2 - 120, 139), (w / 2 + 120, 139)], fill=(90, 90, 96), width=1)
    return img


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------

IPTC_DST = "cv.iptc.org/newscodes/digitalsourcetype/"


def xmp_packet(description_body: str, namespaces: dict[str, str]) -> bytes:
    """A complete XMP packet with one rdf:Description."""
    ns = "".join(f'\n    xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{ns}{description_body}\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"

PLATE_XMP = xmp_packet(
    '\n    xmp:CreateDate="2025-06-14T20:41:07"'
    '\n    tiff:Make="ARRI"'
    '\n    tiff:Model="ALEXA 35"'
    f'\n    Iptc4xmpExt:DigitalSourceType="http://{IPTC_DST}digitalCapture">'
    '\n   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">LH_sh010_plate A001C003</rdf:li>'
    "</rdf:Alt></dc:title>"
    "\n  </rdf:Description>",
    {
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "tiff": "http://ns.adobe.com/tiff/1.0/",
        "dc": "http://purl.org/dc/elements/1.1/",
        "Iptc4xmpExt": IPTC_EXT_NS,
    },
)

# Element form (not attribute form) on purpose: both are valid RDF/XML and readers must take both.
MATTE_XMP = xmp_packet(
    '\n    xmp:CreatorTool="Adobe Photoshop 26.1 (Windows)"'
    '\n    xmp:ModifyDate="2025-06-20T11:02:45+01:00">'
    "\n   <Iptc4xmpExt:DigitalSourceType>"
    f"https://{IPTC_DST}compositeWithTrainedAlgorithmicMedia"
    "</Iptc4xmpExt:DigitalSourceType>"
    "\n  </rdf:Description>",
    {"xmp": "http://ns.adobe.com/xap/1.0/", "Iptc4xmpExt": IPTC_EXT_NS},
)

MIDJOURNEY_JOB = "7c1e4a52-93d8-4f0b-b6a1-2e5d0c8f3a94"
MIDJOURNEY_XMP = xmp_packet(
    '\n    xmlns:iptc="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"'
    f'\n    Iptc4xmpExt:DigImageGUID="{MIDJOURNEY_JOB}"'
    f'\n    Iptc4xmpExt:DigitalSourceType="https://{IPTC_DST}trainedAlgorithmicMedia"/>',
    {"Iptc4xmpExt": IPTC_EXT_NS},
)
MIDJOURNEY_DESCRIPTION = (
    "black and white pencil storyboard, three panels, lighthouse keeper climbing a spiral stair, "
    "beam sweeping a dark bay, close up of the lantern room --ar 16:9 --v 6.1 --style raw "
    f"Job ID: {MIDJOURNEY_JOB}"
)

A1111_PARAMETERS = (
    "cinematic concept art of a lone red-striped lighthouse on a black rocky headland, storm "
    "clouds, volumetric light beam over a rough sea, dusk, matte painting, highly detailed\n"
    "Negative prompt: blurry, lowres, text, watermark, signature, people\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 640x360, "
    "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.7.0"
)

COMFY_POSITIVE = (
    "mood board, six variations of a lighthouse on a headland, dawn, dusk, night, fog, storm, "
    "colour palette strip, film still"
)
COMFY_NEGATIVE = "text, watermark, blurry, deformed"
COMFY_SEED = 805713498112370


def comfyui_prompt() -> dict:
    """The API-format graph ComfyUI's SaveImage stores under the 'prompt' key."""
    return {
        "3": {
            "inputs": {
                "seed": COMFY_SEED,
                "steps": 20,
                "cfg": 8,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
            "class_type": "KSampler",
            "_meta": {"title": "KSampler"},
        },
        "4": {
            "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"},
            "class_type": "CheckpointLoaderSimple",
            "_meta": {"title": "Load Checkpoint"},
        },
        "5": {
            "inputs": {"width": 640, "height": 360, "batch_size": 1},
            "class_type": "EmptyLatentImage",
            "_meta": {"title": "Empty Latent Image"},
        },
        "6": {
            "inputs": {"text": COMFY_POSITIVE, "clip": ["4", 1]},
            "class_type": "CLIPTextEncode",
            "_meta": {"title": "CLIP Text Encode (Prompt)"},
        },
        "7": {
            "inputs": {"text": COMFY_NEGATIVE, "clip": ["4", 1]},
            "class_type": "CLIPTextEncode",
            "_meta": {"title": "CLIP Text Encode (Prompt)"},
        },
        "8": {
            "inputs": {"samples": ["3", 0], "vae": ["4", 2]},
            "class_type": "VAEDecode",
            "_meta": {"title": "VAE Decode"},
        },
        "9": {
            "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
            "class_type": "SaveImage",
            "_meta": {"title": "Save Image"},
        },
    }


def comfyui_workflow() -> dict:
    """The UI-format graph ComfyUI stores under the 'workflow' key (the default txt2img graph)."""

    def node(nid, ntype, pos, size, order, inputs, outputs, widgets=None):
        out = {
            "id": nid,
            "type": ntype,
            "pos": pos,
            "size": size,
            "flags": {},
            "order": order,
            "mode": 0,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {"Node name for S&R": ntype},
        }
        if widgets is not None:
            out["widgets_values"] = widgets
        return out

    nodes = [
        node(
            4,
            "CheckpointLoaderSimple",
            [26, 474],
            [315, 98],
            0,
            [],
            [
                {"name": "MODEL", "type": "MODEL", "links": [1], "slot_index": 0},
                {"name": "CLIP", "type": "CLIP", "links": [3, 5], "slot_index": 1},
                {"name": "VAE", "type": "VAE", "links": [8], "slot_index": 2},
            ],
            ["sd_xl_base_1.0.safetensors"],
        ),
        node(
            5,
            "EmptyLatentImage",
            [473, 609],
            [315, 106],
            1,
            [],
            [{"name": "LATENT", "type": "LATENT", "links": [2], "slot_index": 0}],
            [640, 360, 1],
        ),
        node(
            6,
            "CLIPTextEncode",
            [415, 186],
            [422, 164],
            2,
            [{"name": "clip", "type": "CLIP", "link": 3}],
            [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [4], "slot_index": 0}],
            [COMFY_POSITIVE],
        ),
        node(
            7,
            "CLIPTextEncode",
            [413, 389],
            [425, 180],
            3,
            [{"name": "clip", "type": "CLIP", "link": 5}],
            [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [6], "slot_index": 0}],
            [COMFY_NEGATIVE],
        ),
        node(
            3,
            "KSampler",
            [863, 186],
            [315, 262],
            4,
            [
                {"name": "model", "type": "MODEL", "link": 1},
                {"name": "positive", "type": "CONDITIONING", "link": 4},
                {"name": "negative", "type": "CONDITIONING", "link": 6},
                {"name": "latent_image", "type": "LATENT", "link": 2},
            ],
            [{"name": "LATENT", "type": "LATENT", "links": [7], "slot_index": 0}],
            [COMFY_SEED, "fixed", 20, 8, "euler", "normal", 1],
        ),
        node(
            8,
            "VAEDecode",
            [1209, 188],
            [210, 46],
            5,
            [
                {"name": "samples", "type": "LATENT", "link": 7},
                {"name": "vae", "type": "VAE", "link": 8},
            ],
            [{"name": "IMAGE", "type": "IMAGE", "links": [9], "slot_index": 0}],
        ),
        node(
            9,
            "SaveImage",
            [1451, 189],
            [210, 270],
            6,
            [{"name": "images", "type": "IMAGE", "link": 9}],
            [],
            ["ComfyUI"],
        ),
    ]
    return {
        "last_node_id": 9,
        "last_link_id": 9,
        "nodes": nodes,
        "links": [
            [1, 4, 0, 3, 0, "MODEL"],
            [2, 5, 0, 3, 3, "LATENT"],
            [3, 4, 1, 6, 0, "CLIP"],
            [4, 6, 0, 3, 1, "CONDITIONING"],
            [5, 4, 1, 7, 0, "CLIP"],
            [6, 7, 0, 3, 2, "CONDITIONING"],
            [7, 3, 0, 8, 0, "LATENT"],
            [8, 4, 2, 8, 1, "VAE"],
            [9, 8, 0, 9, 0, "IMAGE"],
        ],
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
        "version": 0.4,
    }


FLUX_PROMPT = "foggy morning seascape, layered sea cliffs fading into mist, calm grey water, 35mm"

# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def save_png(img: Image.Image, path: Path, info: PngInfo | None = None, level: int = 9) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", pnginfo=info, compress_level=level)


def save_jpeg(img: Image.Image, path: Path, **params) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG", **params)


def make_stills(out: Path) -> None:
    stills = out / "stills"

    # sh010: camera plate. EXIF as a camera/debayer tool writes it, XMP digitalCapture (http form).
    exif = Image.Exif()
    exif[0x010F] = "ARRI"  # Make
    exif[0x0110] = "ALEXA 35"  # Model
    exif[0x0132] = "2025:06:14 20:41:07"  # DateTime
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2025:06:14 20:41:07"  # DateTimeOriginal
    save_jpeg(draw_plate(), stills / "sh010_plate.jpg", quality=88, exif=exif, xmp=PLATE_XMP)

    # sh020: AUTOMATIC1111 txt2img output: one 'parameters' tEXt chunk (as A1111 saves it).
    info = PngInfo()
    info.add_text("parameters", A1111_PARAMETERS)
    save_png(draw_concept(), stills / "sh020_concept_a1111.png", info, level=6)

    # sh030: ComfyUI SaveImage: 'prompt' and 'workflow' JSON tEXt chunks, compress_level 4.
    info = PngInfo()
    info.add_text("prompt", json.dumps(comfyui_prompt()))
    info.add_text("workflow", json.dumps(comfyui_workflow()))
    save_png(draw_moodboard(), stills / "sh030_moodboard_comfyui.png", info, level=4)

    # sh040: matte painting with a generative-fill sky: XMP compositeWithTrainedAlgorithmicMedia.
    save_jpeg(draw_matte(), stills / "sh040_matte_genfill.jpg", quality=88, xmp=MATTE_XMP)

    # sh050: Midjourney web download: Author + Description tEXt, XMP in iTXt XML:com.adobe.xmp.
    info = PngInfo()
    info.add_text("Author", "lighthouse_artdept")
    info.add_text("Description", MIDJOURNEY_DESCRIPTION)
    info.add_itxt("XML:com.adobe.xmp", MIDJOURNEY_XMP.decode("utf-8"))
    save_png(draw_storyboard(), stills / "sh050_storyboard_midjourney.png", info)

    # sh060: Flux reference CLI (flux/cli.py): EXIF Software/Make/Model/ImageDescription,
    # saved at quality 95 without chroma subsampling, exactly as that script does.
    exif = Image.Exif()
    exif[0x0131] = "AI generated;txt2img;flux"  # Software
    exif[0x010F] = "Black Forest Labs"  # Make
    exif[0x0110] = "flux-dev"  # Model
    exif[0x010E] = FLUX_PROMPT  # ImageDescription
    save_jpeg(draw_background(), stills / "sh060_bg_flux.jpg", quality=95, subsampling=0, exif=exif)

    # title card: nothing but pixels.
    save_png(draw_title(), stills / "title_card.png")


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def pcm16(samples: list[float]) -> bytes:
    return b"".join(struct.pack("<h", max(-32767, min(32767, round(s * 32767)))) for s in samples)


def wav_bytes(rate: int, samples: list[float]) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16(samples))
    return buf.getvalue()


def riff_chunk(chunk_id: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return chunk_id + struct.pack("<I", len(data)) + data + pad


def with_info(wav: bytes, info: list[tuple[bytes, str]]) -> bytes:
    """Insert a LIST/INFO chunk between 'fmt ' and 'data' of a canonical 44-byte-header WAV."""
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and wav[12:16] == b"fmt "
    fmt_end = 20 + struct.unpack("<I", wav[16:20])[0]
    body = b"INFO" + b"".join(riff_chunk(k, v.encode("ascii") + b"\0") for k, v in info)
    chunks = wav[12:fmt_end] + riff_chunk(b"LIST", body) + wav[fmt_end:]
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def room_tone(rate: int = 48000, seconds: float = 1.0) -> list[float]:
    """Quiet, dark room tone: low-passed noise with a slow swell, faded in and out."""
    rng = random.Random(7)
    n = round(rate * seconds)
    out, lp1, lp2 = [], 0.0, 0.0
    for i in range(n):
        white = rng.uniform(-1.0, 1.0)
        lp1 += 0.02 * (white - lp1)  # ~150 Hz one-pole low-pass, twice
        lp2 += 0.05 * (lp1 - lp2)
        swell = 1.0 + 0.15 * math.sin(2 * math.pi * 0.7 * i / rate)
        fade = min(1.0, i / (0.05 * rate), (n - 1 - i) / (0.05 * rate))
        out.append(0.6 * lp2 * swell * fade + 0.004 * white * fade)
    return out


def temp_vo(rate: int = 24000, seconds: float = 1.0) -> list[float]:
    """A voice-like placeholder: a gliding pitch with vowel-shaped harmonics, in two syllables."""
    n = round(rate * seconds)
    formants = [(700, 130), (1220, 110), (2600, 160)]  # an open 'ah'

    def weight(f: float) -> float:
        return sum(
            math.exp(-(((f - fc) / bw) ** 2)) * g
            for (fc, bw), g in zip(formants, (1.0, 0.6, 0.25), strict=True)
        )

    out, phase = [], 0.0
    for i in range(n):
        t = i / rate
        f0 = 120 + 25 * math.sin(2 * math.pi * 1.3 * t) - 15 * t
        phase += 2 * math.pi * f0 / rate
        s = sum((weight(k * f0) + 0.02) * math.sin(k * phase) / k for k in range(1, 24))
        # two syllables: 0.08-0.42 s and 0.52-0.92 s, smooth attack and decay
        env = 0.0
        for a, b in ((0.08, 0.42), (0.52, 0.92)):
            if a <= t <= b:
                env = math.sin(math.pi * (t - a) / (b - a)) ** 0.6
        out.append(0.45 * s * env)
    return out


def make_audio(out: Path) -> None:
    audio = out / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    (audio / "room_tone.wav").write_bytes(wav_bytes(48000, room_tone()))
    vo = wav_bytes(24000, temp_vo())  # ElevenLabs' pcm_24000 output format
    (audio / "temp_vo_elevenlabs.wav").write_bytes(
        with_info(vo, [(b"INAM", "Temp VO - keeper line 12A"), (b"ISFT", "ElevenLabs")])
    )


# --------------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------------


def make_clip(out: Path) -> bool:
    """sh010_ref.mp4: 1.5 s, 384x216, 24 fps H.264, the beam sweeping; False if PyAV is missing."""
    try:
        import av  # dev-time tool for this script only; not a provgate dependency
    except ImportError:
        return False
    path = out / "clips" / "sh010_ref.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    # 384x216, not 320x180: x264 output depends on uninitialised padding bytes when the chroma
    # width (160) is not a multiple of 32, which made the clip differ from run to run.
    w, h, fps, frames = 384, 216, 24, 36
    f_tc = font(10)
    with av.open(
        str(path),
        "w",
        format="mp4",
        options={"movflags": "+faststart", "fflags": "+bitexact"},
    ) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.codec_context.time_base = Fraction(1, fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.thread_count = 1
        stream.options = {
            "crf": "30",
            "preset": "medium",
            "tune": "film",
            "threads": "1",
            "x264-params": "threads=1:lookahead-threads=1",
        }
        for i in range(frames):
            img = scene(
                w,
                h,
                sky=[(0.0, (14, 20, 48)), (0.7, (46, 56, 98)), (1.0, (96, 92, 124))],
                sea=[(0.0, (40, 50, 72)), (1.0, (8, 12, 22))],
                land=(14, 14, 20),
                tower=(210, 206, 196),
                trim=(34, 34, 40),
                lamp=(255, 236, 170),
                beam=(255, 244, 210),
                beam_angle=200 - 2.2 * i,
                seed=10,
                n_stars=60,
                wave_color=(110, 120, 150),
                wave_phase=i / frames,
            )
            d = ImageDraw.Draw(img)
            d.text(
                (6, h - 14),
                f"LH sh010 REF  01:00:{i // fps:02d}:{i % fps:02d}",
                font=f_tc,
                fill=(230, 230, 230),
            )
            frame = av.VideoFrame.from_image(img)
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return True


# --------------------------------------------------------------------------------------------
# Delivery package
# --------------------------------------------------------------------------------------------

DELIVERY = [
    "stills/sh010_plate.jpg",
    "stills/title_card.png",
    "stills/sh020_concept_a1111.png",  # the unapproved AI still: the gate must block on it
    "clips/sh010_ref.mp4",
    "audio/room_tone.wav",
]


def make_delivery(out: Path) -> None:
    for rel in DELIVERY:
        src, dst = out / rel, out / "delivery" / rel
        if not src.exists():
            print(f"warning: {rel} missing, not copied into delivery/", file=sys.stderr)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="output folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    make_stills(out)
    make_audio(out)
    if not make_clip(out):
        print(
            "warning: PyAV not installed (pip install av); clips/sh010_ref.mp4 not regenerated",
            file=sys.stderr,
        )
    make_delivery(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote sample media to {out} ({total / 1024:.0f} KiB in total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
