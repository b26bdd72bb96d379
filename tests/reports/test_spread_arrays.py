"""The backtest's arrays (reports/spread_arrays.py): exact means and a faithful read of the rows."""

from fractions import Fraction

import numpy as np
import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from reports.spread_arrays import fetched, rounded_mean


@given(st.lists(st.tuples(st.integers(-(10**12), 10**12), st.integers(1, 10**9)), min_size=1, max_size=50))
def test_a_rounded_mean_is_the_exact_quotient_rounded_halves_to_even(pairs):
    weighted, weight = (np.array(column, dtype=np.int64) for column in zip(*pairs, strict=True))
    expected = [round(Fraction(w, d)) for w, d in pairs]  # Python rounds a Fraction's halves to even
    assert rounded_mean(weighted, weight).tolist() == expected


def test_halves_go_to_the_even_number_either_side_of_zero():
    weighted = np.array([5, 15, -5, -15, 7], dtype=np.int64)
    assert rounded_mean(weighted, np.array([10, 10, 10, 10, 2])).tolist() == [0, 2, 0, -2, 4]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY's binary format is PostgreSQL's")
def test_the_rows_are_read_back_as_they_are_and_a_null_is_refused():
    rows = "SELECT CAST(n AS BIGINT), CAST(-n * 10000000000 AS BIGINT) FROM generate_series(1, 3) n"
    with connection.cursor() as cursor:
        read = fetched(cursor, rows, (), ("n", "big"))
        assert read["n"].tolist() == [1, 2, 3]
        assert read["big"].tolist() == [-(10**10), -2 * 10**10, -3 * 10**10]
        with pytest.raises(ValueError, match="non-null bigint"):
            fetched(cursor, "SELECT CAST(1 AS BIGINT), CAST(NULL AS BIGINT)", (), ("a", "b"))
