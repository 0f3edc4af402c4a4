"""The sandbox tax platform: `server` (the FastAPI app speaking DESIGN.md's protocol), `store` (its
own SQLite), `faults` (the fault plan: outages, 5xx, timeouts, drops after ack, rate limits) and
`run` (in the foreground, in a thread, or as a child process). The connector that users run talks to
it exactly as to the real platform; it lives in `fapiao.authority`."""
