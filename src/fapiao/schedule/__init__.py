"""Schedules: the habits fapiao keeps by itself (定时任务) — backups, drills, reconciles, 查验,
self-checks and reminders — run inside `serve`, or once by `fapiao schedule run` from cron.

    schedule_jobs row ──due?──> lease (conditional UPDATE: one runner per job, whatever the number
                                of processes) ──> the job (the same library call the command makes)
                                ──> result kept, next run computed from *now* (a run missed while
                                the server was down runs once, not once per missed slot)

Owns: the schedule table, the timing (`--every`, `--cron` through croniter), the runner and the
thread in `serve`. The jobs call the capabilities that do the work (`jobs.py` names them).
"""
