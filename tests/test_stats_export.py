"""SDMX-CSV layout and table writing of landcover.stats.export."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from landcover.stats.export import DEFAULT_DATAFLOW, landcover_code, sdmx_csv_table, write_table

ACCOUNTS = pd.DataFrame({"region": ["BE100", "BE100", "LU000"], "year": [2024, 2024, 2021], "class": [1, 6, 10],
                         "area_km2": [80.5, 40.25, 1.0], "share": [0.5, 0.25, 0.004]})


def test_one_row_per_observation_with_units_and_percent() -> None:
    table = sdmx_csv_table(ACCOUNTS)
    assert list(table.columns) == ["DATAFLOW", "FREQ", "REF_AREA", "TIME_PERIOD", "LANDCOVER", "UNIT_MEASURE",
                                   "OBS_VALUE", "OBS_STATUS"]
    assert len(table) == 2 * len(ACCOUNTS) and set(table["DATAFLOW"]) == {DEFAULT_DATAFLOW}
    sealed = table[(table["REF_AREA"] == "BE100") & (table["LANDCOVER"] == "CLCPLUS_01")].set_index("UNIT_MEASURE")
    assert sealed.loc["KM2", "OBS_VALUE"] == 80.5 and sealed.loc["PC", "OBS_VALUE"] == 50.0
    assert set(table["TIME_PERIOD"]) == {"2024", "2021"} and set(table["FREQ"]) == {"A"}


def test_bad_input_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="share"):
        sdmx_csv_table(ACCOUNTS.drop(columns="share"))
    with pytest.raises(ValueError, match="class_id=11"):
        landcover_code(11)


def test_tables_are_written_with_their_metadata(tmp_path: Path) -> None:
    meta = {"title": "Land cover", "unit": "km²"}
    csv = write_table(ACCOUNTS, tmp_path / "out" / "accounts.csv", meta)
    assert pd.read_csv(csv).equals(ACCOUNTS)
    assert json.loads((tmp_path / "out" / "accounts.csv.metadata.json").read_text(encoding="utf-8")) == meta
    parquet = write_table(ACCOUNTS, tmp_path / "out" / "accounts.parquet", meta)
    assert json.loads(pq.read_schema(parquet).metadata[b"landcover"]) == meta
    assert pd.read_parquet(parquet).equals(ACCOUNTS)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # nothing half-written
    with pytest.raises(ValueError, match="csv or .parquet"):
        write_table(ACCOUNTS, tmp_path / "accounts.xlsx")
