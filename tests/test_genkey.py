"""`wsaccept genkey`: fresh keys, alone or with their accepts, in every format."""

from __future__ import annotations

import base64
import json

from tests.helpers import Run
from wsaccept_cli.core.keys import accept_for


def test_one_key_by_default(run: Run) -> None:
    result = run("genkey")
    key = result.stdout.removesuffix("\n")
    assert (result.exit_code, result.stderr, len(key)) == (0, "", 24)
    assert len(base64.b64decode(key, validate=True)) == 16


def test_count_gives_distinct_keys(run: Run) -> None:
    result = run("genkey", "-n", "20000")
    keys = result.stdout.splitlines()
    assert len(keys) == len(set(keys)) == 20000
    assert all(len(base64.b64decode(k, validate=True)) == 16 for k in keys)


def test_with_accept_is_tab_separated(run: Run) -> None:
    result = run("genkey", "--count", "3", "--with-accept")
    for line in result.stdout.splitlines():
        key, accept = line.split("\t")
        assert accept_for(key.encode()).decode() == accept


def test_genkey_compute_verify_round_trip(run: Run) -> None:
    keys = run("genkey", "-n", "500").stdout
    accepts = run("compute", input=keys).stdout
    pairs = "".join(f"{k} {a}\n" for k, a in zip(keys.splitlines(), accepts.splitlines()))
    result = run("verify", input=pairs)
    assert (result.exit_code, result.stdout) == (0, "ok\n" * 500)


def test_with_accept_output_feeds_verify(run: Run) -> None:
    pairs = run("genkey", "-n", "100", "--with-accept").stdout
    assert run("verify", "-q", input=pairs).exit_code == 0


def test_json_records(run: Run) -> None:
    records = [
        json.loads(x) for x in run("genkey", "-n", "2", "--format", "json").stdout.splitlines()
    ]
    assert len(records) == 2
    for record in records:
        assert set(record) == {"key", "accept"}
        assert record["accept"] == accept_for(record["key"].encode()).decode()


def test_count_below_one_is_a_usage_error(run: Run) -> None:
    result = run("genkey", "-n", "0")
    assert result.exit_code == 2
    assert "Invalid value for '-n' / '--count': 0 is not in the range x>=1." in result.stderr
