//! The client line list, written on a worker thread to CSV or XLSX.

use super::*;
use crate::continuity as rules;

/// A line-list export that runs off the UI thread with its own read-only
/// connection. Made by [`Store::export_job`], which checks the permission
/// and audits.
pub struct ExportJob {
    conn: Connection,
    identifiable: bool,
    day: NaiveDate,
    /// The continuity thresholds as the export began (lost to follow-up).
    thresholds: crate::continuity::Thresholds,
}

/// `out` with `.part` added: where a file is written before it is complete.
pub(super) fn partial_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

impl ExportJob {
    /// Whether names, nicknames and phones are included.
    pub fn identifiable(&self) -> bool {
        self.identifiable
    }

    /// Writes the line list to `out` (`.csv` or `.xlsx`), one row per live
    /// client by code, as the rows are read. `progress` is told (clients
    /// written, clients). The file appears only when complete: a cancelled
    /// or failed export leaves nothing behind. Returns the number of rows.
    pub fn run(
        &self,
        out: &Path,
        progress: &dyn Fn(usize, usize),
        cancel: &AtomicBool,
    ) -> Result<usize, StoreError> {
        let format = FileFormat::for_line_list(out)?;
        let tmp = partial_path(out);
        let written = self.write(&tmp, format, progress, cancel);
        match written {
            Ok(n) => match std::fs::rename(&tmp, out) {
                Ok(()) => Ok(n),
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn write(
        &self,
        path: &Path,
        format: FileFormat,
        progress: &dyn Fn(usize, usize),
        cancel: &AtomicBool,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let total: i64 =
            tx.query_row("SELECT count(*) FROM clients WHERE deleted = 0", [], |r| {
                r.get(0)
            })?;
        let total = usize::try_from(total).unwrap_or(0);
        progress(0, total);
        let names = if self.identifiable {
            "c.nickname, c.name, c.phone"
        } else {
            "NULL, NULL, NULL"
        };
        let sql = format!(
            "SELECT c.code, {names}, c.sex, c.birth_year, c.province, c.status, l.name, d.started_on,
                (SELECT group_concat(e.service, ';') FROM enrollments e
                 WHERE e.client_id = c.id AND e.deleted = 0 AND e.started_on <= ?1
                   AND (e.ended_on IS NULL OR e.ended_on >= ?1)),
                (SELECT count(*) FROM contacts x WHERE x.client_id = c.id AND x.deleted = 0),
                (SELECT count(*) FROM arrests a WHERE a.client_id = c.id AND a.deleted = 0),
                (SELECT count(*) FROM detentions s WHERE s.client_id = c.id AND s.deleted = 0),
                (SELECT CASE WHEN a.last_contact <= ?1 THEN a.last_contact
                        ELSE (SELECT max(x.date) FROM contacts x WHERE x.client_id = c.id AND x.deleted = 0 AND x.date <= ?1)
                        END
                 FROM client_activity a WHERE a.client_id = c.id),
                c.registered_on
             FROM clients c
             LEFT JOIN detentions d ON d.rowid = (
                SELECT s.rowid FROM detentions s
                WHERE s.client_id = c.id AND s.deleted = 0 AND s.started_on <= ?1
                  AND (s.ended_on IS NULL OR s.ended_on > ?1)
                ORDER BY s.started_on DESC LIMIT 1)
             LEFT JOIN locations l ON l.id = d.location_id
             WHERE c.deleted = 0
             ORDER BY c.code"
        );
        let mut writer = LineListWriter::create(path, format, self.identifiable, self.day)?;
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query([self.day])?;
        let mut n = 0usize;
        while let Some(r) = rows.next()? {
            check(cancel)?;
            let services: Option<String> = r.get(10)?;
            let mut enrollments: Vec<Service> = services
                .as_deref()
                .map(|s| s.split(';').filter_map(Service::parse).collect())
                .unwrap_or_default();
            enrollments.sort();
            enrollments.dedup();
            let sex: String = r.get(4)?;
            let recorded: CaseStatus = r.get(7)?;
            let unseen = rules::days_unseen(
                Some(recorded),
                date_at(r, 14)?,
                date_at(r, 15)?,
                self.day,
                &self.thresholds,
            );
            writer.write(&LineListRow {
                code: r.get(0)?,
                nickname: r.get(1)?,
                name: r.get(2)?,
                phone: r.get(3)?,
                sex: Sex::parse(&sex).unwrap_or(Sex::Unknown).as_str().to_owned(),
                age_band: age_band(r.get(5)?, self.day),
                province: r.get(6)?,
                status: rules::case_status(recorded, unseen).as_str().to_owned(),
                detention_location: r.get(8)?,
                detained_since: r.get(9)?,
                enrollments,
                contacts: r.get(11)?,
                arrests: r.get(12)?,
                detentions: r.get(13)?,
            })?;
            n += 1;
            if n.is_multiple_of(1024) {
                progress(n, total);
            }
        }
        drop(rows);
        drop(stmt);
        tx.commit()?;
        check(cancel)?;
        writer.finish()?;
        progress(n, total.max(n));
        Ok(n)
    }
}

impl Store {
    /// A line-list export for a worker thread (see [`ExportJob::run`]), as of
    /// `day` (age bands, current detention, active enrollments). Needs
    /// [`Permission::Export`], and [`Permission::ExportIdentifiable`] when
    /// `identifiable` (names, nicknames and phones); the audit entry is
    /// written now, before any data leaves.
    pub fn export_job(
        &mut self,
        identifiable: bool,
        day: NaiveDate,
    ) -> Result<ExportJob, StoreError> {
        self.require(Permission::Export)?;
        if identifiable {
            self.require(Permission::ExportIdentifiable)?;
        }
        let conn = self.read_only_connection()?;
        let detail = format!(
            "line list of clients on {day}, identifiable: {}",
            if identifiable { "yes" } else { "no" }
        );
        self.write(|tx, ctx| ctx.audit(tx, AuditAction::Export, Some("client"), None, &detail))?;
        Ok(ExportJob {
            conn,
            identifiable,
            day,
            thresholds: self.thresholds(),
        })
    }
}
