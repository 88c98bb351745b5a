//! Query plans of what the store really runs: every statement a piece of
//! work prepares is recorded (SQLite's statement trace), then explained
//! (`EXPLAIN QUERY PLAN`), and each plan is judged by [`plan_problems`].
//! The plan test (`tests/it/store.rs`) runs the hot calls of the window this
//! way, with and without statistics in the file, so that a query the
//! planner can misread fails a test instead of a user's afternoon.

use super::{Store, StoreError};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// One statement and its plan, one line per step (`SEARCH c USING …`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub sql: String,
    pub plan: Vec<String>,
}

static SEEN: Mutex<Option<BTreeSet<String>>> = Mutex::new(None);
thread_local! {
    /// Statements this thread started on traced connections (see
    /// [`Store::trace_statements`]): per thread, so that tests running
    /// side by side do not count each other's.
    static STATEMENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn record(event: TraceEvent<'_>) {
    if let TraceEvent::Stmt(stmt, text) = event
        && !text.starts_with("--")
    {
        STATEMENTS.with(|n| n.set(n.get() + 1));
        if let Ok(mut seen) = SEEN.lock()
            && let Some(seen) = seen.as_mut()
        {
            seen.insert(stmt.sql().into_owned());
        }
    }
}

impl Store {
    /// Runs `work` on this store while recording every statement it runs,
    /// then returns each distinct statement (reads only: `SELECT` and
    /// `WITH`) with its query plan. One recording at a time per process.
    pub fn query_plans_of(
        &mut self,
        work: impl FnOnce(&mut Store) -> Result<(), StoreError>,
    ) -> Result<Vec<QueryPlan>, StoreError> {
        *SEEN.lock().map_err(|_| StoreError::Cancelled)? = Some(BTreeSet::new());
        self.conn()
            .trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record));
        let worked = work(self);
        self.conn().trace_v2(TraceEventCodes::empty(), None);
        let seen = SEEN
            .lock()
            .map_err(|_| StoreError::Cancelled)?
            .take()
            .unwrap_or_default();
        worked?;
        let mut plans = Vec::new();
        for sql in seen {
            let head = sql.trim_start().to_ascii_uppercase();
            if !(head.starts_with("SELECT") || head.starts_with("WITH")) {
                continue;
            }
            plans.push(QueryPlan {
                plan: self.explain(&sql)?,
                sql,
            });
        }
        Ok(plans)
    }

    /// Counts the statements this connection runs from now on (the frame
    /// benchmark checks that screens run none while drawing).
    pub fn trace_statements(&self) {
        self.conn()
            .trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record));
    }

    /// Statements this thread has run on traced connections so far.
    pub fn statements_run(&self) -> u64 {
        STATEMENTS.with(std::cell::Cell::get)
    }

    /// `EXPLAIN QUERY PLAN` of `sql`, parameters unbound (NULL).
    pub fn explain(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What is wrong with a plan: a step that reads a whole table, or a
/// correlated lookup that goes through an index not led by the column it
/// looks up. `expected` names, for a table alias, the index the lookup
/// must use (e.g. `("d", "detentions_client")`); `whole_tables` lists the
/// tables this statement reads whole on purpose (a list of everyone).
pub fn plan_problems(
    plan: &[String],
    expected: &[(&str, &str)],
    whole_tables: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    // Subqueries named in the plan are read whole by design.
    let subqueries: Vec<&str> = plan
        .iter()
        .filter_map(|step| {
            let mut words = step.split_whitespace();
            match words.next() {
                Some("CO-ROUTINE" | "MATERIALIZE") => words.next(),
                _ => None,
            }
        })
        .collect();
    for step in plan {
        let words: Vec<&str> = step.split_whitespace().collect();
        let (Some(&verb), Some(&table)) = (words.first(), words.get(1)) else {
            continue;
        };
        let table_name = table.trim_matches(|c| c == '(' || c == ')');
        if verb == "SCAN"
            && !subqueries.contains(&table_name)
            && !step.contains("VIRTUAL TABLE")
            && !step.contains("CONSTANT ROW")
            && !table_name.starts_with("json_each")
            && !whole_tables.contains(&table_name)
        {
            problems.push(format!("reads a whole table: {step}"));
        }
        if verb == "SEARCH" || verb == "SCAN" {
            for (alias, index) in expected {
                if table_name == *alias && !step.contains(&format!("INDEX {index} ")) {
                    problems.push(format!("{alias} should go through {index}: {step}"));
                }
            }
        }
    }
    problems
}
