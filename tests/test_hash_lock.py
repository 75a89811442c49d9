"""requirements.lock: the same pins as constraints.txt, each with hashes, nothing machine-specific.

`make install-locked` runs `pip install --require-hashes --no-deps -r requirements.lock`, which
installs exactly what the file lists: a package missing from it, or pinned to another version
than the suite passed with, would surface only on a user's machine.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_entries(text: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for each pinned block of a hashed requirements file."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in text.splitlines():
        pin = _PIN.match(line)
        if pin:
            name = _canonical(pin.group(1))
            entries[name] = (pin.group(2), 0)
        if name and _HASH.search(line):
            version, hashes = entries[name]
            entries[name] = (version, hashes + len(_HASH.findall(line)))
    return entries


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        pin = _PIN.match(line)
        if pin:
            pins[_canonical(pin.group(1))] = pin.group(2)
    return pins


def test_the_lock_pins_what_the_constraints_pin_and_hashes_every_entry() -> None:
    entries = _lock_entries((REPO / "requirements.lock").read_text(encoding="utf-8"))
    assert {name: version for name, (version, _) in entries.items() if name != "setuptools"} == (
        _constraints()
    )
    assert [name for name, (_, hashes) in entries.items() if hashes == 0] == []


def test_the_lock_names_no_machine_specific_package_path_or_index() -> None:
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert not re.search(r"^(torch|triton|nvidia-|cuda-)", text, re.MULTILINE | re.IGNORECASE)
    for line in text.splitlines():
        assert not line.lstrip().startswith(("-f", "--find-links", "--index-url", "-i ")), line
        assert "/tmp" not in line and "file:" not in line and "/opt/" not in line, line


def test_the_lock_writer_drops_torch_its_cuda_packages_and_pip_compiles_notes() -> None:
    spec = importlib.util.spec_from_file_location("hash_lock", REPO / ".ci" / "hash_lock.py")
    assert spec and spec.loader
    hash_lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hash_lock)
    compiled = "\n".join(
        [
            "# pip-compile --output-file=/tmp/x/pins.txt /tmp/x/pins.in",
            "--find-links /opt/wheels",
            "fastapi==0.1.0 \\",
            "    --hash=sha256:" + "a" * 64,
            "    # via -r /tmp/x/pins.in",
            "nvidia-cublas==13.4.1.3 \\",
            "    --hash=sha256:" + "b" * 64,
            "torch==2.15.0 \\",
            "    --hash=sha256:" + "c" * 64,
            "tqdm==4.0.0 \\",
            "    --hash=sha256:" + "d" * 64,
        ]
    )
    written = hash_lock.without_machine_specific(compiled)
    assert "fastapi==0.1.0" in written and "tqdm==4.0.0" in written
    assert "torch" not in written.split("\n", 3)[-1] and "nvidia" not in written
    assert "/tmp" not in written and "/opt" not in written
    assert written.count("--hash=sha256:") == 2
