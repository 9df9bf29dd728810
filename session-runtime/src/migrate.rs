//! `migrate()` and `check_schema()`: the live table read from the catalog,
//! compared with the struct, and brought to it where that is safe.

use diesel::QueryResult;
use diesel_async::SimpleAsyncConnection;

use crate::backend::{Backend, Dialect};
use crate::schema_diff::SchemaDiff;
use crate::session_table::{ConnectionOf, SessionTable};
use crate::Error;

/// How the live table of `S` differs from `S`, read without changing
/// anything.
pub(crate) async fn check<S: SessionTable>(
    connection: &mut ConnectionOf<S>,
) -> QueryResult<SchemaDiff> {
    let catalog_name = S::Backend::catalog_name(S::TABLE.name);
    let live = S::Backend::read_live_table(connection, &catalog_name).await?;
    Ok(SchemaDiff::between::<S>(live.as_ref()))
}

/// Creates the table of `S`, or brings it to `S`, under the backend's
/// migration lock; returns what it changed.
pub(crate) async fn migrate<S: SessionTable>(
    connection: &mut ConnectionOf<S>,
) -> Result<SchemaDiff, Error> {
    let lock = S::Backend::migration_lock(S::TABLE.name);
    connection
        .batch_execute(&lock.begin)
        .await
        .map_err(|error| Error::backend("cannot take the migration lock", error))?;
    let migrated = reconcile::<S>(connection).await;
    let end = if migrated.is_ok() {
        &lock.commit
    } else {
        &lock.rollback
    };
    let ended = connection.batch_execute(end).await;
    let diff = migrated?;
    ended.map_err(|error| Error::backend("migration failed", error))?;
    Ok(diff)
}

async fn reconcile<S: SessionTable>(connection: &mut ConnectionOf<S>) -> Result<SchemaDiff, Error> {
    let diff = check::<S>(connection).await.map_err(|error| {
        Error::backend(
            &format!("cannot read the shape of `{}`", S::TABLE.name),
            error,
        )
    })?;
    if let Some(report) = diff.conflict_report() {
        return Err(Error::Schema(report));
    }
    for statement in diff.up_statements() {
        let Err(error) = connection.batch_execute(statement).await else {
            continue;
        };
        // MySQL commits every DDL statement by itself, so a server that
        // migrates without the lock (an older version) may have made this
        // very change first, and the statement fails as a duplicate. What
        // counts is whether the table now is what the struct declares.
        if S::Backend::DIALECT == Dialect::Mysql
            && check::<S>(connection)
                .await
                .is_ok_and(|now| now.is_current())
        {
            return Ok(diff);
        }
        return Err(Error::backend(
            &format!("migrating `{}` failed on `{statement}`", S::TABLE.name),
            error,
        ));
    }
    Ok(diff)
}
