"""What ``FirebaseStore`` sets up in firebase-admin: the credential, the SDK's own
HTTP retries, and which of its errors are worth retrying."""

from __future__ import annotations

from firebase_admin import credentials as fb_credentials
from firebase_admin import db, exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tokenmeter.config_setup import credentials_problem
from tokenmeter.errors import CredentialsInvalid

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    exceptions.UnavailableError,
    exceptions.DeadlineExceededError,
    exceptions.InternalError,
    exceptions.UnknownError,
)


def certificate(path: str) -> fb_credentials.Certificate:
    """The service-account credential in ``path``; ``CredentialsInvalid`` says what is wrong."""
    problem = credentials_problem(path)
    if problem is None:
        try:
            return fb_credentials.Certificate(path)
        except (OSError, ValueError) as err:  # e.g. a private key that does not parse
            problem = "not_service_account", str(err)
    reason, detail = problem
    raise CredentialsInvalid(detail, reason=reason, path=path)


def no_status_retries(root: db.Reference) -> None:
    """Let the SDK retry a broken connection once but not 500/503 answers: it would
    sleep up to 7.5 s per request; ``FirebaseStore._retrying`` retries instead."""
    retry = Retry(connect=1, read=1, status=0, raise_on_status=False, allowed_methods=None)
    session = root._client.session  # private: the SDK offers no retry option
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(max_retries=retry))
