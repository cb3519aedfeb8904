"""The foundation benchmark: `python -m bench` (or `make bench`).

generate.py fills a database with a realistic catalogue through bulk Core inserts; app.py is
the server under test plus a bare /hello route; server.py starts it under uvicorn; loadgen.py
is the keep-alive HTTP client that runs in its own process; runner.py interleaves the runs;
report.py prints the figures and the budget.
"""
