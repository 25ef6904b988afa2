"""Accounts: creation, passwords (scrypt via werkzeug, a length and common-password policy), server-side login
sessions, API tokens with names and expiry, and login with atomic throttling (services/throttle.py)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from khgeo import clock
from khgeo.db import independent_transaction
from khgeo.errors import BadRequest, KhgeoError, NotFound
from khgeo.models import ROLES, Agency, ApiToken, District, User, UserSession
from khgeo.services import throttle
from khgeo.services.admin_units import match_district
from khgeo.services.audit import record

USERNAME = re.compile(r"^[a-z0-9_.-]{3,60}$")
MIN_PASSWORD = 12
TOKEN_PREFIX = "khg_"
TOKEN_DAYS = 365  # a token's default lifetime
MAX_TOKEN_DAYS = 3650
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often per token
# a real hash to compare against when the user does not exist, so timing does not reveal usernames
_DUMMY_HASH = generate_password_hash("not-a-real-password")
_PADDING = " 0123456789!@#$%^&*()-_=+.,;:?~'\"/\\|[]{}<>`"


class TooManyAttempts(KhgeoError):
    status = 429

    def __init__(self, minutes: int):
        super().__init__(_l("Too many failed logins. Try again in %(minutes)d minute(s).", minutes=minutes))


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common leaked passwords, as zxcvbn ships them (loaded on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, username: str = "") -> None:
    """At least MIN_PASSWORD characters and not guessable: not a common password, even with digits or symbols
    around it ("Password2024!"), not the username, not a few characters repeated."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(
            _l("The password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    if (
        lowered in _common_passwords()
        or core in _common_passwords()
        or (username and core == username.lower())
        or len(set(lowered)) < 5
    ):
        raise BadRequest(
            _l(
                "This password is too easy to guess (a common or leaked password, the username, or a few "
                "characters repeated). Choose a phrase of several words."
            ),
            field="password",
        )


def get_user(session: Session, username: str) -> User:
    user = session.scalars(
        select(User).where(User.username == username).options(selectinload(User.districts))
    ).one_or_none()
    if user is None:
        raise NotFound(_l("No user %(name)s", name=username))
    return user


def resolve_districts(session: Session, names: list[str]) -> list[District]:
    districts = list(session.scalars(select(District)))
    chosen = []
    for name in names:
        match = match_district(districts, name)
        if match is None:
            raise BadRequest(_l("Unknown district %(value)s", value=name))
        chosen.append(match)
    return chosen


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    districts: Sequence[str] = (),
    display_name: str = "",
    agency: str | None = None,
    actor: User | None = None,
    units: Sequence[str] = (),
) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise BadRequest(_l("A username has 3–60 characters: letters a–z, digits, '.', '_' or '-'."))
    if role not in ROLES:
        raise BadRequest(
            _l("Unknown role %(value)s: use one of %(allowed)s", value=role, allowed=", ".join(ROLES))
        )
    check_password_policy(password, username)
    if session.scalars(select(User.id).where(User.username == username)).first():
        raise BadRequest(_l("The username %(name)s is taken.", name=username))
    chosen = resolve_districts(session, list(districts))
    from khgeo.services.units.resolve import resolve_unit  # an area of units of 2022 or 2025 (issue 13)

    chosen_units = list({unit.id: unit for unit in (resolve_unit(session, name) for name in units)}.values())
    if role == "field" and not chosen and not chosen_units:
        raise BadRequest(_l("Field staff need at least one unit or district (--unit, --district)."))
    agency_row = None
    if agency:
        agency_row = session.scalars(select(Agency).where(Agency.code == agency.upper())).one_or_none()
        if agency_row is None:
            raise BadRequest(_l("Unknown agency %(value)s", value=agency))
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=generate_password_hash(password),
        districts=chosen,
        agency=agency_row,
    )
    user.units = chosen_units
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        "user",
        username,
        {
            "role": [None, role],
            "districts": [None, [d.code for d in chosen]],
            **(
                {"units": [None, [f"{u.full_name} ({u.code}, {u.period})" for u in chosen_units]]}
                if units
                else {}
            ),
        },
    )
    return user


def disable_user(session: Session, username: str, actor: User | None = None) -> User:
    user = get_user(session, username)
    if user.active:
        user.active = False
        now = clock.now()
        for token in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = now
        end_sessions(session, user)
        record(session, actor, "user.disable", "user", username, {"active": [True, False]})
    return user


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- passwords -------------------------------------------------------------------------------------------------
def change_password(
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    *,
    remote_addr: str,
    keep_session: str | None = None,
) -> int:
    """Set a new password after checking the current one (throttled like a login); other sessions end.

    Returns how many other sessions were ended."""
    if authenticate(session, user.username, current_password, remote_addr) is None:
        raise BadRequest(_l("The current password is wrong."), field="current_password")
    check_password_policy(new_password, user.username)
    user.password_hash = generate_password_hash(new_password)
    ended = end_sessions(session, user, keep=keep_session)
    record(session, user, "user.password", "user", user.username, {}, {"sessions_ended": ended})
    return ended


# -- login sessions --------------------------------------------------------------------------------------------
def start_session(
    session: Session, user: User, *, lifetime: dt.timedelta, remote_addr: str = "", user_agent: str = ""
) -> str:
    """A new login for ``user``: returns the random key the cookie carries (only its hash is stored)."""
    # the user's expired logins go now: the table holds live sessions, not history
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at <= func.now() - lifetime
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            key_sha256=_sha256(key),
            remote_addr=remote_addr[:64],
            user_agent=user_agent[:200],
        )
    )
    return key


def user_for_session(session: Session, user_id: int, key: str | None, lifetime: dt.timedelta) -> User | None:
    """The user of a live session: its row exists (no logout since) and it began less than ``lifetime`` ago."""
    if not key or not isinstance(key, str):
        return None
    return (
        session.scalars(
            select(User)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                User.id == user_id,
                User.active.is_(True),
                UserSession.key_sha256 == _sha256(key),
                UserSession.created_at > func.now() - lifetime,
            )
            .options(joinedload(User.districts), joinedload(User.agency))
        )
        .unique()
        .one_or_none()
    )


def end_session(session: Session, key: str | None) -> None:
    if key and isinstance(key, str):
        session.execute(delete(UserSession).where(UserSession.key_sha256 == _sha256(key)))


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> int:
    """End every session of ``user`` (all devices), except the one whose key is ``keep``; how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        statement = statement.where(UserSession.key_sha256 != _sha256(keep))
    return cast(CursorResult, session.execute(statement)).rowcount


def list_sessions(session: Session, user: User, lifetime: dt.timedelta) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.created_at > func.now() - lifetime)
            .order_by(UserSession.created_at.desc())
        )
    )


def session_key_hash(key: str | None) -> str:
    """What a session row stores for a cookie's key (to mark "this device" in a list)."""
    return _sha256(key) if key else ""


# -- API tokens ------------------------------------------------------------------------------------------------
def new_token(
    session: Session,
    username: str,
    actor: User | None = None,
    *,
    name: str = "",
    days: int = TOKEN_DAYS,
) -> str:
    """A new API token valid for ``days``; only its hash is stored, so it is shown this once."""
    user = get_user(session, username)
    if not user.active:
        raise BadRequest(_l("The account %(name)s is disabled.", name=username))
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise BadRequest(_l("A token lasts 1 to %(n)d days.", n=MAX_TOKEN_DAYS), field="days")
    name = name.strip()[:100]
    expires_at = clock.now() + dt.timedelta(days=days)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_sha256=_sha256(token), name=name, expires_at=expires_at)
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "user.token",
        "user",
        username,
        {"token": [None, row.id]},
        {"note": name, "expires": expires_at.date().isoformat()},
    )
    return token


def list_tokens(session: Session, username: str) -> list[ApiToken]:
    user = get_user(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, actor: User | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id, options=[joinedload(ApiToken.user)])
    if token is None:
        raise NotFound(_l("No API token %(id)s", id=token_id))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        record(session, actor, "user.token_revoke", "user", token.user.username, {"token": [token.id, None]})
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user of a live token (not revoked, not expired, account active); notes when it was last used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    # one round trip: the token's user with the districts authorisation needs
    row = (
        session.execute(
            select(User, ApiToken.id, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_sha256 == _sha256(token),
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > func.now(),
                User.active.is_(True),
            )
            .options(joinedload(User.districts), joinedload(User.agency))
        )
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    user, token_id, last_used_at = row
    if last_used_at is None or last_used_at < clock.now() - TOKEN_TOUCH_EVERY:
        _touch_token(session, token_id)
    return user


def _touch_token(session: Session, token_id: int) -> None:
    """Note the use in its own short transaction (a GET commits nothing); concurrent uses write it once."""
    with independent_transaction(session) as conn:
        conn.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < func.now() - TOKEN_TOUCH_EVERY),
            )
            .values(last_used_at=func.now())
        )


# -- login -----------------------------------------------------------------------------------------------------
def authenticate(session: Session, username: str, password: str, remote_addr: str) -> User | None:
    """The user if the password is right; TooManyAttempts when throttled. Every attempt is logged."""
    username = username.strip().lower()[:60]
    guess = throttle.reserve(session, username, remote_addr)
    if not guess.allowed:
        raise TooManyAttempts(guess.wait_minutes)
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active)
    throttle.settle(session, guess, success=ok)
    return user if ok else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.districts)).order_by(User.username)))
