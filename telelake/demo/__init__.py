"""``telelake demo`` and its traffic simulator: the whole pipeline offline, with no token.

:mod:`~telelake.demo.pipeline` runs the demo (a real server, the ETL, the
check against what was sent); :mod:`~telelake.demo.simulator` produces the
group traffic it sends, which the benchmarks and the tests use too. Nothing
is imported here, so ``telelake`` starts without loading the simulator.
"""
