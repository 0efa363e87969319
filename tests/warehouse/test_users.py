"""Identity: claims or the users table decide role and scope; every change is audited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from warehouse import app_store, users

ROOT = Path(__file__).resolve().parents[2]


def test_claims_with_a_role_decide_the_scope() -> None:
    user = users.from_claims(
        {
            "email": "li@example.com",
            "name": "Li",
            "tierboard_role": "regional_lead",
            "tierboard_region_groups": ["华东", "华南"],
        }
    )
    assert user is not None and user.scope.region_groups == ("华东", "华南")
    assert users.from_claims({"email": "x@example.com"}) is None
    with pytest.raises(ValueError, match="needs the technician's id"):
        users.from_claims({"email": "t@example.com", "tierboard_role": "technician"})


def test_the_users_table_maps_an_identity_and_changes_are_audited(tmp_path: Path) -> None:
    store = tmp_path / "app.sqlite"
    assert users.resolve({"email": "wang@example.com"}, store) is None
    wang = users.User("wang@example.com", "Wang", "technician", technician_id="T00042")
    users.save(store, wang, actor="admin@example.com", reason="new starter")
    resolved = users.resolve({"email": "wang@example.com", "sub": "u1"}, store)
    assert resolved == wang and resolved.scope.technician_id == "T00042"
    promoted = users.User("wang@example.com", "Wang", "regional_lead", region_groups=("华东",))
    users.save(store, promoted, actor="admin@example.com", reason="promoted")
    audit = app_store.audit_entries(store, "admin")
    assert [a["action"] for a in audit] == ["user_change", "user_change"]
    assert audit[0]["diff"] == "technician as T00042 (all regions) → regional_lead (华东)"
    assert app_store.audit_entries(store, "manager") == []  # not a reader of the audit log
    with pytest.raises(ValueError, match="needs a reason"):
        users.save(store, promoted, actor="admin@example.com", reason=" ")
    with pytest.raises(ValueError, match="needs region groups or provinces"):
        users.save(store, users.User("x@example.com", "X", "regional_lead"), actor="a", reason="r")


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ("production", "TIERBOARD_ENV=production"),
        ("staging", "TIERBOARD_ENV=staging"),
        ("prod", "TIERBOARD_ENV='prod' is not one of"),
        ("Production ", "TIERBOARD_ENV=production"),
        ("dev", "TIERBOARD_ENV='dev' is not one of"),
        ("", "TIERBOARD_ENV is not set"),
        (None, "TIERBOARD_ENV is not set"),
    ],
)
def test_demo_mode_refuses_to_start_unless_explicitly_development(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, env: str | None, why: str
) -> None:
    if env is None:
        monkeypatch.delenv("TIERBOARD_ENV", raising=False)
    else:
        monkeypatch.setenv("TIERBOARD_ENV", env)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert any("refuses to run in local demo mode" in e.value and why in e.value for e in at.error)
    assert not at.title and not at.selectbox  # no page, and no identity to pick


@pytest.mark.parametrize("env", ["development", "test", " Development"])
def test_demo_mode_runs_on_a_development_machine(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("TIERBOARD_ENV", env)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="as").value == "analyst" and at.title


def test_url_tampering_cannot_widen_a_regional_leads_view(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"as": "lead-east", "group": "华南", "lang": "en"})  # not theirs
    at.run()
    at.switch_page("pages/regions.py").run()
    assert not at.exception
    assert any("Nothing settled here" in i.value for i in at.info)
    assert not at.metric


def test_a_manual_ingest_is_audited(app_env: Path, feed_dir: Path) -> None:
    command = [sys.executable, "-m", "pipelines", "ingest", str(feed_dir / "taobao")]
    subprocess.run([*command, "--db", str(app_env)], cwd=ROOT, check=True, capture_output=True)
    (entry,) = app_store.audit_entries(app_store.app_store_path(app_env), "admin")
    assert entry["action"] == "manual_ingest" and "files:" in str(entry["diff"])


def test_a_partner_contact_from_claims_or_the_table(tmp_path: Path) -> None:
    claimed = users.from_claims(
        {"email": "zhao@dealer.cn", "tierboard_role": "partner", "tierboard_partner_id": "PT0007"}
    )
    assert claimed is not None and claimed.scope.payee == ("partner", "PT0007")
    assert not claimed.scope.all_regions  # a partner contact sees no region's data
    with pytest.raises(ValueError, match="needs the partner's id"):
        users.from_claims({"email": "p@example.com", "tierboard_role": "partner"})
    store = tmp_path / "app.sqlite"
    users.save(store, claimed, actor="admin@example.com", reason="dealer portal")
    assert users.get(store, "zhao@dealer.cn") == claimed


def test_an_older_store_gains_the_partner_column_and_keeps_its_users(tmp_path: Path) -> None:
    """A store written before partner contacts existed: its users table has no partner_id."""
    import sqlite3

    store = tmp_path / "app.sqlite"
    with sqlite3.connect(store) as con:
        con.execute(
            "create table users (email text primary key, name text not null, role text not null,"
            " region_groups text not null default '', provinces text not null default '',"
            " technician_id text, updated_at text not null, updated_by text not null)"
        )
        con.execute(
            "insert into users values ('wang@example.com', 'Wang', 'technician', '', '',"
            " 'T00042', '2026-01-01T00:00:00', 'admin')"
        )
    wang = users.get(store, "wang@example.com")
    assert wang == users.User("wang@example.com", "Wang", "technician", technician_id="T00042")
    partner = users.User("li@p.cn", "Li", "partner", partner_id="PT0002")
    users.save(store, partner, actor="admin", reason="added after the upgrade")
    assert users.get(store, "li@p.cn") == partner
