"""Schedules on SQLite and PostgreSQL: when a job is next due (every, cron in Beijing time), the CLI
adding and running a real `check` job and keeping its result, a run missed during downtime run
once, and the lease keeping a job to one runner across two processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fapiao.ledger.store import Ledger
from fapiao.schedule import runner, timing
from fapiao.schedule.tables import schedule_jobs
from tests.notify_support import cli

BEIJING = dt.timezone(dt.timedelta(hours=8))


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def test_every_counts_from_the_given_moment() -> None:
    assert timing.parse("5s", None).every_s == 5
    assert timing.parse("10m", None).every_s == 600
    assert timing.parse(None, "0 2 * * *").cron == "0 2 * * *"
    when = timing.parse("1d", None)
    assert timing.next_after(when, 1000.0) == 1000.0 + 86400
    for every, cron in (("5x", None), ("0s", None), (None, "0 2 * *"), (None, "61 * * * *"),
                        ("5s", "0 2 * * *"), (None, None)):  # fmt: skip
        with pytest.raises(timing.TimingError):
            timing.parse(every, cron)


def test_cron_is_read_in_beijing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAPIAO_TZ", raising=False)
    nightly = timing.When(cron="0 2 * * *")
    after = ts("2025-03-01T03:00:00+08:00")
    assert timing.next_after(nightly, after) == ts("2025-03-02T02:00:00+08:00")
    assert timing.next_after(nightly, ts("2025-03-01T01:59:59+08:00")) == ts(
        "2025-03-01T02:00:00+08:00"
    )
    month_end = timing.When(cron="30 9 1 * *")  # 09:30 on the first of each month
    assert timing.next_after(month_end, ts("2025-01-31T12:00:00+08:00")) == ts(
        "2025-02-01T09:30:00+08:00"
    )


def test_schedule_run_runs_a_due_check_and_keeps_its_result(db_url: str, ledger: Ledger) -> None:
    added = cli(db_url, "schedule", "add", "check", "--every", "1h", "--json")
    assert added.exit_code == 0, added.output
    assert cli(db_url, "schedule", "add", "drill", "--every", "1d").exit_code == 2  # no --from
    assert cli(db_url, "schedule", "add", "check", "--cron", "nonsense").exit_code == 2
    nothing = cli(db_url, "schedule", "run", "--json")  # not due for another hour
    assert json.loads(nothing.output) == {}
    with ledger.engine.begin() as conn:  # …and now the hour has passed
        conn.execute(update(schedule_jobs).values(next_at=time.time() - 1))
    ran = cli(db_url, "schedule", "run", "--json")
    result = json.loads(ran.output)["check"]
    assert result["result"].startswith("self-check: ")
    assert ran.exit_code == (0 if result["ok"] else 1)
    (row,) = json.loads(cli(db_url, "schedule", "list", "--json").output)
    assert row["runs"] == 1 and row["last_ok"] == result["ok"]
    assert row["last_result"] == result["result"] and row["last_finished"]
    assert dt.datetime.fromisoformat(row["next_run"]).timestamp() > time.time()
    from fapiao.ops.history import recent_runs  # the self-check kept the run in its history

    assert any(r["source"] == "schedule" for r in recent_runs(ledger.engine))
    assert cli(db_url, "schedule", "remove", "check").exit_code == 0
    assert json.loads(cli(db_url, "schedule", "list", "--json").output) == []
    assert cli(db_url, "schedule", "remove", "check").exit_code == 1


def test_a_run_missed_during_downtime_runs_once(ledger: Ledger) -> None:
    three_days_ago = time.time() - 3 * 86400
    runner.add(ledger, "reminders", timing.When(every_s=3600), [], now=three_days_ago)
    first = runner.run_due(ledger.engine)  # 72 hourly slots were missed
    assert list(first) == ["reminders"] and first["reminders"].ok
    assert runner.run_due(ledger.engine) == {}
    (row,) = runner.listing(ledger.engine)
    assert row["runs"] == 1
    assert time.time() + 3500 < row["next_at"] <= time.time() + 3600


SLOW_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from fapiao.ledger.db import open_engine
    from fapiao.schedule import jobs, runner

    def slow(engine, db, args):
        time.sleep(1.5)
        return jobs.Outcome(True, "slept")

    jobs.JOBS["check"] = ("", "", slow)  # the lease is what is tested, not the job
    engine = open_engine(sys.argv[1])
    print(json.dumps(sorted(runner.run_due(engine))))
    """
)


def test_two_processes_never_run_the_same_job_at_once(
    db_url: str, ledger: Ledger, tmp_path: Path
) -> None:
    runner.add(ledger, "check", timing.When(every_s=3600), [], now=time.time() - 7200)
    script = tmp_path / "slow_runner.py"
    script.write_text(SLOW_RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = []
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, str(script), db_url], env=env,
                                      stdout=subprocess.PIPE, text=True))  # fmt: skip
        time.sleep(0.3)  # the second starts while the first still runs the job
    ran = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sorted(map(tuple, ran)) == [(), ("check",)]
    (row,) = runner.listing(ledger.engine)
    assert row["runs"] == 1 and row["last_result"] == "slept"


def test_a_lease_left_by_a_dead_runner_runs_out(ledger: Ledger, monkeypatch) -> None:
    runner.add(ledger, "reminders", timing.When(every_s=60), [], now=time.time() - 120)
    now = time.time()
    assert runner.take(ledger.engine, "reminders", "dead|1|x", now)  # then the runner died
    assert runner.run_due(ledger.engine) == {}  # its lease still holds
    with ledger.engine.begin() as conn:
        conn.execute(update(schedule_jobs).values(lease_until=now - 1))  # …until it runs out
    assert list(runner.run_due(ledger.engine)) == ["reminders"]
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(schedule_jobs.c.lease_owner)) == ""


def test_the_self_check_warns_of_overdue_and_failed_schedules(
    db_url: str, ledger: Ledger, tmp_path: Path
) -> None:
    def schedule_check() -> dict:
        report = json.loads(cli(db_url, "check", "--json").output)
        return next(c for c in report["checks"] if c["check"] == "schedule")

    assert schedule_check()["level"] == "ok"
    hour_ago = time.time() - 3600
    nowhere = str(tmp_path / "no-such-backup")
    runner.add(ledger, "drill", timing.When(every_s=60), ["--from", nowhere], now=hour_ago)
    overdue = schedule_check()
    assert overdue["code"] == "schedule_overdue" and overdue["data"]["overdue"] == ["drill"]
    ran = runner.run_due(ledger.engine)
    assert not ran["drill"].ok and ran["drill"].summary  # no backup there: a failed run, kept
    failed = schedule_check()
    assert failed["level"] == "warn" and failed["code"] == "schedule_failed"
    assert "drill" in failed["message"]


def test_serve_runs_the_schedules_and_delivers_what_they_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `fapiao serve`: its threads run a due job and deliver the message it raised."""
    from tests.conftest import FAPIAO
    from tests.notify_support import Hook
    from tests.test_web_support import free_port

    db = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    hook = Hook().start()
    try:
        cli(db, "notify", "channel", "add", "ops", "--url", hook.url())
        cli(db, "notify", "rule", "add", "--event", "backup.stale", "--channel", "ops")
        cli(db, "schedule", "add", "reminders", "--every", "1s")
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "FAPIAO_CHECK_FIRST_DELAY_S": "3600",
               "FAPIAO_WEB_SHUTDOWN_S": "0"}  # fmt: skip
        server = subprocess.Popen(
            [FAPIAO, "--db", db, "serve", "--port", str(free_port())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not hook.posts and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(20)
        assert hook.posts and "备份过旧" in hook.posts[0]["title"]
        (row,) = json.loads(cli(db, "schedule", "list", "--json").output)
        assert row["runs"] >= 1 and row["last_ok"] is True
    finally:
        hook.close()


def test_a_long_run_keeps_its_lease(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    from fapiao.schedule import jobs

    monkeypatch.setenv("FAPIAO_SCHEDULE_LEASE_S", "1.5")
    seen: list[bool] = []

    def long_job(engine, db, args):  # runs past its lease; another runner looks meanwhile
        for _ in range(4):
            time.sleep(0.5)
            seen.append(runner.take(engine, "check", "other|2|x", time.time()))
        return jobs.Outcome(True, "long")

    monkeypatch.setitem(jobs.JOBS, "check", ("", "", long_job))
    runner.add(ledger, "check", timing.When(every_s=3600), [], now=time.time() - 7200)
    assert runner.run_due(ledger.engine)["check"].summary == "long"
    assert seen == [False, False, False, False]
