"""Developer tools, shipped beside fapiao but never run by a user's ledger.

- `synth`: realistic synthetic invoices, deterministic under a seed (the demo, tests, benchmarks).
- `samples`: sample invoices drawn as XML, OFD, PDF and photographed pages, with their expected JSON.
- `sandbox`: the simulated tax platform (DESIGN.md's protocol, faults on demand) and ways to run it.
- `chaos`: the drill that SIGKILLs the sync worker against a faulty sandbox and checks the result.
- `demo`: `fapiao demo`, a throwaway SQLite ledger showing import, sync, reconcile and the web login.

The commands (`fapiao demo`, `fapiao samples`, `fapiao sandbox`) join the CLI through the `dev`
capability (`fapiao_dev.plugin`). The direction is one way: this package imports fapiao, nothing in
`fapiao` imports it (tests/test_dev_apart.py).
"""
