"""What a dialogue run produced: per script its observed turns, and the run as a whole.

Shared by the runner (`evals.dialogues`), which fills them, and the report
(`evals.report`), which reads them; neither imports the other.
"""

from __future__ import annotations

import dataclasses

from .dialogue_format import Script
from .expect_base import Observation, Outcome


@dataclasses.dataclass
class ScriptResult:
    script: Script
    observations: list[Observation]
    seconds: float

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for obs in self.observations for o in obs.outcomes]

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)


@dataclasses.dataclass
class RunResult:
    results: list[ScriptResult]
    writer: str
    seconds: float = 0.0
    warmups_s: list[float] = dataclasses.field(default_factory=list)
