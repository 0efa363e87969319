"""Texts the warehouse writes (golden-case refusals, request subjects and summaries, refusals,
audit rows) read in the page's language, their figures as the ledger has them; rows stored before
texts kept their wording read as they were stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.components.i18n import code, phrase, say
from settlement.explain import yuan
from settlement.golden import Outcome, failure_text
from tests.pages.test_approvals_pages import button, ok, request_close
from tests.pages.test_pages import open_page, scalar
from warehouse import app_store, golden, period_close, requests
from warehouse.db import Phrase
from warehouse.requests import RequestRefused


@pytest.fixture(autouse=True)
def approvals_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERBOARD_APPROVALS", "on")


def cells(at: AppTest) -> list[str]:
    """Every cell of every grid on the page, as text."""
    return [str(v) for frame in at.dataframe for row in frame.value.values.tolist() for v in row]


def test_a_phrase_is_stored_and_read_back_with_its_template_and_fields() -> None:
    text = Phrase(
        "{period}: {parts}; total {total}", period="2026-03", total="¥1,234.50",
        parts=Phrase.joined([
            Phrase("{payee_type} {currency}: {payees} payees, {amount} ({change} on {previous})",
                   payee_type=Phrase.code("payee_type", "technician"), currency="CNY",
                   payees="1,204", amount="¥1,000.00", change="+¥12.05", previous="2026-02"),
            "a plain part",
        ]),
    )  # fmt: skip
    stored = app_store.worded({"diff": "old"}, app_store.wording(diff=text))
    again = stored["diff"]
    assert isinstance(again, Phrase) and again == text
    assert app_store.phrase_json(again) == app_store.phrase_json(text)
    assert str(again) == (
        "2026-03: technician CNY: 1,204 payees, ¥1,000.00 (+¥12.05 on 2026-02); a plain part;"
        " total ¥1,234.50"
    )
    assert phrase(again, "zh") == (
        "2026-03：技师 CNY：1,204 个收款方，¥1,000.00（较 2026-02 +¥12.05）; a plain part；"
        "合计 ¥1,234.50"
    )
    # In English the template reads as written, the code value in the vocabulary's words.
    assert phrase(again, "en") == str(text).replace(
        "technician", code("payee_type", "technician", "en")
    )
    # A row without wording, or with wording that cannot be read, keeps its stored texts.
    assert app_store.worded({"diff": "as stored"}, None) == {"diff": "as stored"}
    assert app_store.worded({"diff": "as stored"}, "{not json") == {"diff": "as stored"}


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome("北京 空调安装", 18000, 19200, None, None, None),
        Outcome("北京 空调安装", 18000, 18000, 5000, 4999, None),
        Outcome("北京 空调安装", 18000, None, None, None, None),
        Outcome("某地", 18000, None, None, None, "unknown city 999999"),
        Outcome("某地", 18000, None, None, None, "no price for part P-X in tier B"),
    ],
)
def test_a_failed_case_reads_the_same_as_the_engine_says_it_and_in_chinese(
    outcome: Outcome,
) -> None:
    worded = golden.failure(outcome)
    assert str(worded) == failure_text(outcome)  # one wording, kept in two places
    chinese = phrase(worded, "zh")
    assert chinese.startswith(f"黄金用例“{outcome.name}”：")
    assert not any(w in chinese for w in ("expected", "actual", "unknown", "price", "nothing"))
    if outcome.problem is None:  # the amounts as yuan to the fen
        assert yuan(outcome.expected_technician_cents) in chinese or "合作方" in chinese


def test_a_refusal_made_of_phrases_is_said_in_chinese() -> None:
    refused = RequestRefused(
        Phrase("request {number} is {status}, not pending", number=7,
               status=Phrase.code("status", "applied"))
    )  # fmt: skip
    assert str(refused) == "request 7 is applied, not pending"
    # The template's words and the status's, both Chinese.
    assert say(refused, "zh") == f"申请 7 的状态为 {code('status', 'applied', 'zh')}，不是待审批"
    assert "applied" not in say(refused, "zh")


def test_the_rules_page_refuses_a_breaking_draft_in_chinese_with_its_figures(
    app_env: Path,
) -> None:
    store = app_store.app_store_path(app_env)
    golden.seed_defaults(store)
    at = ok(open_page("rules", "analyst", "zh"))
    at.number_input(key="urgent-0").set_value(40.0)
    button(at, "Apply amounts to the draft", "zh").click().run()
    at.text_area(key="publish-note").input("加急难排")
    button(at, "Request publish", "zh").click().run()
    ok(at)
    # 北京 urgent at night: 18000 + 40 % of 15000 + 3000 = 27000 cents, not the 25500 expected.
    refused = [e.value for e in at.error]
    assert (
        "草稿未通过黄金用例：黄金用例“北京 空调安装 加急夜间”：技师应得 ¥255.00，实得 ¥270.00"
        in (refused)
    ), refused
    assert requests.listing(app_env) == []  # refused before anything is requested

    # A case the engine cannot settle says why in the golden-case grid, in Chinese.
    nowhere = golden.parse_case(
        {
            "name": "无此城市",
            "city_code": "999999",
            "item_code": "INS-AC-01",
            "expected_technician_cents": 100,
        }
    )
    golden.save(store, {nowhere.name: nowhere}, actor="ana", reason="a city we do not serve")
    grid = cells(ok(open_page("rules", "analyst", "zh")))
    assert "未知城市 999999" in grid and "unknown city 999999" not in grid
    entry = app_store.audit_entries(store, "analyst")[0]  # the edit's audit row, with its words
    assert phrase(entry["diff"], "zh") == "设定“无此城市”（技师 ¥1.00）"


def test_approvals_show_a_close_request_in_chinese_with_the_ledger_figures(app_env: Path) -> None:
    period, number = request_close(app_env, "zh")
    totals = period_close.totals(app_env, period)
    total = yuan(int(totals["amount_cents"].sum()))
    at = ok(open_page("approvals", "manager", "zh"))
    (summary,) = [c.value for c in at.code]
    assert summary.startswith(f"{period}：") and summary.endswith(f"；合计 {total}")
    payees = f"{int(totals['payees'][0]):,} 个收款方"
    assert payees in summary and "payees" not in summary and "total" not in summary
    assert any(f"账期 {period}" in m.value for m in at.markdown)  # the request's subject
    button(at, "Approve", "zh").click().run()
    ok(at)
    assert any(f"申请 {number}" in s.value and "已关闭" in s.value for s in at.success)

    english = ok(open_page("approvals", "manager", "en"))
    assert f"period {period}" in cells(english) and "Closed" in cells(english)


def test_the_audit_page_says_each_step_in_the_readers_language(app_env: Path) -> None:
    period, number = request_close(app_env, "zh")
    ok(open_page("approvals", "manager", "zh")).button(key=f"approve-{number}").click().run()
    lines = scalar(app_env, "select count(*) from settlement_lines where period = $p", p=period)
    at = ok(open_page("audit", "analyst", "zh"))
    shown = cells(at)
    assert f"{period}：未关闭 → 已关闭（冻结 {lines:,} 条明细）" in shown
    assert f"账期 {period}" in shown and f"申请 {number}" in shown
    assert any(c.startswith(f"结账（账期 {period}）：") for c in shown)  # the request's own rows
    assert not [c for c in shown if "lines frozen" in c or "request " in c]

    english = cells(ok(open_page("audit", "analyst", "en")))
    assert f"{period}: open → closed ({lines:,} lines frozen)" in english
    assert f"request {number}" in english


OLD_AUDIT = """
create table audit_log (
    audit_id integer primary key autoincrement, at text not null, actor text not null,
    action text not null, subject text not null, diff text not null, reason text not null
);
create trigger audit_log_is_append_only_u before update on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
insert into audit_log (at, actor, action, subject, diff, reason) values
    ('2026-01-05T08:00:00', 'ana', 'rule_publish', 'rule version 1',
     'effective 2026-01-01, after version 0: surcharges.night_cents: 3000 → 3500', 'winter');
"""


def test_an_audit_row_written_before_texts_kept_their_wording_shows_as_stored(
    app_env: Path,
) -> None:
    store = app_store.app_store_path(app_env)
    with sqlite3.connect(store) as con:
        con.executescript(OLD_AUDIT)
    at = ok(open_page("audit", "analyst", "zh"))
    shown = cells(at)
    assert "effective 2026-01-01, after version 0: surcharges.night_cents: 3000 → 3500" in shown
    assert "rule version 1" in shown and "winter" in shown
    with app_store.connect(store) as con:  # the column was added; the row is as it was
        columns = {row[1] for row in con.execute("pragma table_info(audit_log)")}
        assert "wording" in columns
        assert con.execute("select wording from audit_log").fetchall() == [(None,)]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), app_store.connect(store) as c:
        c.execute("update audit_log set diff = 'rewritten'")
    # A new row beside it reads in Chinese.
    period, _number = request_close(app_env, "zh")
    assert f"结账（账期 {period}）：month end" in cells(ok(open_page("audit", "analyst", "zh")))


def test_an_approval_refused_meanwhile_says_why_in_chinese_and_keeps_it(app_env: Path) -> None:
    from warehouse.settle import close_period

    period, number = request_close(app_env, "zh")
    close_period(app_env, period, actor="ana", note="closed by hand")  # closed meanwhile
    at = ok(open_page("approvals", "manager", "zh"))
    button(at, "Approve", "zh").click().run()
    ok(at)
    why = f"账期 {period} 状态为 {code('status', 'closed', 'zh')}；只能关闭未关闭的账期"
    assert f"未批准：申请 {number} 未能生效：{why}" in [e.value for e in at.error], [
        e.value for e in at.error
    ]
    assert requests.get(app_env, number).status == "failed"
    # The stored reason reads in Chinese in the decided requests, and in English in English.
    assert why in cells(ok(open_page("approvals", "manager", "zh")))
    english = cells(ok(open_page("approvals", "manager", "en")))
    assert any(c.startswith(f"period {period} is ") for c in english)


def test_user_dispute_threshold_and_golden_case_audit_rows_read_in_chinese(tmp_path: Path) -> None:
    from warehouse import alerts, disputes, users

    store = tmp_path / "app.sqlite"
    wang = users.User("wang@example.com", "Wang", "technician", technician_id="T00042")
    users.save(store, wang, actor="admin", reason="new starter")
    promoted = users.User("wang@example.com", "Wang", "regional_lead", region_groups=("华东",))
    users.save(store, promoted, actor="admin", reason="promoted")
    number = disputes.raise_dispute(
        store, actor="wang", payee_type="technician", payee_id="T00042", ticket_id="TK-1",
        reason="少算了", period="2026-03", line_kind="ticket",
    )  # fmt: skip
    disputes.accept(store, number, actor="ana", amount="12.5", period="2026-04", answer="补上")
    alerts.set_thresholds(store, {"share_factor": 2.5}, actor="ana", reason="少一点告警")
    case = golden.parse_case({"name": "一例", "city_code": "110100", "item_code": "INS-AC-01",
                              "expected_technician_cents": 18000})  # fmt: skip
    golden.save(store, {case.name: case}, actor="ana", reason="例子")
    golden.save(store, {case.name: None}, actor="ana", reason="不要了")
    said = [
        (phrase(e["subject"], "zh"), phrase(e["diff"], "zh"))
        for e in reversed(app_store.audit_entries(store, "admin"))
    ]
    role = code("role", "technician", "zh")
    assert said == [
        ("用户 wang@example.com", f"新用户 → {role}，技师编号 T00042（全部地区）"),
        ("用户 wang@example.com",
         f"{role}，技师编号 T00042（全部地区） → {code('role', 'regional_lead', 'zh')}（华东）"),
        (f"争议 {number}", f"{role} T00042，2026-03：工单 TK-1 的"
                           f"{code('line_kind', 'ticket', 'zh')}明细"),
        (f"争议 {number}", f"人工调整 ¥12.50，收款方 {role} T00042，工单 TK-1，计入账期 2026-04"),
        ("告警阈值", "占比突增：超过自身均值的倍数：2 → 2.5"),
        ("黄金用例", "设定“一例”（技师 ¥180.00）"),
        ("黄金用例", "删除“一例”"),
    ]  # fmt: skip
    english = [str(e["diff"]) for e in reversed(app_store.audit_entries(store, "admin"))]
    assert english[3] == (
        "manual adjustment ¥12.50 for technician T00042, ticket TK-1, booked in 2026-04"
    )
