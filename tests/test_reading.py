"""hiermod.reading: every kind of source, dialects and encodings, as load_data sees them."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from hiermod.data import DataKind, load_data, read_table
from hiermod.errors import DataError
from test_data import EIGHT, SUMMARY_MAP


def test_path_bytes_filelike_and_dataframe_agree(tmp_path):
    path = tmp_path / "eight.csv"
    path.write_bytes(EIGHT)
    frame = pd.DataFrame({"school": list("ABCDEFGH"), "effect": [28, 8, -3, 7, -1, 1, 18, 12],
                          "se": [15, 10, 16, 11, 9, 11, 10, 18]})
    loaded = [load_data(s) for s in (path, str(path), EIGHT, io.BytesIO(EIGHT), frame)]
    assert len({d.fingerprint for d in loaded}) == 1
    assert all(d.kind == DataKind.SUMMARY and d.labels == tuple("ABCDEFGH") for d in loaded)


@pytest.mark.parametrize(
    "raw",
    [
        EIGHT.replace(b",", b";"),
        EIGHT.replace(b",", b"\t"),
        b"\xef\xbb\xbf" + EIGHT,
        EIGHT.replace(b"\n", b"\r\n"),
    ],
    ids=["semicolon", "tab", "utf8-bom", "crlf"],
)
def test_dialects(raw):
    d = load_data(raw)
    assert d.columns == SUMMARY_MAP
    assert d.y.tolist() == [28, 8, -3, 7, -1, 1, 18, 12]


def test_latin1_and_decimal_comma():
    raw = "ville;y;se\nZürich;1,5;0,5\nGenève;2,25;1\n".encode("latin-1")
    frame = read_table(raw)
    assert frame.attrs == {"delimiter": ";", "encoding": "latin-1"}
    d = load_data(raw)
    assert d.labels == ("Zürich", "Genève")
    assert d.y.tolist() == [1.5, 2.25] and d.se.tolist() == [0.5, 1.0]
    assert any("latin-1" in r for r in d.report) and any("decimal comma" in r for r in d.report)
    assert load_data(frame).fingerprint == d.fingerprint  # read_table output can be passed on


def test_missing_file_is_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_data(tmp_path / "nope.csv")
