"""The tools applicants really use, run on our form and budget, with results cached on disk.

Every form here is filled by ``pdftk fill_form`` from an XFDF that names the PDF
fields literally (never by ``intake.documents.filling``), then printed, rewritten,
flattened or scanned by the real programs (Debian packages installed by
``scripts/test``):

===============  ===========================================================
tool             what an applicant did
===============  ===========================================================
pdftk            filled the form in a viewer (values stay in the fields)
pdftocairo       printed it to PDF (``pdftocairo -pdf``)
ps2pdf           printed it to PostScript and made a PDF of that (``pdftocairo -ps``, ``ps2pdf``)
gs               let Ghostscript rewrite it (``gs -sDEVICE=pdfwrite``)
qpdf             flattened it (``qpdf --generate-appearances --flatten-annotations=all``)
ocr150, ocr200   printed and scanned it in black and white at 150/200 dpi (``pdftoppm -mono``), text layer
                 from ``tesseract … pdf``
===============  ===========================================================

Budgets go through LibreOffice (``soffice --headless --convert-to``), which
recalculates and saves formula results, as a spreadsheet program does; it is a
fixture tool only, never used at run time.

These programs are slow (tesseract, LibreOffice), so every result is kept in
``${XDG_CACHE_HOME:-~/.cache}/pulje-intake-fixtures/<hash of the inputs>``: the
SQLite and the PostgreSQL runs make each once. The hash covers the tool, the
values, the field map's text, the form layout's source and this module's.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from html import escape
from pathlib import Path

import intake.documents.templates as layout

FORM_TOOLS = ("pdftk", "pdftocairo", "ps2pdf", "gs", "qpdf", "ocr150", "ocr200")
PRINTS = ("pdftocairo", "ps2pdf", "gs", "qpdf")  # text without fields, read by label
SCANS = ("ocr150", "ocr200")


def cache_root() -> Path:
    """Where tool results are kept between test runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pulje-intake-fixtures"


@cache
def _sources_hash() -> str:
    text = Path(__file__).read_text(encoding="utf-8") + Path(layout.__file__).read_text(encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached(kind: str, inputs: object, make: Callable[[], bytes]) -> bytes:
    """``make()``'s bytes, kept on disk under a hash of ``kind`` and ``inputs``."""
    key = hashlib.sha256(json.dumps([_sources_hash(), kind, inputs], sort_keys=True,
                                    ensure_ascii=False, default=str).encode()).hexdigest()[:32]
    path = cache_root() / key / kind.replace("/", "_")
    if path.is_file():
        return path.read_bytes()
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a parallel run never reads half a file
    return data


def _run(*cmd: str, cwd: Path) -> None:
    subprocess.run(list(cmd), cwd=cwd, check=True, capture_output=True, timeout=300)


def _through(data: bytes, suffix: str, steps: Callable[[Path, Path], Path]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pulje-tool-") as tmp:
        src = Path(tmp) / f"in{suffix}"
        src.write_bytes(data)
        return steps(Path(tmp), src).read_bytes()


# --- forms -------------------------------------------------------------------------------


def xfdf(values: dict[str, str]) -> bytes:
    """An XFDF file setting PDF fields by name (what ``pdftk fill_form`` reads)."""
    fields = "\n".join(f'<field name="{escape(name)}"><value>{escape(text)}</value></field>'
                       for name, text in values.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<xfdf xmlns="http://ns.adobe.com/xfdf/">'
            f"<fields>\n{fields}\n</fields></xfdf>\n").encode()


def pdftk_fill(template: bytes, values: dict[str, str], *, need_appearances: bool = False) -> bytes:
    """The form filled by pdftk (it draws the values itself unless ``need_appearances``)."""
    def steps(tmp: Path, src: Path) -> Path:
        (tmp / "values.xfdf").write_bytes(xfdf(values))
        _run("pdftk", src.name, "fill_form", "values.xfdf", "output", "out.pdf",
             *(["need_appearances"] if need_appearances else []), cwd=tmp)
        return tmp / "out.pdf"
    return _through(template, ".pdf", steps)


def cairo_pdf(data: bytes) -> bytes:
    """Printed to PDF by poppler's cairo backend."""
    def steps(tmp: Path, src: Path) -> Path:
        _run("pdftocairo", "-pdf", src.name, "out.pdf", cwd=tmp)
        return tmp / "out.pdf"
    return _through(data, ".pdf", steps)


def ps_to_pdf(data: bytes) -> bytes:
    """Printed to PostScript (pdftocairo -ps), then made a PDF by Ghostscript's ps2pdf."""
    def steps(tmp: Path, src: Path) -> Path:
        _run("pdftocairo", "-ps", src.name, "out.ps", cwd=tmp)
        _run("ps2pdf", "out.ps", "out.pdf", cwd=tmp)
        return tmp / "out.pdf"
    return _through(data, ".pdf", steps)


def gs_rewrite(data: bytes) -> bytes:
    """Rewritten by Ghostscript's pdfwrite device."""
    def steps(tmp: Path, src: Path) -> Path:
        _run("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-o", "out.pdf",
             src.name, cwd=tmp)
        return tmp / "out.pdf"
    return _through(data, ".pdf", steps)


def qpdf_flatten(data: bytes) -> bytes:
    """Flattened by qpdf, which draws the values itself first."""
    def steps(tmp: Path, src: Path) -> Path:
        _run("qpdf", "--generate-appearances", "--flatten-annotations=all", src.name, "out.pdf", cwd=tmp)
        return tmp / "out.pdf"
    return _through(data, ".pdf", steps)


def ocr_scan(data: bytes, dpi: int) -> bytes:
    """Rasterised at ``dpi`` (a scan), every page given a text layer by tesseract, joined by qpdf."""
    def steps(tmp: Path, src: Path) -> Path:
        # black and white, as office copiers scan: small enough to mail
        _run("pdftoppm", "-r", str(dpi), "-mono", "-png", src.name, "page", cwd=tmp)
        pages = sorted(tmp.glob("page-*.png"))
        lang = "dan" if "dan" in _tesseract_languages() else "eng"
        for png in pages:
            _run("tesseract", png.name, png.stem, "-l", lang, "pdf", cwd=tmp)
        _run("qpdf", "--empty", "--pages", *[p.with_suffix(".pdf").name for p in pages], "--",
             "out.pdf", cwd=tmp)
        return tmp / "out.pdf"
    return _through(data, ".pdf", steps)


@cache
def _tesseract_languages() -> tuple[str, ...]:
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True)
    return tuple(line.strip() for line in out.stdout.splitlines()[1:])


def form_by(tool: str, values: dict[str, str], template: Callable[[], bytes], map_text: str) -> bytes:
    """The form with ``values`` (PDF field name -> text) as ``tool`` leaves it, cached.

    ``template`` makes the empty form (called only when the cache misses); ``map_text``
    is the field map it was made from (part of the cache key)."""
    def make() -> bytes:
        if tool == "qpdf":  # qpdf draws the values itself: leave the drawing to it
            return qpdf_flatten(pdftk_fill(template(), values, need_appearances=True))
        filled = pdftk_fill(template(), values)
        if tool == "pdftk":
            return filled
        if tool in SCANS:
            return ocr_scan(filled, int(tool.removeprefix("ocr")))
        return {"pdftocairo": cairo_pdf, "ps2pdf": ps_to_pdf, "gs": gs_rewrite}[tool](filled)
    return cached(f"form-{tool}.pdf", {"values": values, "map": map_text}, make)


def warm(jobs: list[Callable[[], bytes]]) -> None:
    """Run slow tool jobs on both cores before the set is assembled (each is cached)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        for job in pool.map(lambda j: j(), jobs):
            assert job  # every tool gave bytes


# --- budgets -----------------------------------------------------------------------------


def soffice_convert(data: bytes, suffix: str, target: str) -> bytes:
    """The spreadsheet opened and saved by LibreOffice Calc as ``target`` (xlsx, ods, xls);
    a private profile keeps parallel runs apart."""
    filters = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods", "xls": "xls:MS Excel 97"}

    def steps(tmp: Path, src: Path) -> Path:
        out = tmp / "out"
        _run("soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless",
             "--convert-to", filters[target], "--outdir", str(out), src.name, cwd=tmp)
        return out / f"in.{target}"
    return _through(data, suffix, steps)
