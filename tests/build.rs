//! Decides, when the tests are built, which server suites can run.
//!
//! `SESSION_TEST_POSTGRES_URL` and `SESSION_TEST_MYSQL_URL` name the live
//! servers. A suite whose variable is unset (or empty) is compiled with its
//! tests marked `#[ignore]`, reason included, so `cargo test` reports them
//! as ignored rather than as passed. Under `CI=true` nothing is ignored: a
//! missing server there fails its tests loudly ([`Kind::server_url`]
//! panics).
//!
//! The cfgs: `session_test_postgres` and `session_test_mysql`, set when
//! the matching suite runs, `session_test_pgbouncer` for the suites run
//! through PgBouncer in transaction mode (`.ci/pgbouncer env` prints its
//! variable), `session_test_tls` for the TLS suite's servers
//! (`.ci/tls-servers env` prints their variables), and `session_test_topologies`, set when
//! `SESSION_TEST_TOPOLOGIES=1` (or `CI=true`): the suite that starts a
//! PostgreSQL primary and standby and a three-node Galera cluster on this
//! machine through `.ci/topologies`.
//!
//! [`Kind::server_url`]: session_tests::Kind::server_url

const SUITES: [(&str, &str); 4] = [
    ("session_test_postgres", "SESSION_TEST_POSTGRES_URL"),
    ("session_test_mysql", "SESSION_TEST_MYSQL_URL"),
    // PgBouncer in transaction mode in front of that PostgreSQL, from
    // `.ci/pgbouncer`.
    ("session_test_pgbouncer", "SESSION_TEST_PGBOUNCER_URL"),
    // The TLS suite's servers, from `.ci/tls-servers`: its CA names them all.
    ("session_test_tls", "SESSION_TEST_TLS_CA"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CI");
    let ci = std::env::var("CI").is_ok_and(|ci| ci == "true");
    for (cfg, variable) in SUITES {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo:rerun-if-env-changed={variable}");
        let set = std::env::var(variable).is_ok_and(|url| !url.is_empty());
        if set || ci {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    println!("cargo::rustc-check-cfg=cfg(session_test_topologies)");
    println!("cargo:rerun-if-env-changed=SESSION_TEST_TOPOLOGIES");
    let topologies = std::env::var("SESSION_TEST_TOPOLOGIES").is_ok_and(|set| set == "1");
    if topologies || ci {
        println!("cargo:rustc-cfg=session_test_topologies");
    }
}
