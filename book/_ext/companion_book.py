"""Sphinx extension of the companion book (loaded through ``sphinx.local_extensions`` in
_config.yml).

- **Repository from the environment.** ``COMPANION_REPOSITORY`` (``owner/name``; ``python -m
  companion
  build --repository`` sets it) or, in GitHub Actions, ``GITHUB_REPOSITORY`` turns on the repository
  and issues buttons and the Binder/Colab launch buttons of ``launch_buttons`` in _config.yml. The
  launch buttons open the executed notebook that the deployment keeps on the ``gh-pages`` branch
  (``_sources/<page>.ipynb``), whose first hidden cell installs the companion at the commit the book
  was built from. Without a repository the buttons are left out (nothing is hard-coded).
- **Editions.** ``COMPANION_EDITION=student`` removes every ``{admonition} Solutions`` block
  (exercises stay); ``instructor`` (the default) keeps them.
- **Provenance.** Every page ends with a footer: the profile, the seed, the commit and the date the
  page was executed, read from the executed notebook's metadata (papermill's parameters and end
  time, ``metadata.companion.commit`` written by :func:`companion.notebooks.execute`).
- **Downloads.** The download menu of a chapter offers the executed ``.ipynb`` (saved, not shown as
  JSON) and its jupytext ``.py`` source.
- Glued figures get their caption as alt text.
- ``companion-build.json`` in the HTML folder records the repository, edition and commit of a build.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from docutils import nodes

EDITIONS = ("instructor", "student")
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
LAUNCH_BRANCH = (
    "gh-pages"  # where `make publish` and the workflow keep the built book and its notebooks
)
INSTALL_MARKER = (
    "@COMPANION_SOURCE@"  # in the chapters' install cell; replaced in the published copies
)


def repository() -> str:
    """``owner/name`` from ``COMPANION_REPOSITORY``, else ``GITHUB_REPOSITORY``, else ``''``."""
    repo = os.environ.get("COMPANION_REPOSITORY") or os.environ.get("GITHUB_REPOSITORY") or ""
    repo = repo.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if repo and not REPOSITORY_RE.match(repo):
        raise ValueError(f"repository={repo!r} is not allowed: expected a GitHub 'owner/name'.")
    return repo


def edition() -> str:
    value = os.environ.get("COMPANION_EDITION", "instructor") or "instructor"
    if value not in EDITIONS:
        raise ValueError(
            f"edition={value!r} is not allowed: expected one of {', '.join(EDITIONS)}."
        )
    return value


def _commit(srcdir: str) -> str:
    if os.environ.get("COMPANION_COMMIT"):
        return os.environ["COMPANION_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=srcdir, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def on_config_inited(app, config) -> None:
    app.companion = {
        "repository": repository(),
        "edition": edition(),
        "commit": _commit(app.srcdir),
        "solutions": {},
    }
    opts = dict(config.html_theme_options or {})
    repo = app.companion["repository"]
    if repo:
        opts.update(
            repository_url=f"https://github.com/{repo}",
            repository_branch=LAUNCH_BRANCH,
            path_to_docs="_sources",
            use_repository_button=True,
            use_issues_button=True,
        )
    else:
        opts.pop("launch_buttons", None)  # the theme cannot build launch links without a repository
    opts["use_download_button"] = True
    config.html_theme_options = opts
    config.html_sourcelink_suffix = ""  # `_sources/<page>.ipynb`, not `.ipynb.txt`


def _is_solutions(node: nodes.Element) -> bool:
    titles = [c for c in node.children if isinstance(c, nodes.title)]
    return bool(titles) and titles[0].astext().strip().lower().startswith("solution")


def on_doctree_read(app, doctree) -> None:
    if app.companion["edition"] != "student":
        return
    removed = 0
    for node in list(doctree.findall(nodes.admonition)):
        if _is_solutions(node):
            note = nodes.paragraph(
                text="The solutions are in the instructor edition of this book.",
                classes=["companion-solutions-removed"],
            )
            node.replace_self(note)
            removed += 1
    if removed:
        app.env.companion_solutions = getattr(app.env, "companion_solutions", {})
        app.env.companion_solutions[app.env.docname] = removed


def on_doctree_resolved(app, doctree, docname) -> None:
    """A figure's image without alt text gets its caption as alt text (glued figures carry only a
    caption)."""
    for fig in doctree.findall(nodes.figure):
        captions = [c for c in fig.findall(nodes.caption)]
        if not captions:
            continue
        alt = " ".join(captions[0].astext().split())
        for img in fig.findall(nodes.image):
            if not img.get("alt"):
                img["alt"] = alt


def on_env_purge_doc(app, env, docname) -> None:
    getattr(env, "companion_solutions", {}).pop(docname, None)


def _executed_notebook(app, pagename: str) -> Path | None:
    path = Path(app.env.doc2path(pagename))
    return path if path.suffix == ".ipynb" and path.exists() else None


def provenance(nb_path: Path) -> dict:
    """Profile, seed, commit and execution date of an executed notebook (``''`` where
    unrecorded)."""
    meta = json.loads(nb_path.read_text()).get("metadata", {})
    pm = meta.get("papermill", {})
    params = pm.get("parameters", {})
    when = pm.get("end_time") or ""
    try:
        when = (
            datetime.fromisoformat(when.replace("Z", "+00:00"))
            .astimezone(timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC")
        )
    except ValueError:
        pass
    return {
        "profile": str(params.get("PROFILE", "")),
        "seed": str(params.get("SEED", "")),
        "commit": str(meta.get("companion", {}).get("commit", "")),
        "executed": when,
    }


def _footer(app, pagename: str) -> str:
    ed = app.companion["edition"]
    nb = _executed_notebook(app, pagename)
    if nb is None:
        commit = app.companion["commit"][:12] or "unknown"
        text = (
            f"Hand-written page · book built from commit <code>{html.escape(commit)}</code> · {ed} "
            f"edition"
        )
    else:
        p = provenance(nb)
        commit = p["commit"][:12] or "unrecorded"
        text = (
            f"Executed with profile <strong>{html.escape(p['profile'] or '?')}</strong>, seed "
            f"<strong>{html.escape(p['seed'] or '?')}</strong>, at commit "
            f"<code>{html.escape(commit)}</code> "
            f"on {html.escape(p['executed'] or 'an unrecorded date')} · {ed} edition"
        )
    return (
        f'<footer class="companion-provenance" style="margin-top:2em;padding-top:.5em;'
        f'border-top:1px solid #ddd;font-size:.8em;color:#555">{text}</footer>'
    )


def _dedupe_scripts(context) -> None:
    """sphinx-thebe's inline configuration is injected twice under Jupyter Book 1, and the second
    copy throws "Identifier 'THEBE_JS_URL' has already been declared" in the reader's console."""
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (
            str(getattr(script, "filename", script) or ""),
            getattr(script, "attributes", {}).get("body", ""),
        )
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def on_page_context(app, pagename, templatename, context, doctree) -> None:
    _dedupe_scripts(context)
    # an empty mode makes the theme log a console error on every page
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    if doctree is None or "body" not in context:
        return
    context["body"] += _footer(app, pagename)
    nb = _executed_notebook(app, pagename)
    jupytext_src = nb.with_suffix(".py") if nb else None
    if not (jupytext_src and jupytext_src.exists()):
        return
    target = Path(app.outdir, "_sources", pagename + ".py")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(jupytext_src, target)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                1,
                {
                    "type": "link",
                    "url": f"{context['pathto']('_sources', 1)}/{pagename}.py",
                    "text": ".py",
                    "tooltip": "Download the jupytext source",
                    "icon": "fas fa-file-code",
                    "label": "download-jupytext-button",
                },
            )


def on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    info = dict(app.companion)
    info["solutions"] = getattr(app.env, "companion_solutions", {})
    repo, commit = info["repository"], info["commit"]
    if repo:  # the published notebooks install the companion at the commit they were built from
        commit = commit.split("+")[0]  # a build from a dirty tree installs its base commit
        source = f"git+https://github.com/{repo}" + (f"@{commit}" if commit else "")
        for nb in Path(app.outdir, "_sources").rglob("*.ipynb"):
            text = nb.read_text()
            if INSTALL_MARKER in text:
                nb.write_text(text.replace(INSTALL_MARKER, source))
    Path(app.outdir, "companion-build.json").write_text(json.dumps(info, indent=1, sort_keys=True))


# The executed notebook downloads as a file rather than opening as JSON text in the browser.
DOWNLOAD_JS = """
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll('a.btn[href$=".ipynb"], a.btn[href$=".py"]').forEach(function (a) {
    a.setAttribute("download", a.getAttribute("href").split("/").pop());
  });
});
"""


def setup(app):
    app.connect("config-inited", on_config_inited, priority=100)
    app.connect("doctree-read", on_doctree_read)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-purge-doc", on_env_purge_doc)
    # after the theme's header buttons (501)
    app.connect("html-page-context", on_page_context, priority=502)
    app.connect("build-finished", on_build_finished)
    app.add_js_file(None, body=DOWNLOAD_JS)
    return {
        "version": "1",
        "parallel_read_safe": False,
        "parallel_write_safe": True,
        "env_version": 1,
    }
