"""Throwaway PostgreSQL servers and per-test stores for the store and import tests.

``backend_engine(request, ...)`` gives an empty store with the reference tables on SQLite or
PostgreSQL. For PostgreSQL each pytest process (each xdist worker) starts its own server from
the Debian binaries (``/usr/lib/postgresql/*/bin``) on a free loopback port with a data folder in
a temporary directory, and stops it at the end of the session. As root the server runs as the
``postgres`` user (created if missing). Set ``TEST_DATABASE_URL`` (a server URL such as
``postgresql+psycopg://user:pw@127.0.0.1:5432/postgres`` of a role that may create databases)
to use a running server instead. Without binaries the PostgreSQL tests are skipped with the
reason; as root the binaries are installed with apt-get first (once, under a file lock).
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

BACKENDS = ["sqlite", "postgresql"]
PG_GLOB = "/usr/lib/postgresql/*/bin/initdb"
SERVICE_USER = "postgres"
INSTALL_LOCK = Path(tempfile.gettempdir()) / "styring-pg-install.lock"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob(PG_GLOB), key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")])
    return Path(found[-1]).parent if found else None


def _try_install() -> str | None:
    """apt-get install postgresql when root and missing; returns a reason when impossible."""
    if os.geteuid() != 0:
        return "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin and not root (cannot apt-get install)"
    if shutil.which("apt-get") is None:
        return "PostgreSQL binaries not found and apt-get is not available"
    with open(INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _bin_dir() is not None:
            return None
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
                           check=True, env=env, capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            return f"PostgreSQL is not installed and apt-get install postgresql failed: {exc}"
    return None if _bin_dir() is not None else "apt-get install postgresql did not provide /usr/lib/postgresql/*/bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temp dir, listening on 127.0.0.1 with trust authentication."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="styring-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = SERVICE_USER
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                               check=True, capture_output=True)
            info = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, info.pw_uid, info.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


class PostgresProvider:
    """Creates databases on a server we started (or on TEST_DATABASE_URL)."""

    def __init__(self):
        self.server: PostgresServer | None = None
        self.admin_url: str | None = os.environ.get("TEST_DATABASE_URL") or None
        self.skip_reason: str | None = None
        self.template: str | None = None

    def ensure(self) -> None:
        if self.admin_url or self.skip_reason:
            return
        bin_dir = _bin_dir()
        if bin_dir is None:
            self.skip_reason = _try_install()
            bin_dir = _bin_dir()
        if bin_dir is None:
            self.skip_reason = self.skip_reason or "PostgreSQL binaries not found"
            return
        server = PostgresServer(bin_dir)
        try:
            server.start()
        except subprocess.CalledProcessError as exc:
            server.stop()
            self.skip_reason = f"could not start PostgreSQL from {bin_dir}: {exc.stderr or exc}"
            return
        self.server = server
        self.admin_url = server.admin_url

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for attempt in range(50):
                    try:
                        conn.exec_driver_sql(sql)
                        return
                    except sa.exc.OperationalError as exc:  # the template is briefly in use by another worker
                        if "being accessed" not in str(exc) or attempt == 49:
                            raise
                        time.sleep(0.1)
        finally:
            engine.dispose()

    def url_for(self, database: str) -> str:
        return sa.engine.make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def new_database(self) -> str:
        """A new database holding an empty store with the reference tables (copied from a template)."""
        from data_loaders.importers import init_store

        if self.template is None:
            name = f"styring_template_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{name}"')
            engine = sa.create_engine(self.url_for(name), poolclass=NullPool)
            init_store(engine)
            engine.dispose()
            self.template = name
        name = f"styring_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def fresh_store(self) -> sa.Engine:
        """The worker's test database, emptied: reference tables only (much faster than a new database)."""
        from data_loaders import reference, schema, store
        from data_loaders.importers import init_store

        if getattr(self, "database", None) is None:
            self.database = self.new_database()
        engine = sa.create_engine(self.url_for(self.database), pool_size=2)
        if not store.has_reference(engine) or set(schema.metadata.tables) - set(sa.inspect(engine).get_table_names()):
            init_store(engine, force=True)
            return engine
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "TRUNCATE population, event_count, measure_coverage, app_setting, dataset RESTART IDENTITY CASCADE"
            )
            store.replace_mapping(conn, reference.load_kommune_helsefellesskap())
        return engine

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.template and self.admin_url:
            try:
                self.drop_database(self.template)
            except sa.exc.SQLAlchemyError:
                pass
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def pg_provider():
    provider = PostgresProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from data_loaders import store
    from data_loaders.importers import init_store

    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    init_store(engine)
    engine.dispose()
    store.dispose_engines()
    return path


def _sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=OFF")  # tests only: no fsync per commit
        cursor.close()

    return engine


@pytest.fixture(params=BACKENDS)
def backend_engine(request, tmp_path, sqlite_template, pg_provider):
    """An empty store with reference tables, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite"
        shutil.copy(sqlite_template, path)
        engine = _sqlite_engine(path)
        yield engine
        engine.dispose()
        return
    pg_provider.ensure()
    if pg_provider.skip_reason:
        pytest.skip(f"PostgreSQL tests skipped: {pg_provider.skip_reason}")
    engine = pg_provider.fresh_store()
    yield engine
    engine.dispose()
