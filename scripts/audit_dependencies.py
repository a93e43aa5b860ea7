"""Audit installed Python distributions against PyPI's published vulnerability advisories.

Why this exists: pip-audit's PyPI service asks https://pypi.org/pypi/NAME/VERSION/json for each
installed version, and its OSV service asks api.osv.dev. On this project's build network the
per-version endpoint answers 404 and OSV is unreachable, so pip-audit cannot run. The project
endpoint https://pypi.org/pypi/NAME/json does answer, and its top-level "vulnerabilities" list is
the same PyPI advisory data pip-audit's PyPI service reads.

Its limit: that list concerns the project's latest release (info.version) only. So a distribution
is audited only when its installed version is PyPI's latest release. Any other version is reported
as unaudited rather than clean; --strict makes unaudited distributions fail the audit.

Ignore list: pyproject.toml, [tool.letterbox.audit], key ``ignore``: a list of tables
``{id = "GHSA-...", reason = "why it does not apply"}``; the id may be the advisory id or any of
its aliases, and every entry needs a reason.

Exit codes: 0 no vulnerabilities; 1 vulnerabilities found (or unaudited distributions with
--strict); 2 the audit could not run (bad ignore list, or PyPI gave no usable answer at all).

Usage: .venv/bin/python scripts/audit_dependencies.py [--strict] [--json PATH]
       [--requirement NAME==VERSION ...]
Environment: AUDIT_PYPI_URL (default https://pypi.org/pypi), AUDIT_PYPROJECT (default: the
repository's pyproject.toml).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

DEFAULT_INDEX = "https://pypi.org/pypi"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PROJECT_NAME = "letterbox"
TIMEOUT_SECONDS = 20.0
TRIES = 3
BACKOFF_SECONDS = 0.5
WORKERS = 8
LATEST_ONLY = "the advisory data reachable here covers the latest release only"


class AuditError(Exception):
    """The audit itself cannot run; the message says what to do."""


class NotOnIndex(Exception):
    """The index answered 404 for the project."""


class Unreachable(Exception):
    """The index gave no answer after every try."""


class BadAnswer(Exception):
    """The index answered, but not with the expected project JSON."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str


@dataclass(frozen=True)
class Ignore:
    id: str
    reason: str


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    link: str
    summary: str

    def names(self) -> set[str]:
        return {self.id.upper(), *(alias.upper() for alias in self.aliases)}


@dataclass(frozen=True)
class Finding:
    name: str
    version: str
    advisory: Advisory


@dataclass(frozen=True)
class Ignored:
    finding: Finding
    ignore: Ignore


@dataclass(frozen=True)
class Unaudited:
    name: str
    version: str
    reason: str
    latest: str | None = None


@dataclass
class Outcome:
    """What one distribution's check produced."""

    pin: Pin
    answered: bool
    findings: list[Finding] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    unaudited: Unaudited | None = None
    error: str | None = None


@dataclass
class Report:
    outcomes: list[Outcome]

    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    def ignored(self) -> list[Ignored]:
        return [i for o in self.outcomes for i in o.ignored]

    def unaudited(self) -> list[Unaudited]:
        return [o.unaudited for o in self.outcomes if o.unaudited is not None]

    def audited_count(self) -> int:
        return len(self.outcomes) - len(self.unaudited())


# --- what to audit -------------------------------------------------------------------------


def installed_pins() -> list[Pin]:
    """Every installed distribution of this interpreter, once per canonical name."""
    seen: dict[str, Pin] = {}
    for dist in importlib.metadata.distributions():
        raw_name = dist.metadata["Name"]
        if not raw_name:
            continue
        name = canonicalize_name(raw_name)
        if name != PROJECT_NAME and name not in seen:
            seen[name] = Pin(name, dist.version)
    return sorted(seen.values(), key=lambda pin: pin.name)


def parse_requirement(text: str) -> Pin:
    name, sep, version = text.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise argparse.ArgumentTypeError(f"expected NAME==VERSION, got {text!r}")
    return Pin(canonicalize_name(name.strip()), version.strip())


# --- ignore list ---------------------------------------------------------------------------


def load_ignores(path: Path) -> list[Ignore]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AuditError(f"cannot read the ignore list from {path}: {exc}") from exc
    section = data.get("tool", {}).get("letterbox", {}).get("audit", {})
    entries = section.get("ignore", []) if isinstance(section, dict) else None
    if not isinstance(entries, list):
        raise AuditError(
            f"{path}: [tool.letterbox.audit] ignore must be a list of "
            '{id = "...", reason = "..."} tables'
        )
    return [parse_ignore(path, number, entry) for number, entry in enumerate(entries, start=1)]


def parse_ignore(path: Path, number: int, entry: object) -> Ignore:
    where = f"{path}: [tool.letterbox.audit] ignore entry {number}"
    if not isinstance(entry, dict):
        raise AuditError(f'{where} must be a table {{id = "...", reason = "..."}}')
    unknown = sorted(set(entry) - {"id", "reason"})
    if unknown:
        raise AuditError(f"{where} has unknown keys {unknown}; only id and reason are allowed")
    advisory_id, reason = entry.get("id"), entry.get("reason")
    if not isinstance(advisory_id, str) or not advisory_id.strip():
        raise AuditError(f"{where} has no id; give the advisory id or one of its aliases")
    if not isinstance(reason, str) or not reason.strip():
        raise AuditError(
            f'{where} (id {advisory_id!r}) has no reason; add reason = "why it does not apply"'
        )
    return Ignore(advisory_id.strip(), reason.strip())


# --- fetching ------------------------------------------------------------------------------


def project_url(index: str, name: str) -> str:
    return f"{index.rstrip('/')}/{urllib.parse.quote(name)}/json"


def fetch_project(url: str) -> dict[str, Any]:
    """The project JSON, retrying network errors and 5xx/429 answers with back-off."""
    last = "no attempt made"
    for attempt in range(TRIES):
        if attempt:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            return decode(fetch_once(url))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotOnIndex(url) from exc
            last = f"HTTP {exc.code} from {url}"
            if exc.code < 500 and exc.code != 429:
                break
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc} ({url})"
    raise Unreachable(last)


def fetch_once(url: str) -> bytes:
    headers = {"Accept": "application/json", "User-Agent": "letterbox-dependency-audit"}
    # The scheme is checked in check_index: only http(s) URLs get here.
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        body: bytes = response.read()
    return body


def decode(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadAnswer(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadAnswer("not a JSON object")
    return data


def check_index(index: str) -> str:
    if urllib.parse.urlsplit(index).scheme not in ("http", "https"):
        raise AuditError(f"AUDIT_PYPI_URL must be an http(s) URL, got {index!r}")
    return index


# --- judging -------------------------------------------------------------------------------


def latest_version(data: dict[str, Any]) -> str:
    info = data.get("info")
    version = info.get("version") if isinstance(info, dict) else None
    if not isinstance(version, str) or not version:
        raise BadAnswer("no info.version")
    return version


def live_advisories(data: dict[str, Any]) -> list[Advisory]:
    """The advisories that are not withdrawn."""
    entries = data.get("vulnerabilities", [])
    if not isinstance(entries, list):
        raise BadAnswer('"vulnerabilities" is not a list')
    return [parse_advisory(entry) for entry in entries if not is_withdrawn(entry)]


def is_withdrawn(entry: object) -> bool:
    return isinstance(entry, dict) and entry.get("withdrawn") is not None


def parse_advisory(entry: object) -> Advisory:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise BadAnswer("a vulnerability entry has no id")
    summary = entry.get("summary") or entry.get("details") or ""
    return Advisory(
        id=entry["id"],
        aliases=string_tuple(entry.get("aliases")),
        fixed_in=string_tuple(entry.get("fixed_in")),
        link=entry.get("link") or "",
        summary=summary if isinstance(summary, str) else "",
    )


def string_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadAnswer(f"expected a list of strings, got {value!r}")
    return tuple(value)


def same_version(installed: str, latest: str) -> bool:
    try:
        return Version(installed) == Version(latest)
    except InvalidVersion:
        return installed == latest


def judge(pin: Pin, data: dict[str, Any], ignores: Sequence[Ignore]) -> Outcome:
    latest = latest_version(data)
    advisories = live_advisories(data)
    if not same_version(pin.version, latest):
        reason = f"installed {pin.version}, PyPI's latest {latest} ({LATEST_ONLY})"
        return Outcome(pin, True, unaudited=Unaudited(pin.name, pin.version, reason, latest))
    outcome = Outcome(pin, True)
    for advisory in advisories:
        finding = Finding(pin.name, pin.version, advisory)
        match = matching_ignore(advisory, ignores)
        if match is None:
            outcome.findings.append(finding)
        else:
            outcome.ignored.append(Ignored(finding, match))
    return outcome


def matching_ignore(advisory: Advisory, ignores: Sequence[Ignore]) -> Ignore | None:
    names = advisory.names()
    return next((ignore for ignore in ignores if ignore.id.upper() in names), None)


def check(pin: Pin, index: str, ignores: Sequence[Ignore]) -> Outcome:
    try:
        return judge(pin, fetch_project(project_url(index, pin.name)), ignores)
    except NotOnIndex:
        return Outcome(pin, False, unaudited=Unaudited(pin.name, pin.version, "not on PyPI"))
    except BadAnswer as exc:
        reason = f"PyPI's answer was not usable ({exc})"
        return Outcome(pin, True, unaudited=Unaudited(pin.name, pin.version, reason))
    except Unreachable as exc:
        reason = f"PyPI unreachable ({exc})"
        unaudited = Unaudited(pin.name, pin.version, reason)
        return Outcome(pin, False, unaudited=unaudited, error=str(exc))


def audit(pins: Sequence[Pin], index: str, ignores: Sequence[Ignore]) -> Report:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda pin: check(pin, index, ignores), pins))
    return Report(outcomes)


def ensure_index_answered(report: Report, index: str) -> None:
    """Exit-2 condition: no distribution got a usable answer from the index."""
    if not report.outcomes or any(outcome.answered for outcome in report.outcomes):
        return
    errors = [outcome.error for outcome in report.outcomes if outcome.error]
    detail = f"first error: {errors[0]}" if errors else "every project answered 404"
    raise AuditError(
        f"PyPI's JSON API at {index} gave no usable answer for any of the "
        f"{len(report.outcomes)} distributions ({detail}); check network access to it, or set "
        "AUDIT_PYPI_URL to a reachable PyPI JSON API (https://HOST/pypi)"
    )


# --- output --------------------------------------------------------------------------------


def finding_line(finding: Finding) -> str:
    advisory = finding.advisory
    aliases = f" ({', '.join(advisory.aliases)})" if advisory.aliases else ""
    fixed = f"fixed in {', '.join(advisory.fixed_in)}" if advisory.fixed_in else "no fix listed"
    link = f" — {advisory.link}" if advisory.link else ""
    return f"VULNERABLE {finding.name}=={finding.version}: {advisory.id}{aliases} {fixed}{link}"


def ignored_line(item: Ignored) -> str:
    finding = item.finding
    return (
        f"ignored: {finding.advisory.id} ({item.ignore.reason}) — {finding.name}=={finding.version}"
    )


def unaudited_line(item: Unaudited) -> str:
    return f"unaudited: {item.name}=={item.version}: {item.reason}"


def summary_line(report: Report) -> str:
    return (
        f"audited {report.audited_count()} of {len(report.outcomes)} distributions; "
        f"{len(report.findings())} vulnerabilities; {len(report.unaudited())} unaudited"
    )


def text_lines(report: Report) -> Iterable[str]:
    yield from (finding_line(finding) for finding in report.findings())
    yield from (ignored_line(item) for item in report.ignored())
    yield from (unaudited_line(item) for item in report.unaudited())
    yield summary_line(report)


def exit_code(report: Report, strict: bool) -> int:
    if report.findings() or (strict and report.unaudited()):
        return 1
    return 0


def failure_hint(report: Report, strict: bool) -> str | None:
    if report.findings():
        return (
            "audit failed: upgrade the vulnerable distributions, or add an ignore entry with a "
            "reason under [tool.letterbox.audit] in pyproject.toml"
        )
    if strict and report.unaudited():
        return (
            "audit failed (--strict): some distributions could not be audited; upgrade them to "
            "PyPI's latest release or run without --strict"
        )
    return None


def json_report(report: Report, index: str, strict: bool) -> dict[str, Any]:
    return {
        "index": index,
        "strict": strict,
        "exit_code": exit_code(report, strict),
        "summary": {
            "distributions": len(report.outcomes),
            "audited": report.audited_count(),
            "vulnerabilities": len(report.findings()),
            "ignored": len(report.ignored()),
            "unaudited": len(report.unaudited()),
        },
        "vulnerabilities": [finding_json(finding) for finding in report.findings()],
        "ignored": [
            {**finding_json(item.finding), "reason": item.ignore.reason}
            for item in report.ignored()
        ],
        "unaudited": [asdict(item) for item in report.unaudited()],
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {"name": finding.name, "version": finding.version, **asdict(finding.advisory)}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


# --- entry point ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--strict", action="store_true", help="fail on unaudited distributions")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report here")
    parser.add_argument(
        "--requirement",
        action="append",
        type=parse_requirement,
        default=[],
        metavar="NAME==VERSION",
        help="audit these pins instead of the installed distributions (repeatable)",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[Report, str]:
    index = check_index(os.environ.get("AUDIT_PYPI_URL") or DEFAULT_INDEX)
    ignores = load_ignores(Path(os.environ.get("AUDIT_PYPROJECT") or PYPROJECT))
    pins: list[Pin] = args.requirement or installed_pins()
    report = audit(pins, index, ignores)
    ensure_index_answered(report, index)
    return report, index


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report, index = run(args)
    except AuditError as exc:
        print(f"audit could not run: {exc}", file=sys.stderr)
        if args.json:
            write_json(args.json, {"exit_code": 2, "error": str(exc)})
        return 2
    for line in text_lines(report):
        print(line)
    hint = failure_hint(report, args.strict)
    if hint:
        print(hint, file=sys.stderr)
    if args.json:
        write_json(args.json, json_report(report, index, args.strict))
    return exit_code(report, args.strict)


if __name__ == "__main__":
    sys.exit(main())
