"""Where the MLflow store is when nothing names one: the one answer for training, the
service, the notebooks and ``make mlflow-ui``.

Only the location lives here, as a string; nothing in ``model/`` talks to MLflow.

``MLFLOW_TRACKING_URI`` wins when set. Otherwise the store is ``mlflow.db`` in the
directory the command runs in, which is MLflow 3's own default, so a bare
``mlflow ui`` there opens the same runs. The Makefile runs every target from the
checkout's root, so ``make train``, ``make serve`` and ``make mlflow-ui`` share one
store; an installed copy (the Docker image) runs in a directory of its own choosing
instead of writing beside site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
STORE_FILE = "mlflow.db"
SQLITE_PREFIX = "sqlite:///"


def default_tracking_uri(directory: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI``, else the SQLite store in ``directory`` (the current one).

    Read when called, not at import, so a command (or a test that changes directory)
    gets the store of the directory it runs in.
    """
    if uri := os.environ.get(TRACKING_URI_ENV, "").strip():
        return uri
    return f"{SQLITE_PREFIX}{(directory or Path.cwd()).resolve() / STORE_FILE}"


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a local ``sqlite:///`` store, or ``None`` for any other store.

    The one place the URI is taken apart: callers ask whether the file exists (MLflow would
    create an empty store on first contact) or put artifacts beside it.
    """
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    return Path(tracking_uri.removeprefix(SQLITE_PREFIX))


def missing_sqlite_store(tracking_uri: str) -> Path | None:
    """The file a ``sqlite:///`` store would live in, when it does not exist yet."""
    database = sqlite_path(tracking_uri)
    return None if database is None or database.is_file() else database


def missing_store_reason(database: Path) -> str:
    """Why a command that reads the store stops where its SQLite file is not: the file it
    looked for and the variable that would point elsewhere."""
    variable = os.environ.get(TRACKING_URI_ENV) or "unset"
    return (
        f"no MLflow store at {database}: run the command where `make train` wrote "
        f"{database.name} (the checkout's root), or set {TRACKING_URI_ENV} (now {variable})"
    )


if __name__ == "__main__":
    # `python -m model.store` prints the URI, so the Makefile need not restate the rule.
    print(default_tracking_uri())
