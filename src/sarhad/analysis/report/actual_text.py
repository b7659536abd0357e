"""Give the PDF's text its letters back where a glyph stands for different letters (ActualText).

Why: a PDF maps each glyph of a font to one text (its ToUnicode map), and WeasyPrint writes the
text of the first place a glyph is drawn. Noto Nastaliq Urdu draws letters from shared parts
(one tooth glyph begins ب, ت, ث, پ, ٹ, ن and ی; their dots are separate glyphs), so one glyph
stands for many letters and pdftotext, search and copy read wrong Urdu, although the page looks
right. A Naskh font does not help: Noto Naskh Arabic builds its dotted letters the same way
(on a page of the report's 116 Urdu strings, 114 read back wrong with it, 115 in Nastaliq).
PDF's own answer is replacement text (ISO 32000-1, 14.9.4): a marked-content span
``/Span <</ActualText (…)>> BDC … EMC`` around glyphs gives the text they stand for, and
readers take it instead of the glyphs' map.

WeasyPrint (70) writes no ActualText, so :func:`install` wraps its ``draw_first_line`` (the one
function that draws a line of shaped text, for HTML and for SVG text alike). Before a line is
drawn, the same Pango glyph runs are read to know what a reader would get from the map for each
glyph; when that is not the line's text (a glyph mapped to another letter, a ligature in a
right-to-left run, a zero-width non-joiner that has no glyph), the whole line is wrapped in one
span carrying the line's text. Every other line is left to the map and written as before.

One span per line, not per letter: Nastaliq sets each letter of a word on its own height, and
poppler starts a new word (then a new line) whenever the baseline moves, so letter-sized spans
come back scattered over several lines. A span's text is laid by readers across the span's
width from left to right, like the glyphs of a ligature, and then put into reading order with
the rest of the page (poppler's bidi pass): so the span's text is given in the order the line
is drawn, Pango's runs from left to right, a right-to-left run's letters reversed. That is the
order a one-glyph-per-letter font hands poppler, which is why Persian in Vazirmatn reads back
right. When a line is drawn in a way this does not follow (ellipsis, bitmap fonts), it is left
as WeasyPrint drew it. ``tests/analysis/test_report_pdf.py`` reads the Urdu report back with
pdftotext and fails if this stops working (for example after a WeasyPrint upgrade).
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_lock = threading.Lock()  # two first reports at once (API threads) must not wrap it twice


def _line_text(textbox: Any, stream: Any) -> str | None:
    """The first line's text in drawing order, when the font's map would read it otherwise;
    None when the map already reads it right (nothing to add)."""
    from weasyprint.text.ffi import ffi, pango

    pango.pango_layout_set_single_paragraph_mode(textbox.pango_layout.layout, True)
    first_line, _index = textbox.pango_layout.get_first_line()
    utf8 = textbox.pango_layout.text.encode()
    drawn: list[str] = []  # the line's text in drawing order
    read: list[str] = []  # what a reader gets from the map, in the same order
    here: dict[tuple[int, int], str] = {}  # (font, glyph) → its text where first met
    run = first_line.runs[0]
    while run != ffi.NULL:  # runs from left to right
        item = run.data
        run = run.next
        font, _size = stream.add_font(item.item.analysis.font)
        if font.bitmap:
            return None
        glyphs = item.glyphs
        count = glyphs.num_glyphs
        clusters = [glyphs.log_clusters[i] for i in range(count)]
        offset, length = item.item.offset, item.item.length
        rtl = bool(item.item.analysis.level % 2)
        text = utf8[offset : offset + length].decode(errors="replace")
        drawn.append(text[::-1] if rtl else text)
        for i in range(count):
            glyph = glyphs.glyphs[i].glyph
            if glyph == pango.PANGO_GLYPH_EMPTY:
                continue  # a move: nothing to read (a zero-width non-joiner is lost so)
            if glyph & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                return None  # drawn as .notdef under a new id: leave the line as it is
            # What WeasyPrint maps a glyph to where it first meets it (its formula in
            # draw_first_line): its cluster's bytes, "" for a glyph sharing the cluster of the
            # glyph drawn after it.
            t1 = clusters[i]
            if rtl:
                t2 = length if i == 0 else clusters[i - 1]
            else:
                t2 = length if i == count - 1 else clusters[i + 1]
            mine = utf8[offset + t1 : offset + t2].decode(errors="replace")
            mapped = font.to_unicode.get(glyph)
            if mapped is None:
                mapped = here.setdefault((id(font), glyph), mine)
            # A glyph's text is laid from left to right, also in a right-to-left run (so a
            # lam-alef ligature mapped to "لا" would read back "ال").
            read.append(mapped)
    line = "".join(drawn)
    return None if "".join(read) == line else line


def install() -> None:
    """Wrap WeasyPrint's ``draw_first_line`` once per process (idempotent, thread-safe)."""
    with _lock:
        _install()


def _install() -> None:
    global _installed
    if _installed:
        return
    import pydyf
    import weasyprint.draw.text as text

    original = text.draw_first_line

    def draw_first_line(
        stream: Any, textbox: Any, text_overflow: str, block_ellipsis: str, matrix: Any
    ) -> Any:
        plain = (
            text_overflow == "ellipsis"
            or block_ellipsis != "none"
            or not textbox.text.strip()
            or textbox.style["font_size"] < 1e-6
        )
        actual = None if plain else _line_text(textbox, stream)
        if actual is None:
            return original(stream, textbox, text_overflow, block_ellipsis, matrix)
        props = pydyf.Dictionary({"ActualText": pydyf.String(actual)})
        stream.begin_marked_content("Span", props)
        try:
            return original(stream, textbox, text_overflow, block_ellipsis, matrix)
        finally:
            stream.end_marked_content()

    text.draw_first_line = draw_first_line
    _installed = True
