"""Pages tested in a real browser: a headless Chromium driven over the DevTools protocol (Debian's
``chromium`` + ``websocket-client``).

The built book is served over HTTP from a local thread (as GitHub Pages serves it) and each page is
loaded in one browser tab kept for the whole test session; :meth:`Browser.load` returns the console
errors and failed requests seen while the page loaded.
"""

from __future__ import annotations

import base64
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

INSTALL_HINT = (
    "The browser tests need Chromium: `sudo apt-get update && sudo apt-get install -y chromium` "
    "(Debian/Ubuntu; `make test` does it when run as root), or set CHROMIUM=/path/to/chromium."
)


def chromium_path() -> str:
    """The Chromium executable (``CHROMIUM``, else
    ``chromium``/``chromium-browser``/``google-chrome``)."""
    for name in filter(
        None, (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome")
    ):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(INSTALL_HINT)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log on stderr
        pass


class Server:
    """Serve ``folders`` (``{url_prefix: path}``) on 127.0.0.1 from a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_Quiet, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _favicon(entry: dict) -> bool:
    """The browser's own request for /favicon.ico at the server root (outside the book: a project
    page on GitHub Pages lives under /<name>/), not a resource of the page."""
    return (
        entry.get("url", "").split("?")[0].endswith("/favicon.ico")
        and entry.get("source") == "network"
    )


class Browser:
    def __init__(self, width: int = 1366, height: int = 768):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="companion-chromium-")
        self.proc = subprocess.Popen(
            [
                chromium_path(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(
                    f"Chromium did not start (exit {self.proc.returncode}). {INSTALL_HINT}"
                )
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for i, msg in enumerate(self.events):
            if msg["method"] == event:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == event:
                return msg
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(f"no {event} within {timeout} s")

    def evaluate(self, expression: str, timeout: float = 30):
        res = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
            timeout=timeout * 1000,
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:80]}...: {res['exceptionDetails']}")
        return res["result"].get("value")

    def load(self, url: str) -> list[str]:
        """Navigate to ``url``, wait for the load event and MathJax; return the errors seen
        meanwhile."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate(
            "(async () => { const s = window.MathJax && MathJax.startup;"
            " if (s && s.promise) await s.promise; return true; })()"
        )
        errors = []
        for msg in self.events:
            p = msg.get("params", {})
            if msg["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append(
                    f"exception: {d.get('exception', {}).get('description') or d.get('text')}"
                )
            elif msg["method"] == "Runtime.consoleAPICalled" and p.get("type") in (
                "error",
                "assert",
            ):
                errors.append(
                    "console.error: "
                    + " ".join(str(a.get("value", a.get("description"))) for a in p["args"])
                )
            elif (
                msg["method"] == "Log.entryAdded"
                and p["entry"]["level"] == "error"
                and not _favicon(p["entry"])
            ):
                errors.append(
                    f"{p['entry']['source']}: {p['entry']['text']} {p['entry'].get('url', '')}"
                )
            elif msg["method"] == "Network.loadingFailed" and not p.get("canceled"):
                errors.append(f"request failed: {p.get('errorText')} ({p.get('type')})")
        return errors

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params = {"format": "png", "captureBeyondViewport": full_page}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------------
import re  # noqa: E402

import pytest  # noqa: E402

from companion import book, notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
HTML = book.html_dir("instructor", ROOT)
STUDENT = book.html_dir("student", ROOT)
SCREENSHOTS = BUILD / "screenshots"
PAGES = [f + ".html" for f in notebooks.toc_files(ROOT)]
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
SHOTS = [
    "notebooks/intro/01_unlearning_problem.html",
    "notebooks/jit/02_jit_algorithm.html",
    "notebooks/cert/01_certificates.html",
]

pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="the book has not been built (run `make book`)"
)

# One evaluation per page gathers everything the checks need.
PAGE_JS = r"""(() => {
  const art = document.querySelector("article.bd-article") || document.body;
  const math = [...art.querySelectorAll("span.math, div.math")];
  const clone = art.cloneNode(true);
  clone.querySelectorAll("pre, code, mjx-container, script, style, .highlight")
    .forEach(e => e.remove());
  const text = clone.textContent;
  const raw = text.match(
    /\\\(|\\\[|\$\$|\\begin\{|\\frac\{|\\mathbb\{|\\varepsilon|\\sigma\b/g
  ) || [];
  return {
    math: math.length,
    unrendered: math.filter(m => !m.querySelector("mjx-container"))
      .map(m => m.textContent.slice(0, 80)),
    merror: art.querySelectorAll("mjx-merror").length,
    raw: raw.slice(0, 5),
    images: [...art.querySelectorAll("img")]
      .map(i => ({src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0})),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    links: [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
    title: (document.querySelector("h1") || {}).textContent || "",
  };
})()"""

SEARCH_JS = r"""(async () => {
  for (let i = 0; i < 200; i++) {
    const items = document.querySelectorAll("#search-results ul.search li a, ul.search li a");
    const summary = document.querySelector("#search-results p.search-summary") || {};
    const status = summary.textContent || "";
    if (/finished|did not match/i.test(status)) return [...items].map(a => a.getAttribute("href"));
    await new Promise(r => setTimeout(r, 50));
  }
  return null;
})()"""


@pytest.fixture(scope="module")
def site():
    server = Server(BUILD)  # both editions: /html/... and /student/_build/html/...
    browser = Browser()
    yield server, browser
    browser.close()
    server.close()


def _url(server: Server, html_root: Path, page: str) -> str:
    return f"{server.url}/{html_root.relative_to(BUILD).as_posix()}/{page}"


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset:
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))


def _broken_links(html_root: Path, page: str, hrefs: list[str]) -> list[str]:
    from urllib.parse import unquote, urlsplit

    broken = []
    here = (html_root / page).parent
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("javascript:", "mailto:")):
            continue
        target = (
            (here / unquote(parts.path)).resolve() if parts.path else (html_root / page).resolve()
        )
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{href} (no file)")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in _ids(target)
        ):
            broken.append(f"{href} (no anchor)")
    return broken


def _check_page(site, html_root: Path, page: str) -> dict:
    server, browser = site
    errors = browser.load(_url(server, html_root, page))
    info = browser.evaluate(PAGE_JS)
    assert not errors, f"{page}: console errors or failed requests: {errors}"
    assert not info["unrendered"] and not info["merror"], (
        f"{page}: math not typeset by MathJax: {info['unrendered'][:3]} ({info['merror']} MathJax "
        f"errors)"
    )
    assert not info["raw"], f"{page}: raw TeX left in the text: {info['raw']}"
    bad = [i["src"] for i in info["images"] if not i["ok"]]
    assert not bad, f"{page}: images that did not load: {bad}"
    assert info["overflow"] <= 1, f"{page}: {info['overflow']} px of horizontal overflow at 1366 px"
    broken = _broken_links(html_root, page, info["links"])
    assert not broken, f"{page}: broken internal links or cross-references: {broken[:10]}"
    return info


@pytest.mark.parametrize("page", PAGES)
def test_page_in_a_real_browser(site, page):
    """Math typeset (no raw TeX), images loaded, no console error, links resolve, no overflow at
    1366 px."""
    info = _check_page(site, HTML, page)
    if page in CHAPTERS:
        src = notebooks.root() / page.replace(".html", ".ipynb")
        figures = sum(
            1
            for c in json.loads(src.read_text())["cells"]
            for o in c.get("outputs", [])
            if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
        )
        assert len(info["images"]) >= min(figures, 1), (
            f"{page}: the notebook has {figures} figures, the page shows none"
        )


def _search_term(title: str) -> str:
    words = [
        w
        for w in re.findall(r"[A-Za-z]{5,}", title)
        if w.lower() not in {"about", "which", "their", "where"}
    ]
    return max(words, key=len).lower()


@pytest.mark.parametrize("page", CHAPTERS)
def test_offline_search_finds_the_chapter_from_its_title(site, page):
    server, browser = site
    title = re.search(r"<h1[^>]*>(.*?)</h1>", (HTML / page).read_text(), flags=re.S).group(1)
    term = _search_term(re.sub(r"<[^>]+>", "", title))
    browser.load(_url(server, HTML, f"search.html?q={term}"))
    hits = browser.evaluate(SEARCH_JS)
    assert hits is not None, f"the search for {term!r} never finished"
    assert any(h.split("?")[0].split("#")[0] == page for h in hits), (
        f"searching {term!r} does not find {page}: {hits[:8]}"
    )


@pytest.mark.skipif(
    not (STUDENT / "index.html").exists(),
    reason="the student edition has not been built (make student)",
)
@pytest.mark.parametrize("page", SHOTS)
def test_screenshots_of_both_editions(site, page):
    """Three chapters in both editions pass the browser checks; their screenshots go to
    _build/screenshots."""
    _, browser = site
    for edition, html_root in (("instructor", HTML), ("student", STUDENT)):
        _check_page(site, html_root, page)
        browser.evaluate(
            "(() => { const s = document.querySelector('#exercises'); if (s) s.scrollIntoView(); "
            "return 1; })()"
        )
        shot = browser.screenshot(SCREENSHOTS / f"{edition}-{Path(page).stem}.png")
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"
