"""The plan's yearly reporting cycle (section III): agencies report to the zone board, the board consolidates.

The deadlines are data, read from the plan's own tasks: III.1 (agencies → board: 15/12 each year, 01/05 in
2024) and III.2.1 (board → provincial council and committee: 31/12, end of May in 2024).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from khgeo import clock
from khgeo.errors import BadRequest, NotFound, ValidationFailed
from khgeo.models import Agency, AgencyReport, AgencyReportItem, Task, User, task_coordinators
from khgeo.services.audit import record
from khgeo.services.tasks import yearly_due_date

log = logging.getLogger(__name__)
AGENCY_REPORT_TASK = "III.1"
BOARD_REPORT_TASK = "III.2.1"
FIRST_YEAR = 2022  # the plan was issued in October 2022
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ITEM_TEXT = 8000
# what "a document" means for an attachment: checked from the content, not the name
_DOCUMENT_SIGNATURES = {
    b"%PDF-": ("application/pdf", (".pdf",)),
    b"PK\x03\x04": ("application/zip", (".docx", ".xlsx", ".odt", ".ods")),  # OOXML / OpenDocument are zips
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": ("application/x-ole-storage", (".doc", ".xls")),
}
_ODF_MIMETYPES = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ATTACHMENT_NAME = 120
MAX_SUMMARY_TEXT = 20000
# explicit directional embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) and the invisible marks
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
}


def agency_deadline(session: Session, year: int) -> dt.date:
    return yearly_due_date(session.get_one(Task, AGENCY_REPORT_TASK), year)


def board_deadline(session: Session, year: int) -> dt.date:
    return yearly_due_date(session.get_one(Task, BOARD_REPORT_TASK), year)


def reporting_agencies(session: Session) -> list[Agency]:
    """Agencies that owe a yearly report: every department and district committee the plan gives work to.

    The collective "UBND các huyện, thành phố" stands for each district committee; the board receives the
    reports and the provincial bodies receive the board's.
    """
    with_tasks = set(session.scalars(select(Task.lead_agency_id)))
    with_tasks |= set(session.scalars(select(task_coordinators.c.agency_id)))
    agencies = list(session.scalars(select(Agency).order_by(Agency.code)))
    collective_has_tasks = any(a.kind == "district_committees" and a.id in with_tasks for a in agencies)
    owing = []
    for agency in agencies:
        if agency.kind in ("department", "police") and agency.id in with_tasks:
            owing.append(agency)
        elif agency.kind == "district_committee" and (collective_has_tasks or agency.id in with_tasks):
            owing.append(agency)
    return owing


@dataclass
class AgencyStatus:
    agency: Agency
    report: AgencyReport | None
    deadline: dt.date

    @property
    def submitted(self) -> bool:
        return self.report is not None

    @property
    def submitted_late(self) -> bool:
        # deadlines are Vietnamese calendar days: 01:00 on 16/12 in Bắc Giang is late even if it is 15/12 in UTC
        return self.report is not None and clock.local(self.report.submitted_at).date() > self.deadline

    def late(self, today: dt.date) -> bool:
        return self.submitted_late or (self.report is None and today > self.deadline)


@dataclass
class CycleStatus:
    year: int
    agency_deadline: dt.date
    board_deadline: dt.date
    agencies: list[AgencyStatus]

    def days_to(self, deadline: dt.date, today: dt.date) -> int:
        return (deadline - today).days

    def late(self, today: dt.date) -> list[AgencyStatus]:
        return [status for status in self.agencies if status.late(today)]


def check_year(year: int, today: dt.date) -> None:
    if not FIRST_YEAR <= year <= today.year + 1:
        raise BadRequest(
            _l("Reports exist for %(first)d to %(last)d.", first=FIRST_YEAR, last=today.year + 1),
            field="year",
        )


def cycle_status(session: Session, year: int, today: dt.date) -> CycleStatus:
    check_year(year, today)
    deadline = agency_deadline(session, year)
    reports = {r.agency_id: r for r in session.scalars(select(AgencyReport).where(AgencyReport.year == year))}
    return CycleStatus(
        year=year,
        agency_deadline=deadline,
        board_deadline=board_deadline(session, year),
        agencies=[
            AgencyStatus(agency=a, report=reports.get(a.id), deadline=deadline)
            for a in reporting_agencies(session)
        ],
    )


def agency_tasks(session: Session, agency: Agency) -> list[Task]:
    """The tasks an agency reports on: those it leads or coordinates, and those the collective it belongs to has."""
    ids = {agency.id}
    if agency.kind == "district_committee":
        ids |= set(session.scalars(select(Agency.id).where(Agency.kind == "district_committees")))
    coordinated = select(task_coordinators.c.task_id).where(task_coordinators.c.agency_id.in_(ids))
    query = (
        select(Task).where((Task.lead_agency_id.in_(ids)) | Task.id.in_(coordinated)).order_by(Task.position)
    )
    return list(session.scalars(query.options(selectinload(Task.lead_agency))))


def get_agency(session: Session, code: str) -> Agency:
    agency = session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
    if agency is None:
        raise NotFound(_l("Unknown agency %(value)s", value=code))
    return agency


def get_report(session: Session, agency: Agency, year: int) -> AgencyReport | None:
    return session.scalars(
        select(AgencyReport)
        .where(AgencyReport.agency_id == agency.id, AgencyReport.year == year)
        .options(selectinload(AgencyReport.items))
    ).one_or_none()


def attachment_name(filename: str) -> str:
    """An uploaded file's name as khgeo keeps and shows it: no folders, no control characters (NUL included), no
    bidirectional overrides (which make "report\u202excod.exe" read "report.docx"), at most MAX_ATTACHMENT_NAME
    characters with the extension kept."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        char
        for char in name
        if char not in _BIDI_CONTROLS and unicodedata.category(char) not in ("Cc", "Cs", "Co", "Cn")
    )
    name = " ".join(name.split())
    stem, dot, extension = name.rpartition(".")
    if not dot or not extension or len(extension) > 10 or " " in extension:
        stem, extension = name, ""
    extension = f".{extension}" if extension else ""
    stem = stem.strip(". ")[: MAX_ATTACHMENT_NAME - len(extension)].rstrip(". ") or "tep-dinh-kem"
    return stem + extension


def check_attachment(data: bytes, filename: str) -> str:
    """The content type of a document attachment; ValidationFailed if it is not a document.

    A Word, Excel or OpenDocument file is opened as one (python-docx, openpyxl, the ODF mimetype and a parsed
    content.xml): "a zip with a word/ folder" is not enough.
    """
    name = filename.lower()
    extension = name[name.rfind(".") :] if "." in name else ""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed({"attachment": _l("The attachment is larger than 20 MB.")})
    for signature, (_kind, extensions) in _DOCUMENT_SIGNATURES.items():
        if data.startswith(signature) and extension in extensions:
            if signature == b"PK\x03\x04" and not _opens_as(data, extension):
                raise ValidationFailed(
                    {
                        "attachment": _l(
                            "%(name)s cannot be opened as the document its name says: it is damaged or "
                            "something else.",
                            name=filename,
                        )
                    }
                )
            return _CONTENT_TYPES[extension]
    raise ValidationFailed(
        {
            "attachment": _l(
                "%(name)s is not a document: attach a PDF, Word, Excel or OpenDocument file.", name=filename
            )
        }
    )


def _opens_as(data: bytes, extension: str) -> bool:
    """Whether a zip-based office file really is a document of its extension's kind."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > 10_000 or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                return False  # a zip bomb dressed as a document
            if extension in _ODF_MIMETYPES:
                if archive.read("mimetype").decode("ascii", "replace").strip() != _ODF_MIMETYPES[extension]:
                    return False
                etree.fromstring(archive.read("content.xml"), _SAFE_XML)
                return True
        if extension == ".docx":
            import docx

            docx.Document(io.BytesIO(data))
            return True
        if extension == ".xlsx":
            from openpyxl import load_workbook

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook = load_workbook(io.BytesIO(data), read_only=True)
                try:
                    return len(workbook.sheetnames) > 0
                finally:
                    workbook.close()
    except Exception as exc:  # zipfile, lxml, python-docx and openpyxl each raise their own kinds
        log.info("attachment is not a %s document: %s", extension, type(exc).__name__)
        return False
    return False


def submit_report(
    session: Session,
    agency: Agency,
    year: int,
    user: User,
    *,
    summary: str,
    items: dict[str, str],
    attachment: tuple[bytes, str] | None,
    today: dt.date,
) -> AgencyReport:
    """Create or replace the agency's report for the year (a resubmission keeps one report, versioned)."""
    check_year(year, today)
    allowed = {task.id for task in agency_tasks(session, agency)}
    errors = {}
    unknown = set(items) - allowed
    if unknown:
        errors["items"] = _l("These tasks are not your agency's: %(ids)s", ids=", ".join(sorted(unknown)))
    if len(summary) > MAX_SUMMARY_TEXT:
        errors["summary"] = _l("Too long (%(n)d characters at most).", n=MAX_SUMMARY_TEXT)
    for task_id, text in items.items():
        if len(text) > MAX_ITEM_TEXT:
            errors[f"item-{task_id}"] = _l("Too long (%(n)d characters at most).", n=MAX_ITEM_TEXT)
    content_type = ""
    if attachment:
        attachment = (attachment[0], attachment_name(attachment[1]))
        try:
            content_type = check_attachment(*attachment)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if not summary.strip() and not any(text.strip() for text in items.values()) and attachment is None:
        errors["summary"] = _l(
            "The report is empty: write a summary, report on a task, or attach the report."
        )
    if errors:
        raise ValidationFailed(errors)
    existing = get_report(session, agency, year)
    created = existing is None
    report = existing or AgencyReport(agency=agency, year=year)
    if created:
        session.add(report)
    report.submitted_by = user
    report.submitted_at = clock.now()
    report.summary = summary.strip()
    report.items = [
        AgencyReportItem(task_id=task_id, text=text.strip())
        for task_id, text in sorted(items.items())
        if text.strip()
    ]
    if attachment:
        report.attachment, report.attachment_name = attachment
        report.attachment_type = content_type
    record(
        session,
        user,
        "report.submit" if created else "report.resubmit",
        "report",
        f"{agency.code}/{year}",
        {},
        {"tasks": len(report.items), "attachment": report.attachment_name},
    )
    session.flush()
    return report
