"""The patch judge: a driver process and a pytest plug-in that report per-test outcomes.

`driver.py` and `plugin.py` are stdlib(+pytest) scripts shipped into the sandbox; the host
side (building the job, checking the signed verdict) is `ponder.repair.judging`.
"""
