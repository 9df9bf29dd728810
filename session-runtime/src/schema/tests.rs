//! The DDL and the schema diff, as pure functions of a dialect.

use crate::schema::ddl::{ColumnChange, Migration, TableDdl};
use crate::schema::dialect::Dialect;
use crate::schema::table_def::OnDelete;
use crate::schema::table_def::{ColumnDef, Compression, DataType, ForeignKey, TableDef};
use crate::session_data::KeyPath;

const USER_ID: ColumnDef = ColumnDef {
    name: "user_id",
    path: KeyPath {
        field: "user_id",
        key: "user_id",
        members: &[],
    },
    sql_type: "BIGINT",
    nullable: true,
    indexed: false,
    references: Some(ForeignKey {
        table: "users",
        column: "id",
        on_delete: OnDelete::SetNull,
    }),
};

fn table(columns: &'static [ColumnDef]) -> TableDef {
    TableDef {
        name: "http_sessions",
        columns,
        unlogged: false,
        data: DataType::BackendDefault,
        compression: Compression::Lz4,
    }
}

#[test]
fn sqlite_creates_the_table_with_its_foreign_key_and_no_expiry_index() {
    let migration = Migration::for_table(Dialect::Sqlite, &table(&[USER_ID]));
    assert_eq!(
        migration.up_statements(),
        [
            "CREATE TABLE IF NOT EXISTS \"http_sessions\" (\n    \
             \"id\" BLOB NOT NULL PRIMARY KEY,\n    \
             \"expiry_date\" BIGINT NOT NULL,\n    \
             \"created_at\" BIGINT NULL,\n    \
             \"authenticated_at\" BIGINT NULL,\n    \
             \"user_id\" BIGINT NULL,\n    \
             \"data\" TEXT NOT NULL,\n    \
             CONSTRAINT \"http_sessions_user_id_fkey\" FOREIGN KEY (\"user_id\") \
             REFERENCES \"users\" (\"id\") ON DELETE SET NULL\n)",
            "CREATE INDEX IF NOT EXISTS \"http_sessions_user_id_idx\" \
             ON \"http_sessions\" (\"user_id\")",
        ]
    );
    assert_eq!(
        migration.down(),
        "DROP TABLE IF EXISTS \"http_sessions\";\n"
    );
}

#[test]
fn postgres_compresses_data_and_indexes_expiry() {
    let migration = Migration::for_table(Dialect::Postgres, &table(&[]));
    let up = migration.up();
    assert!(
        up.contains("\"data\" JSONB COMPRESSION lz4 NOT NULL"),
        "{up}"
    );
    assert!(up.contains("\"expiry_date\" TIMESTAMPTZ NOT NULL"), "{up}");
    assert!(up.contains(
        "CREATE INDEX IF NOT EXISTS \"http_sessions_expiry_date_idx\" ON \"http_sessions\" (\"expiry_date\")"
    ));
    let unlogged = TableDef {
        unlogged: true,
        data: DataType::Json,
        ..table(&[])
    };
    let up = Migration::for_table(Dialect::Postgres, &unlogged).up();
    assert!(up.starts_with("CREATE UNLOGGED TABLE"), "{up}");
    assert!(
        up.contains("\"data\" JSON COMPRESSION lz4 NOT NULL"),
        "{up}"
    );
    // Only PostgreSQL has unlogged tables.
    let up = Migration::for_table(Dialect::Sqlite, &unlogged).up();
    assert!(up.starts_with("CREATE TABLE"), "{up}");
}

#[test]
fn mysql_declares_indexes_inline_and_uses_innodb() {
    let blob = TableDef {
        data: DataType::Blob,
        ..table(&[USER_ID])
    };
    let migration = Migration::for_table(Dialect::Mysql, &blob);
    let [create] = migration.up_statements() else {
        panic!("MySQL creates its indexes with the table: {migration:?}");
    };
    assert!(
        create.contains("`id` BINARY(32) NOT NULL PRIMARY KEY"),
        "{create}"
    );
    assert!(create.contains("`data` LONGBLOB NOT NULL"), "{create}");
    assert!(create.contains("INDEX `http_sessions_expiry_date_idx` (`expiry_date`)"));
    assert!(create.contains("INDEX `http_sessions_user_id_idx` (`user_id`)"));
    assert!(
        create.ends_with(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"),
        "{create}"
    );
}

#[test]
fn altering_a_live_table_follows_each_dialect() {
    let sqlite = TableDdl::new(Dialect::Sqlite, &table(&[USER_ID]));
    assert_eq!(
        sqlite.add_column(&USER_ID, None),
        "ALTER TABLE \"http_sessions\" ADD COLUMN \"user_id\" BIGINT NULL \
         CONSTRAINT \"http_sessions_user_id_fkey\" REFERENCES \"users\" (\"id\") ON DELETE SET NULL"
    );
    let key = USER_ID.references.unwrap();
    assert_eq!(sqlite.add_foreign_key("user_id", &key), None);
    let change = ColumnChange {
        sql_type: "BIGINT",
        nullable: false,
        retype: true,
        renull: true,
    };
    assert_eq!(sqlite.alter_column("user_id", change), None);

    let postgres = TableDdl::new(Dialect::Postgres, &table(&[USER_ID]));
    assert_eq!(
        postgres.alter_column("user_id", change).unwrap(),
        "ALTER TABLE \"http_sessions\" ALTER COLUMN \"user_id\" TYPE BIGINT \
         USING \"user_id\"::BIGINT, ALTER COLUMN \"user_id\" SET NOT NULL"
    );
    assert_eq!(
        postgres.drop_foreign_key("user_id").unwrap(),
        "ALTER TABLE \"http_sessions\" DROP CONSTRAINT IF EXISTS \"http_sessions_user_id_fkey\""
    );

    let mysql = TableDdl::new(Dialect::Mysql, &table(&[USER_ID]));
    assert_eq!(
        mysql.alter_column("user_id", change).unwrap(),
        "ALTER TABLE `http_sessions` MODIFY COLUMN `user_id` BIGINT NOT NULL"
    );
    assert_eq!(
        mysql.create_index("user_id"),
        "CREATE INDEX `http_sessions_user_id_idx` ON `http_sessions` (`user_id`)"
    );
    assert_eq!(
        mysql.drop_index("user_id"),
        "DROP INDEX `http_sessions_user_id_idx` ON `http_sessions`"
    );
}

mod diff {
    use super::*;
    use crate::schema::diff::{SchemaChange, SchemaDiff};
    use crate::schema::live_table::{LiveColumn, LiveForeignKey, LiveTable};
    use crate::schema::table_def::Declared;
    use crate::session_data::SessionData;

    fn column(name: &str, sql_type: &str, nullable: bool) -> LiveColumn {
        LiveColumn {
            name: name.to_owned(),
            sql_type: sql_type.to_owned(),
            not_null: i64::from(!nullable),
            has_default: 0,
        }
    }

    /// The SQLite table a struct without fields makes.
    fn without_fields() -> LiveTable {
        LiveTable {
            columns: vec![
                column("id", "BLOB", false),
                column("expiry_date", "BIGINT", false),
                column("created_at", "BIGINT", true),
                column("authenticated_at", "BIGINT", true),
                column("data", "TEXT", false),
            ],
            ..LiveTable::default()
        }
    }

    fn declared(columns: &'static [ColumnDef]) -> Declared {
        Declared {
            dialect: Dialect::Sqlite,
            table: table(columns),
            defaults: Ok(SessionData::new()),
        }
    }

    #[test]
    fn a_new_field_adds_its_column_foreign_key_and_index() {
        let diff = SchemaDiff::between(&declared(&[USER_ID]), Some(&without_fields()));
        assert_eq!(
            diff.changes(),
            [
                SchemaChange::AddColumn { column: "user_id" },
                SchemaChange::CreateIndex { column: "user_id" },
            ]
        );
        assert!(diff.conflicts().is_empty());
        assert!(diff
            .up()
            .contains("ADD COLUMN \"user_id\" BIGINT NULL CONSTRAINT"));
        assert!(
            diff.down()
                .contains("DROP INDEX IF EXISTS \"http_sessions_user_id_idx\""),
            "{}",
            diff.down()
        );
    }

    #[test]
    fn a_column_of_another_type_is_a_conflict_that_names_the_fix() {
        let mut live = without_fields();
        live.columns.push(column("user_id", "TEXT", true));
        live.indexes.push("http_sessions_user_id_idx".to_owned());
        live.foreign_keys.push(LiveForeignKey {
            column_name: "user_id".to_owned(),
            referenced_table: "users".to_owned(),
            referenced_column: "id".to_owned(),
            on_delete: "SET NULL".to_owned(),
        });
        let diff = SchemaDiff::between(&declared(&[USER_ID]), Some(&live));
        let [conflict] = diff.conflicts() else {
            panic!("one conflict expected: {diff:?}");
        };
        assert_eq!(conflict.column, "user_id");
        assert_eq!(conflict.found, "TEXT NULL");
        assert_eq!(conflict.expected, "BIGINT NULL");
        assert!(
            conflict.fix.contains("SQLite cannot change the column"),
            "{}",
            conflict.fix
        );
        assert!(!diff.is_current());
    }

    #[test]
    fn a_table_made_before_created_at_gets_it_with_the_migration_time() {
        let mut live = without_fields();
        live.columns.retain(|column| column.name != "created_at");
        let diff = SchemaDiff::between(&declared(&[]), Some(&live));
        assert_eq!(
            diff.changes(),
            [SchemaChange::AddColumn {
                column: "created_at"
            }]
        );
        assert!(diff.conflicts().is_empty());
        assert_eq!(
            diff.up_statements(),
            [
                "ALTER TABLE \"http_sessions\" ADD COLUMN \"created_at\" BIGINT NULL",
                "UPDATE \"http_sessions\" SET \"created_at\" = \
                 CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) \
                 WHERE \"created_at\" IS NULL",
            ]
        );
        assert!(diff.down().contains("DROP COLUMN \"created_at\""));
    }

    #[test]
    fn the_same_table_is_current_and_a_missing_one_is_created() {
        let diff = SchemaDiff::between(&declared(&[]), Some(&without_fields()));
        assert!(diff.is_current(), "{diff:?}");
        let diff = SchemaDiff::between(&declared(&[]), None);
        assert_eq!(diff.changes(), [SchemaChange::CreateTable]);
    }

    #[test]
    fn a_missing_referenced_table_is_reported_by_name() {
        let mut diff = SchemaDiff::between(&declared(&[USER_ID]), None);
        diff.set_missing_references(vec!["users"]);
        assert!(!diff.is_current());
        let report = diff.conflict_report().expect("a report");
        assert!(
            report.contains("foreign keys to `users`, which do not exist"),
            "{report}"
        );
    }
}

mod encrypted {
    use super::*;
    use crate::schema::diff::SchemaDiff;
    use crate::schema::live_table::{LiveColumn, LiveTable};
    use crate::schema::table_def::Declared;
    use crate::session_data::SessionData;

    fn encrypted() -> TableDef {
        TableDef {
            data: DataType::Encrypted,
            ..table(&[])
        }
    }

    #[test]
    fn data_is_each_backends_binary_string_without_compression() {
        for (dialect, column) in [
            (Dialect::Sqlite, "\"data\" BLOB NOT NULL"),
            (Dialect::Postgres, "\"data\" BYTEA NOT NULL"),
            (Dialect::Mysql, "`data` LONGBLOB NOT NULL"),
        ] {
            let up = Migration::for_table(dialect, &encrypted()).up();
            assert!(up.contains(column), "{up}");
        }
    }

    fn live(dialect: Dialect, data: &str) -> LiveTable {
        let column = |name: &str, sql_type: &str, nullable: bool| LiveColumn {
            name: name.to_owned(),
            sql_type: sql_type.to_owned(),
            not_null: i64::from(!nullable),
            has_default: 0,
        };
        LiveTable {
            columns: vec![
                column("id", dialect.id_sql(), false),
                column("expiry_date", dialect.expiry_sql(), false),
                column("created_at", dialect.expiry_sql(), true),
                column("authenticated_at", dialect.expiry_sql(), true),
                column("data", data, false),
            ],
            indexes: vec!["http_sessions_expiry_date_idx".to_owned()],
            data_compression: (dialect == Dialect::Postgres).then(|| "lz4".to_owned()),
            ..LiveTable::default()
        }
    }

    fn declared(dialect: Dialect, table: TableDef) -> Declared {
        Declared {
            dialect,
            table,
            defaults: Ok(SessionData::new()),
        }
    }

    #[test]
    fn a_table_encrypted_as_declared_is_current() {
        for (dialect, data) in [
            (Dialect::Sqlite, "BLOB"),
            (Dialect::Postgres, "bytea"),
            (Dialect::Mysql, "longblob"),
        ] {
            let diff =
                SchemaDiff::between(&declared(dialect, encrypted()), Some(&live(dialect, data)));
            assert!(diff.is_current(), "{dialect:?}: {diff:?}");
        }
    }

    #[test]
    fn switching_encryption_on_or_off_is_a_conflict_that_says_why_sql_cannot() {
        let cases = [
            (Dialect::Postgres, encrypted(), "jsonb"),
            (Dialect::Postgres, table(&[]), "bytea"),
            (Dialect::Sqlite, encrypted(), "TEXT"),
            (Dialect::Mysql, encrypted(), "longtext"),
        ];
        for (dialect, table, data) in cases {
            let diff = SchemaDiff::between(&declared(dialect, table), Some(&live(dialect, data)));
            let [conflict] = diff.conflicts() else {
                panic!("one conflict expected: {diff:?}");
            };
            assert_eq!(conflict.column, "data");
            assert!(
                conflict.fix.contains("the keys are not in the database")
                    && conflict.fix.contains("DROP TABLE"),
                "{}",
                conflict.fix
            );
        }
    }
}

/// The schema chapter's three DDL listings are what the store creates for
/// its example struct: `user_id` (a foreign key, CASCADE) and `optional`.
#[test]
fn the_schema_chapter_lists_the_ddl_the_store_creates() {
    const COLUMNS: &[ColumnDef] = &[
        ColumnDef {
            references: Some(ForeignKey {
                table: "users",
                column: "id",
                on_delete: OnDelete::Cascade,
            }),
            ..USER_ID
        },
        ColumnDef {
            name: "optional",
            path: KeyPath {
                field: "optional",
                key: "optional",
                members: &[],
            },
            sql_type: "TEXT",
            nullable: true,
            indexed: false,
            references: None,
        },
    ];
    let chapter = include_str!("../guide/schema.md");
    let listings: Vec<&str> = chapter
        .split("```sql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or_default())
        .take(3)
        .collect();
    for (dialect, listing) in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql]
        .into_iter()
        .zip(listings)
    {
        let mut columns = COLUMNS.to_vec();
        if dialect == Dialect::Mysql {
            columns[1].sql_type = "LONGTEXT";
        }
        let columns: &'static [ColumnDef] = Box::leak(columns.into_boxed_slice());
        let up = Migration::for_table(dialect, &table(columns)).up();
        assert_eq!(listing, up, "the {dialect:?} listing of guide/schema.md");
    }
}
