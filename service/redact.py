"""What the service may say about its configuration: no credentials, and over HTTP no paths.

A tracking URI such as ``https://user:secret@mlflow.example/`` reaches error messages
(a failed load, a failed reload) and the log; ``redact_credentials`` takes the secret
out of every URI in a text, wherever it is. HTTP answers, /ready's included (no key
needed), also lose the machine's absolute paths (``public``): a path names the
user, the layout of the disk and where the model store lives, which the log keeps
for the operator.
"""

from __future__ import annotations

import re

REDACTED = "***"
# scheme://user:password@ or scheme://token@: everything between "//" and "@".
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")
# An absolute path, alone or in a file: or sqlite: URI: kept as its last component.
# It starts at the text's start, after a space, quote, bracket, "=" or a "scheme://".
_ABSOLUTE_PATH = re.compile(
    r"(?P<lead>^|[\s'\"(\[=]|:///?)/(?:[^\s/'\"()\[\],;]+/)*(?P<last>[^\s/'\"()\[\],;]*)"
)


def redact_credentials(text: str) -> str:
    """``text`` with the user and password of every URI in it replaced by ``***``."""
    return _USERINFO.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)


def _shorten(match: re.Match[str]) -> str:
    return f"{match['lead']}.../{match['last']}"


def public(text: str) -> str:
    """``text`` fit for an HTTP answer: no credentials, and each absolute path cut to
    ``.../<its last component>`` so the answer still says which file it means."""
    return _ABSOLUTE_PATH.sub(_shorten, redact_credentials(text))
