"""The CJK font a statement embeds: ``$TIERBOARD_CJK_FONT`` (a .ttf or .ttc, optionally
``path#index`` for a face of a collection), else Debian's WenQuanYi Micro Hei
(``fonts-wqy-microhei``), else whatever fontconfig offers for Chinese."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SETTING = "TIERBOARD_CJK_FONT"
DEBIAN_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
EMBEDDABLE = (".ttf", ".ttc")  # TrueType outlines: what the PDF library subsets and embeds


class NoCjkFont(RuntimeError):
    """No font that can write Chinese was found: statements cannot be written."""


@dataclass(frozen=True)
class Font:
    path: Path
    index: int = 0  # the face within a collection (.ttc)


def _parse(value: str) -> Font:
    path, _, index = value.partition("#")
    return Font(Path(path), int(index) if index.isdigit() else 0)


def _fontconfig() -> Font | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}#%{index}", ":lang=zh-cn"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    font = _parse(found) if found else None
    if font is None or font.path.suffix.lower() not in EMBEDDABLE or not font.path.exists():
        return None
    return font


def cjk_font() -> Font:
    """The font to embed, or ``NoCjkFont`` saying how to provide one."""
    configured = os.environ.get(SETTING)
    if configured:
        font = _parse(configured)
        if not font.path.is_file():
            raise NoCjkFont(f"{SETTING}={configured}: no such font file")
        if font.path.suffix.lower() not in EMBEDDABLE:
            raise NoCjkFont(f"{SETTING}={configured}: need a TrueType font (.ttf or .ttc)")
        return font
    if DEBIAN_FONT.is_file():
        return Font(DEBIAN_FONT)
    found = _fontconfig()
    if found is None:
        raise NoCjkFont(
            "no Chinese font found for the PDF statements: install one (Debian: apt-get install"
            f" fonts-wqy-microhei) or set {SETTING} to a .ttf/.ttc file"
        )
    return found


def subset(font: Font, text: str, folder: Path) -> Font:
    """A TrueType font in ``folder`` holding only the glyphs of ``text`` (plus ASCII).

    Embedding a whole CJK collection means parsing megabytes per PDF; a period's statements
    share one small subset instead, which the PDF library parses in milliseconds."""
    from fontTools import subset as subsetting
    from fontTools.ttLib import TTFont

    options = subsetting.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # a font-forge timestamp: nothing to keep
    try:
        face = TTFont(str(font.path), fontNumber=font.index, lazy=True)
    except Exception as error:  # not a font fontTools can read: say which file
        raise NoCjkFont(f"{font.path}: cannot read this font ({error})") from error
    try:
        subsetter = subsetting.Subsetter(options)
        printable = "".join(chr(c) for c in range(32, 127))
        subsetter.populate(text="".join(sorted(set(text + printable))))
        subsetter.subset(face)
        target = folder / "statement-font.ttf"
        face.save(str(target))
    finally:
        face.close()
    return Font(target)
