//! Fresh stores for each test. Tests run in parallel, so each gets its own PostgreSQL database
//! or SQLite file, removed when its guard is dropped.

use std::path::{Path, PathBuf};

use roster_postgres::PgStore;
use roster_sqlite::SqliteStore;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};
use uuid::Uuid;

/// The server and database to create test databases from, unless `TEST_DATABASE_URL` says.
const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A throwaway PostgreSQL database; dropped (connections and all) with this guard.
pub(crate) struct PgDatabase {
    pub name: String,
    /// Connection settings for the throwaway database itself.
    pub config: Config,
    admin: Config,
}

/// Where test databases are created: `TEST_DATABASE_URL`, or the local default.
pub(crate) fn admin_config() -> Config {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
    url.parse()
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not a PostgreSQL connection string: {e}"))
}

/// `user@host:port/db`, without the password.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(dir) => format!("{}:{port}", dir.display()),
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_dbname().unwrap_or("?")
    )
}

async fn connect(config: &Config) -> Client {
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(e) => panic!(
            "PostgreSQL is unreachable at {} ({e}). These tests never skip: start PostgreSQL \
             or point TEST_DATABASE_URL at a server where the user may create databases.",
            describe(config)
        ),
    }
}

/// A brand-new, empty database `roster_t_<uuid>`, not migrated.
pub(crate) async fn create_pg_database() -> PgDatabase {
    let admin = admin_config();
    let name = format!("roster_t_{}", Uuid::new_v4().simple());
    connect(&admin)
        .await
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let mut config = admin.clone();
    config.dbname(&name);
    PgDatabase {
        name,
        config,
        admin,
    }
}

/// A migrated `PgStore` on a brand-new database.
pub(crate) async fn fresh_pg() -> (PgStore, PgDatabase) {
    let db = create_pg_database().await;
    let store = PgStore::with_config(db.config.clone())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test database {}: {e}", db.name));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("cannot migrate test database {}: {e}", db.name));
    (store, db)
}

/// A plain connection to the test database, for interleaving transactions by hand.
pub(crate) async fn raw_client(db: &PgDatabase) -> Client {
    connect(&db.config).await
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread with
        // a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let (client, connection) = admin.connect(NoTls).await.map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: cleanup panicked",
                self.name
            ),
        }
    }
}

/// A throwaway SQLite file (with its -wal and -shm companions), deleted with this guard.
pub(crate) struct SqliteFile {
    pub path: PathBuf,
}

impl SqliteFile {
    pub(crate) fn new() -> SqliteFile {
        SqliteFile {
            path: std::env::temp_dir().join(format!("roster_t_{}.sqlite", Uuid::new_v4().simple())),
        }
    }

    pub(crate) fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.path.display()))
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(Path::new(&p));
        }
    }
}

/// A `SqliteStore` on a new file: WAL, fsync and locking behave as in production.
pub(crate) async fn fresh_sqlite() -> (SqliteStore, SqliteFile) {
    let file = SqliteFile::new();
    let store = file.open();
    (store, file)
}
