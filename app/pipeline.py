"""The stages that run after each ingest batch is written, in their one order.

    write batch (app/ingest.py)
      -> detect: rules on the batch's events -> signals (app/rules/signals.py)
      -> stamp: the six context layers -> correlation keys (app/layers.py)
      -> relate: audit records -> what they concern, RELATES_TO (app/relate.py)
      -> stories: signals grouped per correlation key (app/rules/stories.py)

Detection runs before stamping so that a rule's compromise mark roots its
exploit context in the same batch; stories run last, on the final keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.layers import stamp
from app.neo4j.database import Database
from app.relate import relate
from app.rules.model import Rule
from app.rules.signals import active_rules, detect
from app.rules.stories import refresh


@dataclass
class Pipeline:
    """The after-batch stages, with the rules they use."""

    rules: Sequence[Rule] = field(default_factory=tuple)
    routine_stories: bool = True

    @classmethod
    def default(cls) -> Pipeline:
        """Returns the pipeline with the configured rules (built-in, user, Sigma)."""
        from app.settings import Settings

        settings = Settings.from_env()
        return cls(active_rules(settings.rule_dirs, settings.sigma_dirs), settings.routine_stories)

    def __call__(self, db: Database, events: Sequence[dict[str, Any]]) -> None:
        detect(db, events, self.rules)
        stamp(db)
        relate(db, events)
        refresh(db, self.routine_stories)
