//! One data row's cells turned into a domain record, with every problem
//! noted. References to other records (client codes, usernames, location
//! names, services) are left as text for the store to resolve; the record
//! carries nil ids until then.

use super::limits::echo;
use super::table::{Row, trim_ascii};
use super::{Columns, ImportKind, Problem, Problems};
use crate::domain::*;
use chrono::NaiveDate;
use uuid::Uuid;

/// A closed list of the domain, as the cell parsers need it.
trait Closed: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    fn parse(text: &str) -> Option<Self>;
    fn key(self) -> &'static str;
}

macro_rules! closed {
    ($($t:ty),+ $(,)?) => {$(
        impl Closed for $t {
            const ALL: &'static [Self] = <$t>::ALL;
            fn parse(text: &str) -> Option<Self> {
                <$t>::parse(text)
            }
            fn key(self) -> &'static str {
                self.as_str()
            }
        }
    )+};
}

closed!(
    LocationKind,
    Availability,
    NgoAccess,
    Sex,
    KeyPopulation,
    HivStatus,
    ContactKind,
    HivTest,
    HivResult,
    Referral,
    Authority,
    ArrestReason,
    Abuse,
    ArrestOutcome,
    DetentionBasis,
    ReleaseReason,
    Service,
    EnrollmentStatus,
    ServiceEventKind,
    InterruptionCause,
);

fn allowed<T: Closed>() -> String {
    T::ALL
        .iter()
        .map(|v| v.key())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row's record (when its cells are fine) and its references as written.
#[derive(Debug, Clone)]
pub(crate) struct Parsed<R> {
    pub(crate) record: Option<R>,
    /// `client_code`, normalised.
    pub(crate) client_code: Option<String>,
    /// `worker` or `assigned_worker`: a username.
    pub(crate) user: Option<String>,
    /// `location`: a location's name.
    pub(crate) location: Option<String>,
    /// `service` of a service event.
    pub(crate) service: Option<Service>,
}

impl<R> Parsed<R> {
    fn new(record: Option<R>) -> Self {
        Parsed {
            record,
            client_code: None,
            user: None,
            location: None,
            service: None,
        }
    }
}

/// Reads one data row's cells by column name and notes every problem.
pub(crate) struct Cells<'a> {
    row: Row<'a>,
    number: usize,
    columns: &'a Columns,
    today: NaiveDate,
    problems: &'a mut Problems,
    failed: bool,
}

impl<'a> Cells<'a> {
    /// Row `number` of the file (the first data row is 2).
    pub(crate) fn new(
        row: Row<'a>,
        number: usize,
        columns: &'a Columns,
        today: NaiveDate,
        problems: &'a mut Problems,
    ) -> Self {
        let mut cells = Cells {
            row,
            number,
            columns,
            today,
            problems,
            failed: false,
        };
        cells.check_unnamed();
        cells
    }

    fn check_unnamed(&mut self) {
        for i in self.columns.must_be_empty(self.row.len()) {
            if !trim_ascii(self.row.get(i)).is_empty() {
                self.problems.push(Problem::new(
                    self.number,
                    format!("column {}", i + 1),
                    "this cell has no column name in the header row",
                ));
            }
        }
    }

    fn problem(&mut self, column: &str, reason: String) {
        self.failed = true;
        self.problems.push(Problem::new(
            self.number,
            self.columns.shown(column),
            reason,
        ));
    }

    /// The cell of column `name`, trimmed of ASCII white space; `None` when
    /// the file has no such column or the cell is empty.
    fn cell(&self, name: &str) -> Option<&'a str> {
        let i = self.columns.file_index(name)?;
        Some(trim_ascii(self.row.get(i))).filter(|t| !t.is_empty())
    }

    fn required_cell(&mut self, name: &str) -> Option<&'a str> {
        let cell = self.cell(name);
        if cell.is_none() {
            self.problem(name, "required, but the cell is empty".into());
        }
        cell
    }

    fn text(&self, name: &str) -> Option<String> {
        self.cell(name).map(str::to_owned)
    }

    fn required_text(&mut self, name: &str) -> Option<String> {
        self.required_cell(name).map(str::to_owned)
    }

    fn parse_choice<T: Closed>(&mut self, name: &str, text: &str) -> Option<T> {
        let value = T::parse(text);
        if value.is_none() {
            self.problem(
                name,
                format!("\"{}\" is not one of: {}", echo(text), allowed::<T>()),
            );
        }
        value
    }

    /// A closed-list value; `None` when empty or not one of the list.
    fn choice<T: Closed>(&mut self, name: &str) -> Option<T> {
        let text = self.cell(name)?;
        self.parse_choice(name, text)
    }

    fn required_choice<T: Closed>(&mut self, name: &str) -> Option<T> {
        let text = self.required_cell(name)?;
        self.parse_choice(name, text)
    }

    /// A `;`-separated list of closed values (empty when the cell is).
    fn list<T: Closed>(&mut self, name: &str) -> Vec<T> {
        let Some(text) = self.cell(name) else {
            return Vec::new();
        };
        match parse_list(text, T::parse) {
            Ok(values) => values,
            Err(bad) => {
                self.problem(
                    name,
                    format!("\"{}\" is not one of: {}", echo(&bad), allowed::<T>()),
                );
                Vec::new()
            }
        }
    }

    fn parse_date(&mut self, name: &str, text: &str) -> Option<NaiveDate> {
        let date = parse_date(text);
        if date.is_none() {
            self.problem(
                name,
                format!(
                    "\"{}\" is not a date (YYYY-MM-DD or DD/MM/YYYY)",
                    echo(text)
                ),
            );
        }
        date
    }

    fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let text = self.cell(name)?;
        self.parse_date(name, text)
    }

    fn required_date(&mut self, name: &str) -> Option<NaiveDate> {
        let text = self.required_cell(name)?;
        self.parse_date(name, text)
    }

    /// A whole number of 0 or more.
    fn count(&mut self, name: &str) -> Option<i64> {
        let text = self.cell(name)?;
        match text.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            Ok(_) => {
                self.problem(
                    name,
                    format!("\"{}\" is negative; counts cannot be below 0", echo(text)),
                );
                None
            }
            Err(_) => {
                self.problem(name, format!("\"{}\" is not a whole number", echo(text)));
                None
            }
        }
    }

    /// A year, as a whole number.
    fn year(&mut self, name: &str) -> Option<i32> {
        let text = self.cell(name)?;
        let year = text.parse::<i32>().ok();
        if year.is_none() {
            self.problem(name, format!("\"{}\" is not a year", echo(text)));
        }
        year
    }

    /// A number of 0 or more, decimals allowed (a dose).
    fn amount(&mut self, name: &str) -> Option<f64> {
        let text = self.cell(name)?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
            Ok(n) if n < 0.0 => {
                self.problem(name, format!("\"{}\" is negative", echo(text)));
                None
            }
            _ => {
                self.problem(name, format!("\"{}\" is not a number", echo(text)));
                None
            }
        }
    }

    fn client_code(&mut self) -> Option<String> {
        self.required_cell("client_code").map(normalize_code)
    }

    /// The record if every cell was fine, after the domain's own validation
    /// (its problems are noted against their columns).
    fn finish<R: Validate>(&mut self, record: impl FnOnce() -> Option<R>) -> Option<R> {
        if self.failed {
            return None;
        }
        let record = record()?;
        let problems = record.problems(self.today);
        for e in &problems {
            let column = column_for_field(self.columns.kind, e.field());
            self.problem(column, reason(e));
        }
        problems.is_empty().then_some(record)
    }
}

/// The column a domain field's problem is reported against.
fn column_for_field(kind: ImportKind, field: &'static str) -> &'static str {
    match field {
        "client" => "client_code",
        "enrollment" if kind == ImportKind::ServiceEvents => "service",
        other => other,
    }
}

/// A validation problem without its field name in front (the column says it).
pub(crate) fn reason(e: &ValidationError) -> String {
    match e {
        ValidationError::Required { .. } => "required, but the cell is empty".into(),
        other => {
            let text = other.to_string();
            text.strip_prefix(&format!("{}: ", other.field()))
                .map_or_else(|| text.clone(), str::to_owned)
        }
    }
}

/// A row of a `locations` file.
pub(crate) fn location(c: &mut Cells<'_>) -> Parsed<Location> {
    let name = c.required_text("name");
    let kind = c.required_choice::<LocationKind>("kind");
    let province = c.text("province");
    let methadone = c.choice("methadone").unwrap_or(Availability::Unknown);
    let art = c.choice("art").unwrap_or(Availability::Unknown);
    let ngo_access = c.choice("ngo_access").unwrap_or(NgoAccess::Unknown);
    Parsed::new(c.finish(|| {
        Some(Location {
            province,
            methadone,
            art,
            ngo_access,
            ..Location::new(&name?, kind?)
        })
    }))
}

/// A row of a `clients` file.
pub(crate) fn client(c: &mut Cells<'_>) -> Parsed<Client> {
    let code = c.required_text("code");
    let nickname = c.text("nickname");
    let sex = c.required_choice::<Sex>("sex");
    let birth_year = c.year("birth_year");
    let phone = c.text("phone");
    let province = c.text("province");
    let district = c.text("district");
    let key_populations = c.list("key_populations");
    let hiv_status = c.choice("hiv_status").unwrap_or(HivStatus::Unknown);
    let user = c.text("assigned_worker");
    let registered_on = c.date("registered_on");
    let mut parsed = Parsed::new(c.finish(|| {
        Some(Client {
            nickname,
            sex: sex?,
            birth_year,
            phone,
            province,
            district,
            key_populations,
            hiv_status,
            registered_on,
            ..Client::with_code(&code?)
        })
    }));
    parsed.user = user;
    parsed
}

/// A row of a `contacts` file.
pub(crate) fn contact(c: &mut Cells<'_>) -> Parsed<Contact> {
    let code = c.client_code();
    let date = c.required_date("date");
    let kind = c.required_choice::<ContactKind>("kind");
    let user = c.text("worker");
    let needles_syringes = c.count("needles_syringes").unwrap_or(0);
    let condoms = c.count("condoms").unwrap_or(0);
    let naloxone = c.count("naloxone").unwrap_or(0);
    let hiv_test = c.choice("hiv_test").unwrap_or(HivTest::None);
    let hiv_result = c.choice("hiv_result");
    let referrals = c.list("referrals");
    let notes = c.text("notes");
    let mut parsed = Parsed::new(c.finish(|| {
        Some(Contact {
            needles_syringes,
            condoms,
            naloxone,
            hiv_test,
            hiv_result,
            referrals,
            notes,
            ..Contact::new(Uuid::nil(), date?, kind?)
        })
    }));
    parsed.client_code = code;
    parsed.user = user;
    parsed
}

/// A row of an `arrests` file.
pub(crate) fn arrest(c: &mut Cells<'_>) -> Parsed<Arrest> {
    let code = c.client_code();
    let date = c.required_date("date");
    let province = c.text("province");
    let place = c.text("place");
    let authority = c.choice("authority").unwrap_or(Authority::Unknown);
    let reasons = c.list("reasons");
    let abuse = c.list("abuse");
    let outcome = c.choice("outcome").unwrap_or(ArrestOutcome::Unknown);
    let mut parsed = Parsed::new(c.finish(|| {
        Some(Arrest {
            province,
            place,
            authority,
            reasons,
            abuse,
            outcome,
            ..Arrest::new(Uuid::nil(), date?)
        })
    }));
    parsed.client_code = code;
    parsed
}

/// A row of a `detentions` file.
pub(crate) fn detention(c: &mut Cells<'_>) -> Parsed<Detention> {
    let code = c.client_code();
    let location = c.required_text("location");
    let start = c.required_date("start");
    let end = c.date("end");
    let basis = c.choice("basis");
    let release_reason = c.choice("release_reason");
    let mut parsed = Parsed::new(c.finish(|| {
        Some(Detention {
            client_id: Uuid::nil(),
            location_id: Uuid::nil(),
            start: start?,
            end,
            basis,
            arrest_id: None,
            release_reason,
            notes: None,
        })
    }));
    parsed.client_code = code;
    parsed.location = location;
    parsed
}

/// A row of an `enrollments` file.
pub(crate) fn enrollment(c: &mut Cells<'_>) -> Parsed<Enrollment> {
    let code = c.client_code();
    let service = c.required_choice::<Service>("service");
    let provider = c.text("provider");
    let number = c.text("number");
    let start = c.required_date("start");
    let end = c.date("end");
    let status = c.choice("status").unwrap_or(EnrollmentStatus::Active);
    let mut parsed = Parsed::new(c.finish(|| {
        Some(Enrollment {
            client_id: Uuid::nil(),
            service: service?,
            provider,
            number,
            start: start?,
            end,
            status,
            dose_mg: None,
            regimen: None,
        })
    }));
    parsed.client_code = code;
    parsed
}

/// A row of a `service_events` file.
pub(crate) fn service_event(c: &mut Cells<'_>) -> Parsed<ServiceEvent> {
    let code = c.client_code();
    let service = c.required_choice::<Service>("service");
    let date = c.required_date("date");
    let kind = c.required_choice::<ServiceEventKind>("kind");
    let days_supplied = c.count("days_supplied");
    let dose_mg = c.amount("dose_mg");
    let cause = c.choice("cause");
    let mut parsed = Parsed::new(c.finish(|| {
        Some(ServiceEvent {
            enrollment_id: Uuid::nil(),
            client_id: Uuid::nil(),
            date: date?,
            kind: kind?,
            days_supplied,
            dose_mg,
            cause,
            notes: None,
        })
    }));
    parsed.client_code = code;
    parsed.service = service;
    parsed
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// The file's columns in which a client read from it differs from the stored one.
pub(crate) fn client_differences(columns: &Columns, new: &Client, old: &Client) -> Vec<String> {
    let differs = |name: &str| match name {
        "nickname" => new.nickname != old.nickname,
        "sex" => new.sex != old.sex,
        "birth_year" => new.birth_year != old.birth_year,
        "phone" => new.phone != old.phone,
        "province" => new.province != old.province,
        "district" => new.district != old.district,
        "key_populations" => !same_set(&new.key_populations, &old.key_populations),
        "hiv_status" => new.hiv_status != old.hiv_status,
        "assigned_worker" => new.assigned_worker != old.assigned_worker,
        "registered_on" => new.registered_on != old.registered_on,
        _ => false,
    };
    differences(columns, differs)
}

/// The file's columns in which a location read from it differs from the stored one.
pub(crate) fn location_differences(
    columns: &Columns,
    new: &Location,
    old: &Location,
) -> Vec<String> {
    let differs = |name: &str| match name {
        "kind" => new.kind != old.kind,
        "province" => new.province != old.province,
        "methadone" => new.methadone != old.methadone,
        "art" => new.art != old.art,
        "ngo_access" => new.ngo_access != old.ngo_access,
        _ => false,
    };
    differences(columns, differs)
}

fn differences(columns: &Columns, differs: impl Fn(&str) -> bool) -> Vec<String> {
    super::columns(columns.kind)
        .iter()
        .filter(|(name, _)| columns.has(name) && differs(name))
        .map(|(name, _)| columns.shown(name))
        .collect()
}
