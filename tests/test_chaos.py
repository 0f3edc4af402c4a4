"""The chaos drill, scaled down: a faulty sandbox (outage, 5xx, timeouts, drop-after-ack, delayed
visibility) while the sync worker is SIGKILLed again and again; the authority ends up holding exactly
the ledger's set, each invoice once, all confirmed. Full size: bench/sync.py."""

from __future__ import annotations

from fapiao_dev import chaos

FAULTS = {
    "seed": 3,
    "error_rate": 0.1,
    "timeout_rate": 0.05,
    "timeout_hold_s": 2,
    "latency_ms": [0, 20],
    "drop_after_ack_rate": 0.05,
    "visibility_delay_s": 0.5,
    "outages": [{"start_s": 2, "end_s": 4}],
}


def test_chaos_converges_with_nothing_missing_or_doubled(db_url, tmp_path):
    report = chaos.run(
        tmp_path,
        db=db_url,
        invoices=240,
        drafts=120,
        kills=5,
        kill_after_s=(0.6, 1.4),
        faults=FAULTS,
        timeout=1.0,
        missing_after=1.5,
        converge_timeout_s=60,
    )
    summary = report.to_json()
    assert report.kills == 5
    assert report.missing == [] and report.extra == [] and report.differing == [], summary
    assert report.not_confirmed == {}, summary
    assert report.ledger == report.authority == 240
    assert report.sandbox["drafts_numbered_twice"] == 0
    assert report.sandbox["duplicate_content"] == 0
    assert report.sandbox["numbers_assigned"] >= 120
    assert report.retries > 0  # the faults did bite
    assert report.audit_ok and report.ok
