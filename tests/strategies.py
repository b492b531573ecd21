"""Hypothesis strategies shared by test folders: arbitrary JSON, and extra fields for updates.

A plain module (tests/ is on ``sys.path``, as the folder of the rootdir's
conftest.py): ``from strategies import json_values``. Each fuzz test picks its
own bounds: the in-process ingest core takes integers beyond 64 bits (they
must be refused or kept, never crash it), while a body that must be taken
over HTTP stays within what every JSON parser reads exactly (2**53).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_values(
    *,
    max_int: int = 2**53,
    max_text: int = 40,
    max_items: int = 5,
    max_key: int = 10,
    max_leaves: int = 25,
) -> st.SearchStrategy[Any]:
    """Any JSON value: null, booleans, integers in ``±max_int``, finite floats and
    strings, nested in lists and objects of at most ``max_items`` entries."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-max_int, max_value=max_int)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=max_text)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=max_items)
            | st.dictionaries(st.text(max_size=max_key), inner, max_size=max_items)
        ),
        max_leaves=max_leaves,
    )


def extra_fields(
    values: st.SearchStrategy[Any],
    *,
    max_key: int,
    max_size: int = 4,
    reserved: frozenset[str] = frozenset(),
) -> st.SearchStrategy[dict[str, Any]]:
    """Fields a later Bot API may add to an object: non-empty names other than
    ``reserved``, each with a value drawn from ``values``."""
    names = st.text(min_size=1, max_size=max_key)
    if reserved:
        names = names.filter(lambda name: name not in reserved)
    return st.dictionaries(names, values, max_size=max_size)
