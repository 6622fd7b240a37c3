"""The DuckDB store: connecting (one writer, waiting readers), schema and migrations, batches,
rejects and result snapshots."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from crmtool.config import Settings
from crmtool.errors import CrmtoolError, InputError, StoreBusy
from crmtool.io.schema import SQL_TYPES, TABLES

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

SCHEMA_VERSION = 3
DEFAULT_DB = "crm.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--db``, else ``$CRMTOOL_DB``, else ``./crm.duckdb``."""
    return Path(explicit or os.environ.get("CRMTOOL_DB") or DEFAULT_DB)


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted: for names that come from config or from our own constants."""
    return '"' + str(name).replace('"', '""') + '"'


def _table_ddl(name: str) -> str:
    t = TABLES[name]
    cols = [f"{quote_ident(c.name)} {SQL_TYPES[c.kind]}" for c in t.columns]
    cols += [f"{quote_ident(n)} {typ}" for n, typ in t.derived]
    cols += ["batch_id BIGINT", "source_line BIGINT"]
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(name)} ({', '.join(cols)})"


def _migration_1() -> list[str]:
    stmts = [_table_ddl(n) for n in TABLES]
    stmts += [
        "CREATE TABLE IF NOT EXISTS customers_extra (customer_id VARCHAR, column_name VARCHAR, value VARCHAR,"
        " batch_id BIGINT)",
        "CREATE SEQUENCE IF NOT EXISTS batch_seq START 1",
        "CREATE TABLE IF NOT EXISTS batches (batch_id BIGINT PRIMARY KEY, file VARCHAR, sha256 VARCHAR,"
        " table_name VARCHAR, rows_read BIGINT, accepted BIGINT, rejected BIGINT, replaced BIGINT,"
        " loaded_at TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS rejects (batch_id BIGINT, file VARCHAR, line BIGINT, column_name VARCHAR,"
        " field VARCHAR, value VARCHAR, reason VARCHAR)",
        "CREATE SEQUENCE IF NOT EXISTS snapshot_seq START 1",
        "CREATE TABLE IF NOT EXISTS snapshots (snapshot_id BIGINT PRIMARY KEY, analysis VARCHAR, period VARCHAR,"
        " as_of DATE, config_hash VARCHAR, row_count BIGINT, created_at TIMESTAMP)",
    ]
    return stmts


def _migration_2() -> list[str]:
    """code_map is keyed by (erp_code, valid_from): one ERP code may map to different customers in
    windows that do not overlap. The tables carry no key constraint (the loader upserts by key), and
    a store of version 1 holds at most one row per erp_code, which fits the new key as it is.
    Rejects record the table they were loaded into, so a reload of a file replaces its rejects."""
    return [
        "ALTER TABLE rejects ADD COLUMN IF NOT EXISTS table_name VARCHAR",
        "UPDATE rejects SET table_name = b.table_name FROM batches b "
        "WHERE b.batch_id = rejects.batch_id AND rejects.table_name IS NULL",
    ]


def _migration_3() -> list[str]:
    """Quantities and other numbers keep six decimals instead of four: a volume converted to tons
    (1,234 L of gasoline at 0.737 kg/L is 0.909458 t) lost a twentieth of a kilogram a line. Stored
    values keep what they had. Orders record whether crmtool numbered a line (unknown for the lines
    stored before)."""
    stmts = ["ALTER TABLE orders ADD COLUMN IF NOT EXISTS line_numbered BOOLEAN"]  # see schema.ORDERS
    for name, t in TABLES.items():
        cols = [c.name for c in t.columns if c.kind == "number"] + [n for n, typ in t.derived if typ.startswith("DECIMAL")]
        stmts += [f"ALTER TABLE {quote_ident(name)} ALTER COLUMN {quote_ident(c)} SET DATA TYPE {SQL_TYPES['number']}"
                  for c in cols]
    return stmts


# version -> statements that bring the store from version-1 to version
MIGRATIONS: dict[int, list[str]] = {1: _migration_1(), 2: _migration_2(), 3: _migration_3()}


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "already open" in text


@dataclass
class Store:
    """An open store. ``con`` is the DuckDB connection; use ``transaction()`` for writes."""

    con: "duckdb.DuckDBPyConnection"
    path: Path
    read_only: bool
    settings: Settings

    @contextmanager
    def transaction(self) -> Iterator["duckdb.DuckDBPyConnection"]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def lean(self, limit: str = "1GB") -> Iterator[None]:
        """Lower DuckDB's memory limit for a phase that needs little of it (writing reports from
        results already in memory), so that its cache of the orders gives the memory back; the
        configured limit is restored afterwards (best effort, see :func:`temporarily`)."""
        with temporarily(self.con, "memory_limit", limit, restore=self.settings.store.memory_limit or None):
            yield

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        try:
            rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            row = rows[0] if rows else None
        except Exception:  # duckdb.CatalogException: a store from before meta existed / empty file
            return 0
        return int(row[0]) if row else 0


@contextmanager
def temporarily(con: "duckdb.DuckDBPyConnection", name: str, value: object,
                restore: object = None) -> Iterator[None]:
    """SET the DuckDB setting ``name`` (one of ours, never user text) to ``value`` for a block, then
    back to ``restore`` or to what it was. Best effort: a value the engine refuses now (a memory
    limit below what it holds) leaves the setting as it was."""
    import duckdb

    before = restore if restore is not None else \
        con.execute("SELECT current_setting(?)", [name]).fetchall()[0][0]
    try:
        con.execute(f"SET {name} = ?", [value])
        changed = True
    except duckdb.Error:
        changed = False
    try:
        yield
    except BaseException:
        # the block failed: restore if the connection still can, but never hide the block's error
        # behind the restore's ("Current transaction is aborted")
        if changed:
            try:
                con.execute(f"SET {name} = ?", [before])
            except duckdb.Error:
                pass
        raise
    if changed:
        con.execute(f"SET {name} = ?", [before])


def _configure(con: "duckdb.DuckDBPyConnection", path: Path, settings: Settings, read_only: bool) -> None:
    s = settings.store
    con.execute("SET autoinstall_known_extensions = false")
    if s.memory_limit:
        import duckdb

        try:
            con.execute("SET memory_limit = ?", [s.memory_limit])
        except duckdb.Error:
            con.close()
            from crmtool.errors import ConfigError

            raise ConfigError(f"store.memory_limit: {s.memory_limit!r} is not a memory size; use e.g. \"4GB\" "
                              "or \"800MB\"") from None
    if s.threads and s.threads > 0:
        con.execute(f"SET threads = {int(s.threads)}")
    if path.name != ":memory:":
        tmp = s.temp_directory or str(path.with_name(path.name + ".tmp"))
        con.execute("SET temp_directory = ?", [tmp])


def migrate(con: "duckdb.DuckDBPyConnection") -> int:
    """Bring the schema to SCHEMA_VERSION, one transaction per step; returns the version."""
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    row = rows[0] if rows else None
    current = int(row[0]) if row else 0
    if current > SCHEMA_VERSION:
        raise CrmtoolError(f"the store has schema version {current}, newer than this crmtool "
                           f"({SCHEMA_VERSION}); upgrade crmtool")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            con.execute("DELETE FROM meta WHERE key = 'schema_version'")
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(version)])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return SCHEMA_VERSION


def open_store(path: str | os.PathLike[str] | None = None, settings: Settings | None = None, *,
               read_only: bool = False, wait: float | None = None, create: bool = True) -> Store:
    """Open the store. A writer waits up to ``wait`` seconds for another process to let go of the
    file, then raises StoreBusy; readers open read-only (and wait the same way for a writer)."""
    import duckdb

    settings = settings or Settings()
    p = Path(path) if path is not None else db_path()
    memory = str(p) == ":memory:"
    if not memory and not p.exists():
        if read_only or not create:
            raise InputError(f"{p}: no store here yet; run `crmtool init` or `crmtool load` first "
                             "(or pass --db / set CRMTOOL_DB)")
        p.parent.mkdir(parents=True, exist_ok=True)
    if not memory and p.exists():
        _check_is_store(p)
    wait = settings.store.wait_seconds if wait is None else wait
    deadline = time.monotonic() + max(wait, 0)
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(p), read_only=read_only and not memory)
            break
        except duckdb.Error as exc:  # IOException: the file is locked by another process
            if not _is_lock_error(exc):
                why = next((w for k, w in (("Read-only file system", "a read-only file system"),
                                           ("Permission denied", "no permission to write it")) if k in str(exc)), None)
                if why:
                    raise InputError(f"{p}: the store cannot be written here ({why}); copy it to a writable folder, "
                                     "or run a command that only reads it") from None
                raise InputError(f"{p}: cannot open the store: {exc}") from exc
            if time.monotonic() >= deadline:
                raise StoreBusy(f"{p} is in use by another crmtool process; waited {wait:g} s. "
                                "Try again later or raise --wait.") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    _configure(con, p, settings, read_only)
    store = Store(con, p, read_only and not memory, settings)
    if not store.read_only:
        migrate(con)
    elif (version := store.schema_version()) != SCHEMA_VERSION:
        con.close()
        raise CrmtoolError(f"{p}: store schema is version {version}, this crmtool needs "
                           f"{SCHEMA_VERSION}; run any writing command (e.g. `crmtool init`) to migrate")
    return store


def _check_is_store(p: Path) -> None:
    """A file given as the store must be a DuckDB database: DuckDB opens a CSV or Parquet file named as
    the database as an in-memory one, so a load into it would report rows accepted and keep none."""
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a store file; pass --db FOLDER/crm.duckdb")
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InputError(f"{p}: cannot read the store: {exc.strerror or exc}") from None
    if head and head[8:12] != b"DUCK":
        raise InputError(f"{p}: not a crmtool store (a DuckDB file); is --db pointing at an export? "
                         "Give the store's path, e.g. --db crm.duckdb (`crmtool init` creates one)")


# ---------------------------------------------------------------------------------------------
# snapshots: every analysis run stores its result rows keyed by (analysis, period)


def save_snapshot(con: "duckdb.DuckDBPyConnection", analysis: str, period: str, as_of: object,
                  config_hash: str, relation: str) -> int:
    """Store the rows of ``relation`` (a table or view name) as the snapshot of (analysis, period),
    replacing an earlier one for the same key. Returns the snapshot id. Runs in the caller's
    transaction when there is one."""
    table = quote_ident(f"snap_{analysis}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT CAST(NULL AS BIGINT) AS snapshot_id, * "
                f"FROM {relation} WHERE 1 = 0")
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [f"snap_{analysis}"]).fetchall()}
    for name, typ, *_ in con.execute(f"DESCRIBE {relation}").fetchall():
        if name not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(name)} {typ}")
    old = [r[0] for r in con.execute(
        "SELECT snapshot_id FROM snapshots WHERE analysis = ? AND period = ?", [analysis, period]).fetchall()]
    for sid in old:
        con.execute(f"DELETE FROM {table} WHERE snapshot_id = ?", [sid])
    con.execute("DELETE FROM snapshots WHERE analysis = ? AND period = ?", [analysis, period])
    sid = con.execute("SELECT nextval('snapshot_seq')").fetchall()[0][0]
    n = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    con.execute(f"INSERT INTO {table} BY NAME SELECT ? AS snapshot_id, * FROM {relation}", [sid])
    con.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, current_timestamp)",
                [sid, analysis, period, as_of, config_hash, n])
    return int(sid)


def snapshot_id(con: "duckdb.DuckDBPyConnection", analysis: str, period: str) -> int | None:
    rows = con.execute("SELECT snapshot_id FROM snapshots WHERE analysis = ? AND period = ?",
                       [analysis, period]).fetchall()
    return int(rows[0][0]) if rows else None


def snapshot_relation(analysis: str) -> str:
    """The quoted table name that holds the snapshots of ``analysis`` (filter by snapshot_id)."""
    return quote_ident(f"snap_{analysis}")
