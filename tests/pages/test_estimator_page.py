"""The estimator on My earnings: "now" is the month's total, and more tickets earn more."""

from __future__ import annotations

from pathlib import Path

from tests.pages.test_pages import open_page


def test_estimate_starts_from_the_month_total_in_both_languages(app_env: Path) -> None:
    for lang, label, now, projected in (("en", "Estimate", "Now", "Projected"),
                                        ("zh", "估算", "目前", "预计")):  # fmt: skip
        at = open_page("my_earnings", "technician", lang=lang)
        total = at.metric[0].value
        at.number_input(key="estimate-n").set_value(30)
        next(b for b in at.button if b.label == label).click().run()
        assert not at.exception, [e.value for e in at.exception]
        metrics = {m.label: m.value for m in at.metric}
        assert metrics[now] == total
        assert metrics[projected] != total
