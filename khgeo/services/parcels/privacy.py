"""Land users' names and households are personal data (Decree 13/2023/NĐ-CP): the masked form others see.

LOCAL FALLBACK written by helper U3 (exports) so its branch runs alone: U1 owns this module and defines
``mask_land_user`` with this signature; at merge, keep U1's file.
"""

from __future__ import annotations

from flask_babel import gettext

MASK_VI = "Ẩn (dữ liệu cá nhân)"
PERSONAL_FIELDS = ("land_user_name", "households", "people")


def mask_land_user(name: str | None, language: str | None = None) -> str:
    """What a reader who may not see the land user reads instead of the name ("" when there is no name).
    ``language``: a fixed language for files ("vi"); None: the request's."""
    if not (name or "").strip():
        return ""
    if language == "vi":
        return MASK_VI
    return gettext("Hidden (personal data)")
