"""scripts/audit_dependencies.py, run as CI runs it, against a local fake PyPI JSON API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "audit_dependencies.py"

ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
    "summary": "Request smuggling",
    "details": "A crafted request is read as two.",
    "fixed_in": ["2.0.1"],
    "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
    "source": "osv",
    "withdrawn": None,
}


@dataclass
class FakePyPI:
    """Project JSON by name; a name in ``failures`` first answers 503 that many times."""

    url: str
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def publish(self, name: str, latest: str, vulnerabilities: list[dict[str, Any]]) -> None:
        self.projects[name] = {
            "info": {"name": name, "version": latest},
            "releases": {},
            "vulnerabilities": vulnerabilities,
        }

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        parts = path.strip("/").split("/")
        name = parts[1] if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" else ""
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            return 503, b"busy"
        if name not in self.projects:
            return 404, b'{"message": "Not Found"}'
        return 200, json.dumps(self.projects[name]).encode()


@pytest.fixture
def pypi() -> Iterator[FakePyPI]:
    fake = FakePyPI(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/pypi"
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "letterbox"\n')
    return path


def run_audit(
    index: str, pyproject: Path, *args: str, requirements: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDIT_PYPI_URL": index, "AUDIT_PYPROJECT": str(pyproject)}
    pins = [arg for requirement in requirements for arg in ("--requirement", requirement)]
    return subprocess.run(
        [sys.executable, str(SCRIPT), *pins, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_clean_dependencies_pass(pypi: FakePyPI, pyproject: Path) -> None:
    pypi.publish("alpha", "1.0", [])
    pypi.publish("beta", "2.0.0", [])

    result = run_audit(pypi.url, pyproject, requirements=("Alpha==1.0", "beta==2.0"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "audited 2 of 2 distributions; 0 vulnerabilities; 0 unaudited" in result.stdout
    assert sorted(pypi.requests) == ["/pypi/alpha/json", "/pypi/beta/json"]


def test_a_known_vulnerability_in_the_installed_latest_release_fails_the_audit(
    pypi: FakePyPI, pyproject: Path, tmp_path: Path
) -> None:
    pypi.publish("alpha", "2.0.0", [ADVISORY])
    pypi.publish("beta", "1.0", [])
    report = tmp_path / "report.json"

    result = run_audit(
        pypi.url, pyproject, "--json", str(report), requirements=("alpha==2.0.0", "beta==1.0")
    )

    assert result.returncode == 1
    assert (
        "VULNERABLE alpha==2.0.0: PYSEC-2099-1 (CVE-2099-0001, GHSA-aaaa-bbbb-cccc) fixed in "
        "2.0.1 — https://osv.dev/vulnerability/PYSEC-2099-1"
    ) in result.stdout.splitlines()
    assert "audited 2 of 2 distributions; 1 vulnerabilities; 0 unaudited" in result.stdout
    data = json.loads(report.read_text())
    assert data["exit_code"] == 1
    assert [(v["name"], v["id"], v["fixed_in"]) for v in data["vulnerabilities"]] == [
        ("alpha", "PYSEC-2099-1", ["2.0.1"])
    ]


def test_withdrawn_advisories_do_not_fail_the_audit(pypi: FakePyPI, pyproject: Path) -> None:
    pypi.publish("alpha", "2.0.0", [{**ADVISORY, "withdrawn": "2099-02-01T00:00:00Z"}])

    result = run_audit(pypi.url, pyproject, requirements=("alpha==2.0.0",))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "PYSEC-2099-1" not in result.stdout
    assert "audited 1 of 1 distributions; 0 vulnerabilities; 0 unaudited" in result.stdout


def test_an_ignored_advisory_needs_a_reason(pypi: FakePyPI, pyproject: Path) -> None:
    pypi.publish("alpha", "2.0.0", [ADVISORY])
    pyproject.write_text(
        "[tool.letterbox.audit]\n"
        'ignore = [{id = "CVE-2000-1", reason = "not used"}, {id = "CVE-2099-0001", reason = " "}]\n'
    )

    result = run_audit(pypi.url, pyproject, requirements=("alpha==2.0.0",))

    assert result.returncode == 2
    assert "ignore entry 2 (id 'CVE-2099-0001') has no reason" in result.stderr
    assert pypi.requests == []


def test_an_ignored_advisory_with_a_reason_passes_and_is_reported(
    pypi: FakePyPI, pyproject: Path
) -> None:
    pypi.publish("alpha", "2.0.0", [ADVISORY])
    pyproject.write_text(
        "[tool.letterbox.audit]\n"
        'ignore = [{id = "GHSA-aaaa-bbbb-cccc", reason = "we never parse chunked bodies"}]\n'
    )

    result = run_audit(pypi.url, pyproject, requirements=("alpha==2.0.0",))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignored: PYSEC-2099-1 (we never parse chunked bodies)" in result.stdout
    assert "VULNERABLE" not in result.stdout
    assert "audited 1 of 1 distributions; 0 vulnerabilities; 0 unaudited" in result.stdout


def test_an_older_installed_version_is_reported_unaudited_not_clean(
    pypi: FakePyPI, pyproject: Path
) -> None:
    pypi.publish("alpha", "2.0.0", [ADVISORY])

    result = run_audit(pypi.url, pyproject, requirements=("alpha==1.9",))

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "unaudited: alpha==1.9: installed 1.9, PyPI's latest 2.0.0 "
        "(the advisory data reachable here covers the latest release only)"
    ) in result.stdout.splitlines()
    assert "VULNERABLE" not in result.stdout
    assert "audited 0 of 1 distributions; 0 vulnerabilities; 1 unaudited" in result.stdout


def test_strict_fails_on_unaudited(pypi: FakePyPI, pyproject: Path) -> None:
    pypi.publish("alpha", "2.0.0", [])
    pins = ("alpha==2.0.0", "private-tool==0.3")

    lenient = run_audit(pypi.url, pyproject, requirements=pins)
    strict = run_audit(pypi.url, pyproject, "--strict", requirements=pins)

    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert strict.returncode == 1
    assert "unaudited: private-tool==0.3: not on PyPI" in strict.stdout.splitlines()
    assert "audited 1 of 2 distributions; 0 vulnerabilities; 1 unaudited" in strict.stdout
    assert "--strict" in strict.stderr


def test_a_server_error_is_retried(pypi: FakePyPI, pyproject: Path) -> None:
    pypi.publish("alpha", "2.0.0", [ADVISORY])
    pypi.failures["alpha"] = 2

    result = run_audit(pypi.url, pyproject, requirements=("alpha==2.0.0",))

    assert result.returncode == 1
    assert pypi.requests == ["/pypi/alpha/json"] * 3
    assert "VULNERABLE alpha==2.0.0: PYSEC-2099-1" in result.stdout


def test_unreachable_index_exits_2_with_what_to_do(pyproject: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = tmp_path / "report.json"

    result = run_audit(
        f"http://127.0.0.1:{port}/pypi",
        pyproject,
        "--json",
        str(report),
        requirements=("alpha==1.0", "beta==2.0"),
    )

    assert result.returncode == 2
    [reason] = result.stderr.splitlines()
    assert "gave no usable answer for any of the 2 distributions" in reason
    assert "set AUDIT_PYPI_URL" in reason
    assert json.loads(report.read_text())["exit_code"] == 2
