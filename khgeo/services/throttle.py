"""Login throttling: counters in the database, updated atomically, so the limit holds across threads and instances.

A guess is counted *before* its password is checked (one INSERT … ON CONFLICT DO UPDATE … RETURNING, which
locks the counter row), so 16 concurrent wrong passwords get at most ``PAIR_LIMIT`` evaluations. Counters are
kept per (username, address) pair and, with a far higher limit, per address. At a limit the key waits a delay
that doubles at each lockout (1, 2, 4 … 15 minutes): never a permanent lockout, and an attacker at one address
cannot lock the account's owner out from another. Each statement runs in its own short transaction on its own
connection: the counter must be visible to concurrent requests at once, whatever the caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from khgeo.db import independent_transaction
from khgeo.models import LoginAttempt, LoginThrottle

PAIR_LIMIT = 5  # wrong passwords per (username, address) before a delay
ADDRESS_LIMIT = 100  # wrong passwords per address (an office behind one NAT address) before a delay
FAILURE_WINDOW = dt.timedelta(minutes=15)  # failures older than this are forgotten
FIRST_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(minutes=15)
LOCKOUT_MEMORY = dt.timedelta(days=1)  # the delay grows again from the start after a quiet day

_RESERVE = text(
    """
    INSERT INTO login_throttles AS t (scope, key, failures, window_started_at, lockouts)
    VALUES (:scope, :key, 1, now(), 0)
    ON CONFLICT (scope, key) DO UPDATE SET
        failures = CASE WHEN t.window_started_at < now() - :window THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN t.window_started_at < now() - :window
                                 THEN now() ELSE t.window_started_at END,
        lockouts = CASE WHEN t.blocked_until < now() - :memory THEN 0 ELSE t.lockouts END
    WHERE (t.blocked_until IS NULL OR t.blocked_until <= now())
      AND (t.failures < :limit OR t.window_started_at < now() - :window)
    RETURNING t.failures
    """
)
# the failure that reaches the limit starts the delay (guesses still in flight then change nothing)
_FAILED = text(
    """
    UPDATE login_throttles SET
        blocked_until = now() + LEAST(:first * power(2, lockouts), :max) * interval '1 second',
        lockouts = lockouts + 1,
        failures = 0,
        window_started_at = now()
    WHERE scope = :scope AND key = :key AND failures >= :limit
      AND (blocked_until IS NULL OR blocked_until <= now())
    """
)
_WAIT = text(
    """
    SELECT GREATEST(extract(epoch FROM coalesce(blocked_until, now() + :first * interval '1 second') - now()), 1)
    FROM login_throttles WHERE scope = :scope AND key = :key
    """
)
_SUCCEEDED_PAIR = text("DELETE FROM login_throttles WHERE scope = 'pair' AND key = :key")
# a right password gives back its own guess to the address, no more: logging in cannot wash away others' failures
_SUCCEEDED_ADDRESS = text(
    "UPDATE login_throttles SET failures = GREATEST(failures - 1, 0) WHERE scope = 'address' AND key = :key"
)
# counters nobody has touched for a day are forgotten (the table stays small whatever an attacker tries)
_FORGET = text(
    "DELETE FROM login_throttles WHERE window_started_at < now() - :memory "
    "AND (blocked_until IS NULL OR blocked_until < now() - :memory)"
)
_LOG = text(
    "INSERT INTO login_attempts (username, remote_addr, success, throttled) "
    "VALUES (:username, :address, :success, :throttled)"
)


@dataclass(frozen=True)
class Guess:
    """A right to check one password for ``username`` from ``address``; ``wait_seconds`` > 0 when refused."""

    username: str
    address: str
    wait_seconds: int = 0

    @property
    def allowed(self) -> bool:
        return self.wait_seconds == 0

    @property
    def wait_minutes(self) -> int:
        return max(1, math.ceil(self.wait_seconds / 60))


def _limits() -> dict:
    return {
        "window": FAILURE_WINDOW,
        "memory": LOCKOUT_MEMORY,
        "first": FIRST_DELAY.total_seconds(),
        "max": MAX_DELAY.total_seconds(),
    }


def _keys(username: str, address: str) -> list[tuple[str, str, int]]:
    return [("address", address, ADDRESS_LIMIT), ("pair", f"{username}\n{address}", PAIR_LIMIT)]


def _own_transaction(session: Session):
    return independent_transaction(session)


def reserve(session: Session, username: str, address: str) -> Guess:
    """Count a guess before checking it; a refused guess is logged and its wait returned."""
    with _own_transaction(session) as conn:
        for scope, key, limit in _keys(username, address):
            params = {"scope": scope, "key": key, "limit": limit, **_limits()}
            if conn.execute(_RESERVE, params).first() is None:
                wait = conn.execute(_WAIT, params).scalar_one()
                _log(conn, username, address, success=False, throttled=True)
                return Guess(username, address, wait_seconds=math.ceil(wait))
    return Guess(username, address)


def settle(session: Session, guess: Guess, *, success: bool) -> None:
    """Record how a reserved guess went: a failure may start a delay, a success clears the pair's count."""
    with _own_transaction(session) as conn:
        if success:
            conn.execute(_SUCCEEDED_PAIR, {"key": f"{guess.username}\n{guess.address}"})
            conn.execute(_SUCCEEDED_ADDRESS, {"key": guess.address})
        else:
            for scope, key, limit in _keys(guess.username, guess.address):
                conn.execute(_FAILED, {"scope": scope, "key": key, "limit": limit, **_limits()})
            conn.execute(_FORGET, {"memory": LOCKOUT_MEMORY})
        _log(conn, guess.username, guess.address, success=success, throttled=False)


def _log(conn: Connection, username: str, address: str, *, success: bool, throttled: bool) -> None:
    conn.execute(_LOG, {"username": username, "address": address, "success": success, "throttled": throttled})


# -- what admins see (/admin/logins) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Delay:
    scope: str  # "pair" or "address"
    username: str
    address: str
    blocked_until: dt.datetime
    lockouts: int


def current_delays(session: Session) -> list[Delay]:
    rows = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.blocked_until > func.now())
        .order_by(LoginThrottle.blocked_until.desc())
    )
    delays = []
    for row in rows:
        username, _, address = row.key.rpartition("\n") if row.scope == "pair" else ("", "", row.key)
        # the WHERE above keeps only rows with a blocked_until
        delays.append(Delay(row.scope, username, address, cast(dt.datetime, row.blocked_until), row.lockouts))
    return delays


def recent_failures(session: Session, limit: int = 200) -> list[LoginAttempt]:
    return list(
        session.scalars(
            select(LoginAttempt)
            .where(LoginAttempt.success.is_(False))
            .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
            .limit(limit)
        )
    )
