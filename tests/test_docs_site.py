"""The manual is a MkDocs (Material) site under docs/, built with ``mkdocs build --strict``: a
broken link, an anchor no page has, a page left out of the nav or a README section that is not
there fails the build, and so this test (CONTRIBUTING.md, "Docs").  The README is a front page
of at most 250 lines whose links lead somewhere, and its test command is what CI runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

if not os.environ.get("CI"):  # CI installs the test extra, which holds mkdocs: never skipped
    pytest.importorskip("mkdocs", reason="the docs site needs mkdocs (pip install '.[docs]')")
    pytest.importorskip("material", reason="the docs site needs mkdocs-material")


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its successor
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(root / "mkdocs.yml"), "-d", str(site)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT, out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def copy_of_the_docs(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs")
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, root / name)
    return root


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for key, value in attrs if key == "id" and value)


def ids(page: Path) -> set[str]:
    parser = Ids()
    parser.feed(page.read_text("utf-8"))
    return parser.ids


def test_every_page_is_built_with_the_readme_sections_it_shares(site: Path) -> None:
    pages = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    assert pages and all((site / f"{p}.html").is_file() for p in pages)
    commands = (site / "commands.html").read_text("utf-8")
    assert "cnnstat receptive-field [SPEC]" in commands and "--8&lt;--" not in commands
    assert "Exit codes: <strong>0</strong> success" in commands
    assert "Activation products" in (site / "counting-and-verification.html").read_text("utf-8")
    assert (site / "complexity.svg").is_file()


@pytest.mark.parametrize(("breakage", "message"), [
    ("[a kind](spec-language.md#no-such-heading)",
     "does not contain an anchor '#no-such-heading'"),
    ("[a page](no-such-page.md)", "'no-such-page.md', but the target is not found"),
    ("[a heading here](#nowhere)", "there is no such anchor on this page"),
])
def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path, breakage: str,
                                                 message: str) -> None:
    root = copy_of_the_docs(tmp_path)
    page = root / "docs" / "errors.md"
    page.write_text(page.read_text("utf-8") + f"\nSee {breakage}.\n", encoding="utf-8")
    done = build(root, tmp_path / "site")
    assert done.returncode != 0
    assert message in done.stderr, done.stderr


def test_a_page_outside_the_nav_or_a_missing_readme_section_fails_the_build(
        tmp_path: Path) -> None:
    root = copy_of_the_docs(tmp_path)
    (root / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    done = build(root, tmp_path / "site")
    assert done.returncode != 0 and "orphan.md" in done.stderr, done.stderr
    (root / "docs" / "orphan.md").unlink()
    readme = root / "README.md"
    readme.write_text(readme.read_text("utf-8").replace("[start:commands]", "[start:gone]"),
                      encoding="utf-8")
    done = build(root, tmp_path / "site")
    assert done.returncode != 0 and "'commands' could not be located" in done.stderr, done.stderr


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md"])
def test_the_links_of_the_repository_pages_lead_somewhere(doc: str, site: Path) -> None:
    """README.md and CONTRIBUTING.md are read on GitHub, outside the site: every relative link
    names a file, and a link into docs/ names a heading the built page has."""
    for link in _links((ROOT / doc).read_text("utf-8")):
        if link.startswith(("http://", "https://")):
            continue
        path, _, anchor = link.partition("#")
        if not path:
            assert anchor in ids_of_markdown(ROOT / doc), f"{doc}: {link}"
            continue
        assert (ROOT / path).exists(), f"{doc}: {link}"
        if anchor and path.startswith("docs/") and path.endswith(".md"):
            assert anchor in ids(site / f"{Path(path).stem}.html"), f"{doc}: {link}"


def ids_of_markdown(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (lower case, spaces to '-', other
    punctuation but '-' and '_' dropped)."""
    out = set()
    for line in path.read_text("utf-8").splitlines():
        if re.match(r"#{1,6} ", line):
            title = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower())
            out.add(title.replace(" ", "-"))
    return out


def test_the_readme_is_a_front_page() -> None:
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= 250
    for heading in ("## Two commands on a fresh machine", "## A five-minute tour",
                    "## Your own model: `cnnstat import`", "## Commands",
                    "## Counting conventions", "## Exit codes", "## The manual"):
        assert heading in text
    assert "](docs/complexity.svg)" in text and "](CONTRIBUTING.md)" in text


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The README's second command, after the fresh venv, is a line of .ci/run; the extra it
    installs holds what the docs tests need, so the strict build runs in CI."""
    text = README.read_text("utf-8")
    (command,) = re.findall(r"^python3 -m venv \.venv && \. \.venv/bin/activate && "
                            r"(pip install -q -c tests/constraints\.txt .+)$", text, re.MULTILINE)
    assert command in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    assert "'.[torch,test]'" in command
    docs, test = (_extra(name) for name in ("docs", "test"))
    assert docs and docs <= test
    pins = (ROOT / "tests" / "constraints.txt").read_text("utf-8")
    for name in docs:
        assert re.search(rf"^{name}==", pins, re.MULTILINE), f"{name} is pinned for the tests"


def _extra(name: str) -> set[str]:
    """The package names of an extra of pyproject.toml (read as text: tomllib is 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    found = re.search(rf"^{name} = \[(.*?)\]$", text, re.MULTILINE | re.DOTALL)
    assert found, name
    return {re.split(r"[<>=\[ ]", dep)[0] for dep in re.findall(r'"([^"]+)"', found.group(1))}
