"""The ground truth of a workload: which events and processes each planted chain holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChainTruth:
    """One planted attack chain: its events and processes as the product keys them."""

    id: str
    kind: str
    host: str
    root: str = ""
    processes: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    first_ts: str | None = None
    last_ts: str | None = None


@dataclass
class Truth:
    """The ground truth of a workload: planted chains and the benign alerts of the noise."""

    seed: int
    events: int
    hosts: int
    alerts: bool
    chains: list[ChainTruth] = field(default_factory=list)
    noise_alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Returns the truth as JSON-ready data."""
        return {
            "seed": self.seed,
            "events": self.events,
            "hosts": self.hosts,
            "alerts": self.alerts,
            "chains": [vars(c) for c in self.chains],
            "noise_alerts": self.noise_alerts,
        }

    def to_json(self) -> str:
        """Returns the truth as canonical, indented JSON ending with a newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
