"""Seeded, bounded fuzzing of every feed: malformed records among good ones.

Each example writes a small file of good records (distinct ids) with malformed ones placed
among them: a field of the wrong JSON type, a line cut short, a NaN, random bytes (and, for
the ticket export, blank required values, ragged rows, unclosed quotes, bytes that are not
UTF-8). Reading must never raise; each malformed record is quarantined with a reason; every
good record loads with its id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.generate.world import World
from pipelines.reference import Reference
from pipelines.sources import fsm, taobao, wechat, youzan
from pipelines.sources.base import FeedBatch, Source
from pipelines.sources.fsm import settings as fsm_settings
from pipelines.sources.fsm.writer import _csv_text, _jsonl_text
from tests.pipelines.sources import test_taobao_payloads as tb
from tests.pipelines.sources import test_wechat_payloads as wx
from tests.pipelines.sources import test_youzan_payloads as yz
from tests.pipelines.sources.mutations import type_mismatches

FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # seeded: the same examples on every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
Record = dict[str, Any]


@dataclass(frozen=True)
class JsonFeed:
    source: Source
    file: str
    table: str
    key: str  # canonical id column
    good: Callable[[int], Record]  # a good record with id number i
    id_of: Callable[[int], str]
    dtype: pl.Struct


def _tb_trade(i: int) -> Record:
    return tb.trade(tid=tb.TID + 10 * i)


def _tb_refund(i: int) -> Record:
    return tb.refund(refund_id=7012345678900000 + i)


JSON_FEEDS = {
    "taobao_trades": JsonFeed(
        taobao.TaobaoTrades(), "trades_202601.jsonl", "orders", "order_id",
        _tb_trade, lambda i: str(tb.TID + 10 * i), taobao.TRADE,
    ),
    "taobao_refunds": JsonFeed(
        taobao.TaobaoRefunds(), "refunds_202601.jsonl", "order_refunds", "refund_id",
        _tb_refund, lambda i: str(7012345678900000 + i), taobao.REFUND,
    ),
    "youzan_trades": JsonFeed(
        youzan.YouzanTrades(), "trades_202601.jsonl", "orders", "order_id",
        lambda i: yz.trade(f"E{i}"), lambda i: f"E{i}", youzan.TRADE,
    ),
    "wechat_orders": JsonFeed(
        wechat.WechatOrders(), "orders_202601.jsonl", "orders", "order_id",
        lambda i: wx.order(str(100 + i)), lambda i: str(100 + i), wechat.ORDER,
    ),
    "wechat_aftersales": JsonFeed(
        wechat.WechatAftersales(), "aftersales_202601.jsonl", "order_refunds", "refund_id",
        lambda i: wx.aftersale(str(100 + i)), lambda i: str(100 + i), wechat.AFTERSALE,
    ),
}  # fmt: skip


def bad_json_line(feed: JsonFeed, data: st.DataObject, i: int) -> str:
    """One malformed line for record ``i`` of ``feed``."""
    record = feed.good(i)
    kind = data.draw(st.sampled_from(["type", "cut", "nan", "bytes"]))
    if kind == "type":
        mutations = [
            m
            for m in type_mismatches(record, feed.dtype)
            if not (feed.source.name == "taobao_trades" and m.field == "orders")
        ]
        return json.dumps(data.draw(st.sampled_from(mutations)).apply(record), ensure_ascii=False)
    line = json.dumps(record, ensure_ascii=False)
    if kind == "cut":
        return line[: data.draw(st.integers(1, len(line) - 2))]
    if kind == "nan":
        cut = data.draw(st.sampled_from([m.start() for m in _values(line)]))
        return line[:cut] + "NaN" + line[line.index(",", cut) if "," in line[cut:] else -1 :]
    noise = data.draw(st.binary(max_size=40)).decode("latin-1")
    return "#" + noise.replace("\n", " ").replace("\r", " ")  # never blank: a blank is no record


def _values(line: str) -> list[Any]:
    import re

    return list(re.finditer(r'(?<=": )(?=[-"0-9tfn\[{])', line))


def check(batch: FeedBatch, good_ids: list[str], bad_lines: set[int], table: str, key: str) -> None:
    assert batch.records_read == len(good_ids) + len(bad_lines)
    assert set(batch.quarantine["record_number"]) == bad_lines
    assert batch.quarantine.filter(pl.col("reason").fill_null("") == "").is_empty()
    assert sorted(batch.tables[table][key]) == sorted(good_ids)


@pytest.mark.parametrize("name", list(JSON_FEEDS))
@FUZZ
@given(data=st.data())
def test_malformed_json_records_are_quarantined_and_the_rest_load(
    name: str, data: st.DataObject, write_lines: Any, reference: Reference
) -> None:
    feed = JSON_FEEDS[name]
    count = data.draw(st.integers(3, 8))
    bad = set(data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=3, unique=True)))
    lines: list[Record | str] = [
        bad_json_line(feed, data, i) if i in bad else feed.good(i) for i in range(count)
    ]
    batch = feed.source.read(write_lines(feed.file, lines), reference)
    good_ids = [feed.id_of(i) for i in range(count) if i not in bad]
    check(batch, good_ids, {i + 1 for i in bad}, feed.table, feed.key)


@pytest.fixture(scope="module")
def ticket_rows(world: World) -> pl.DataFrame:
    sample = world.tickets.filter(pl.col("status") == "completed").head(8)
    return _csv_text(sample.drop("completed_date")).rename(fsm_settings.CSV_FIELDS)


@FUZZ
@given(data=st.data())
def test_malformed_ticket_export_rows_are_quarantined_and_the_rest_load(
    data: st.DataObject, ticket_rows: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory,
    reference: Reference,
) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("fuzz") / "fsm_export_202601.csv"
    ticket_rows.write_csv(path)
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    bad = set(
        data.draw(st.lists(st.integers(0, len(lines) - 1), min_size=1, max_size=3, unique=True))
    )
    required = ["ticket_id", "status", "item_code", "city_code", "channel", "member_level"]
    spoiled = []
    for i, line in enumerate(lines):
        if i not in bad:
            spoiled.append(line.encode())
            continue
        kind = data.draw(st.sampled_from(["blank", "extra", "quote", "utf8", "id"]))
        fields = line.split(",")  # the sample has no quoted commas
        if kind in ("blank", "id"):
            column = "ticket_id" if kind == "id" else data.draw(st.sampled_from(required))
            at = ticket_rows.columns.index(fsm_settings.CSV_FIELDS[column])
            fields[at] = "4.01E+18" if kind == "id" else ""
            spoiled.append(",".join(fields).encode())
        elif kind == "extra":
            spoiled.append((line + ",多余").encode())
        elif kind == "quote":
            spoiled.append(line.replace(",", ',"', 1).encode())
        else:
            spoiled.append(line.encode().replace(b",", b",\xff", 1))
    path.write_bytes(b"\n".join([header.encode(), *spoiled, b""]))
    batch = fsm.FsmCsv().read(path, reference)
    ids = ticket_rows[fsm_settings.CSV_FIELDS["ticket_id"]]
    check(batch, [ids[i] for i in range(len(lines)) if i not in bad], {i + 1 for i in bad},
          "tickets", "ticket_id")  # fmt: skip


@FUZZ
@given(data=st.data())
def test_malformed_change_log_records_are_quarantined_and_the_rest_load(
    data: st.DataObject, world: World, write_lines: Any, reference: Reference
) -> None:
    sample = world.tickets.filter(pl.col("status") == "completed").head(6)
    frame = (
        _jsonl_text(sample.drop("completed_date"))
        .with_columns(pl.col("parts").list.eval(pl.element().struct.rename_fields(["code", "qty"])))
        .rename(fsm_settings.JSONL_FIELDS)
    )
    records = [json.loads(line) for line in frame.write_ndjson().splitlines()]
    bad = set(data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True)))
    lines: list[Record | str] = []
    for i, record in enumerate(records):
        if i not in bad:
            lines.append(record)
        elif data.draw(st.booleans()):
            mutation = data.draw(st.sampled_from(list(type_mismatches(record, fsm.CHANGE_RECORD))))
            lines.append(mutation.apply(record))
        else:
            line = json.dumps(record, ensure_ascii=False)
            lines.append(line[: data.draw(st.integers(1, len(line) - 2))])
    batch = fsm.FsmJsonl().read(write_lines("fsm_changes_202601.jsonl", lines), reference)
    good_ids = [str(r["ticketNo"]) for i, r in enumerate(records) if i not in bad]
    check(batch, good_ids, {i + 1 for i in bad}, "tickets", "ticket_id")
