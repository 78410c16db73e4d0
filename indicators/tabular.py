"""Read a CSV or XLSX file, as people make them in French Excel or LibreOffice, into a table of text.

`read_table` recognises the format from the bytes (never from the name alone), decodes the text
(UTF-8 with or without BOM, UTF-16, Windows-1252: DuckDB's own reader knows only UTF-8/UTF-16/
latin-1, and a Windows-1252 file with `€`, `’` or `œ` is not valid latin-1), finds the separator
(`;`, `,` or tab) and returns every cell as text with the line number a spreadsheet shows
(header = line 1). File-level problems raise `ImportRefused` with a single error on line 1.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv

from indicators.errors import ImportRefused, InputError
from indicators.formatting import number

DELIMITERS = (";", "\t", ",")
DELIMITER_NAMES = {";": "point-virgule", "\t": "tabulation", ",": "virgule"}


@dataclass
class RawTable:
    """Cells as text. `table` has columns c0…cN (one per header cell) and `line` (spreadsheet row)."""

    file_name: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    header: list[str]
    table: pa.Table
    sha256: str
    size: int

    def release(self) -> None:
        """Drop the cells (once they have been copied elsewhere), keeping the columns and the file's facts,
        and give the memory back to the system (the CSV reader allocates from it) for what comes next."""
        self.table = self.table.schema.empty_table()
        pa.system_memory_pool().release_unused()


def _refuse(file_name: str, message: str) -> ImportRefused:
    return ImportRefused([(file_name, [InputError(1, "", "", message)])])


def sniff_format(data: bytes) -> str:
    """'xlsx', 'xls', 'ods', 'zip', 'pdf', 'image' or 'text' (a guess from the first bytes)."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "mimetype" in names and b"opendocument.spreadsheet" in z.read("mimetype"):
                    return "ods"
        except zipfile.BadZipFile:
            return "zip"
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if data.startswith(b"%PDF"):
        return "pdf"
    if data[:4] in (b"\x89PNG", b"GIF8") or data[:3] == b"\xff\xd8\xff":
        return "image"
    return "text"


def decode_text(data: bytes) -> tuple[str, str] | None:
    """(text, encoding name) or None when the bytes are not text in a supported encoding."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "UTF-8 (BOM)")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "UTF-16")]
    elif b"\x00" in data[:4096]:
        head = data[:4096]
        # UTF-16 without BOM: ASCII text has a NUL in every other byte.
        if head[1::2].count(0) > len(head) // 4:
            candidates = [("utf-16-le", "UTF-16")]
        elif head[0::2].count(0) > len(head) // 4:
            candidates = [("utf-16-be", "UTF-16")]
        else:
            return None
    else:
        candidates = [("utf-8", "UTF-8"), ("cp1252", "Windows-1252")]
    for codec, name in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        sample = text[:65536]
        controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\f")
        if "\x00" in sample or controls > max(2, len(sample) // 100):
            return None
        return text, name
    return None


def sniff_delimiter(text: str) -> str:
    """The separator that appears most often in the header line (`;` wins ties, as in French Excel)."""
    first = text[:65536].lstrip("\r\n").split("\n", 1)[0]  # never split (copy) a whole large file
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ";"


def _read_csv_fast(payload: bytes, head: str, delimiter: str) -> pa.Table | None:
    """pyarrow's reader; None when some row has another count of cells than the header. `head`: the start
    of the text, for the header's width.

    One thread and 1 MB blocks: parsing 1 000 000 rows peaks at +66 MB instead of +110 MB, in the same
    time here. Its buffers come from the system allocator, so that the memory freed after the parse, and
    the table once `RawTable.release` is called, go back to the rest of the process (DuckDB, Python)."""
    ragged = False
    width = len(next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), []))

    def on_invalid(_row) -> str:
        nonlocal ragged
        ragged = True
        return "skip"

    try:
        first = pacsv.read_csv(
            io.BytesIO(payload),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 20, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                auto_dict_encode=False,
                null_values=[],
                true_values=[],
                false_values=[],
                timestamp_parsers=[],
            ),
            memory_pool=pa.system_memory_pool(),
        )
    except pa.ArrowInvalid:
        return None
    if ragged or first.num_columns != width:
        return None
    return first


def _read_csv_exact(text: str, delimiter: str) -> pa.Table:
    """Python's csv module: slower, but pads short rows and keeps extra cells (ragged files)."""
    return _rows_to_table(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')))


def _rows_to_table(rows: list[list[str]]) -> pa.Table:
    """Rows of unequal length as a table of text columns f0…fN, short rows padded with empty cells."""
    width = max((len(r) for r in rows), default=0)
    columns = [[r[i] if i < len(r) else "" for r in rows] for i in range(width)]
    return pa.table({f"f{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})


def _finish(raw: pa.Table, file_name: str, max_rows: int) -> tuple[list[str], pa.Table]:
    """Split the header row off, number the lines, drop fully blank rows and empty trailing columns."""
    import pyarrow.compute as pc

    if raw.num_rows == 0:
        raise _refuse(file_name, "le fichier est vide (attendu : une ligne d'en-tête puis des lignes de données)")
    header = [str(raw.column(i)[0].as_py() or "") for i in range(raw.num_columns)]
    body = raw.slice(1)
    if body.num_rows > max_rows:
        raise _refuse(
            file_name,
            f"le fichier compte {number(body.num_rows)} lignes, au-delà de la limite de {number(max_rows)} lignes",
        )
    # Trailing columns with no header and no content are an artefact of spreadsheets.
    keep = len(header)
    while keep > 0 and not header[keep - 1].strip():
        if body.num_rows and not pc.all(_blank(body.column(keep - 1))).as_py():
            break
        keep -= 1
    header = header[:keep]
    columns = {f"c{i}": body.column(i) for i in range(keep)}
    import numpy as np

    columns["line"] = pa.array(np.arange(2, body.num_rows + 2, dtype=np.int32))
    table = pa.table(columns)
    blank = None
    for i in range(keep):
        empty = _blank(table.column(f"c{i}"))
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return header, table  # some cell of every row has content (the usual case)
    if blank is not None:
        table = table.filter(pc.invert(blank))
    return header, table


def _blank(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """True for the cells that are empty or only whitespace (no string is copied)."""
    import pyarrow.compute as pc

    return pc.or_(pc.equal(pc.binary_length(column), 0), pc.utf8_is_space(column))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, file_name: str) -> pa.Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many unrelated types for damaged files
        raise _refuse(file_name, f"classeur Excel illisible ou endommagé ({type(e).__name__})") from e
    try:
        ws = wb.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    # openpyxl numbers rows from the sheet's first row; leading empty rows keep their numbers.
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return _rows_to_table(rows)


REFUSED_FORMATS = {
    "xls": "classeur Excel 97-2003 (.xls) : enregistrez-le au format .xlsx ou .csv puis recommencez",
    "ods": "classeur LibreOffice (.ods) : enregistrez-le au format .xlsx ou .csv puis recommencez",
    "zip": "archive compressée : ce n'est ni un fichier CSV ni un classeur Excel .xlsx",
    "pdf": "document PDF : ce n'est ni un fichier CSV ni un classeur Excel .xlsx",
    "image": "image : ce n'est ni un fichier CSV ni un classeur Excel .xlsx",
}


def read_table(data: bytes, file_name: str, max_bytes: int, max_rows: int) -> RawTable:
    """Read `data` (the whole file) into a RawTable, or raise ImportRefused for a file-level problem.
    The file's SHA-256 is computed on a second thread while it is read (hashlib releases the GIL)."""
    size = len(data)
    if size > max_bytes:
        raise _refuse(
            file_name,
            f"le fichier pèse {number(size / 1e6, 1)} Mo, au-delà de la limite de {number(max_bytes / 1e6, 1)} Mo",
        )
    if not data or data.isspace():
        raise _refuse(file_name, "le fichier est vide (attendu : une ligne d'en-tête puis des lignes de données)")
    with ThreadPoolExecutor(max_workers=1) as pool:
        sha = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        return _read(data, file_name, max_rows, sha)


def _read(data: bytes, file_name: str, max_rows: int, sha: Future) -> RawTable:
    size = len(data)
    kind = sniff_format(data)
    if kind in REFUSED_FORMATS:
        raise _refuse(file_name, REFUSED_FORMATS[kind])
    if kind == "xlsx":
        raw = _read_xlsx(data, file_name)
        header, table = _finish(raw, file_name, max_rows)
        return RawTable(file_name, "xlsx", None, None, header, table, sha.result(), size)
    decoded = decode_text(data)
    if decoded is None:
        raise _refuse(
            file_name,
            "ce n'est ni un fichier texte (CSV en UTF-8, UTF-16 ou Windows-1252) ni un classeur Excel .xlsx",
        )
    text, encoding = decoded
    head = text[:65536]
    delimiter = sniff_delimiter(head)
    payload = data if encoding == "UTF-8" else text.encode("utf-8")
    del text, decoded  # the reader works on the bytes (a ragged file decodes them again)
    raw = _read_csv_fast(payload, head, delimiter)
    if raw is None:
        raw = _read_csv_exact(payload.decode("utf-8"), delimiter)
    header, table = _finish(raw, file_name, max_rows)
    return RawTable(file_name, "csv", encoding, delimiter, header, table, sha.result(), size)
