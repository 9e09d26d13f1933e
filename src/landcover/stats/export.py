"""Tables in the layout official statistics are disseminated in: SDMX-CSV, plus CSV and Parquet with metadata.

SDMX (Statistical Data and Metadata eXchange, ISO 17369) describes a table as
*dimensions* that identify an observation (reference area, time, land-cover
class, unit), the observation value, and *attributes* that qualify it (its
status). SDMX-CSV (version 1.0) writes one observation per row, the first column
naming the dataflow as ``AGENCY:ID(VERSION)``. Eurostat's dissemination API
reads and writes this layout, so a table in it can be loaded beside official
series without reshaping.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from landcover.classes import CLASS_NAMES
from landcover.storage import atomic_path

#: The dataflow the book's tables are published under (a made-up agency: these are not official figures).
DEFAULT_DATAFLOW = "LANDCOVER_BOOK:LC_ACCOUNTS(1.0)"
#: Dimension columns of the SDMX-CSV table, in order.
SDMX_DIMENSIONS = ("FREQ", "REF_AREA", "TIME_PERIOD", "LANDCOVER", "UNIT_MEASURE")
#: Units: area in square kilometres, share in percent of the covered area.
UNITS = {"area_km2": "KM2", "share": "PC"}


def landcover_code(class_id: int) -> str:
    """The code of a CLC+ Backbone class in the tables: ``"CLCPLUS_01"`` ... ``"CLCPLUS_10"``."""
    if int(class_id) not in CLASS_NAMES:
        raise ValueError(f"class_id={class_id!r} is not a class of the book (1..10)")
    return f"CLCPLUS_{int(class_id):02d}"


def sdmx_csv_table(
    accounts: pd.DataFrame, dataflow: str = DEFAULT_DATAFLOW, obs_status: str = "E"
) -> pd.DataFrame:
    """One row per region, year, class and unit, in SDMX-CSV columns.

    ``accounts`` has the columns ``region``, ``year``, ``class``, ``area_km2``
    and ``share`` (a share of the covered area, 0..1, written in percent).
    ``obs_status`` is the SDMX observation status of every value: ``"E"``
    (estimated) suits figures read off a map.

    Raises
    ------
    ValueError
        When a column is missing (the message lists them).
    """
    missing = {"region", "year", "class", *UNITS} - set(accounts.columns)
    if missing:
        raise ValueError(f"accounts lacks the column(s) {sorted(missing)}")
    long = accounts.melt(id_vars=["region", "year", "class"], value_vars=list(UNITS), var_name="measure",
                         value_name="OBS_VALUE")
    long.loc[long["measure"] == "share", "OBS_VALUE"] *= 100
    table = pd.DataFrame({
        "DATAFLOW": dataflow,
        "FREQ": "A",
        "REF_AREA": long["region"].astype(str),
        "TIME_PERIOD": long["year"].astype(int).astype(str),
        "LANDCOVER": [landcover_code(k) for k in long["class"]],
        "UNIT_MEASURE": long["measure"].map(UNITS),
        "OBS_VALUE": long["OBS_VALUE"].astype(float).round(6),
        "OBS_STATUS": obs_status,
    })
    return table.sort_values(list(SDMX_DIMENSIONS[1:])).reset_index(drop=True)


def write_table(
    table: pd.DataFrame, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``table`` as CSV (``.csv``) or Parquet (``.parquet``), atomically, with its metadata.

    Parquet keeps ``metadata`` inside the file (schema metadata, key
    ``landcover``); CSV gets a side file ``<name>.metadata.json``. Returns the
    table's path.

    Raises
    ------
    ValueError
        When the suffix is neither ``.csv`` nor ``.parquet``.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"path={os.fspath(path)!r}: write .csv or .parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    with atomic_path(target) as temporary:
        if suffix == ".csv":
            table.to_csv(temporary, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrow = pa.Table.from_pandas(table, preserve_index=False)
            schema_meta = {**(arrow.schema.metadata or {}), b"landcover": json.dumps(meta).encode()}
            pq.write_table(arrow.replace_schema_metadata(schema_meta), temporary)
    if suffix == ".csv" and meta:
        side = target.with_name(target.name + ".metadata.json")
        with atomic_path(side) as temporary:
            Path(temporary).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return target
