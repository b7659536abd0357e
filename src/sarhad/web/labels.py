"""The labels of the rooms' codes, for the templates (``_(labels.<group>[code])``).

They live in ``sarhad.core.labels`` since the rooms word them too, inside coded messages
(``core.labels.word``); this module keeps the console's name for them.
"""

from __future__ import annotations

from sarhad.core.labels import LABELS

__all__ = ["LABELS"]
