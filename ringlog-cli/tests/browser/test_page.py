"""`ringlog serve`'s live page (GET /) in a real browser: headless
Chromium driven by Selenium, records written by `ringlog write` in other
processes.

Each test serves its own ring file and opens the page in the session's
Chromium; waits are bounded (`wait_until`), processes are killed at the
end (conftest.py). The screenshot for the README goes to
$RINGLOG_SCREENSHOT when set (docs/serve-page.png), else to the test's
temporary directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from conftest import digits, has_ringlog_module, ringlog_bin, start_serve, stat, wait_until, write

ROWS_JS = """
return Array.from(document.querySelectorAll('#log .rec'), r => {
  const lost = r.querySelector('.lost');
  return {seq: Number(r.dataset.seq), gutter: r.querySelector('.seq').textContent,
          text: r.querySelector('.msg').textContent, hidden: r.offsetParent === null
            || getComputedStyle(r.querySelector('.msg')).display === 'none',
          lost: lost ? lost.textContent : null};
});
"""


def rows(page: Any) -> list[dict[str, Any]]:
    return page.execute_script(ROWS_JS)


def state(page: Any) -> dict[str, Any]:
    return page.execute_script("return window.ringlogPage.state()")


def texts(page: Any, visible_only: bool = False) -> list[str]:
    return [r["text"] for r in rows(page) if not (visible_only and r["hidden"])]


def open_page(page: Any, base: str, query: str = "") -> None:
    page.get(base + "/" + query)
    wait_until("the page's stream is open", lambda: state(page)["readyState"] == 1)


def wait_texts(page: Any, want: list[str], timeout: float = 10.0) -> None:
    wait_until(f"the page shows {want[-3:]}", lambda: texts(page)[-len(want):] == want, timeout)


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    p = tmp_path / "app.ring"
    write(p, "first record")
    return p


def test_records_appear_live_as_text_with_their_seq_and_the_ring_facts(page: Any, procs: Any, ring: Path) -> None:
    _, base = start_serve(procs, ring)
    open_page(page, base)
    wait_texts(page, ["first record"])

    # Written by other processes while the page is open: they appear.
    write(ring, "second", "third")
    subprocess.run([ringlog_bin(), "write", str(ring), "fourth", "record"], check=True, timeout=30)  # arguments
    wait_texts(page, ["first record", "second", "third", "fourth record"])
    got = rows(page)
    assert [r["seq"] for r in got] == [0, 1, 2, 3]
    assert [r["gutter"] for r in got] == ["0", "1", "2", "3"]  # seq in the gutter
    assert all(r["lost"] is None for r in got)

    # Untrusted records stay text: no element, no script, no alert.
    evil = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "</span><b id=bold>bold</b>",
            "&lt;amp&gt; \"quotes\" 'single'", "a\tb  c   spaced"]
    write(ring, *evil)
    wait_texts(page, evil)
    assert page.execute_script("return document.images.length + document.querySelectorAll('#log *:not(div):not(span), #bold, script:not([src])').length") == 0
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert.text
    msgs = page.find_elements(By.CSS_SELECTOR, "#log .rec .msg")
    assert msgs[-5].get_attribute("textContent") == "<img src=x onerror=alert(1)>"
    assert msgs[-5].get_attribute("innerHTML") == "&lt;img src=x onerror=alert(1)&gt;"

    # The ring's facts from /stat, refreshed while the page is open.
    assert page.find_element(By.ID, "name").text == "app.ring"
    assert page.find_element(By.ID, "capacity").text == "64 KiB"
    write(ring, *[f"more {i}" for i in range(20)])
    wait_until("the written count is refreshed",
               lambda: digits(page.find_element(By.ID, "written").text) == stat(ring)["written"] == 29, timeout=8)
    assert page.title == "app.ring · ringlog"

    # The page runs under its own Content-Security-Policy without a
    # violation, and its script logged no error.
    logs = page.get_log("browser")
    bad = [e for e in logs if e["level"] == "SEVERE" or "Content Security Policy" in e["message"]]
    assert not bad, bad


def test_filter_substring_and_regex(page: Any, procs: Any, ring: Path) -> None:
    write(ring, "alpha one", "beta two", "ALPHA three", "gamma 4")
    _, base = start_serve(procs, ring)
    open_page(page, base)
    wait_texts(page, ["gamma 4"])
    box = page.find_element(By.ID, "filter")

    box.send_keys("alpha")
    want = ["alpha one", "ALPHA three"]  # substring, any case
    wait_until("the substring filter", lambda: texts(page, visible_only=True) == want)
    write(ring, "alpha five (live)", "delta six")  # new records are filtered too
    wait_texts(page, ["alpha five (live)", "delta six"])
    wait_until("new records filtered", lambda: texts(page, visible_only=True) == want + ["alpha five (live)"])
    assert "match the filter" in page.find_element(By.ID, "counts").text

    page.find_element(By.ID, "regex").click()
    box.clear()
    box.send_keys(r"^(beta|delta) \w+$")
    wait_until("the regex filter", lambda: texts(page, visible_only=True) == ["beta two", "delta six"])
    box.clear()
    box.send_keys("(unclosed")
    wait_until("an invalid regex is marked and filters nothing",
               lambda: "invalid" in (box.get_attribute("class") or "") and len(texts(page, visible_only=True)) == 7)
    box.clear()
    box.send_keys("x")
    box.clear()
    wait_until("an empty filter shows everything", lambda: len(texts(page, visible_only=True)) == 7)


def test_lost_records_are_marked(page: Any, procs: Any, tmp_path: Path) -> None:
    # A tiny ring lapped many times: the page asks for seq 0, long
    # evicted, so its first record comes after a gap (the server's reader
    # reports it as `event: lost`).
    ring = tmp_path / "tiny.ring"
    write(ring, *[f"burst record {i:03d}" for i in range(200)], capacity="1KiB")
    s = stat(ring)
    assert s["capacity"] == 1024 and s["oldest_seq"] > 0
    oldest = s["oldest_seq"]
    _, base = start_serve(procs, ring)
    open_page(page, base, "?from=0")
    wait_texts(page, ["burst record 199"])
    got = rows(page)
    assert got[0]["seq"] == oldest and got[0]["text"] == f"burst record {oldest:03d}"
    assert got[0]["lost"] == f"{oldest} records lost here"
    assert [r["lost"] for r in got[1:]] == [None] * (len(got) - 1)
    assert page.find_element(By.CSS_SELECTOR, "#log .lost").is_displayed()
    # The marker stays visible when the filter hides its record.
    page.find_element(By.ID, "filter").send_keys("no such text")
    wait_until("filtered", lambda: texts(page, visible_only=True) == [])
    assert page.find_element(By.CSS_SELECTOR, "#log .lost").is_displayed()
    assert f"{oldest} lost" in page.find_element(By.ID, "counts").text


def test_pause_follow_and_the_cap(page: Any, procs: Any, ring: Path) -> None:
    _, base = start_serve(procs, ring)
    open_page(page, base, "?keep=100")
    wait_texts(page, ["first record"])

    pause = page.find_element(By.ID, "pause")
    pause.click()
    assert pause.text == "Resume" and page.find_element(By.ID, "status").text == "paused"
    write(ring, *[f"while paused {i}" for i in range(30)])
    wait_until("received while paused", lambda: state(page)["received"] == 31)
    assert texts(page) == ["first record"]  # not shown while paused
    wait_until("the waiting ones counted", lambda: "30 waiting" in page.find_element(By.ID, "counts").text)
    pause.click()
    wait_texts(page, [f"while paused {i}" for i in range(30)])

    # Follows the newest while at the bottom...
    write(ring, *[f"line {i}" for i in range(150)])
    wait_texts(page, ["line 149"])
    at_bottom = "const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 8"
    wait_until("at the bottom", lambda: page.execute_script(at_bottom))
    # ...keeps only the newest 100 (?keep=100)...
    got = rows(page)
    assert len(got) == 100 and got[-1]["text"] == "line 149" and got[0]["seq"] == 181 - 100
    # ...and stays where the user scrolled to.
    page.execute_script("document.getElementById('log').scrollTop = 0")
    wait_until("no longer following", lambda: not state(page)["stick"])
    write(ring, *[f"after scrolling {i}" for i in range(10)])
    wait_texts(page, ["after scrolling 9"])
    assert not page.execute_script(at_bottom)
    jump = page.find_element(By.ID, "jump")
    assert jump.is_displayed()
    jump.click()
    wait_until("back at the bottom", lambda: page.execute_script(at_bottom) and state(page)["stick"])
    assert len(rows(page)) == 100


def test_reconnects_after_a_server_restart_without_duplicates(page: Any, procs: Any, ring: Path) -> None:
    server, base = start_serve(procs, ring)
    open_page(page, base)
    write(ring, *[f"before {i}" for i in range(5)])
    wait_texts(page, [f"before {i}" for i in range(5)])

    server.send_signal(signal.SIGTERM)  # its streams are cut
    server.wait(timeout=10)
    wait_until("the page notices", lambda: page.find_element(By.ID, "status").text in ("reconnecting", "server unreachable, retrying"))
    write(ring, *[f"while down {i}" for i in range(5)])
    port = base.rsplit(":", 1)[1]
    _, base2 = start_serve(procs, ring, listen=f"127.0.0.1:{port}")
    assert base2 == base
    write(ring, *[f"after {i}" for i in range(5)])
    wait_texts(page, [f"after {i}" for i in range(5)], timeout=20)  # EventSource retries every 3 s
    got = rows(page)
    assert [r["seq"] for r in got] == list(range(16)), "every record once, in order"
    assert texts(page) == (["first record"] + [f"before {i}" for i in range(5)]
                           + [f"while down {i}" for i in range(5)] + [f"after {i}" for i in range(5)])
    assert state(page)["duplicates"] == 0  # resumed after the last seq (Last-Event-ID)
    wait_until("live again", lambda: page.find_element(By.ID, "status").text == "live")


def test_a_closed_ring_ends_the_stream_without_reconnecting(page: Any, procs: Any, ring: Path) -> None:
    if not has_ringlog_module():
        pytest.skip("closing a ring needs the ringlog Python module (pip install ./python)")
    _, base = start_serve(procs, ring)
    open_page(page, base)
    wait_texts(page, ["first record"])
    write(ring, "last words")
    subprocess.run([sys.executable, "-c", "import ringlog, sys; ringlog.Ring.open(sys.argv[1]).close()", str(ring)],
                   check=True, timeout=30)
    wait_until("the page says the ring is closed", lambda: page.find_element(By.ID, "status").text == "ring closed")
    assert texts(page) == ["first record", "last words"]
    # No stream is held open (and none comes back: the page stopped).
    wait_until("no reader left", lambda: stat(ring)["readers"] == 0)
    # Opening the page on the closed ring: everything, then closed.
    open_page_closed = base + "/"
    page.get(open_page_closed)
    wait_until("closed on load", lambda: page.find_element(By.ID, "status").text == "ring closed")
    assert texts(page) == ["first record", "last words"]


def test_light_and_dark_are_readable_and_a_screenshot(page: Any, procs: Any, tmp_path: Path) -> None:
    ring = tmp_path / "checkout.ring"
    lines = []
    for i in range(140):
        lvl = ["INFO", "INFO", "DEBUG", "INFO", "WARN", "INFO", "ERROR"][i % 7]
        msg = {
            "INFO": f"checkout: order {4100 + i} paid ({(i * 37) % 900 + 10}.{i % 100:02d} EUR)",
            "DEBUG": f"cache: hit ratio 0.{90 + i % 9} over {1000 + 13 * i} lookups",
            "WARN": f"http: slow upstream payments-eu ({300 + i * 7 % 400} ms)",
            "ERROR": f"worker-{i % 4}: retrying job {9000 + i} after timeout",
        }[lvl]
        lines.append(f"2025-06-01T12:{i // 60:02d}:{i % 60:02d}.{(i * 7919) % 1000:03d}Z {lvl:5} {msg}")
    write(ring, *lines[:100], capacity="8KiB")  # laps the ring: a gap
    _, base = start_serve(procs, ring)
    open_page(page, base, "?from=0")
    write(ring, *lines[100:])
    wait_texts(page, lines[-3:])
    assert rows(page)[0]["lost"] is not None
    wait_until("the header's written count", lambda: page.find_element(By.ID, "written").text == "140")

    contrast_js = """
    function lum(c) {
      const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(v => {
        v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    }
    const bg = lum(getComputedStyle(document.body).backgroundColor);
    const fg = lum(getComputedStyle(document.querySelector('#log .msg')).color);
    const lost = getComputedStyle(document.querySelector('#log .lost'));
    const hi = Math.max(bg, fg), lo = Math.min(bg, fg);
    const lhi = Math.max(lum(lost.color), lum(lost.backgroundColor)), llo = Math.min(lum(lost.color), lum(lost.backgroundColor));
    return {bg, ratio: (hi + 0.05) / (lo + 0.05), lostRatio: (lhi + 0.05) / (llo + 0.05)};
    """
    try:
        for scheme in ["dark", "light"]:
            page.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                 {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            c = page.execute_script(contrast_js)
            assert (c["bg"] < 0.1) if scheme == "dark" else (c["bg"] > 0.8), (scheme, c)
            assert c["ratio"] >= 7 and c["lostRatio"] >= 4.5, (scheme, c)  # WCAG AAA text, AA marker
        page.set_window_size(1100, 640)
        page.execute_script("document.getElementById('log').scrollTop = 0")
        out = Path(os.environ.get("RINGLOG_SCREENSHOT") or tmp_path / "serve-page.png")
        out.parent.mkdir(parents=True, exist_ok=True)
        assert page.save_screenshot(str(out))
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        page.set_window_size(1100, 700)


def test_a_burst_is_shown_within_the_cap(page: Any, procs: Any, tmp_path: Path) -> None:
    # A low bar for what measure.py measures: 30,000 records written at
    # once are all received and the newest 10,000 shown within seconds,
    # with the DOM bounded (5 nodes a row).
    ring = tmp_path / "burst.ring"
    write(ring, "start", capacity="16MiB")
    _, base = start_serve(procs, ring)
    open_page(page, base)
    wait_texts(page, ["start"])
    write(ring, *[f"burst {i}" for i in range(30_000)])
    last = "const c = document.getElementById('log').lastElementChild; return c && c.lastElementChild.dataset.seq"
    wait_until("the burst shown", lambda: page.execute_script(last) == "30000", timeout=20)
    s = state(page)
    assert (s["received"], s["rows"], s["lost"], s["duplicates"]) == (30_001, 10_000, 0, 0)
    assert rows(page)[0]["text"] == "burst 20000"
    page.execute_cdp_cmd("Performance.enable", {})
    m = {x["name"]: x["value"] for x in page.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    assert m["Nodes"] < 60_000, m
