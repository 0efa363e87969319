"""``normalized`` skips NFKC for ASCII values: it must equal normalising every value."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.base import normalized

# Text as feeds send it: ASCII ids and amounts, full-width forms, ideographic spaces, Chinese.
TEXT = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.text(
        alphabet=st.one_of(
            st.characters(max_codepoint=0x7F),
            st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
            st.sampled_from(["\u3000", "\u00a0", "\u2460", "ﬁ", "杭", "州", "¹", "\u0301"]),
            # any character a UTF-8 file can hold (a lone surrogate cannot be decoded from one)
            st.characters(exclude_categories=("Cs",)),
        )
    ),
)


@given(st.lists(TEXT, max_size=40))
def test_normalized_equals_nfkc_of_every_value_then_trimmed(values: list[str | None]) -> None:
    frame = pl.DataFrame({"text": values}, schema={"text": pl.String})
    every = frame.select(pl.col("text").str.normalize("NFKC").str.strip_chars())
    assert frame.select(normalized(pl.col("text"))).equals(every)


def test_full_width_and_edges_are_normalised_and_ascii_kept() -> None:
    frame = pl.DataFrame({"text": ["ＴＢ１２３", "\u3000浙江省 ", " 12.50", "A-1", None]})
    assert frame.select(normalized(pl.col("text")))["text"].to_list() == [
        "TB123", "浙江省", "12.50", "A-1", None,
    ]  # fmt: skip
