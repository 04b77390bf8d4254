"""Staff accounts for the web page: argon2 password hashes and a lock-out kept in the database.

The lock-out counts failed logins per user name, known or not (so a wrong name
and a wrong password look the same from outside), and is stored in
``login_throttle`` so that a restart does not lift it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.staff_models import LoginThrottle, StaffUser

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist: the same work either way.
_DUMMY_HASH = _hasher.hash("no such user")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,100}$")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A user name or password that cannot be used (the message says why, in English)."""


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures lock a user name, and for how long."""

    max_failures: int = 5
    lock_minutes: float = 15.0


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user, or why not (and until when, if locked)."""

    user: StaffUser | None
    locked_until: dt.datetime | None = None


def normalise(username: str) -> str:
    """User names are compared without case or surrounding space."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of the password (length checked first)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def get_user(session: Session, username: str) -> StaffUser | None:
    """The account with this user name, or None."""
    return session.scalar(select(StaffUser).where(StaffUser.username == normalise(username)))


def add_user(session: Session, username: str, password: str, now: dt.datetime) -> StaffUser:
    """Create an account, or set a new password for an existing one."""
    name = normalise(username)
    if not USERNAME_RE.match(name):
        raise AccountError("a user name is 1 to 100 letters, digits or . _ @ + -")
    digest = hash_password(password)
    user = get_user(session, name)
    if user is None:
        user = StaffUser(username=name, password_hash=digest, created_at=now)
        session.add(user)
    else:
        user.password_hash = digest
    session.flush()
    return user


def remove_user(session: Session, username: str) -> bool:
    """Delete an account; False if there was none."""
    user = get_user(session, username)
    if user is None:
        return False
    session.delete(user)
    return True


def list_users(session: Session) -> list[StaffUser]:
    """Every account, by name."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def count_users(session: Session) -> int:
    """How many accounts there are."""
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def _throttle(session: Session, name: str) -> LoginThrottle:
    row = session.get(LoginThrottle, name, with_for_update=True)
    if row is None:
        row = LoginThrottle(username=name, failures=0)
        session.add(row)
    return row


def check_login(session: Session, username: str, password: str, now: dt.datetime,
                policy: LoginPolicy) -> LoginResult:
    """Verify a login; count failures and lock the name after ``policy.max_failures``.

    While a name is locked even the right password is refused. The caller commits.
    """
    name = normalise(username)[:255]
    throttle = _throttle(session, name)
    if throttle.locked_until is not None and throttle.locked_until > now:
        return LoginResult(None, throttle.locked_until)
    user = get_user(session, name) if name else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= policy.max_failures:
            throttle.locked_until = now + dt.timedelta(minutes=policy.lock_minutes)
            throttle.failures = 0  # after the lock the count starts again
            return LoginResult(None, throttle.locked_until)
        return LoginResult(None)
    throttle.failures, throttle.locked_until = 0, None
    assert user is not None  # a wrong or unknown name returned above
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user)
