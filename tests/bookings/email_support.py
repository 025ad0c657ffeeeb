"""Shared by the email intake tests: the recorded messages and a way to store one."""

from __future__ import annotations

from pathlib import Path

MAIL = Path(__file__).parent / "fixtures" / "mail"


def eml(name: str) -> bytes:
    return (MAIL / f"{name}.eml").read_bytes()
