//! The comparison of the columns every session table has, whatever its
//! struct: `id`, `data` and `expiry_date`, which must be what the store
//! binds, and the store's timestamps, which a table made before them gains.

use super::{change_to, describe, Comparison};
use crate::schema::diff::SchemaChange;
use crate::schema::live_table::LiveColumn;

impl Comparison<'_> {
    /// `id`, `data` and `expiry_date` must be what the store binds to them.
    pub(super) fn fixed_columns(&mut self) {
        let fixed = [
            ("id", self.declared.dialect.id_sql()),
            ("data", self.ddl.data_sql()),
            ("expiry_date", self.declared.dialect.expiry_sql()),
        ];
        for (name, sql_type) in fixed {
            let expected = format!("{sql_type} NOT NULL");
            let start_over = format!(
                "`{}` was not made by session-runtime for {}: name another table in \
                 #[session(table = ...)], or drop this one to start over: DROP TABLE {}",
                self.diff.table,
                self.declared.dialect.name(),
                self.ddl.name
            );
            match self.live.column(name) {
                None => self.conflict(name, "no such column".to_owned(), expected, start_over),
                Some(live) => {
                    let change = change_to(self.declared.dialect, sql_type, false, live);
                    if change.is_none() {
                        continue;
                    }
                    let fix = match self.ddl.alter_column(name, change) {
                        _ if name == "data" && self.encryption_switch(live) => {
                            self.encryption_fix()
                        }
                        Some(alter) => format!("{start_over}; or convert the column: {alter}"),
                        None => start_over,
                    };
                    self.conflict(name, describe(live), expected, fix);
                }
            }
        }
    }

    /// The store's `created_at`: added to a table made before it, with the
    /// migration's time in every row; returns its down statement then.
    pub(super) fn created_at(&mut self) -> Option<String> {
        let Some(live) = self.live.column("created_at") else {
            self.diff.changes.push(SchemaChange::AddColumn {
                column: "created_at",
            });
            self.diff.up.extend(self.ddl.add_created_at());
            return Some(self.ddl.drop_column("created_at"));
        };
        self.store_timestamp("created_at", live);
        None
    }

    /// The store's `authenticated_at`: added to a table made before it,
    /// NULL in every row; returns its down statement then.
    pub(super) fn authenticated_at(&mut self) -> Option<String> {
        let Some(live) = self.live.column("authenticated_at") else {
            self.diff.changes.push(SchemaChange::AddColumn {
                column: "authenticated_at",
            });
            self.diff.up.push(self.ddl.add_authenticated_at());
            return Some(self.ddl.drop_column("authenticated_at"));
        };
        self.store_timestamp("authenticated_at", live);
        None
    }

    /// A conflict unless the live `column`, one of the store's own
    /// timestamps, is what the store binds to it.
    fn store_timestamp(&mut self, column: &str, live: &LiveColumn) {
        let sql_type = self.declared.dialect.expiry_sql();
        let change = change_to(self.declared.dialect, sql_type, true, live);
        if !change.is_none() {
            let fix = self.retype_fix(column, change);
            self.conflict(column, describe(live), format!("{sql_type} NULL"), fix);
        }
    }
}
