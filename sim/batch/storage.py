"""A sweep's output folder: a Parquet dataset of few large files, `_manifest.json`, resume, compaction.

Layout (`out=DIR`; names starting with `_` or `.` are skipped by Parquet readers):

    DIR/_manifest.json                 the sweep's definition, its hash, the code that made the rows
    DIR/part-000000.parquet            the KPI rows of consecutive chunks; the footer's key-value metadata
    DIR/part-000137.parquet              `funnel_sim.chunks` = [first, stop) chunk ids it holds
    DIR/_staging/chunk-000140.parquet  a finished chunk not yet compacted into a part
    DIR/_monthly/…                     the same for the monthly rows (monthly=True)

Crash safety: every file is written under a temporary `.*.tmp` name, flushed and renamed into place, so a
file that exists is complete. A new part is renamed in (possibly over the merged part of the same first
chunk) before the files it was made of are deleted, so at every instant each finished chunk is in at least
one file; on resume, a file whose chunks are all in another one (kept first: wider ranges, parts before
staged chunks) is deleted, so none is in two. Parts merged into a bigger one first move to `_staging`, so
a reader of DIR never sees a row twice, even mid-merge; an interrupted merge puts them back on resume.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.points import Plan, SweepError
from sim.version import __version__

FORMAT = 2
"""Version of the output layout and of the manifest (1: one `chunk-NNNNNN.parquet` per chunk in DIR)."""
MANIFEST = "_manifest.json"
"""The sweep's definition in an output directory (a leading `_`: Parquet readers skip it)."""
MONTHLY_DIR = "_monthly"
"""Subdirectory of the monthly tables (`monthly=True`); `pandas.read_parquet(DIR)` skips it."""
STAGING_DIR = "_staging"
"""Subdirectory (of DIR and of DIR/_monthly) of finished chunks waiting to be compacted."""
PART_GLOB = "part-*.parquet"
"""The files of a table's dataset (* = the first chunk's id, zero-padded)."""
STAGED_GLOB = "chunk-*.parquet"
"""The files of a table's staging folder (* = the chunk's id, zero-padded)."""
CHUNKS_KEY = b"funnel_sim.chunks"
"""Parquet key-value metadata of a part: JSON [first, stop), the chunk ids it holds."""
PART_ROWS = 1_000_000
"""Rows aimed at per part file (KPI and monthly rows counted separately)."""
STAGED_CHUNKS = 1_000
"""Consecutive staged chunks that are compacted into a part even if they hold fewer than PART_ROWS rows
(bounds the staged files; the small parts are merged at the end of the sweep)."""
ROW_GROUP_ROWS = 131_072
"""Rows per Parquet row group in a part (memory used by a compaction is about one row group)."""

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
"""The folder of the installed `sim` package, whose files `code_fingerprint` hashes."""
FINGERPRINTED = ("model", "accounting", "engine", "analytic", "batch/points.py", "batch/runners.py")
"""What `code_fingerprint` hashes, relative to the package folder (see its docstring)."""


@functools.cache
def code_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 (hex) of the Python source files a sweep's rows are computed by, under `root`.

    Hashed: `model` (parsing, validation and overrides of the scenario, the values of `[uncertainty]`
    from their uniforms), `accounting` (ledger, KPIs, lifetimes, frames), `engine` (the simulation, the
    random streams of the draws), `batch/points.py` (points, lever columns, the ranges a sweep keeps) and
    `batch/runners.py` (`run_chunk`, the rows of a chunk). Also `analytic` (the expected-value and
    queueing models, the expected band): no sweep run goes through it today (the engine sits below it),
    but it is cheap (a few files) and a needless refusal only costs a rerun, while a change that later
    routed rows through it unnoticed would mix two models' numbers in one dataset. Not hashed:
    `storage.py` and `sweeps.py` (they move rows, they do not compute them; the layout has its own
    FORMAT), the CLI, app, report and decision layers (not on a sweep's path), and the version (recorded
    next to the fingerprint).

    Every `*.py` file (what a wheel installs; `__pycache__` and its numba caches are skipped), in order of
    its relative POSIX path, contributes its path and its bytes: the same on any machine and from a copy
    without `.git`. Computed once per process and root.
    """
    files: list[Path] = []
    for rel in FINGERPRINTED:
        path = root / rel
        found = path.rglob("*.py") if path.is_dir() else [path]
        files += [f for f in found if "__pycache__" not in f.relative_to(root).parts]
    digest = hashlib.sha256()
    for name, file in sorted((f.relative_to(root).as_posix(), f) for f in files):
        data = file.read_bytes()
        for field in (name.encode(), data):
            digest.update(len(field).to_bytes(8, "big") + field)
    return digest.hexdigest()


def code_identity() -> dict[str, str]:
    """The code behind a sweep's rows, as recorded in the manifest: package version and fingerprint."""
    return {"version": __version__, "fingerprint": code_fingerprint()}


# --- files -------------------------------------------------------------------------------------------


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _fsync(path: Path) -> None:
    """Flush a file's data to disk."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Flush a directory's entries (renames) to disk; a no-op where the OS cannot open a directory."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write to a temporary name in the same directory, flush to disk, then rename into place."""
    tmp = _temporary(path)
    df.to_parquet(tmp, index=False)
    _fsync(tmp)
    os.replace(tmp, path)


def _write_json(data: dict[str, Any], path: Path) -> None:
    tmp = _temporary(path)
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, path)


def _footer(path: Path) -> tuple[int, dict[bytes, bytes]]:
    """Rows and key-value metadata of a Parquet file, from its footer; (-1, {}) if unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (OSError, ValueError):
        return -1, {}
    return int(meta.num_rows), dict(meta.metadata or {})


# --- one table: the KPI rows (DIR) or the monthly rows (DIR/_monthly) --------------------------------------


@dataclass(frozen=True)
class _Unit:
    """A file of a table: a part (chunks first … stop − 1) or a staged chunk (stop = first + 1)."""

    first: int
    stop: int
    rows: int
    path: Path
    part: bool


class _Table:
    """The Parquet files of one table, as maximal disjoint units (parts and staged chunks) by first chunk."""

    def __init__(self, folder: Path, chunk_rows: list[int]) -> None:
        self.folder = folder
        self.staging = folder / STAGING_DIR
        self.offsets = [0, *accumulate(chunk_rows)]
        """Rows before chunk c (offsets[c]); the rows of chunks a … b − 1 are offsets[b] − offsets[a]."""
        self.width = max(6, len(str(len(chunk_rows) - 1)))
        self.units: dict[int, _Unit] = {}

    def _name(self, glob: str, first: int) -> str:
        return glob.replace("*", f"{first:0{self.width}d}")

    @staticmethod
    def _number(path: Path, glob: str) -> int:
        """The chunk id in a file name of the given pattern (-1 if none)."""
        prefix, suffix = glob.split("*")
        digits = path.name[len(prefix) : len(path.name) - len(suffix)]
        return int(digits) if digits.isdigit() else -1

    def _rows(self, first: int, stop: int) -> int:
        return self.offsets[stop] - self.offsets[first]

    def open(self) -> set[int]:
        """Create the folders; delete temporaries, broken files and files whose chunks another one holds;
        put back parts hidden by an interrupted merge. Returns the chunk ids whose rows the table holds."""
        self.staging.mkdir(parents=True, exist_ok=True)
        n = len(self.offsets) - 1
        found: list[_Unit] = []
        for folder in (self.folder, self.staging):
            for p in folder.glob(".*.tmp"):
                p.unlink(missing_ok=True)
            for p in folder.glob(PART_GLOB):
                rows, meta = _footer(p)
                try:
                    first, stop = (int(x) for x in json.loads(meta[CHUNKS_KEY]))
                except (KeyError, ValueError, TypeError):
                    first, stop = 0, -1
                found.append(_Unit(first, stop, rows, p, True))
        for p in self.staging.glob(STAGED_GLOB):
            cid = self._number(p, STAGED_GLOB)
            found.append(_Unit(cid, cid + 1, _footer(p)[0], p, False))
        covered = 0  # the units kept so far hold chunks 0 … covered − 1 at most
        for u in sorted(found, key=lambda u: (u.first, -u.stop, not u.part)):
            valid = 0 <= u.first < u.stop <= n and u.rows == self._rows(u.first, u.stop)
            if valid and u.first >= covered:
                self.units[u.first] = u
                covered = u.stop
            else:  # broken, or its chunks are in a unit kept before (a crash between compaction steps)
                u.path.unlink(missing_ok=True)
        for u in list(self.units.values()):
            if u.part and u.path.parent != self.folder:  # hidden by a merge that did not happen
                self.units[u.first] = self._move(u, self.folder)
        return {c for u in self.units.values() for c in range(u.first, u.stop)}

    def stage(self, cid: int, df: pd.DataFrame) -> None:
        """Write a finished chunk to the staging folder; compact its run of staged chunks when long enough."""
        path = self.staging / self._name(STAGED_GLOB, cid)
        _write_parquet(df, path)
        self.units[cid] = _Unit(cid, cid + 1, len(df), path, False)
        first, stop = cid, cid + 1
        while (u := self.units.get(first - 1)) is not None and not u.part:
            first -= 1
        while (u := self.units.get(stop)) is not None and not u.part:
            stop += 1
        if stop - first >= STAGED_CHUNKS or self._rows(first, stop) >= PART_ROWS:
            self._compact([self.units[c] for c in range(first, stop)])

    def finish(self) -> None:
        """Compact what is left: consecutive units in groups of at most PART_ROWS rows (a larger one alone);
        a part alone in its group is kept as it is. Then remove the empty staging folder."""
        groups: list[list[_Unit]] = []
        rows = 0  # in the last group
        for u in sorted(self.units.values(), key=lambda u: u.first):
            if groups and groups[-1][-1].stop == u.first and rows + u.rows <= PART_ROWS:
                groups[-1].append(u)
                rows += u.rows
            else:
                groups.append([u])
                rows = u.rows
        for g in groups:
            if len(g) > 1 or not g[0].part:
                self._compact(g)
        with suppress(OSError):
            self.staging.rmdir()

    def _move(self, unit: _Unit, folder: Path) -> _Unit:
        """Rename a unit's file into `folder` (same name)."""
        path = folder / unit.path.name
        os.replace(unit.path, path)
        return _Unit(unit.first, unit.stop, unit.rows, path, unit.part)

    def _compact(self, units: list[_Unit]) -> None:
        """Write consecutive units into one part (temporary name, flush, rename), then delete them.

        Parts merged into a new one first move to the staging folder, out of the dataset's sight, so a
        reader of the folder never sees a row twice; the new part may replace the one of its first chunk.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        first, stop = units[0].first, units[-1].stop
        path = self.folder / self._name(PART_GLOB, first)
        units = [self._move(u, self.staging) if u.part and u.path != path else u for u in units]
        tmp = _temporary(path)
        schema = pq.read_schema(units[0].path)
        span = json.dumps([first, stop]).encode()
        schema = schema.with_metadata({**(schema.metadata or {}), CHUNKS_KEY: span})
        with pq.ParquetWriter(tmp, schema) as writer:
            batch: list[pa.Table] = []
            rows = 0
            for u in units:
                with pq.ParquetFile(u.path) as source:
                    for i in range(source.num_row_groups):
                        batch.append(source.read_row_group(i).cast(schema))
                        rows += batch[-1].num_rows
                        if rows >= ROW_GROUP_ROWS:
                            writer.write_table(pa.concat_tables(batch), row_group_size=ROW_GROUP_ROWS)
                            batch, rows = [], 0
            if batch:
                writer.write_table(pa.concat_tables(batch), row_group_size=ROW_GROUP_ROWS)
        _fsync(tmp)
        os.replace(tmp, path)  # from here the part holds every row of `units`
        _fsync_dir(self.folder)
        for u in units:
            del self.units[u.first]
            if u.path != path:
                _remove(u.path)
        self.units[first] = _Unit(first, stop, self._rows(first, stop), path, True)


def _remove(path: Path) -> None:
    """Delete a file whose rows are in a part (a seam for the crash tests)."""
    path.unlink(missing_ok=True)


# --- the output folder -----------------------------------------------------------------------------


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of two sweep definitions differ, e.g. `seed 0 there, 1 here, points`."""
    parts = []
    for key, value in new.items():
        if old.get(key) == value:
            continue
        if key in ("seed", "replications", "monthly", "version"):
            parts.append(f"{key} {old.get(key)!r} there, {value!r} here")
        elif key == "fingerprint":
            parts.append(f"code fingerprint {str(old.get(key))[:12]}… there, {value[:12]}… here")
        else:
            parts.append(key)
    return ", ".join(parts) or "definition"


def _blank(folder: Path) -> bool:
    """No folder, or nothing in it but what an interrupted start leaves (temporaries, empty subfolders)."""
    if not folder.is_dir():
        return True
    for p in folder.iterdir():
        if _is_temporary(p) and p.is_file():
            continue
        if p.name in (MONTHLY_DIR, STAGING_DIR) and p.is_dir() and _blank(p):
            continue
        return False
    return True


def check_out(out: Path, plan: Plan, chunk_size: int | None) -> int | None:
    """Check `out` before anything runs: new or empty (None), or the same sweep by the same code (its
    chunk size); anything else raises `SweepError` saying what differs and how to start afresh."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a directory")
    manifest = out / MANIFEST
    if _blank(out):
        return None
    if not manifest.is_file():
        raise SweepError(
            f"{out}: not empty and holds no sweep ({MANIFEST} missing): use a new or empty directory"
        )
    unreadable = SweepError(f"{manifest}: unreadable manifest: use a new or empty directory")
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        old_format = old.get("format", 1)  # the first layout had no "format" key
    except (OSError, ValueError, AttributeError):
        raise unreadable from None
    afresh = "delete it or choose another out to start afresh"
    if old_format != FORMAT:
        raise SweepError(
            f"{out}: holds a sweep in output layout {old_format}, this one writes {FORMAT}: {afresh}"
        )
    try:
        old_digest, old_def, old_code = old["hash"], old["definition"], old["code"]
        old_size = int(old["chunk_size"])
    except (KeyError, TypeError, ValueError):
        raise unreadable from None
    if old_digest != plan.digest():
        differ = _differences(old_def, plan.definition())
        raise SweepError(f"{out}: holds a different sweep ({differ}): {afresh}")
    code = code_identity()
    if old_code != code:
        differ = _differences(old_code, code)
        raise SweepError(f"{out}: was written by other code ({differ}), its rows may differ: {afresh}")
    if chunk_size is not None and chunk_size != old_size:
        raise SweepError(f"{out}: was written with chunk_size={old_size}: pass that (or None) to resume")
    return old_size


class Output:
    """A sweep's output folder, opened for writing (after `check_out`): creates it and its manifest, or
    finds the chunks already done (`done`) and tidies what a crash left."""

    def __init__(self, out: Path, plan: Plan, size: int) -> None:
        bounds = plan.chunk_bounds(size)
        out.mkdir(parents=True, exist_ok=True)
        if not (out / MANIFEST).is_file():
            _write_json(
                {
                    "format": FORMAT,
                    "hash": plan.digest(),
                    "definition": plan.definition(),
                    "code": code_identity(),
                    **plan.spec,
                    "chunk_size": size,
                    "chunks": len(bounds),
                    "runs": plan.runs,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                out / MANIFEST,
            )
        runs = [stop - start for start, stop in bounds]
        H = plan.scenario.horizon_months
        self.kpis = _Table(out, runs)
        self.monthly = _Table(out / MONTHLY_DIR, [r * H for r in runs]) if plan.monthly else None
        self._kept_kpis = self.kpis.open()
        self._kept_monthly = self.monthly.open() if self.monthly is not None else self._kept_kpis
        self.done: set[int] = self._kept_kpis & self._kept_monthly
        """Chunks whose rows are in every table: not to be run again."""

    def add(self, cid: int, kpis: pd.DataFrame, monthly: pd.DataFrame | None) -> None:
        """Store a finished chunk's rows in the tables that do not hold them yet (the monthly rows first),
        compacting as it goes."""
        if self.monthly is not None and monthly is not None and cid not in self._kept_monthly:
            self.monthly.stage(cid, monthly)
        if cid not in self._kept_kpis:
            self.kpis.stage(cid, kpis)

    def finish(self) -> None:
        """Compact the staged chunks and small parts into large parts (once every chunk is done)."""
        for table in (self.monthly, self.kpis):
            if table is not None:
                table.finish()

    def read(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The KPI rows and (monthly=True) the monthly rows, as `pandas.read_parquet` reads them."""
        kpis = pd.read_parquet(self.kpis.folder)
        return kpis, pd.read_parquet(self.monthly.folder) if self.monthly is not None else None
