//! `migrate()` and `check_schema()`: the live table read from the catalog,
//! compared with the struct, and brought to it where that is safe.

use diesel::QueryResult;
use diesel_async::SimpleAsyncConnection;

use crate::backend::Backend;
use crate::schema::dialect::Dialect;
use crate::schema::diff::SchemaDiff;
use crate::schema::table_def::Declared;
use crate::session_data::SessionData;
use crate::session_table::SessionTable;
use crate::Error;

/// How the live table of `S` differs from `S`, read without changing
/// anything, with the tables its foreign keys reference that do not exist,
/// since every write would then fail.
pub(crate) async fn check<S: SessionTable<B>, B: Backend>(
    connection: &mut B::Connection,
) -> QueryResult<SchemaDiff> {
    let mut checked = vec![S::TABLE.name];
    let mut missing = Vec::new();
    for column in S::TABLE.columns {
        let Some(key) = &column.references else {
            continue;
        };
        if checked.contains(&key.table) {
            continue;
        }
        checked.push(key.table);
        // A missing table has no columns: its catalog read is one query.
        if read_live_table::<B>(connection, key.table).await?.is_none() {
            missing.push(key.table);
        }
    }
    let live = read_live_table::<B>(connection, S::TABLE.name).await?;
    let mut diff = SchemaDiff::between(&declared::<S, B>(), live.as_ref());
    diff.set_missing_references(missing);
    Ok(diff)
}

/// The table of `S` as [`SchemaDiff::between`] compares it with the live one.
fn declared<S: SessionTable<B>, B: Backend>() -> Declared {
    let defaults = S::read_fields(&SessionData::new()).and_then(|defaults| {
        let mut written = SessionData::new();
        defaults.put_fields(&mut written).map(|()| written)
    });
    Declared {
        dialect: B::DIALECT,
        table: S::TABLE,
        defaults: defaults.map_err(|error| error.to_string()),
    }
}

/// The live shape of `table` on the connection of `S`; `None` if the
/// database has no such table.
async fn read_live_table<B: Backend>(
    connection: &mut B::Connection,
    table: &str,
) -> QueryResult<Option<crate::schema::live_table::LiveTable>> {
    let catalog_name = B::DIALECT.catalog_name(table);
    B::read_live_table(connection, &catalog_name).await
}

/// Creates the table of `S`, or brings it to `S`, under the backend's
/// migration lock; returns what it changed.
pub(crate) async fn migrate<S: SessionTable<B>, B: Backend>(
    connection: &mut B::Connection,
) -> Result<SchemaDiff, Error> {
    let lock = B::DIALECT.migration_lock(S::TABLE.name);
    let locked = connection.batch_execute(&lock.begin).await;
    if let Err(error) = locked {
        // MySQL's named lock is only a courtesy: `reconcile` checks the
        // table again after a failed DDL statement, so servers that migrate
        // at once without it still agree. Galera refuses or localises it.
        if B::DIALECT != Dialect::Mysql {
            return Err(Error::backend("cannot take the migration lock", error));
        }
        tracing::warn!(
            target: crate::telemetry::TARGET,
            table = S::TABLE.name,
            error = %error,
            "migrating without the migration lock"
        );
        return reconcile::<S, B>(connection).await.map(SchemaDiff::applied);
    }
    let migrated = reconcile::<S, B>(connection).await;
    let end = if migrated.is_ok() {
        &lock.commit
    } else {
        &lock.rollback
    };
    let ended = connection.batch_execute(end).await;
    let diff = migrated?;
    ended.map_err(|error| Error::backend("migration failed", error))?;
    Ok(diff.applied())
}

/// How many times a MySQL migration reads the table again after another
/// server's concurrent DDL made one of its statements fail.
const MYSQL_RECONCILE_ROUNDS: usize = 8;

async fn reconcile<S: SessionTable<B>, B: Backend>(
    connection: &mut B::Connection,
) -> Result<SchemaDiff, Error> {
    let diff = check::<S, B>(connection).await.map_err(|error| {
        Error::backend(
            format!("cannot read the shape of `{}`", S::TABLE.name),
            error,
        )
    })?;
    if let Some(report) = diff.conflict_report() {
        return Err(Error::Schema(report));
    }
    let mut pending = diff.clone();
    let mut rounds = 0;
    'rounds: loop {
        for statement in pending.up_statements() {
            let Err(error) = connection.batch_execute(statement).await else {
                continue;
            };
            // MySQL commits every DDL statement by itself, so another server
            // migrating at once (without the lock: an older version, or a
            // Galera node, whose lock is its own) may have made this very
            // change first, and the statement fails as a duplicate. What
            // counts is what the table is now: done, or the rest to do.
            rounds += 1;
            if B::DIALECT == Dialect::Mysql && rounds < MYSQL_RECONCILE_ROUNDS {
                if let Ok(now) = check::<S, B>(connection).await {
                    if now.is_current() {
                        return Ok(diff);
                    }
                    if now.conflict_report().is_none() {
                        pending = now;
                        continue 'rounds;
                    }
                }
            }
            return Err(Error::backend(
                format!("migrating `{}` failed on `{statement}`", S::TABLE.name),
                error,
            ));
        }
        return Ok(diff);
    }
}
