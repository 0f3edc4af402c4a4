"""The schedule table (migration schedule1), on the ledger's metadata.

One row per scheduled job. `every_s` (> 0) or `cron` (5 fields, in `FAPIAO_TZ`, default
Asia/Shanghai) says when; `args` is the job's argument list as JSON. `next_at` is when it is due
(unix seconds). A run is leased: `lease_owner` + `lease_until`, taken with a conditional UPDATE, so
two processes never run the same job at once; an owner that died lets the lease run out.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, String, Table, Text

from fapiao.ledger.schema import metadata

schedule_jobs = Table(
    "schedule_jobs",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("job", String(20), nullable=False),
    Column("every_s", Float, nullable=False),  # 0 when `cron` says when
    Column("cron", String(120), nullable=False),
    Column("args", Text, nullable=False),  # JSON list of strings
    Column("next_at", Float, nullable=False),
    Column("lease_owner", String(120), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("runs", Integer, nullable=False),
    Column("last_started", String(40), nullable=False),
    Column("last_finished", String(40), nullable=False),
    Column("last_ok", Integer, nullable=True),  # NULL: never ran
    Column("last_result", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)
