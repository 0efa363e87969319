"""Rule versions on a timeline: which version prices a ticket (docs/settlement.md, "Versions").

Version 0 is the shipped rule set and applies from the beginning of the data, whatever date its
file names. Every later version applies to tickets completed (Beijing date) on or after its
effective date, until the next version's date; of two versions with the same date the later
published wins. A month may hold lines of two versions.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from settlement.rules import RuleSet

VERSION_INDEX = "version_index"


def period_end(period: str) -> date:
    """The last day of a ``YYYY-MM`` period."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def period_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


@dataclass(frozen=True)
class Timeline:
    """Rule sets in the order they take effect; ``versions[0]`` applies from the beginning."""

    versions: tuple[RuleSet, ...]

    @classmethod
    def of(cls, shipped: RuleSet, published: Sequence[RuleSet] = ()) -> Timeline:
        """``shipped`` as version 0, then ``published`` (in publish order) by effective date."""
        ordered = sorted(enumerate(published), key=lambda item: (item[1].effective_date, item[0]))
        kept: list[RuleSet] = []
        for _, rules in ordered:
            if kept and kept[-1].effective_date == rules.effective_date:
                kept[-1] = rules  # published later, same date: it supersedes
            else:
                kept.append(rules)
        return cls((shipped, *kept))

    @classmethod
    def single(cls, rules: RuleSet) -> Timeline:
        return cls((rules,))

    def with_draft(self, draft: RuleSet) -> Timeline:
        """The timeline as it would be once ``draft`` is published at its effective date."""
        return Timeline.of(self.versions[0], [*self.versions[1:], draft])

    def starts(self) -> list[date | None]:
        """Each version's first day (None for version 0: the beginning)."""
        return [None, *(rules.effective_date for rules in self.versions[1:])]

    def index_on(self, day: date) -> int:
        index = 0
        for position, start in enumerate(self.starts()):
            if start is not None and start <= day:
                index = position
        return index

    def version_on(self, day: date) -> RuleSet:
        return self.versions[self.index_on(day)]

    def index_expr(self, day: pl.Expr) -> pl.Expr:
        """The index of the version effective on each ``day`` (a Date expression)."""
        index: pl.Expr = pl.lit(0, pl.Int32)
        for position, start in enumerate(self.starts()):
            if start is not None:
                index = (
                    pl.when(day >= pl.lit(start)).then(pl.lit(position, pl.Int32)).otherwise(index)
                )
        return index

    def versions_in(self, period: str) -> list[RuleSet]:
        """The versions that price some day of ``period``, in order."""
        first = self.index_on(period_start(period))
        last = self.index_on(period_end(period))
        return list(self.versions[first : last + 1])

    def by_period(self, periods: Iterable[str]) -> dict[str, str]:
        """period → the versions pricing it, as text (``"0"``, ``"0+3"``) for run records."""
        return {p: "+".join(r.version for r in self.versions_in(p)) for p in sorted(periods)}


def as_timeline(rules: RuleSet | Timeline) -> Timeline:
    return rules if isinstance(rules, Timeline) else Timeline.single(rules)
