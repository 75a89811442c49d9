"""Whether a protection of issue 24 held, judged from what the attacker saw: pure functions.

An attack's outcome is a ``Reply``: the status, the seconds the client waited, the body and
headers, and ``facts`` the bench measured beside it (the server's memory growth, the slowest
/health answer while the attack ran, how many stalled sockets were cut). A ``Check`` reads a
reply and returns ``None`` when it is what a protected service gives, else a sentence
saying what is wrong; ``judge`` runs an attack's checks. No check measures anything itself,
so each can be shown failing on a made-up reply (tests/training/test_bench_hostile.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Absolute paths of the usual top folders of a Linux machine, wherever they stand in the
# text; the bench also checks the exact local paths it knows (model, checkout, home).
_MACHINE_PATH = re.compile(
    r"(?<![\w.*])/(?:home|root|tmp|work|usr|opt|var|srv|mnt|private|Users)/[\w.-]"
)


@dataclass(frozen=True)
class Reply:
    """What one attack got back, and what the bench measured while it ran.

    ``status`` is None when no answer came (the client left, or the connection was cut);
    ``skipped`` says why the attack could not be measured (then nothing is judged).
    """

    status: int | None
    seconds: float
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, float] = field(default_factory=dict)
    skipped: str = ""

    def payload(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


Check = Callable[[Reply], str | None]


@dataclass(frozen=True)
class Verdict:
    """``held``: True, False, or None where the attack could not be measured (``why`` says)."""

    held: bool | None
    why: str = ""

    @property
    def label(self) -> str:
        return {True: "yes", False: "NO", None: "n/a"}[self.held]


def judge(reply: Reply, checks: Iterable[Check]) -> Verdict:
    if reply.skipped:
        return Verdict(None, reply.skipped)
    problems = [problem for check in checks if (problem := check(reply)) is not None]
    return Verdict(not problems, "; ".join(problems))


def status_in(*codes: int) -> Check:
    def check(reply: Reply) -> str | None:
        if reply.status in codes:
            return None
        wanted = " or ".join(str(code) for code in codes)
        return f"answered {reply.status or 'nothing'}, not {wanted}"

    return check


def within(seconds: float) -> Check:
    def check(reply: Reply) -> str | None:
        if reply.seconds <= seconds:
            return None
        return f"took {reply.seconds:.2f} s, more than {seconds:g} s"

    return check


def at_most_bytes(limit: int) -> Check:
    def check(reply: Reply) -> str | None:
        if len(reply.body) <= limit:
            return None
        return f"a {len(reply.body)}-byte answer, more than {limit}"

    return check


def says(text: str) -> Check:
    def check(reply: Reply) -> str | None:
        return None if text in reply.text else f"the answer does not say {text!r}"

    return check


def without_header(name: str) -> Check:
    def check(reply: Reply) -> str | None:
        present = name.lower() in {key.lower() for key in reply.headers}
        return f"the answer carries {name}" if present else None

    return check


def errors_capped(cap: int) -> Check:
    """A validation answer lists at most ``cap`` errors and counts the rest."""

    def check(reply: Reply) -> str | None:
        payload = reply.payload()
        if not isinstance(payload, dict):
            return "the validation answer is not a JSON object"
        listed = payload.get("errors") or []
        if len(listed) > cap:
            return f"{len(listed)} errors listed, more than {cap}"
        if len(listed) == cap and not payload.get("errors_not_shown"):
            return "the errors past the cap are not counted (errors_not_shown)"
        return None

    return check


def fact_at_most(name: str, limit: float, what: str) -> Check:
    """``facts[name]`` at most ``limit``; a fact the bench could not measure (NaN, absent)
    is not judged."""

    def check(reply: Reply) -> str | None:
        value = reply.facts.get(name, float("nan"))
        if value != value or value <= limit:  # NaN: not measured here
            return None
        return f"{what}: {value:g}, more than {limit:g}"

    return check


def fact_equals(name: str, expected: float, what: str) -> Check:
    def check(reply: Reply) -> str | None:
        value = reply.facts.get(name)
        return None if value == expected else f"{what}: {value}, not {expected:g}"

    return check


def errors_are_json(reply: Reply) -> str | None:
    """Every refusal is ``{"detail": ...}`` JSON, never plain text or a stack trace."""
    if reply.status is None or reply.status < 400:
        return None
    payload = reply.payload()
    if not isinstance(payload, dict) or not isinstance(payload.get("detail"), str):
        return f"the {reply.status} answer is not JSON with a detail"
    return None


def never_a_server_error(reply: Reply) -> str | None:
    if reply.status is not None and reply.status >= 500 and reply.status != 503:
        return f"a server error ({reply.status})"
    return None


def leaks(text: str, secrets: Mapping[str, str], paths: Sequence[str]) -> list[str]:
    """What of the machine's secrets and paths ``text`` shows, named without the secret."""
    found = [name for name, secret in secrets.items() if secret and secret in text]
    found += [f"the path {path}" for path in paths if len(path) > 1 and path in text]
    if match := _MACHINE_PATH.search(text):
        found.append(f"an absolute path ({text[match.start() : match.end() + 20]!r}...)")
    return found


def no_leak(secrets: Mapping[str, str], paths: Sequence[str]) -> Check:
    """Neither the body nor a header shows a secret or a path of the machine."""

    def check(reply: Reply) -> str | None:
        shown = "\n".join([reply.text, *(f"{k}: {v}" for k, v in reply.headers.items())])
        found = leaks(shown, secrets, paths)
        return f"the answer shows {', '.join(found)}" if found else None

    return check
