"""The ledger's HTML report renders in a real headless browser (Debian's chromium), charts visible.

Needs ``/usr/bin/chromium`` or ``chromium`` on PATH (Debian package ``chromium``; install
``fonts-noto-cjk`` too so that Chinese labels are drawn with real glyphs). Skips, saying why,
only when no chromium is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from triage.batch import classify_messages
from triage.ledger import Ledger, load_expected
from triage.ledger.evaluate import fixture_logs, read_memotrace_txt

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ledger"
CHARTS = ("by_day", "by_category", "by_urgency", "response_time")

# Appended to a copy of the report (the report itself has no script): records where each
# chart was laid out and how many visible bars it drew, for --dump-dom to show.
_MEASURE = """
<script>
(function () {
  var out = [];
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    var bars = Array.prototype.filter.call(svg.querySelectorAll("rect.bar"), function (b) {
      var q = b.getBoundingClientRect(); return q.width > 0 && q.height > 0;
    });
    out.push({name: svg.getAttribute("data-chart"), x: r.left + window.scrollX, y: r.top + window.scrollY,
              width: r.width, height: r.height, bars: bars.length,
              visible: getComputedStyle(svg).visibility !== "hidden" && getComputedStyle(svg).display !== "none"});
  });
  var pre = document.createElement("pre");
  pre.id = "measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.skip("chromium is not installed (no /usr/bin/chromium and no `chromium` on PATH); "
                "install it with `apt-get install -y chromium fonts-noto-cjk` to run the browser test")


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _read_png(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, channels and raw pixels of an 8-bit RGB/RGBA PNG (what chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG layout {header}"
    ch = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * ch
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return width, height, ch, bytes(out)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    from triage.api import default_model

    model = default_model()
    expected = load_expected(FIXTURES / "expected.json")
    out = tmp_path_factory.mktemp("report")
    with Ledger(out / "ledger.sqlite") as ledger:
        for group, path in fixture_logs(expected, FIXTURES):
            ledger.ingest(classify_messages(read_memotrace_txt(path, group=group), model=model))
        ledger.write_report(out / "report.html")
    return out / "report.html"


def test_report_renders_with_visible_charts(report_file, tmp_path):
    binary = _chromium()
    page = report_file.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")

    run = _run_chromium(binary, tmp_path / "profile", "--window-size=1280,2000", "--virtual-time-budget=3000",
                        "--dump-dom", probe.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="measure">(.*?)</pre>', run.stdout, re.S)
    assert found, "the page did not finish loading in chromium: " + run.stdout[:500]
    charts = {c["name"]: c for c in json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))}
    assert set(CHARTS) <= set(charts), charts
    for name in CHARTS:
        c = charts[name]
        assert c["visible"] and c["width"] > 200 and c["height"] > 80, c
        assert c["bars"] >= 3, c

    # Screenshot of the page itself (no script): the chart regions hold coloured pixels.
    shot = tmp_path / "report.png"
    run = _run_chromium(binary, tmp_path / "profile2", "--window-size=1280,2600", "--hide-scrollbars",
                        f"--screenshot={shot}", report_file.as_uri())
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, ch, pixels = _read_png(shot)

    def coloured(c: dict) -> int:
        x0, y0 = int(c["x"]), int(c["y"])
        x1, y1 = min(width, int(c["x"] + c["width"])), min(height, int(c["y"] + c["height"]))
        n = 0
        for y in range(max(0, y0), y1, 2):
            row = y * width * ch
            for x in range(max(0, x0), x1, 2):
                r, g, b = pixels[row + x * ch : row + x * ch + 3]
                if max(r, g, b) - min(r, g, b) > 60:  # saturated: a bar, not white, grey or black text
                    n += 1
        return n

    seen = [name for name in CHARTS if charts[name]["y"] + charts[name]["height"] <= height]
    assert {"by_day", "by_category"} <= set(seen), (seen, height)
    for name in seen:
        assert coloured(charts[name]) > 200, f"chart {name} looks blank in the screenshot"
