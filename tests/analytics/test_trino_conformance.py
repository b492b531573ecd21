"""Athena's answer or Athena's error: the classes of issue 15, row by row.

Table-driven like test_trino_semantics.py: (Athena SQL, expected rows) and
(Athena SQL, the error Athena gives). Every expected value is derived from
the rule quoted in the comment above it: Trino's documentation
(trino.io/docs, "Functions and operators", "Data types") or, where the
documentation is silent, the Trino source that decides it (the class is
named). None is taken from telelake's output. The module runs with the
process's zone set to America/Sao_Paulo, and against a lake, so the lake's
column types (``context_date`` date, ``user_id`` bigint, ``sent_at``
timestamp(3), ``hashtags`` array(varchar)) take part in the type checks.

The lake holds one message: user 101, 'hello world', sent 2021-01-03 12:00:00
UTC (Unix 1609675200), partition 2021-01-03, hashtags ['#a', '#b'].
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telelake.analytics.engine import Engine
from telelake.errors import QueryError
from telelake.lake import tables

SENT = 1609675200  # 2021-01-03 12:00:00 UTC, a Sunday; 09:00 in São Paulo


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Sao_Paulo"
    time.tzset()
    root = tmp_path_factory.mktemp("conformance") / "enriched"
    row = {
        "message_id": 1, "user_id": 101, "user_is_bot": False, "user_first_name": "Ana",
        "chat_id": -100, "chat_type": "supergroup", "text": "hello world", "date": SENT,
        "sent_at": datetime(2021, 1, 3, 12, 0), "hashtags": ["#a", "#b"],
    }  # fmt: skip
    schema = tables.arrow_schema(tables.MESSAGES)
    folder = root / tables.MESSAGES / "context_date=2021-01-03"
    folder.mkdir(parents=True)
    columns = [pa.array([row.get(field.name)], type=field.type) for field in schema]
    pq.write_table(pa.table(columns, schema=schema), folder / "part-00000.parquet")
    try:
        with Engine(str(root)) as opened:
            yield opened
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


D = date
BERLIN, SAO_PAULO = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Sao_Paulo")

ROWS: list[tuple[str, list[tuple[Any, ...]]]] = [
    # --- 1. coercions Trino makes (TypeCoercion.coerceTypeBase): integer -> bigint, double,
    # decimal(10,0); date -> timestamp(0) and, in the session zone, timestamp with time zone.
    ("SELECT 1 = 1e0, 1 < 2.5, CAST(1 AS bigint) = 1, user_id = 101 FROM telegram",
     [(True, True, True, True)]),
    ("SELECT DATE '2021-01-03' = TIMESTAMP '2021-01-03 00:00:00', "
     "context_date < from_unixtime(date) FROM telegram", [(True, True)]),
    # "getCommonSuperTypeForDecimal": integer is decimal(10,0); with decimal(2,1) -> decimal(11,1).
    ("SELECT coalesce(1, 2.5), typeof(coalesce(1, 2.5)), typeof(ARRAY[1, 2e0])",
     [(Decimal("1.0"), "decimal(11,1)", "array(double)")]),
    ("SELECT 1 IN (1, 2e0), typeof(CASE WHEN true THEN 1 ELSE CAST(2 AS bigint) END)",
     [(True, "bigint")]),
    ("SELECT count(*) FROM telegram WHERE context_date = DATE '2021-01-03' "
     "AND context_date BETWEEN DATE '2021-01-01' AND DATE '2021-01-31'", [(1,)]),
    # --- 2. subscripts. element_at: "If the index is greater than the array length, returns
    # NULL"; element_at(map, key): "Returns NULL if the key is not contained in the map".
    ("SELECT ARRAY[1, 2, 3][3], element_at(ARRAY[1, 2, 3], 4), element_at(ARRAY[1, 2, 3], -1)",
     [(3, None, 3)]),
    ("SELECT MAP(ARRAY['a'], ARRAY[1])['a'], element_at(MAP(ARRAY['a'], ARRAY[1]), 'b')",
     [(1, None)]),
    ("SELECT split(text, ' ')[2], hashtags[1] FROM telegram", [("world", "#a")]),
    # --- 3. timestamp with time zone: "an instant in time and a zone"; comparisons are by
    # instant (TimestampWithTimeZoneOperators compare unpackMillisUtc), a timestamp without
    # zone is read in the session zone (UTC on Athena).
    # 1609722000 is 2021-01-04 01:00 UTC, still 2021-01-03 22:00 in São Paulo.
    ("SELECT from_unixtime(1609722000, 'America/Sao_Paulo') >= TIMESTAMP '2021-01-04 00:00:00'",
     [(True,)]),
    ("SELECT count(*) FROM telegram "
     "WHERE from_unixtime(date, 'America/Sao_Paulo') >= TIMESTAMP '2021-01-03 12:00:00'", [(1,)]),
    # to_unixtime: "Returns timestamp as a UNIX timestamp" (the instant).
    ("SELECT to_unixtime(from_unixtime(1609722000, 'America/Sao_Paulo')), "
     "to_unixtime(from_unixtime(date, 'Asia/Tokyo')) = date FROM telegram",
     [(1609722000.0, True)]),
    # Fields are the zone's wall clock: hour(from_unixtime(0, 'America/Sao_Paulo')) = 21.
    ("SELECT hour(from_unixtime(0, 'America/Sao_Paulo')), "
     "CAST(from_unixtime(1609722000, 'America/Sao_Paulo') AS date), "
     "date_format(from_unixtime(1609722000, 'America/Sao_Paulo'), '%Y-%m-%d %H:%i')",
     [(21, D(2021, 1, 3), "2021-01-03 22:00")]),
    # Rendering (DateTimes.formatTimestampWithTimeZone): "yyyy-MM-dd HH:mm:ss" + fraction of the
    # precision + " " + zone id; from_unixtime is timestamp(3) with time zone.
    ("SELECT CAST(from_unixtime(1609722000, 'America/Sao_Paulo') AS varchar)",
     [("2021-01-03 22:00:00.000 America/Sao_Paulo",)]),
    # date_diff on timestamps with time zone: hours between instants (Joda precise field),
    # days between wall times. Berlin springs forward on 2021-03-28: that day has 23 hours.
    ("SELECT date_diff('hour', TIMESTAMP '2021-03-28 00:00:00 Europe/Berlin', "
     "TIMESTAMP '2021-03-29 00:00:00 Europe/Berlin'), date_diff('day', "
     "TIMESTAMP '2021-03-28 00:00:00 Europe/Berlin', "
     "TIMESTAMP '2021-03-29 00:00:00 Europe/Berlin'), "
     "date_diff('day', TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin', "
     "TIMESTAMP '2021-03-28 11:30:00 Europe/Berlin')", [(23, 1, 0)]),
    # date_add in the zone's chronology (ZonedChronology): a day moves the wall clock (23 hours
    # here), 24 hours move the instant. The literal without fraction is timestamp(0).
    ("SELECT CAST(date_add('day', 1, TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin') AS varchar), "
     "CAST(date_add('hour', 24, TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin') AS varchar)",
     [("2021-03-28 12:00:00 Europe/Berlin", "2021-03-28 13:00:00 Europe/Berlin")]),
    ("SELECT date_add('day', 1, TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin')",
     [(datetime(2021, 3, 28, 12, 0, tzinfo=BERLIN),)]),
    # + INTERVAL day to second adds milliseconds to the instant, result precision max(3, p);
    # + INTERVAL year to month adds calendar months in the zone (TimestampWithTimeZoneOperators).
    ("SELECT CAST(TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin' + INTERVAL '1' DAY AS varchar), "
     "CAST(TIMESTAMP '2021-03-27 12:00:00 Europe/Berlin' + INTERVAL '1' MONTH AS varchar)",
     [("2021-03-28 13:00:00.000 Europe/Berlin", "2021-04-27 12:00:00 Europe/Berlin")]),
    # Joda keeps the original offset when it still applies (convertLocalToUTC(local, false,
    # original)): 2021-11-07 01:30 happens twice in New York; from an EDT time it stays EDT,
    # 05:30 UTC (DuckDB alone would pick 06:30 UTC).
    ("SELECT to_unixtime(date_add('day', 1, TIMESTAMP '2021-11-06 01:30:00 America/New_York'))",
     [(1636263000.0,)]),
    # A literal with a zone (DateTimes.toEpochSecond): the first of the zone's valid offsets, so
    # an hour that happens twice is its earlier instant (02:30 CEST in Berlin, 01:30 EDT in
    # New York); the literal's precision is its fraction digits.
    ("SELECT to_unixtime(TIMESTAMP '2021-10-31 02:30:00 Europe/Berlin'), "
     "to_unixtime(TIMESTAMP '2021-11-07 01:30:00 America/New_York'), "
     "CAST(TIMESTAMP '2021-01-04 00:00:00.5 UTC' AS varchar), "
     "typeof(TIMESTAMP '2021-01-04 00:00:00.5 UTC')",
     [(1635640200.0, 1636263000.0, "2021-01-04 00:00:00.5 UTC", "timestamp(1) with time zone")]),
    # at_timezone: "Change the time zone component of timestamp with time zone while preserving
    # the instant in time"; with_timezone: "from timestamp and zone" (the wall time in zone).
    ("SELECT at_timezone(TIMESTAMP '2021-01-04 00:00:00 UTC', 'Asia/Tokyo') = "
     "TIMESTAMP '2021-01-04 00:00:00 UTC', "
     "hour(at_timezone(TIMESTAMP '2021-01-04 00:00:00 UTC', 'Asia/Tokyo')), "
     "to_unixtime(with_timezone(TIMESTAMP '2021-01-04 00:00:00', 'America/Sao_Paulo'))",
     [(True, 9, 1609729200.0)]),
    # date_trunc in the zone: to the zone's midnight, to the zone's hour.
    ("SELECT CAST(date_trunc('day', from_unixtime(1609722000, 'America/Sao_Paulo')) AS varchar), "
     "CAST(date_trunc('hour', from_unixtime(1609723800, 'America/Sao_Paulo')) AS varchar)",
     [("2021-01-03 00:00:00.000 America/Sao_Paulo", "2021-01-03 22:00:00.000 America/Sao_Paulo")]),
    # from_unixtime(unixtime, hours, minutes): the zone of that offset.
    ("SELECT CAST(from_unixtime(1609722000, 5, 30) AS varchar)",
     [("2021-01-04 06:30:00.000 +05:30",)]),
    # --- 4. casts from varchar (VarcharOperators: Integer.parseInt, Long.parseLong, no
    # trimming; Double.parseDouble trims, takes NaN, Infinity and a d/f suffix; booleans are
    # t, f, 1, 0, true, false in any case; try_cast "returns null if the cast fails").
    ("SELECT try_cast('12.5' AS integer), try_cast(' 12' AS integer), try_cast('12' AS integer), "
     "try_cast('+12' AS integer), try_cast('-0' AS bigint)", [(None, None, 12, 12, 0)]),
    ("SELECT try_cast('2147483648' AS integer), try_cast('2147483648' AS bigint)",
     [(None, 2147483648)]),
    ("SELECT try_cast(x AS integer) FROM (VALUES '12.5', ' 12', '7') AS t(x)",
     [(None,), (None,), (7,)]),
    ("SELECT CAST('t' AS boolean), CAST('FALSE' AS boolean), CAST('1' AS boolean), "
     "try_cast('yes' AS boolean)", [(True, False, True, None)]),
    ("SELECT try_cast(' 1.5 ' AS double), try_cast('1.5d' AS double), "
     "is_nan(try_cast('NaN' AS double)), try_cast('inf' AS double)", [(1.5, 1.5, True, None)]),
    # Dates (DateTimeUtils.parseDate): trimmed yyyy-MM-dd, one-digit month and day allowed,
    # nothing after the day.
    ("SELECT CAST('2021-01-03' AS date), try_cast('2021-01-03 10:00' AS date), "
     "CAST(' 2021-1-3 ' AS date)", [(D(2021, 1, 3), None, D(2021, 1, 3))]),
    # Timestamps (DateTimes.DATETIME_PATTERN): a space before the time, no 'T'; the fraction is
    # rounded half up to the type's precision, 3 for CAST(... AS timestamp).
    ("SELECT CAST('2021-01-03 10:00:00.1235' AS timestamp), "
     "try_cast('2021-01-03T10:00:00' AS timestamp)",
     [(datetime(2021, 1, 3, 10, 0, 0, 124000), None)]),
    # split(string, delimiter, limit): "the last element in the array always contain everything
    # left in the string" (Trino's TestStringFunctions.testSplit rows).
    ("SELECT split('a.b..', '.', 3), split('.a.b.c', '.', 2), split('a..b..c', '.', 3), "
     "split('a.b.c', '.', 1), split('', ',')",
     [(["a", "b", "."], ["", "a.b.c"], ["a", "", "b..c"], ["a.b.c"], [""])]),
    # url_extract_host: "Returns the host from url" (UrlFunctions: new URI(url), NULL when
    # it throws URISyntaxException, else slice(nullToEmpty(uri.getHost()))). A relative URI
    # (no scheme: all path), an underscore in the host name or a last label starting with a
    # digit parse as registry-based authorities without a host: ''. A space: NULL.
    ("SELECT url_extract_host(u) FROM (VALUES 'https://t.me/joinchat/XYZ', "
     "'http://user:pw@Example.COM:8080/x?y#z', 'example.org/x', 'https://my_host.com/', "
     "'https://ex ample.org', 'https://[::1]:80/', 'https://example.123/', "
     "'https://example.org/?q=ü') AS t(u)",
     [("t.me",), ("Example.COM",), ("",), ("",), (None,), ("[::1]",), ("",),
      ("example.org",)]),
    # --- 5. JSON (JsonExtract.ScalarValueJsonExtractor): "if (!token.isScalarValue() || token
    # == VALUE_NULL) return null"; a document Jackson cannot parse is NULL; $[1] indexes arrays.
    ("SELECT json_extract_scalar('{\"a\":[1,2]}', '$.a'), "
     "json_extract_scalar('{\"a\":{\"b\":1}}', '$.a'), "
     "json_extract_scalar('{\"a\":{\"b\":1}}', '$.a.b')",
     [(None, None, "1")]),
    ("SELECT json_extract_scalar('{\"a\":\"x\"}', '$.a'), "
     "json_extract_scalar('{\"a\":true}', '$.a'), "
     "json_extract_scalar('{\"a\":null}', '$.a'), json_extract_scalar('{\"a\":1}', '$.b'), "
     "json_extract_scalar('{\"a\":', '$.a'), json_extract_scalar('[10,20]', '$[1]')",
     [("x", "true", None, None, None, "20")]),
    # json_array_length: "Returns the array length of json (a string containing a JSON
    # array)"; NULL for anything else. json_format writes compact JSON.
    ("SELECT json_array_length('[1,2,3]'), json_array_length('{\"a\":1}'), "
     "json_array_length('x'), json_format(json_parse('{\"a\": 1, \"b\": [1, 2]}'))",
     [(3, None, None, '{"a":1,"b":[1,2]}')]),
    # --- 6. functions Trino has. sequence: "incrementing by 1 if start is less than or equal
    # to stop, otherwise -1"; dates step by a day, or by the given interval.
    ("SELECT sequence(DATE '2021-01-01', DATE '2021-01-03'), sequence(DATE '2021-01-03', "
     "DATE '2021-01-02'), sequence(1, 5, 2), sequence(3, 1)",
     [([D(2021, 1, 1), D(2021, 1, 2), D(2021, 1, 3)], [D(2021, 1, 3), D(2021, 1, 2)],
       [1, 3, 5], [3, 2, 1])]),
    ("SELECT sequence(DATE '2021-01-31', DATE '2021-03-31', INTERVAL '1' MONTH)",
     [([D(2021, 1, 31), D(2021, 2, 28), D(2021, 3, 31)],)]),
    # cardinality(x): "Returns the cardinality (size) of the array x" / "of the map x".
    ("SELECT cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2])), cardinality(hashtags) FROM telegram",
     [(2, 2)]),
    # infinity(), nan(), is_finite, is_infinite, is_nan: IEEE 754.
    ("SELECT infinity(), -infinity(), is_nan(nan()), is_finite(1e0), is_finite(infinity()), "
     "is_infinite(-infinity())", [(float("inf"), float("-inf"), True, True, False, True)]),
    # to_utf8: "Encodes string into a UTF-8 varbinary"; length(varbinary) counts bytes.
    ("SELECT length(to_utf8('héllo')), length('héllo')", [(6, 5)]),
    # to_iso8601 (ToIso8601): 'T' between date and time, the precision's fraction, the offset
    # as java.time.ZoneOffset prints it ("Z" for UTC).
    ("SELECT to_iso8601(DATE '2021-01-03'), to_iso8601(TIMESTAMP '2021-01-03 10:00:00.123'), "
     "to_iso8601(sent_at) FROM telegram",
     [("2021-01-03", "2021-01-03T10:00:00.123", "2021-01-03T12:00:00.000")]),
    ("SELECT to_iso8601(from_unixtime(0)), to_iso8601(from_unixtime(0, 'America/Sao_Paulo'))",
     [("1970-01-01T00:00:00.000Z", "1969-12-31T21:00:00.000-03:00")]),
    # --- 7. Unicode: upper/lower map "code point by code point" (Java Character.toUpperCase:
    # ß stays ß, ǆ becomes Ǆ; toLowerCase of ẞ is ß); reverse reverses code points.
    ("SELECT upper('Straße'), upper('ǆ'), lower('ẞ'), lower('ÀÉ')", [("STRAßE", "Ǆ", "ß", "àé")]),
    ("SELECT reverse('e' || chr(769) || 'a'), reverse('ab😀')", [("a\u0301e", "😀ba")]),
    # --- 8. types and numbers. typeof: "Returns the name of the type of the provided
    # expression"; an integer literal is integer (bigint past 2^31), a string literal
    # varchar(length), a decimal literal decimal(digits, fraction digits).
    ("SELECT typeof(1), typeof(3000000000), typeof('abc'), typeof(1.5), typeof(1.5e0)",
     [("integer", "bigint", "varchar(3)", "decimal(2,1)", "double")]),
    ("SELECT typeof(DATE '2021-01-01'), typeof(TIMESTAMP '2021-01-01 00:00:00'), "
     "typeof(TIMESTAMP '2021-01-01 00:00:00.123'), typeof(from_unixtime(0))",
     [("date", "timestamp(0)", "timestamp(3)", "timestamp(3) with time zone")]),
    ("SELECT typeof(user_id), typeof(text), typeof(sent_at), typeof(hashtags), "
     "typeof(context_date) FROM telegram",
     [("bigint", "varchar", "timestamp(3)", "array(varchar)", "date")]),
    # sum of integers is bigint, avg of integers double, count bigint.
    ("SELECT typeof(sum(user_id)), typeof(avg(user_id)), typeof(count(*)) FROM telegram",
     [("bigint", "double", "bigint")]),
    # Decimal arithmetic (DecimalOperators): +: (max(p1-s1, p2-s2) + max(s1, s2) + 1, max(s1, s2));
    # *: (p1 + p2, s1 + s2); /: (p1 + s2 + max(s2 - s1, 0), max(s1, s2)), rounded half up.
    ("SELECT typeof(1.0 / 3), typeof(1 + 2.5), typeof(1.5 * 2.25), typeof(10 / 4.0)",
     [("decimal(2,1)", "decimal(12,1)", "decimal(5,3)", "decimal(12,1)")]),
    ("SELECT 1.0 / 3, 2.0 / 3, 10 / 4.0, -1.0 / 3, 1.00 / 8",
     [(Decimal("0.3"), Decimal("0.7"), Decimal("2.5"), Decimal("-0.3"), Decimal("0.13"))]),
    ("SELECT 100.0 * count(*) / 3 FROM telegram", [(Decimal("33.3"),)]),
    # avg of decimal(p, s) is decimal(p, s) (DecimalAverageAggregation, half up): 5.5 / 3.
    ("SELECT avg(x), typeof(avg(x)) FROM (VALUES 1.5, 2.0, 2.0) AS t(x)",
     [(Decimal("1.8"), "decimal(2,1)")]),
    # CAST(double AS varchar): DecimalFormat("0.0###################E0"), 0E0 for zero.
    ("SELECT CAST(4.5E0 AS varchar), CAST(1E0 / 3 AS varchar), CAST(100E0 AS varchar), "
     "CAST(0.001E0 AS varchar), CAST(-1.5E-7 AS varchar), CAST(0E0 AS varchar)",
     [("4.5E0", "3.333333333333333E-1", "1.0E2", "1.0E-3", "-1.5E-7", "0E0")]),
    ("SELECT CAST(123456789012345678E0 AS varchar), CAST(avg(user_id) AS varchar) FROM telegram",
     [("1.2345678901234568E17", "1.01E2")]),
    # CAST(timestamp(p) AS varchar): the type's precision decides the fraction digits.
    ("SELECT CAST(TIMESTAMP '2024-01-08 00:30:00.000' AS varchar), "
     "CAST(TIMESTAMP '2024-01-08 00:30:00' AS varchar), CAST(sent_at AS varchar) FROM telegram",
     [("2024-01-08 00:30:00.000", "2024-01-08 00:30:00", "2021-01-03 12:00:00.000")]),
    # round(x, d): "[same as input]", so a decimal keeps its scale; sign(double) is a double.
    ("SELECT round(2.345, 2), typeof(round(2.345, 2)), sign(-2.5e0), typeof(sign(-2.5e0))",
     [(Decimal("2.350"), "decimal(4,3)", -1.0, "double")]),
    # --- functions DuckDB names differently. every: "This is an alias for bool_and()";
    # normalize: "Transforms string with NFC normalization form"; trim(string, characters):
    # "Removes leading and trailing characters from string"; concat_ws: "Any null values
    # provided in the arguments after the separator are skipped"; histogram: "a map
    # containing the count of the number of times each input value occurs".
    ("SELECT every(user_is_bot), normalize('e' || chr(769)) = chr(233), "
     "trim(BOTH 'x' FROM 'xxaxx'), concat_ws(',', 'a', NULL, 'b'), histogram(chat_type) "
     "FROM telegram", [(False, True, "a", "a,b", {"supergroup": 1})]),
    # timezone_hour: "Returns the hour of the time zone offset from timestamp".
    ("SELECT timezone_hour(from_unixtime(0, 'America/Sao_Paulo')), "
     "timezone_minute(from_unixtime(0, 5, 30))", [(-3, 30)]),
    # any_match: "true if one or more elements match the predicate; false if none of the
    # elements matches (a special case is when the array is empty); NULL if the predicate
    # function returns NULL for one or more elements and false for all other elements".
    ("SELECT any_match(ARRAY[1, 2], x -> x > 1), any_match(ARRAY[1, NULL], x -> x > 1), "
     "any_match(ARRAY[], x -> x > 1), all_match(ARRAY[2, 3], x -> x > 1), "
     "none_match(ARRAY[1], x -> x > 1)", [(True, None, False, True, True)]),
    # try: "Evaluate an expression and handle certain types of errors by returning NULL".
    ("SELECT try(CAST('12.5' AS integer)), try(CAST('12' AS integer))", [(None, 12)]),
    # Decimals keep their scale as text; booleans print true/false; varchar(n) keeps n chars.
    ("SELECT CAST(1.50 AS varchar), CAST(true AS varchar), CAST(DATE '2021-01-03' AS varchar), "
     "CAST('abcdef' AS varchar(3))", [("1.50", "true", "2021-01-03", "abc")]),
    # --- functions Athena has that were refused before (the probe's "fails here only" list).
    # strpos(string, substring, instance): "Returns the position of the N-th instance of
    # substring in string. When instance is a negative number the search will start from the
    # end of string" (StringFunctions.stringPosition: indexOf from index + 1, so matches may
    # overlap; an empty substring is at 1; positions count code points; 0 when not found).
    ("SELECT strpos('abcab', 'b', 2), strpos('aaa', 'aa', 2), strpos('aaa', 'aa', -1), "
     "strpos('abc', '', -3), strpos('abc', 'x', 1), strpos('héllo wörld', 'l', -2), "
     "strpos(NULL, 'x', 0)", [(5, 2, 2, 1, 0, 4, None)]),
    # width_bucket(x, bound1, bound2, n) (MathFunctions.widthBucket): 0 below, n + 1 at or
    # above the upper bound, else (long) (n * (x - lower) / (upper - lower) + 1); reversed
    # bounds count down: n - bucket + 1. 5 * 5.1 / 10.4 + 1 = 3.45 -> 3; 5 * 0.1 + 1 -> 1 -> 5.
    ("SELECT width_bucket(5.3, 0.2, 10.6, 5), width_bucket(1, 10, 0, 5), "
     "width_bucket(-1, 0, 10, 5), width_bucket(10, 0, 10, 5), width_bucket(-1, 10, 0, 5), "
     "width_bucket(NULL, 0, 10, 0)", [(3, 5, 0, 6, 6, None)]),
    # zip: "Merges the given arrays, element-wise, into a single array of rows ... If the
    # arguments have an uneven length, missing values are filled with NULL" (docs example).
    ("SELECT zip(ARRAY[1, 2], ARRAY['1b', null, '3b']), "
     "typeof(zip(ARRAY[1, 2], ARRAY['1b', null, '3b'])), "
     "zip(ARRAY[1], CAST(NULL AS array(varchar)))",
     [([(1, "1b"), (2, None), (None, "3b")], "array(row(integer, varchar(2)))", None)]),
    # A ROW subscript is the field at that position, named or not (ExpressionAnalyzer:
    # "Subscript on Row ... Its Type is resolved by hand").
    ("SELECT ROW(1, 'a')[2], CAST(ROW(1, 2e0) AS ROW(x BIGINT, y DOUBLE))[2], r[1] "
     "FROM (SELECT CAST(ROW(7, 'b') AS ROW(x integer, y varchar)) AS r)", [("a", 2.0, 7)]),
    # json_size: "For objects or arrays, the size is the number of members, and the size of a
    # scalar value is zero" (docs examples: 2, 3, 0); a JSON null is a scalar; a missing path
    # or a malformed document is NULL (JsonExtract returns null).
    ("SELECT json_size('{\"x\": {\"a\": 1, \"b\": 2}}', '$.x'), "
     "json_size('{\"x\": [1, 2, 3]}', '$.x'), json_size('{\"x\": {\"a\": 1, \"b\": 2}}', '$.x.a'), "
     "json_size('{\"x\": null}', '$.x'), json_size('{\"x\": 1}', '$.y'), json_size('{bad', '$'), "
     "json_size(json_parse('[1, [2, 3]]'), '$[1]')", [(2, 3, 0, 0, None, None, 2)]),
    # URL functions: "[protocol:][//host[:port]][path][?query][#fragment]" (docs); UrlFunctions:
    # java.net.URI's getScheme/getHost/getPort/getPath/getQuery/getFragment, decoded (%20 is a
    # space, %26 is &, + stays), nullToEmpty; url_extract_parameter splits getRawQuery() on &
    # and the first =, and decodes the value with URLDecoder (+ is a space).
    ("SELECT url_extract_protocol(u), url_extract_host(u), url_extract_port(u), "
     "url_extract_path(u), url_extract_query(u), url_extract_fragment(u), "
     "url_extract_parameter(u, 'y'), url_extract_parameter(u, 'z'), url_extract_parameter(u, 'w') "
     "FROM (VALUES 'http://user:pw@Example.COM:8080/a%20b/c?x=1&y=a+b%26c&z#frag%21') AS t(u)",
     [("http", "Example.COM", 8080, "/a b/c", "x=1&y=a+b&c&z", "frag!", "a b&c", "", None)]),
    # An opaque URI (scheme, then no /) has no path or query (null -> ''), and no raw query for
    # url_extract_parameter (NULL); a port past Integer.MAX_VALUE fails the server parse, so
    # the authority is registry-based: host '' and no port; "http:" ("Expected
    # scheme-specific part"), "http://" ("Expected authority") and a [ in a path throw: NULL.
    ("SELECT url_extract_protocol(u), url_extract_host(u), url_extract_port(u), "
     "url_extract_path(u), url_extract_query(u), url_extract_parameter(u, 'subject') FROM "
     "(VALUES 'mailto:ana@example.org?subject=hi', 'https://h:99999999999/x', 'http:', "
     "'http://', 'https://host/a[1]') AS t(u)",
     [("mailto", "", None, "", "", None), ("https", "", None, "/x", "", None),
      (None, None, None, None, None, None), (None, None, None, None, None, None),
      (None, None, None, None, None, None)]),
    # java.net.URI hosts: IPv4 (bytes up to 255), a single label may start with a digit, a
    # label may not end with -, an empty port is no port; a query may hold [ ] (URIC);
    # a relative reference has no scheme ('').
    ("SELECT url_extract_host(u), url_extract_port(u), url_extract_query(u), "
     "url_extract_protocol(u) FROM (VALUES 'https://1.2.3.4:5/', 'https://256.1.1.1/', "
     "'https://123/', 'https://a-.com/', 'https://h:/x', 'https://h/?a[1]=2', '?q=1') AS t(u)",
     [("1.2.3.4", 5, "", "https"), ("", None, "", "https"), ("123", None, "", "https"),
      ("", None, "", "https"), ("h", None, "", "https"), ("h", None, "a[1]=2", "https"),
      ("", None, "q=1", "")]),
    # An IPv6 host keeps its brackets (URI.getHost()); [ or ] anywhere else in the authority
    # makes java.net.URI throw (the authority must then parse as a server): NULL.
    ("SELECT url_extract_host(u), url_extract_path(u) FROM (VALUES 'https://[2001:db8::7]/x', "
     "'https://u@[::1]:8/', 'https://a[b]/') AS t(u)",
     [("[2001:db8::7]", "/x"), ("[::1]", "/"), (None, None)]),
    # Outside ASCII, java.net.URI takes "other" characters (not controls, not space
    # separators: Character.isSpaceChar): a path keeps ü; a host name is ASCII only, so an
    # IDN host is registry-based (''); a no-break space makes the URI fail (NULL).
    ("SELECT url_extract_host(u), url_extract_path(u) FROM (VALUES 'https://t.me/ü', "
     "'https://пример.рф/x', 'https://t.me/a\u00a0b') AS t(u)",
     [("t.me", "/ü"), ("", "/x"), (None, None)]),
    # from_iso8601_timestamp: "The time defaults to 00:00:00.000, and the time zone defaults
    # to the session time zone" (docs examples; the session zone is UTC on Athena); an offset
    # in the text is the value's zone; Joda keeps milliseconds (the 4th digit is dropped).
    ("SELECT from_iso8601_timestamp('2020-05-11'), from_iso8601_timestamp('2020-05-11T11:15:05'), "
     "from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00'), "
     "CAST(from_iso8601_timestamp('2020-05-11T11:15:05.0559Z') AS varchar)",
     [(datetime(2020, 5, 11, tzinfo=UTC), datetime(2020, 5, 11, 11, 15, 5, tzinfo=UTC),
       datetime(2020, 5, 11, 11, 15, 5, 55000, tzinfo=timezone(timedelta(hours=1), "+01:00")),
       "2020-05-11 11:15:05.055 UTC")]),
    # ... per row, each string's own offset: its instant (to_unixtime) is exact.
    ("SELECT to_unixtime(from_iso8601_timestamp(x)) FROM (VALUES '2020-05-11T11:15:05+01:00', "
     "'2020-05-11T11:15:05-03') AS t(x)",
     [(datetime(2020, 5, 11, 10, 15, 5, tzinfo=UTC).timestamp(),),
      (datetime(2020, 5, 11, 14, 15, 5, tzinfo=UTC).timestamp(),)]),
    # format_number (FormatNumberFunction): divide by 1000 while |x| >= 1000, then "#.##" below
    # 10 (every negative), "#.#" below 100, "#" above, RoundingMode.HALF_UP on the double's
    # exact value (Java's DecimalFormat), unit K M B T Q; a double is first cast with (long).
    # Docs: format_number(123456) = '123K', format_number(1000000) = '1M'. -12.345 is
    # -12.34500000000000063... -> -12.35; 1.005 is 1.00499999999999989... -> 1; 999.999 -> 1000.
    ("SELECT format_number(123456), format_number(1000000), format_number(1234), "
     "format_number(-12345), format_number(12345), format_number(1005), format_number(999999), "
     "format_number(0), format_number(9223372036854775807), format_number(1.5e0), "
     "format_number(nan()), format_number(1e30)",
     [("123K", "1M", "1.23K", "-12.35K", "12.3K", "1K", "1000K", "0", "9223Q", "1", "0",
       "9223Q")]),
    # format(format, args...): "Returns a formatted string using the specified format string
    # and arguments" (docs examples: '123%', '008', 'hello  ,  world', 'b c a'); FormatFunction
    # passes integers as Long, varchar as String, NULL as null (Formatter prints "null", padded
    # with spaces even under the 0 flag); %05d puts zeros after the sign; %n is a line feed;
    # a width counts UTF-16 units (an emoji is two).
    ("SELECT format('%s%%', 123), format('%03d', 8), format('%-7s,%7s', 'hello', 'world'), "
     "format('%2$s %3$s %1$s', 'a', 'b', 'c'), format('%05d|%-4d|%s', -42, 7, NULL), "
     "format('%s %s%n', true, DATE '2021-01-03'), format('[%-4s]', '😀'), "
     "format('%05d', CAST(NULL AS bigint)), format('%2d', 12345)",
     [("123%", "008", "hello  ,  world", "b c a", "-0042|7   |null", "true 2021-01-03\n",
       "[😀  ]", " null", "12345")]),
    # CAST(varchar AS decimal) (DecimalCasts: new BigDecimal(s).setScale(scale, HALF_UP)).
    ("SELECT CAST(x AS decimal(4, 1)), try_cast(x AS decimal(4, 1)) FROM (VALUES '1.25', "
     "'-1.25', '.5e1', '999.94', NULL) AS t(x)",
     [(Decimal("1.3"), Decimal("1.3")), (Decimal("-1.3"), Decimal("-1.3")),
      (Decimal("5.0"), Decimal("5.0")), (Decimal("999.9"), Decimal("999.9")), (None, None)]),
    # try_cast: NULL where the cast fails: a space or NaN (not BigDecimal syntax), too large.
    ("SELECT try_cast(x AS decimal(4, 1)) FROM (VALUES ' 1', 'NaN', '99999', '999.95') AS t(x)",
     [(None,), (None,), (None,), (None,)]),
    # A timestamp literal with a zone: that zone's wall clock; precision from the digits written.
    ("SELECT TIMESTAMP '2021-01-01 00:00:00 America/Sao_Paulo', "
     "typeof(TIMESTAMP '2021-01-01 00:00:00 America/Sao_Paulo'), "
     "to_unixtime(TIMESTAMP '2021-01-01 00:00:00 America/Sao_Paulo')",
     [(datetime(2021, 1, 1, tzinfo=SAO_PAULO), "timestamp(0) with time zone",
       datetime(2021, 1, 1, 3, tzinfo=UTC).timestamp())]),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "expected"), ROWS)
def test_athena_answer(engine: Engine, sql: str, expected: list[tuple[Any, ...]]) -> None:
    assert engine.query(sql, "athena").rows == expected


ERRORS: list[tuple[str, str]] = [
    # --- 1. coercions Trino refuses: no implicit cast from varchar to a date, a number or a
    # boolean (TypeCoercion.coerceTypeBase has none), so the operator does not resolve:
    # OperatorNotFoundException "Cannot apply operator: %s %s %s".
    ("SELECT count(*) FROM telegram WHERE context_date = '2021-01-03'",
     r"Cannot apply operator: date = varchar\(10\)"),
    ("SELECT count(*) FROM telegram WHERE user_id = '101'",
     r"Cannot apply operator: bigint = varchar\(3\)"),
    ("SELECT count(*) FROM telegram WHERE user_is_bot = 'false'",
     r"Cannot apply operator: boolean = varchar\(5\)"),
    ("SELECT count(*) FROM telegram WHERE sent_at > '2021-01-03'",
     r"Cannot apply operator: timestamp\(3\) < varchar\(10\)"),
    # ExpressionAnalyzer.coerceToSingleType: "%s must be the same type or coercible to a
    # common type. Cannot find common type between %s and %s ...".
    ("SELECT coalesce(user_id, 'none') FROM telegram",
     "All COALESCE operands must be the same type or coercible to a common type"),
    ("SELECT count(*) FROM telegram WHERE context_date IN ('2021-01-03')",
     "IN value and list items must be the same type"),
    ("SELECT CASE WHEN text IS NULL THEN 0 ELSE 'x' END FROM telegram",
     "All CASE results must be the same type"),
    ("SELECT ARRAY[1, 'a']", "All ARRAY elements must be the same type"),
    ("SELECT if(user_is_bot, 1, 'x') FROM telegram",
     r"Result types for IF must be the same: integer vs varchar\(1\)"),
    ("SELECT nullif(1, 'a')", r"Types are not comparable with NULLIF: integer vs varchar\(1\)"),
    ("SELECT count(*) FROM telegram WHERE context_date BETWEEN '2021-01-01' AND '2021-01-31'",
     r"Cannot check if date is BETWEEN varchar\(10\) and varchar\(10\)"),
    # No date + integer and no date - date (DateTimeOperators: date +/- interval only).
    ("SELECT DATE '2021-01-01' + 1", "Cannot apply operator: date [+] integer"),
    ("SELECT context_date - DATE '2021-01-01' FROM telegram", "Cannot apply operator: date - date"),
    # visitExtract: HOUR, MINUTE, SECOND need a time or timestamp: "Cannot extract %s from %s".
    ("SELECT EXTRACT(hour FROM context_date) FROM telegram", "Cannot extract HOUR from date"),
    # Function resolution: "Unexpected parameters (%s) for function %s".
    ("SELECT user_id || '-' FROM telegram",
     r"Unexpected parameters \(bigint, varchar\(1\)\) for function concat"),
    ("SELECT length(user_id) FROM telegram",
     r"Unexpected parameters \(bigint\) for function length"),
    ("SELECT date_diff('day', '2021-01-01', context_date) FROM telegram",
     "Unexpected parameters .* for function date_diff"),
    ("SELECT sum(text) FROM telegram", r"Unexpected parameters \(varchar\) for function sum"),
    # StatementAnalyzer: "WHERE clause must evaluate to a boolean: actual type %s".
    ("SELECT count(*) FROM telegram WHERE user_id", "WHERE clause must evaluate to a boolean"),
    # "Left side of LIKE expression must evaluate to a varchar (actual: bigint)".
    ("SELECT user_id LIKE '1%' FROM telegram", "Left side of LIKE expression must evaluate"),
    ("SELECT user_id FROM telegram UNION SELECT text FROM telegram",
     "column 1 in UNION query has incompatible types: bigint, varchar"),
    # getCoercion has no date -> integer or array -> varchar cast: "Cannot cast %s to %s".
    ("SELECT CAST(context_date AS integer) FROM telegram", "Cannot cast date to integer"),
    ("SELECT CAST(hashtags AS varchar) FROM telegram", r"Cannot cast array\(varchar\) to varchar"),
    ("SELECT -text FROM telegram", "Cannot negate varchar"),
    # StringFunctions.split: "The delimiter may not be the empty string", "Limit must be positive".
    ("SELECT split('a.b.c', '')", "The delimiter may not be the empty string"),
    ("SELECT split('a.b.c', '.', 0)", "Limit must be positive"),
    # codepoint(varchar(1)): a longer string does not coerce to varchar(1).
    ("SELECT codepoint('ab')", r"Unexpected parameters \(varchar\(2\)\) for function codepoint"),
    # --- 2. subscripts (ArraySubscriptOperator.checkIndex, MapSubscriptOperator).
    ("SELECT split(text, ' ')[3] FROM telegram",
     "Array subscript must be less than or equal to array length: 3 > 2"),
    ("SELECT ARRAY[1, 2, 3][4]",
     "Array subscript must be less than or equal to array length: 4 > 3"),
    ("SELECT ARRAY[1, 2, 3][0]", "SQL array indices start at 1"),
    ("SELECT element_at(ARRAY[1, 2, 3], 0)", "SQL array indices start at 1"),
    ("SELECT MAP(ARRAY['a'], ARRAY[1])['missing']", "Key not present in map: missing"),
    # A skipped hour (Berlin, 2021-03-28 02:30) has no valid offset (DateTimes.toEpochSecond).
    ("SELECT TIMESTAMP '2021-03-28 02:30:00 Europe/Berlin'",
     "Invalid TIMESTAMP due to daylight savings transition"),
    # --- 3. zones: TimeZoneKey "Time zone not supported: %s".
    ("SELECT from_unixtime(0, 'Mars/Olympus')", "Time zone not supported: Mars/Olympus"),
    # --- 4. casts from varchar: "Cannot cast '%s' to INT", "Value cannot be cast to date".
    ("SELECT CAST('12.5' AS integer)", "Cannot cast '12.5' to INT"),
    ("SELECT CAST(x AS integer) FROM (VALUES '12.5') AS t(x)", "Cannot cast '12.5' to INT"),
    ("SELECT CAST('2021-01-03 10:00' AS date)", "Value cannot be cast to date: 2021-01-03 10:00"),
    ("SELECT CAST(x AS bigint) FROM (VALUES ' 7') AS t(x)", "Cannot cast ' 7' to BIGINT"),
    # date(x): "This is an alias for CAST(x AS date)".
    ("SELECT date(x) FROM (VALUES '2021-01-03 10:00') AS t(x)",
     "Value cannot be cast to date: 2021-01-03 10:00"),
    # --- 8. numbers: BigintOperators.add: "bigint addition overflow".
    ("SELECT sum(x) FROM (VALUES 9223372036854775807, 1) AS t(x)", "bigint addition overflow"),
    # --- the functions added from the probe's list: their errors, as Trino raises them.
    # FormatFunction: "Invalid format string: %s (%s)" with Java's exception, its package and
    # "Exception" removed: a specifier without its argument, %d of a String.
    ("SELECT format('%s %s', 1)",
     r"Invalid format string: %s %s \(MissingFormatArgument: Format specifier '%s'\)"),
    ("SELECT format('%d', x) FROM (VALUES 'a') AS t(x)",
     r"Invalid format string: %d \(IllegalFormatConversion: d != java.lang.String\)"),
    # StringFunctions.stringPosition: instance 0.
    ("SELECT strpos('abc', 'b', 0)", "'instance' must be a positive or negative number."),
    # MathFunctions.widthBucket's checks, in order.
    ("SELECT width_bucket(1, 0, 1, 0)", "bucketCount must be greater than 0"),
    ("SELECT width_bucket(nan(), 0, 1, 2)", "operand must not be NaN"),
    ("SELECT width_bucket(1, infinity(), 1, 2)", "first bound must be finite"),
    ("SELECT width_bucket(1, 0, -infinity(), 2)", "second bound must be finite"),
    ("SELECT width_bucket(1, 1, 1, 5)", "bounds cannot equal each other"),
    # zip takes 2 to 5 arrays.
    ("SELECT zip(ARRAY[1])", r"Unexpected parameters \(array\(integer\)\) for function zip"),
    # ROW subscripts (TestAnalyzer.testInvalidSubscript rows, verbatim).
    ("SELECT ROW(1, 'a')[user_id] FROM telegram",
     "Subscript expression on ROW requires a constant index"),
    ("SELECT ROW(1, 'a')[9999999999]",
     "Subscript expression on ROW requires integer index, found bigint"),
    ("SELECT ROW(1, 'a')[-1]", r"Invalid subscript index: -1. ROW indices start at 1"),
    ("SELECT ROW(1, 'a')[0]", r"Invalid subscript index: 0. ROW indices start at 1"),
    ("SELECT ROW(1, 'a')[5]", "Subscript index out of bounds: 5, max value is 2"),
    # DecimalCasts: "Cannot cast VARCHAR '%s' to DECIMAL(%s, %s). Value is not a number." /
    # "... Value too large." (999.95 rounds HALF_UP to 1000.0: five digits in decimal(4,1)).
    ("SELECT CAST(x AS decimal(4, 1)) FROM (VALUES '999.95') AS t(x)",
     r"Cannot cast VARCHAR '999.95' to DECIMAL\(4, 1\). Value too large."),
    ("SELECT CAST(' 1.5' AS decimal(4, 1))",
     r"Cannot cast VARCHAR ' 1.5' to DECIMAL\(4, 1\). Value is not a number."),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "message"), ERRORS)
def test_athena_error(engine: Engine, sql: str, message: str) -> None:
    with pytest.raises(QueryError, match=message) as caught:
        engine.query(sql, "athena")
    assert "\n" not in str(caught.value)


# What is not reproduced fails with one line naming the construct and what Athena would do.
NOT_REPRODUCED = [
    "SELECT json_extract_scalar('{\"a\":1.50}', '$.a')",  # Trino returns the text as written
    "SELECT from_unixtime(date, user_first_name) FROM telegram",  # a zone per row
    "SELECT format('%.5f', pi())",  # Java's own rounding and digits for a double
    "SELECT CAST(json_parse('{\"a\": 1}') AS varchar)",  # Trino: only a scalar casts
    "SELECT width_bucket(5, ARRAY[1e0, 10e0])",  # Trino binary-searches the bins
    # A percent-escape that is not UTF-8: Java's URI decodes it as U+FFFD.
    "SELECT url_extract_path('https://t.me/%FF')",
    # An IPv6 host with an IPv4 tail: java.net.URI's own IPv6 parser decides.
    "SELECT url_extract_host('https://[::ffff:1.2.3.4]/')",
    # Zoned values inside an array (or a row) are shown in their zones on Athena.
    "SELECT ARRAY[from_unixtime(0, 'America/Sao_Paulo')]",
    # A per-row offset printed as text.
    "SELECT CAST(from_iso8601_timestamp(x) AS varchar) FROM (VALUES '2020-05-11T23:15:05-03:00') "
    "AS t(x)",
    # Joda's ISO parser reads week dates; only calendar dates are reproduced.
    "SELECT from_iso8601_timestamp('2020-W19-1')",
    # Each row's own offset: its wall clock is not reproduced (its instant is).
    "SELECT hour(from_iso8601_timestamp(x)) FROM (VALUES '2020-05-11T11:15:05+01:00') AS t(x)",
]


@pytest.mark.parametrize("sql", NOT_REPRODUCED)
def test_what_is_not_reproduced_fails_with_one_line(engine: Engine, sql: str) -> None:
    with pytest.raises(QueryError, match="is not reproduced locally: Athena would") as caught:
        engine.query(sql, "athena")
    assert "\n" not in str(caught.value)


def test_result_columns_are_named_as_athena_names_them(engine: Engine) -> None:
    """Trino names a select item without an alias _col<position>; unquoted names fold to lower."""
    result = engine.query(
        'SELECT user_id, count(*), 1 AS Total, 2 AS "Mixed", USER_FIRST_NAME FROM telegram '
        "GROUP BY user_id, user_first_name",
        "athena",
    )
    assert result.columns == ["user_id", "_col1", "total", "Mixed", "user_first_name"]


def test_zoned_results_come_back_in_their_zone(engine: Engine) -> None:
    """A timestamp with time zone is shown in its own zone, as Athena shows it."""
    [(value, utc_value)] = engine.query(
        "SELECT from_unixtime(1609722000, 'America/Sao_Paulo'), from_unixtime(1609722000)", "athena"
    ).rows
    assert value == datetime(2021, 1, 3, 22, 0, tzinfo=SAO_PAULO)
    assert value.tzinfo == SAO_PAULO and value.hour == 22
    assert utc_value.utcoffset().total_seconds() == 0 and utc_value.hour == 1


def test_the_table_counts_at_least_a_hundred_rows() -> None:
    """Issue 15 asks for 100+ new rows: count the checked values and errors."""
    values = sum(len(expected[0]) for _, expected in ROWS)
    assert values + len(ERRORS) + len(NOT_REPRODUCED) >= 100
