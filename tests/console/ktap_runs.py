"""What a console test keeps of one KTAP run (the in-kernel suites, a user
test program): the parsed document, the raw output, the serial log, and
whether the machine failed while producing it."""

from __future__ import annotations

from dataclasses import dataclass

from kos import ktap


@dataclass
class Run:
    document: ktap.Document
    output: str
    log_path: object
    failed: bool = False
