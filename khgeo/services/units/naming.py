"""The province as it is now and the former one, from settings: the header, pages and documents name them
("tỉnh Bắc Ninh — địa bàn tỉnh Bắc Giang cũ"); the plan's own text is never rewritten."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from khgeo.services.reports.data import ReportIssuer


def area_name(settings: Mapping[str, Any]) -> str:
    """ "tỉnh Bắc Ninh — địa bàn tỉnh Bắc Giang cũ" (KHGEO_PROVINCE_NAME, KHGEO_FORMER_PROVINCE_NAME)."""
    province = (settings.get("KHGEO_PROVINCE_NAME") or "").strip()
    former = (settings.get("KHGEO_FORMER_PROVINCE_NAME") or "").strip()
    if province and former:
        return f"{province} — địa bàn {former}"
    return province or former


def report_issuer(settings: Mapping[str, Any]) -> ReportIssuer:
    """The yearly report's issuing body, under the People's Committee of the province as it is now, dated there."""
    province = (settings.get("KHGEO_PROVINCE_NAME") or "").strip()
    if not province:
        return ReportIssuer()
    place = province
    for prefix in ("tỉnh ", "Tỉnh ", "thành phố ", "Thành phố "):
        place = place.removeprefix(prefix)
    return ReportIssuer(
        parent=f"UBND {province.upper()}",
        body=settings.get("KHGEO_REPORT_ISSUER") or ReportIssuer.body,
        place=place,
        area=area_name(settings),
    )
