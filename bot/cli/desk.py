"""``helpdesk-bot init DIR``: a desk folder an administrator owns.

The folder holds everything that belongs to one service desk, outside the installed package::

    DIR/bot.toml            the documented example, pointing at the two entries below
    DIR/helpdesk.db         the SQLite database (created on first start; PostgreSQL: edit [database])
    DIR/knowledge/          an editable copy of the starter knowledge base
    DIR/knowledge/drafts/   article drafts written by /kbdraft, published with `helpdesk-bot kb publish`

Paths in the generated ``bot.toml`` are absolute, so every command finds the same files whatever the
working directory.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import bot

EXAMPLE_NAME = "bot.toml.example"


class DeskExistsError(Exception):
    """The target folder already holds a desk (a ``bot.toml`` or a ``knowledge`` folder)."""


@dataclass(frozen=True)
class Desk:
    """The files of a desk folder."""

    config: Path
    database: Path
    knowledge: Path
    drafts: Path


def example_config_path() -> Path:
    """The documented ``bot.toml.example``: inside the wheel's ``bot`` package, or at a checkout's root."""
    package = Path(bot.__file__).resolve().parent
    installed = package / EXAMPLE_NAME
    return installed if installed.is_file() else package.parent / EXAMPLE_NAME


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def desk_config_text(example: str, database: Path, knowledge: Path) -> str:
    """The example configuration with ``database.url`` and ``knowledge.directory`` set for a desk."""
    text, urls = re.subn(
        r'^url = "sqlite:///helpdesk\.db"$',
        lambda _match: f"url = {_toml_string(f'sqlite:///{database}')}",
        example,
        count=1,
        flags=re.MULTILINE,
    )
    text, directories = re.subn(
        r"^# directory = .*$",
        lambda _match: f"directory = {_toml_string(str(knowledge))}",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    if urls != 1 or directories != 1:
        raise RuntimeError(f"{EXAMPLE_NAME} no longer has the [database] url and [knowledge] directory lines")
    return text


def create_desk(directory: Path) -> Desk:
    """Create the desk folder ``directory`` (which may exist, but must not hold a desk yet)."""
    from bot.kb_lifecycle.drafts import DRAFTS_FOLDER
    from bot.knowledge import default_knowledge_dir

    root = directory.expanduser().resolve()
    desk = Desk(
        config=root / "bot.toml",
        database=root / "helpdesk.db",
        knowledge=root / "knowledge",
        drafts=root / "knowledge" / DRAFTS_FOLDER,
    )
    for existing in (desk.config, desk.knowledge):
        if existing.exists():
            raise DeskExistsError(f"{existing} already exists: choose an empty folder, or edit that desk")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        default_knowledge_dir(), desk.knowledge, ignore=shutil.ignore_patterns(DRAFTS_FOLDER, "__pycache__")
    )
    desk.drafts.mkdir()
    example = example_config_path().read_text(encoding="utf-8")
    desk.config.write_text(desk_config_text(example, desk.database, desk.knowledge), encoding="utf-8")
    return desk
