"""The console's texts come from the one message catalogue, in every language."""

from __future__ import annotations

import re
from pathlib import Path

from simatch.chat.catalogue import Catalogue
from simatch.console.forms import fields_of
from simatch.domain.audit import ACTIONS
from simatch.domain.imports import JOB_STATES
from simatch.domain.records import KINDS

CONSOLE = Path(__file__).resolve().parents[2] / "src" / "simatch" / "console"


def test_every_text_the_console_names_exists_in_every_language() -> None:
    catalogue = Catalogue.load()
    sources = [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]
    named = set(re.findall(r"""["'](console_[a-z_]+[a-z])["']""", "\n".join(
        p.read_text() for p in sources)))  # fmt: skip
    # Texts named by a prefix and a value: kinds, actions, languages, fields.
    named |= {f"console_kind_{k}" for k in KINDS} | {f"console_action_{a}" for a in ACTIONS}
    named |= {f"console_lang_{code}" for code in ("fi", "en", "sv")}
    named |= {f"console_import_state_{s}" for s in JOB_STATES}
    named |= {f"console_field_{f.name}" for kind in KINDS for f in fields_of(kind)}
    named |= {f"console_field_{n}" for n in ("source", "source_id", "source_url", "fetched_at",
                                             "checksum", "withdrawn_at")}  # fmt: skip
    for language in ("fi", "en", "sv"):
        assert named - catalogue.keys(language) == set(), language
