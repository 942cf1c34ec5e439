"""Fixtures for the browser tests of `ringlog serve`'s live page: headless
Chromium (Debian's chromium and chromium-driver) driven by Selenium, the
`ringlog` binary ($RINGLOG_BIN) serving and writing ring files.

The process helpers (Procs, ringlog_bin) are those of ../py/conftest.py.
One Chromium serves the whole session (it takes seconds to start on a
small machine); each test opens its page in it. Every wait is bounded and
every process is ended at the end of its test (Chromium at the end of the
session).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

HERE = Path(__file__).resolve().parent

_spec = importlib.util.spec_from_file_location("ringlog_py_conftest", HERE.parent / "py" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_py = importlib.util.module_from_spec(_spec)
sys.modules["ringlog_py_conftest"] = _py
_spec.loader.exec_module(_py)

Procs = _py.Procs
ringlog_bin = _py.ringlog_bin
SERVING = _py.SERVING
procs = _py.procs  # the fixture
ringlog = _py.ringlog  # the fixture

# Chromium's flags: headless, and none of its own network traffic (this
# machine's closed network refuses it, and it would slow every start).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1100,700",
]


def chromium_path() -> str:
    for p in [os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium")]:
        if p and os.access(p, os.X_OK):
            return p
    pytest.fail("chromium is not installed (apt-get install chromium chromium-driver; tests/browser/run does)")


def chromedriver_path() -> str:
    for p in [os.environ.get("CHROMEDRIVER"), "/usr/bin/chromedriver", shutil.which("chromedriver")]:
        if p and os.access(p, os.X_OK):
            return p
    pytest.fail("chromedriver is not installed (apt-get install chromium-driver; tests/browser/run does)")


def new_driver(profile: str, extra: list[str] | None = None) -> Any:
    """A headless Chromium with a fresh profile directory, its browser log
    (console messages, CSP reports) kept for the tests."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium_path()
    for flag in CHROMIUM_FLAGS + (extra or []) + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromedriver_path(), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    return driver


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="ringlog-chromium-")
    driver = new_driver(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """The session's browser, left on a blank page after the test (so that
    the page's stream ends with it)."""
    yield browser
    try:
        browser.get("about:blank")
    except Exception:
        pass


# ---- the ring and the server -------------------------------------------------


def write(ring: Path, *lines: str, capacity: str = "64KiB") -> None:
    """Writes each line as one record (`ringlog write` reading stdin); a
    new ring file gets `capacity`."""
    cap = [] if ring.exists() else ["--capacity", capacity]
    subprocess.run([ringlog_bin(), "write", *cap, str(ring)],
                   input="".join(line + "\n" for line in lines).encode(), check=True, timeout=30)


def stat(ring: Path) -> dict[str, Any]:
    out = subprocess.run([ringlog_bin(), "stat", "--json", str(ring)], capture_output=True, check=True, timeout=30)
    return json.loads(out.stdout)


def start_serve(procs: Any, ring: Path, listen: str = "127.0.0.1:0", timeout: float = 15.0) -> tuple[Any, str]:
    """Starts `ringlog serve FILE --listen ADDR`; the process and its base
    URL (from the line it prints on stderr once it listens)."""
    p = procs.start(ringlog_bin(), "serve", str(ring), "--listen", listen,
                    stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen += line
        m = SERVING.search(line)
        if m:
            return p, m.group(1).decode()
    p.kill()
    raise AssertionError(f"ringlog serve did not say where it listens: {seen!r}")


def wait_until(what: str, cond: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Polls `cond` until it returns something true (returned), at most
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(every)


def has_ringlog_module() -> bool:
    return subprocess.run([sys.executable, "-c", "import ringlog"], capture_output=True, timeout=30).returncode == 0


def digits(s: str) -> int:
    return int(re.sub(r"[^0-9]", "", s) or "-1")
