"""The layout of an administrative document (Decree 30/2020/NĐ-CP): A4 page and margins, Times New Roman, the
masthead's two columns, rules, tables with repeated headers. The yearly report and other documents build on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from khgeo.services.reports.wording import Aside, clean_text

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 11
TABLE_STYLE, TABLE_STYLE_ID = "Bảng số liệu", "BangSoLieu"


PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm

PROVINCE_BODY = "UBND TỈNH BẮC GIANG"
ISSUER = "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"
DOCUMENT_NUMBER = "Số: …/BC-BQL"
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGNER_TITLE = "TRƯỞNG BAN"
RECIPIENTS = ("- HĐND tỉnh;", "- UBND tỉnh;", "- Các Sở, ngành, UBND các huyện, thành phố;", "- Lưu: VT, …")


# -- low-level layout helpers ------------------------------------------------------------------------------------
def _set_fonts(rpr, name: str = FONT) -> None:
    """Times New Roman in every script slot (ascii, hAnsi, eastAsia, cs), replacing theme fonts."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def setup_styles(document: DocxDocument) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(defaults)
    language = defaults.find(qn("w:lang"))
    if language is not None:
        language.set(qn("w:val"), "vi-VN")
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_fonts(normal.element.get_or_add_rPr())
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    header = document.styles["Header"]
    header.font.name = FONT
    header.font.size = Pt(13)
    _set_fonts(header.element.get_or_add_rPr())
    cells = document.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cells.style_id = TABLE_STYLE_ID
    cells.base_style = normal
    cells.font.size = Pt(TABLE_PT)
    cells.paragraph_format.space_after = Pt(0)
    cells.paragraph_format.line_spacing = 1.0


def setup_page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance = Mm(10)
    # NĐ 30/2020: page numbers centred in the top margin, from the second page on
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _run(
    paragraph: Paragraph, text: str, *, size: float | None = None, bold: bool = False, italic: bool = False
) -> None:
    run = paragraph.add_run(clean_text(text))
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)


def add_line(
    container,
    text: str,
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align=WD_ALIGN_PARAGRAPH.CENTER,
    after: float = 0,
) -> Paragraph:
    """A single-spaced line (masthead, title, closing blocks)."""
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.line_spacing = 1.0
    _run(paragraph, text, size=size, bold=bold, italic=italic)
    return paragraph


def add_rule(container, length_mm: float, box_mm: float) -> None:
    """The short horizontal rule NĐ 30 draws under the issuer, the motto and the title: a bottom border on an
    empty paragraph indented to ``length_mm`` inside a box ``box_mm`` wide."""
    paragraph = container.add_paragraph()
    side = max(box_mm - length_mm, 0) / 2
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Mm(side)
    paragraph.paragraph_format.space_after = Pt(4)
    paragraph.paragraph_format.line_spacing = 1.0
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    _run(paragraph, "", size=2)


def add_body(document: DocxDocument, text: str, *, italic: bool = False) -> Paragraph:
    """A body paragraph: justified, first line indented 1,27 cm."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Mm(12.7)
    _run(paragraph, text, italic=italic)
    return paragraph


def add_heading(document: DocxDocument, text: str) -> Paragraph:
    """ "I. …" (capitals) or "1. …": bold, kept with what follows."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Mm(12.7)
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.keep_with_next = True
    _run(paragraph, text, bold=True)
    return paragraph


def _fill(
    cell: _Cell, lines: Sequence[str] | str, *, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT
) -> None:
    """Write one paragraph per line, in the table text style, into a cell (its empty first paragraph is reused)."""
    lines = [lines] if isinstance(lines, str) else list(lines)
    for index, text in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        paragraph._p.style = TABLE_STYLE_ID  # by id: looking a style up by name for every cell is slow
        paragraph.alignment = align
        if index < len(lines) - 1:
            paragraph.paragraph_format.space_after = Pt(2)
        _run(paragraph, text, bold=bold, italic=isinstance(text, Aside))


def two_columns(document: DocxDocument, widths_mm: tuple[float, float]) -> list[_Cell]:
    """A borderless one-row table of two empty cells (masthead, closing), kept on one page."""
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)
    _widths(table, widths_mm)
    _no_split(table)
    cells = table.rows[0].cells
    for cell in cells:  # the cell's placeholder paragraph: the blocks add their own
        cell._tc.remove(cell.paragraphs[0]._p)
    return cells


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    table.autofit = False  # fixed layout: Word and LibreOffice keep the widths
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _repeat_header(table: Table) -> None:
    """The first row repeats at the top of every page the table runs onto (w:tblHeader)."""
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_properties.append(header)


def _no_split(table: Table) -> None:
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def add_grid(
    document: DocxDocument,
    headers: Sequence[str],
    widths_mm: Sequence[float],
    rows: Iterable[Sequence[Sequence[str] | str]],
    *,
    centred: Sequence[int] = (),
) -> Table:
    """A bordered data table: bold header row repeated on each page, one row per item."""
    rows = list(rows)
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        _fill(cell, header, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for row, values in zip(table.rows[1:], rows, strict=True):
        for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            _fill(
                cell, value, align=WD_ALIGN_PARAGRAPH.CENTER if index in centred else WD_ALIGN_PARAGRAPH.LEFT
            )
    _widths(table, widths_mm)
    _repeat_header(table)
    _no_split(table)
    document.add_paragraph().paragraph_format.space_after = Pt(0)
    return table
