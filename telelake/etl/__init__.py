"""ETL: raw updates of one date -> typed Parquet tables of that date.

``schema`` declares the tables, ``transform`` is a pure function from raw
objects to Arrow tables, ``runner`` decides which dates to build and writes
each partition atomically, ``workers`` spreads the dates of a big run over
the cores.
"""
