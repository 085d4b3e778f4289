"""Every page of the built book renders in headless Chromium, served by ``make serve``, network off.

Run after ``make book`` with ``pytest -m render tests/test_render.py`` (``.ci/run`` and the workflow do).
Skipped when ``_build/html`` does not exist (e.g. ``make test`` on a fresh clone) or no Chromium is
installed (``apt-get install chromium``; or point ``$CHROMIUM`` at a Chrome/Chromium binary).

The test starts ``make serve`` on a free port (Python's http.server on ``_build/html``, under the site's
path and with the 404 page, as GitHub Pages serves it) and loads every HTML page of the book from it (and
one missing address, which must show the 404 page) in Chromium with every other host name unresolvable and
a dead proxy, runs it for 10 s of virtual time and dumps the DOM. Then, for every page:

- Chromium exits cleanly, the page's main content is there with its title, and no script raised an uncaught
  error (console);
- no script was added from the network while the page ran (Altair's chart HTML, or RequireJS, adds
  ``<script src="https://cdn.jsdelivr.net/npm/vega...">`` when it does not find the libraries bundled in
  ``_static/vega-bundle.js``; see ``scalinglib.vega_bundle``);
- each Altair chart container holds vega's drawing (an ``<svg>`` or ``<canvas>`` of class ``marks`` with a
  positive size) and no error message;
- math typeset by MathJax (served from ``_static``) where the page has math;

and over all pages: the server was never asked for a file it does not have (a stylesheet, font, script or
image that a page loads at run time).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest

from scalinglib import site
from scalinglib.paths import repo_root

pytestmark = pytest.mark.render

ROOT = repo_root()
HTML_DIR = ROOT / "_build" / "html"
CHART_ID = re.compile(r"""<div id="(altair-viz-[0-9a-f]+)">""")
MATH = re.compile(r"""class="[^"]*\bmath\b""")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
VIRTUAL_TIME_MS = 10_000
PAGE_TIMEOUT_S = 90
MISSING = "no-such-chapter/no-such-page.html"  # an address the book does not have: shows 404.html
SITE_PATH = urlparse(site.site_url(site.book_config(ROOT))).path or "/"


def chromium() -> str | None:
    """The Chromium binary: ``$CHROMIUM`` if set, else the first of BROWSERS on the PATH (None: none found)."""
    names = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else BROWSERS
    return next(filter(None, map(shutil.which, names)), None)


def book_pages() -> dict[str, list[str]]:
    """Every built page: {path relative to _build/html: [chart container ids on it]}."""
    if not (HTML_DIR / "index.html").exists():
        return {}
    pages = {}
    for path in sorted(HTML_DIR.rglob("*.html")):
        rel = path.relative_to(HTML_DIR).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        pages[rel] = CHART_ID.findall(path.read_text(encoding="utf-8", errors="replace"))
    return pages


PAGES = book_pages()
if not PAGES:
    pytest.skip(f"no built book at {HTML_DIR} (run `make book` first)", allow_module_level=True)
if chromium() is None:
    pytest.skip(
        "Chromium not installed (apt-get install chromium, or set $CHROMIUM): cannot check page rendering",
        allow_module_level=True,
    )
if shutil.which("make") is None:
    pytest.skip("no `make`: cannot start `make serve`", allow_module_level=True)


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT/<site path>/
    proc: subprocess.Popen
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    """``make serve`` on a free port, in its own process group (stopped at the end)."""
    log = tmp_path_factory.mktemp("serve") / "requests.log"
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "-s", "serve", f"PORT={port}", f"PY={sys.executable}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}{SITE_PATH}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "index.html", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGTERM) if proc.poll() is None else None
                pytest.fail(f"`make serve` did not come up on port {port}:\n{log.read_text()}")
            time.sleep(0.3)
    yield Server(base, proc, log)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


# --------------------------------------------------------------------------- the dumped DOM


@dataclass
class Chart:
    """What the dumped DOM holds inside one chart container."""

    drawn: bool = False  # an <svg>/<canvas> of class "marks" (vega's view) with positive width and height
    errors: list[str] = field(default_factory=list)  # text of error messages shown in the container


class PageDOM(HTMLParser):
    """Walks a dumped DOM: each ``altair-viz-*`` container's content, network script tags, the article
    and its headings, and MathJax's output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: dict[str, Chart] = {}
        self.remote_scripts: list[str] = []
        self.main = False  # <main id="main-content"> (the page's content)
        self.h1 = ""  # text of the page's headings of level 1
        self.mathjax = 0  # <mjx-container> elements (typeset math)
        self._in_h1 = False
        self._open: list[tuple[str, int]] = []  # (chart id, div depth inside it) for containers being read
        self._error_depth: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and re.match(r"(https?:)?//", a.get("src", "")):
            self.remote_scripts.append(a["src"])
        if tag == "main" and a.get("id") == "main-content":
            self.main = True
        if tag == "h1":
            self._in_h1 = True
        if tag == "mjx-container":
            self.mathjax += 1
        if tag == "div" and a.get("id", "").startswith("altair-viz-"):
            self.charts[a["id"]] = Chart()
            self._open.append((a["id"], 0))
            return
        if not self._open:
            return
        chart_id, depth = self._open[-1]
        chart = self.charts[chart_id]
        if tag == "div":
            self._open[-1] = (chart_id, depth + 1)
            if "error" in a.get("class", "").split() and self._error_depth is None:
                self._error_depth = depth + 1
                chart.errors.append("")
        if tag in ("svg", "canvas") and "marks" in a.get("class", "").split():
            size = [re.match(r"\d+(\.\d+)?", a.get(k, "")) for k in ("width", "height")]
            chart.drawn |= all(m and float(m.group()) > 0 for m in size)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False
        if tag != "div" or not self._open:
            return
        chart_id, depth = self._open[-1]
        if self._error_depth == depth:
            self._error_depth = None
        if depth == 0:
            self._open.pop()
        else:
            self._open[-1] = (chart_id, depth - 1)

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1 += " " + data.strip()
        if self._open and self._error_depth is not None:
            self.charts[self._open[-1][0]].errors[-1] += data


@dataclass
class Rendered:
    dom: PageDOM
    console: list[str]
    returncode: int


def render(url: str, static_html: str) -> Rendered:
    """Load ``url`` in headless Chromium, every host but 127.0.0.1 unreachable, and parse the dumped DOM."""
    with tempfile.TemporaryDirectory(prefix="render-profile-") as profile:
        try:
            proc = subprocess.run(
                [
                    chromium(),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    f"--user-data-dir={profile}",
                    # no network but the local server: no other host name resolves, and anything else
                    # would go to a dead proxy
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                    "--proxy-bypass-list=127.0.0.1",
                    "--enable-logging=stderr",
                    "--v=0",
                    f"--virtual-time-budget={VIRTUAL_TIME_MS}",
                    "--dump-dom",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=PAGE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Rendered(PageDOM(), [f"chromium did not finish within {PAGE_TIMEOUT_S} s"], -1)
    dom = PageDOM()
    dom.feed(proc.stdout)
    static = PageDOM()
    static.feed(static_html)
    dom.remote_scripts = [src for src in dom.remote_scripts if src not in static.remote_scripts]
    console = [line.split("] ", 1)[-1] for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(dom, console, proc.returncode)


TARGETS = {**{page: page for page in PAGES}, "(missing address)": MISSING}


@pytest.fixture(scope="module")
def rendered(server) -> dict[str, Rendered]:
    """Every page (and the missing address), rendered two at a time (one Chromium per page)."""
    def one(name: str) -> Rendered:
        source = HTML_DIR / ("404.html" if name == "(missing address)" else name)
        return render(server.base + TARGETS[name], source.read_text(encoding="utf-8", errors="replace"))

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return dict(zip(TARGETS, pool.map(one, TARGETS)))


def describe(result: Rendered) -> str:
    return "\n".join(result.console) or "(nothing)"


@pytest.mark.parametrize("page", list(TARGETS))
def test_page_renders_offline(page, rendered):
    result = rendered[page]
    console = describe(result)
    assert result.returncode == 0, f"chromium exited with {result.returncode}; console:\n{console}"
    dom = result.dom
    assert dom.main and dom.h1.strip(), f"{page}: no main content with a title in the rendered page\nconsole:\n{console}"
    if page == "(missing address)":
        assert "Page not found" in dom.h1, f"a missing address shows {dom.h1!r}, not the 404 page"
    uncaught = [line for line in result.console if "Uncaught" in line]
    assert not uncaught, f"{page}: script errors:\n" + "\n".join(uncaught)
    assert not dom.remote_scripts, (
        f"{page} tried to load scripts from the network (is _static/vega-bundle.js built, and loaded right "
        f"after vega-setup.js?): {dom.remote_scripts}\nconsole:\n{console}"
    )


@pytest.mark.parametrize("page", [p for p, ids in PAGES.items() if ids] or
                         [pytest.param(None, marks=pytest.mark.skip(reason=f"no Altair chart in {HTML_DIR}"))])
def test_charts_render_offline(page, rendered):
    result = rendered[page]
    charts = result.dom.charts
    missing = [c for c in PAGES[page] if c not in charts]
    assert not missing, f"chart containers missing from the rendered page: {missing}"
    failed = {c: chart.errors or "no svg/canvas" for c, chart in charts.items() if not chart.drawn or chart.errors}
    assert not failed, (f"{len(failed)} of {len(charts)} charts on {page} did not render: {failed}\n"
                        f"console:\n{describe(result)}")


def test_chart_containers_recognised():
    """Pages that call vegaEmbed hold a container the chart test recognises."""
    calls = [p for p in PAGES if "vegaEmbed(" in (HTML_DIR / p).read_text(encoding="utf-8", errors="replace")]
    unmatched = [p for p in calls if not PAGES[p]]
    assert not unmatched, f"pages calling vegaEmbed without a recognised chart container: {unmatched}"


@pytest.mark.parametrize("page", [p for p in PAGES if MATH.search((HTML_DIR / p).read_text(encoding="utf-8"))]
                         or [pytest.param(None, marks=pytest.mark.skip(reason="no math in the book"))])
def test_math_typeset_offline(page, rendered):
    assert rendered[page].dom.mathjax > 0, f"{page} has math but MathJax typeset none\n{describe(rendered[page])}"


def test_server_had_every_file_asked_for(server, rendered):
    """No page asked the server for a file it does not have (only the deliberate missing address)."""
    requests = re.findall(r'"GET (\S+) HTTP/[\d.]+" (\d{3})', server.log.read_text())
    assert len(requests) >= len(TARGETS), f"the server saw {len(requests)} requests:\n{server.log.read_text()}"
    # /favicon.ico at the host's root is the browser's own guess (the pages name _static/favicon.png);
    # on GitHub Pages the host root is not the book's to serve.
    expected = {SITE_PATH + MISSING, "/favicon.ico"}
    missing = sorted({path for path, status in requests if status == "404" and path not in expected})
    assert not missing, f"files the pages asked for and the server does not have: {missing}"
