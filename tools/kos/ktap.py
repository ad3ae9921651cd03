"""A parser for KTAP v1, the result format of Linux's KUnit and of ktest.

    KTAP version 1
    1..1
        KTAP version 1
        # Subtest: heap
        1..2
        ok 1 kmalloc_zero_returns_null
        # krealloc_keeps_the_contents: EXPECTATION FAILED at kernel/test/heap_test.c:60
        not ok 2 krealloc_keeps_the_contents
    not ok 1 heap

A subtest is indented four spaces more than its parent; its result line
follows it at the parent's indentation. `# ` lines are diagnostics of the
result line that follows them (or of the document when none follows).
Lines that are not KTAP (a kernel report printed during a case, a register
dump) are kept with the diagnostics of the test they appeared in.

What goes wrong is reported, not raised: a log that ends inside a test
makes that test CRASHED (its name is unknown when it never printed a
result: the number is known), a plan that promises more tests than ran, or
numbers out of sequence, are ERRORs of the test (or document) that holds
the plan.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

INDENT = 4

_VERSION = re.compile(r"^(?:K?TAP) version (\d+)$")
_PLAN = re.compile(r"^1\.\.(\d+)$")
_RESULT = re.compile(r"^(ok|not ok)\s+(\d+)(?:\s+(?:- )?([^#]*?))?\s*(?:#\s*(.*))?$")
_SUBTEST = re.compile(r"^# Subtest: (.*)$")
_DIRECTIVE = re.compile(r"^(SKIP|TODO)\b\s*(.*)$", re.I)


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    TODO = "todo"          # not ok, but expected to fail: not a failure
    CRASH = "crash"        # the log ended before the test's result line
    ERROR = "error"        # the test's own block is malformed (short plan, bad numbers)


@dataclass
class Test:
    """One test: a case (no subtests) or a suite (subtests)."""

    number: int
    name: str | None                 # None when the log ended before its result line
    status: Status
    directive_reason: str = ""       # the text after SKIP or TODO
    diagnostics: list[str] = field(default_factory=list)
    subtests: list[Test] = field(default_factory=list)
    plan: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAIL, Status.CRASH, Status.ERROR)

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Test]]:
        """Every case (leaf) under this test, with the names leading to it."""
        here = (*path, self.name or f"#{self.number}")
        if not self.subtests:
            yield here, self
        for sub in self.subtests:
            yield from sub.walk(here)

    def find(self, name: str) -> Test | None:
        return next((t for t in self.subtests if t.name == name), None)


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    todo: int = 0
    crashed: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.todo + self.crashed

    def __str__(self) -> str:
        return (f"{self.total} cases: {self.passed} passed, {self.failed} failed, "
                f"{self.skipped} skipped, {self.todo} todo, {self.crashed} crashed, "
                f"{self.errors} errors")


@dataclass
class Document:
    """A whole KTAP document: the top-level plan and tests."""

    version: int | None
    plan: int | None
    tests: list[Test]
    diagnostics: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every case passed, skipped or is TODO, and nothing is malformed."""
        return (self.version is not None and not self.errors
                and not any(t.failed or t.errors for t in self.all_tests()))

    def all_tests(self) -> Iterator[Test]:
        """Every test at every level."""
        for t in self.tests:
            yield t
            yield from _descendants(t)

    def find(self, name: str) -> Test | None:
        return next((t for t in self.tests if t.name == name), None)

    def cases(self) -> Iterator[tuple[tuple[str, ...], Test]]:
        for t in self.tests:
            yield from t.walk()

    def counts(self) -> Counts:
        c = Counts()
        for _, t in self.cases():
            if t.status is Status.PASS:
                c.passed += 1
            elif t.status is Status.SKIP:
                c.skipped += 1
            elif t.status is Status.TODO:
                c.todo += 1
            elif t.status is Status.CRASH:
                c.crashed += 1
            else:
                c.failed += 1
        c.errors = len(self.errors) + sum(len(t.errors) for t in self.all_tests())
        return c


def _descendants(t: Test) -> Iterator[Test]:
    for sub in t.subtests:
        yield sub
        yield from _descendants(sub)


@dataclass
class _Line:
    indent: int
    text: str            # without the indentation


@dataclass
class _Block:
    """What one nesting level has gathered so far."""

    version: int | None = None
    name: str | None = None          # from "# Subtest:"
    plan: int | None = None
    tests: list[Test] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)     # diagnostics awaiting a result
    errors: list[str] = field(default_factory=list)
    open_sub: _Block | None = None   # a subtest whose result line has not come yet
    sub_ended: bool = False          # the log ended inside open_sub


def _is_ktap(text: str) -> bool:
    return bool(_VERSION.match(text) or _PLAN.match(text) or _RESULT.match(text)
                or text.startswith("#"))


def _diag_text(text: str) -> str:
    return text[1:].removeprefix(" ") if text.startswith("#") else text


class _Parser:
    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.pos = 0

    def peek(self) -> _Line | None:
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def block(self, indent: int) -> tuple[_Block, bool]:
        """Parse the lines of one level; returns it and whether the log ended
        inside it (rather than at a line of an outer level)."""
        b = _Block()
        while (line := self.peek()) is not None:
            if not _is_ktap(line.text):
                b.pending.append(line.text)          # printed by the code under test
                self.pos += 1
                continue
            if line.indent < indent:
                self._close_open(b)
                return b, False
            if line.indent > indent:
                self._close_open(b)
                b.open_sub, b.sub_ended = self.block(indent + INDENT)
                continue
            self.pos += 1
            text = line.text
            if m := _RESULT.match(text):
                sub, b.open_sub = b.open_sub, None
                b.tests.append(self.result(m, b, sub))
                continue
            if not (_VERSION.match(text) or _SUBTEST.match(text) or _PLAN.match(text)):
                b.pending.append(_diag_text(text))   # about the result that follows
                continue
            self._close_open(b)
            if m := _VERSION.match(text):
                if b.version is not None or b.tests:
                    b.errors.append(f"a second version line: {text!r}")
                b.version = int(m.group(1))
            elif m := _SUBTEST.match(text):
                b.name = m.group(1).strip()
            elif m := _PLAN.match(text):
                if b.plan is not None:
                    b.errors.append(f"a second plan: {text!r}")
                b.plan = int(m.group(1))
        self._close_open(b, at_end=True)
        return b, True

    def _close_open(self, b: _Block, at_end: bool = False) -> None:
        """A subtest that got no result line: the log ended in it, or
        something else came where its result should be."""
        sub = b.open_sub
        if sub is None:
            return
        if not at_end and not b.sub_ended and not sub.tests and sub.plan is None and sub.pending:
            # Only diagnostics were indented (e.g. a report): they belong to the next result.
            b.pending += sub.pending
            b.open_sub = None
            return
        b.open_sub = None
        ended = at_end or b.sub_ended
        t = Test(len(b.tests) + 1, sub.name, Status.CRASH, subtests=sub.tests, plan=sub.plan,
                 errors=sub.errors)
        _check_plan(t, sub, ended_early=ended)     # the case that was running takes its output
        t.diagnostics = sub.pending + b.pending
        b.pending = []
        if not ended:
            t.status = Status.ERROR
            t.errors.append("no result line after the subtest")
        b.tests.append(t)

    def result(self, m: re.Match[str], b: _Block, sub: _Block | None) -> Test:
        ok = m.group(1) == "ok"
        number = int(m.group(2))
        name = (m.group(3) or "").strip() or None
        directive, reason = "", ""
        if m.group(4) and (d := _DIRECTIVE.match(m.group(4).strip())):
            directive, reason = d.group(1).upper(), d.group(2).strip()
        if directive == "SKIP":
            status = Status.SKIP
        elif directive == "TODO":
            status = Status.TODO
        else:
            status = Status.PASS if ok else Status.FAIL
        expected = len(b.tests) + 1
        errors = []
        if number != expected:
            errors.append(f"test {name!r} is numbered {number}, expected {expected}")
        t = Test(number, name, status, reason, diagnostics=b.pending, errors=errors)
        b.pending = []
        if sub is not None:
            t.subtests, t.plan = sub.tests, sub.plan
            t.diagnostics = sub.pending + t.diagnostics
            t.errors += sub.errors
            if sub.name and name and sub.name != name:
                t.errors.append(f"subtest {sub.name!r} ends with the result of {name!r}")
            _check_plan(t, sub, ended_early=False)
        if t.errors and t.status in (Status.PASS, Status.SKIP):
            t.status = Status.ERROR
        return t


def _check_plan(t: Test, b: _Block, ended_early: bool) -> None:
    ran = len(b.tests)
    if b.plan is None:
        if not ended_early:
            t.errors.append("no plan")
        return
    if ran < b.plan:
        how = "the log ended" if ended_early else "short plan"
        t.errors.append(f"{how}: planned {b.plan} tests, {ran} ran")
        if ended_early and ran < b.plan:
            crashed = Test(ran + 1, None, Status.CRASH, diagnostics=b.pending)
            b.pending = []
            t.subtests = [*t.subtests, crashed]
    elif ran > b.plan:
        t.errors.append(f"planned {b.plan} tests, {ran} ran")


def _split(text: str) -> list[_Line]:
    """The lines from the first version line on, with their indentation."""
    raw = text.replace("\r", "").split("\n")
    start = next((i for i, s in enumerate(raw) if _VERSION.match(s.strip())), None)
    if start is None:
        return []
    base = len(raw[start]) - len(raw[start].lstrip(" "))
    out = []
    for s in raw[start:]:
        if not s.strip():
            continue
        body = s.lstrip(" ")
        out.append(_Line(len(s) - len(body) - base, body.rstrip()))
    return out


def parse(text: str) -> Document:
    """Parse the first KTAP document in text (a serial log: anything before
    the version line is ignored)."""
    lines = _split(text)
    if not lines:
        return Document(None, None, [], errors=["no 'KTAP version 1' line"])
    p = _Parser(lines)
    top, ended = p.block(0)
    while p.peek() is not None:          # lines at a negative indentation: outside the document
        p.pos += 1
    doc = Document(top.version, top.plan, top.tests, top.pending, top.errors)
    if top.plan is None:
        doc.errors.append("no plan")
    elif len(top.tests) < top.plan:
        crashed = any(t.status is Status.CRASH for t in top.tests)
        how = "the log ended" if crashed or not ended else "short plan"
        doc.errors.append(f"{how}: planned {top.plan} tests, {len(top.tests)} ran")
    elif len(top.tests) > top.plan:
        doc.errors.append(f"planned {top.plan} tests, {len(top.tests)} ran")
    return doc


def summary(doc: Document) -> str:
    """One line, as kunit.py ends: what ran and how it went."""
    verdict = "passed" if doc.ok else "FAILED"
    return f"ktap: {verdict}: {doc.counts()}"
