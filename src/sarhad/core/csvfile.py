"""Reading a user's CSV file: UTF-8 checks, a checked header, records with their line numbers.

Shared by every importer (incidents, crossing throughput), so that a file is refused the
same way, with the same words, whatever it holds.
"""

from __future__ import annotations

import codecs
import csv
import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sarhad.core.errors import FieldError, InvalidInput
from sarhad.core.i18n import Text, message


class FileFormatError(InvalidInput):
    """The file as a whole cannot be read; raised before the first row, except for a CSV that
    breaks mid-way (e.g. an unclosed quote), which is only found when the reader gets there."""

    def __init__(self, problems: Text | list[Text], *, hint: Text | None = None) -> None:
        msgs = [problems] if isinstance(problems, str) else problems
        super().__init__([FieldError.of("file", m) for m in msgs], hint=hint)


_EMPTY = message("csv.empty", "the file is empty")


def check_text(path: Path) -> None:
    """Stream the file once: it must be non-empty UTF-8 (BOM allowed) without NUL bytes."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset, seen_text = 0, False
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            if offset == 0 and chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise FileFormatError(
                    message("csv.utf16", "the file is UTF-16 text"),
                    hint=message("csv.utf16.hint", "save it as UTF-8"),
                )
            if b"\x00" in chunk:
                raise FileFormatError(
                    message("csv.nul", "the file contains NUL bytes; it is not a text file")
                )
            try:
                seen_text = bool(decoder.decode(chunk).strip()) or seen_text
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    message(
                        "csv.not_utf8",
                        "the file is not UTF-8 text (bad byte at position {at})",
                        at=offset + exc.start,
                    ),
                    hint=message("csv.not_utf8.hint", "save it as 'CSV UTF-8' or UTF-8 text"),
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileFormatError(
                message("csv.mid_character", "the file is not UTF-8 text (it ends mid-character)")
            ) from None
    if not seen_text:
        raise FileFormatError(_EMPTY)


def _records(f: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield (line where the record starts, stripped cells), skipping blank lines."""
    reader = csv.reader(f, strict=True)  # strict: an unclosed quote is an error, not a row
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(c.strip() for c in cells):
                yield start, [c.strip() for c in cells]
    except csv.Error as exc:
        raise FileFormatError(
            message(
                "csv.bad_record",
                "line {line}: the record starting here is not valid CSV ({why})",
                line=end + 1,
                why=str(exc),
            ),
            hint=message("csv.bad_record.hint", 'check for a quote (") that is not closed'),
        ) from None


def _header(cells: list[str], required: tuple[str, ...], allowed: tuple[str, ...] | None) -> int:
    """Check the header; returns the number of named columns (trailing blank ones dropped)."""
    names = [c.lower() for c in cells]
    while names and not names[-1]:
        names.pop()  # spreadsheets often add empty trailing columns
    problems = [
        message("csv.no_name", "column {i} has no name", i=i)
        for i, n in enumerate(names, 1)
        if not n
    ]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        problems.append(
            message("csv.duplicates", "duplicate columns: {names}", names=", ".join(dupes))
        )
    if allowed is not None:
        for n in (n for n in names if n and n not in allowed):
            close = difflib.get_close_matches(n, allowed, n=1)
            problems.append(
                message(
                    "csv.unknown_column.close",
                    "unknown column {name} (did you mean {close}?)",
                    name=repr(n),
                    close=repr(close[0]),
                )
                if close
                else message("csv.unknown_column", "unknown column {name}", name=repr(n))
            )
    if missing := [r for r in required if r not in names]:
        problems.append(
            message(
                "csv.missing_columns", "missing required columns: {names}", names=", ".join(missing)
            )
        )
    if problems:
        hint = None
        if len(names) == 1 and ";" in names[0]:
            hint = message(
                "csv.semicolons",
                "the file seems to use ';' between columns; save it comma-separated",
            )
        raise FileFormatError(problems, hint=hint)
    return len(names)


def read_table(
    path: Path, required: tuple[str, ...], allowed: tuple[str, ...] | None
) -> Iterator[tuple[int, dict[str, str], list[FieldError]]]:
    """Yield (line, column → non-empty value, structural row errors) for a CSV with a header."""
    check_text(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        records = _records(f)
        first = next(records, None)
        if first is None:
            raise FileFormatError(_EMPTY)
        width = _header(first[1], required, allowed)
        names = [c.lower() for c in first[1][:width]]
        for line, cells in records:
            errs = []
            if any(cells[width:]):
                errs.append(
                    FieldError.of(
                        "row",
                        message(
                            "csv.row_width",
                            "has {count} values but the header has {width}",
                            count=len(cells),
                            width=width,
                        ),
                    )
                )
            yield line, {n: c for n, c in zip(names, cells, strict=False) if c}, errs
