"""Accounts: creation, passwords (scrypt via werkzeug), API tokens, login with rate limiting."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from khgeo import clock
from khgeo.errors import BadRequest, KhgeoError, NotFound
from khgeo.models import ROLES, Agency, ApiToken, District, LoginAttempt, User
from khgeo.services.admin_units import match_district
from khgeo.services.audit import record

USERNAME = re.compile(r"^[a-z0-9_.-]{3,60}$")
MIN_PASSWORD = 10
# at most this many failed logins per username, and per address, in the window
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
TOKEN_PREFIX = "khg_"
# a real hash to compare against when the user does not exist, so timing does not reveal usernames
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class TooManyAttempts(KhgeoError):
    status = 429

    def __init__(self):
        super().__init__(_l("Too many failed logins. Wait 15 minutes and try again."))


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
    districts: list[str] = (),
    display_name: str = "",
    agency: str | None = None,
    actor: User | None = None,
) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise BadRequest(_l("A username has 3–60 characters: letters a–z, digits, '.', '_' or '-'."))
    if role not in ROLES:
        raise BadRequest(
            _l("Unknown role %(value)s: use one of %(allowed)s", value=role, allowed=", ".join(ROLES))
        )
    if len(password) < MIN_PASSWORD:
        raise BadRequest(_l("The password needs at least %(n)d characters.", n=MIN_PASSWORD))
    if session.scalars(select(User.id).where(User.username == username)).first():
        raise BadRequest(_l("The username %(name)s is taken.", name=username))
    chosen = resolve_districts(session, list(districts))
    if role == "field" and not chosen:
        raise BadRequest(_l("Field staff need at least one district (--district)."))
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
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        "user",
        username,
        {"role": [None, role], "districts": [None, [d.code for d in chosen]]},
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
        record(session, actor, "user.disable", "user", username, {"active": [True, False]})
    return user


def new_token(session: Session, username: str, actor: User | None = None) -> str:
    """A new API token; only its hash is stored, so it is shown this once."""
    user = get_user(session, username)
    if not user.active:
        raise BadRequest(_l("The account %(name)s is disabled.", name=username))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_sha256=hashlib.sha256(token.encode()).hexdigest()))
    record(session, actor, "user.token", "user", username, {})
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    # one round trip: the token's user with the districts authorisation needs
    user = (
        session.scalars(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None), User.active.is_(True))
            .options(joinedload(User.districts), joinedload(User.agency))
        )
        .unique()
        .one_or_none()
    )
    return user


def authenticate(session: Session, username: str, password: str, remote_addr: str) -> User | None:
    """The user if the password is right; records the attempt; TooManyAttempts when throttled."""
    username = username.strip().lower()[:60]
    # measured with the database's clock, which stamped the attempts (LoginAttempt.at)
    since = func.now() - FAILURE_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.at >= since,
            LoginAttempt.success.is_(False),
            or_(LoginAttempt.username == username, LoginAttempt.remote_addr == remote_addr),
        )
    )
    if failures >= MAX_FAILURES:
        raise TooManyAttempts()
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active)
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, success=ok))
    return user if ok else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.districts)).order_by(User.username)))
