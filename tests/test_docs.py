"""A clone holds its own design documents: nothing tracked points outside the
repository (the design notes the project started from are not part of a clone)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Built from parts so that this file does not match itself.
OUTSIDE = ("../" + "shared", "/work/" + "shared")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_links_to_the_shared_design_notes():
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in _tracked_files()
        if path.is_file()
        for needle in OUTSIDE
        if needle.encode() in path.read_bytes()
    ]
    assert offenders == []


def test_relative_markdown_links_resolve_inside_the_repository():
    broken = []
    for path in _tracked_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = (path.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_design_documents_are_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    for document in ("docs/architecture.md", "docs/security.md", "docs/decisions.md"):
        assert (ROOT / document).is_file()
        assert f"]({document})" in readme
