"""Demo data for CreditDesk: `manage.py seed_demo` fills an empty database with a realistic ledger.

`kinds` says which kinds of customer there are and how each behaves, `profiles` the segments,
`ledger` generates one account's history, and `writer` writes accounts in bulk, chunk by chunk.
It lives in the project package because it writes to every app (apps depend downward only).
"""
