//! Enrollments and their doses, refills and interruptions.

use super::*;

#[derive(Debug, Clone)]
pub struct EnrollmentForm {
    pub client_id: Uuid,
    pub service: Service,
    pub provider: String,
    pub number: String,
    pub start: String,
    pub status: EnrollmentStatus,
    pub dose: String,
    pub regimen: String,
    /// The enrollment being corrected (None: a new one), with its end,
    /// which a correction keeps.
    pub editing: Option<(Uuid, Option<NaiveDate>)>,
}

impl EnrollmentForm {
    /// The form filled in with a saved enrollment, to correct it.
    pub fn correcting(id: Uuid, en: &Enrollment) -> Self {
        EnrollmentForm {
            client_id: en.client_id,
            service: en.service,
            provider: en.provider.clone().unwrap_or_default(),
            number: en.number.clone().unwrap_or_default(),
            start: en.start.to_string(),
            status: en.status,
            dose: en.dose_mg.map(|d| d.to_string()).unwrap_or_default(),
            regimen: en.regimen.clone().unwrap_or_default(),
            editing: Some((id, en.end)),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate) -> Self {
        EnrollmentForm {
            client_id,
            service: Service::Methadone,
            provider: String::new(),
            number: String::new(),
            start: today.to_string(),
            status: EnrollmentStatus::Active,
            dose: String::new(),
            regimen: String::new(),
            editing: None,
        }
    }
}

impl Form for EnrollmentForm {
    type Output = Enrollment;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            return t("Correct enrollment");
        }
        t("Enrol in a service")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        choice_row(ui, t("Service"), &mut self.service);
        text_row(ui, t("Provider"), &mut self.provider, None);
        text_row(ui, t("Programme number"), &mut self.number, None);
        date_row(ui, t("Start"), &mut self.start, e.get("start"));
        choice_row(ui, t("Status"), &mut self.status);
        if self.service == Service::Methadone {
            text_row(ui, t("Dose (mg)"), &mut self.dose, e.get("dose_mg"));
        } else {
            text_row(ui, t("Regimen"), &mut self.regimen, None);
        }
    }
    fn build(&self, ctx: &FormCtx) -> Result<Enrollment, Errors> {
        let mut e = Errors::default();
        let start = parse_date_field(&self.start)
            .map_err(|m| e.add("start", m))
            .ok();
        let dose = if self.dose.trim().is_empty() {
            None
        } else {
            self.dose
                .trim()
                .parse::<f64>()
                .map_err(|_| e.add("dose_mg", t("Not a number")))
                .ok()
        };
        let Some(start) = start else { return Err(e) };
        let en = Enrollment {
            client_id: self.client_id,
            service: self.service,
            provider: opt_text(&self.provider),
            number: opt_text(&self.number),
            start,
            end: self.editing.and_then(|e| e.1),
            status: self.status,
            dose_mg: if self.service == Service::Methadone {
                dose
            } else {
                None
            },
            regimen: if self.service == Service::Methadone {
                None
            } else {
                opt_text(&self.regimen)
            },
        };
        e.domain(en.problems(ctx.today));
        if e.is_empty() { Ok(en) } else { Err(e) }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceEventForm {
    pub client_id: Uuid,
    pub enrollment: Option<Uuid>,
    pub date: String,
    pub kind: ServiceEventKind,
    pub days_supplied: String,
    pub dose: String,
    pub cause: Option<InterruptionCause>,
    pub notes: String,
    /// The event being corrected (None: a new one).
    pub editing: Option<Uuid>,
}

impl ServiceEventForm {
    /// The form filled in with a saved event, to correct it.
    pub fn correcting(id: Uuid, ev: &ServiceEvent) -> Self {
        ServiceEventForm {
            client_id: ev.client_id,
            enrollment: Some(ev.enrollment_id),
            date: ev.date.to_string(),
            kind: ev.kind,
            days_supplied: ev.days_supplied.map(|d| d.to_string()).unwrap_or_default(),
            dose: ev.dose_mg.map(|d| d.to_string()).unwrap_or_default(),
            cause: ev.cause,
            notes: ev.notes.clone().unwrap_or_default(),
            editing: Some(id),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, enrollment: Option<Uuid>) -> Self {
        ServiceEventForm {
            client_id,
            enrollment,
            date: today.to_string(),
            kind: ServiceEventKind::Refill,
            days_supplied: "30".into(),
            dose: String::new(),
            cause: None,
            notes: String::new(),
            editing: None,
        }
    }
}

impl Form for ServiceEventForm {
    type Output = ServiceEvent;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct service event")
        } else {
            t("Record service event")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        let options: Vec<(Uuid, String)> = ctx
            .enrollments
            .iter()
            .map(|(id, s, start)| (*id, format!("{} ({} {start})", s.label(), t("since"))))
            .collect();
        pick_row(
            ui,
            t("Enrollment"),
            &mut self.enrollment,
            &options,
            e.get("enrollment"),
        );
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        choice_row(ui, t("Event"), &mut self.kind);
        if self.kind == ServiceEventKind::Refill {
            text_row(
                ui,
                t("Days supplied"),
                &mut self.days_supplied,
                e.get("days_supplied"),
            );
        }
        if matches!(
            self.kind,
            ServiceEventKind::Dose | ServiceEventKind::DoseChange
        ) {
            text_row(ui, t("Dose (mg)"), &mut self.dose, e.get("dose_mg"));
        }
        if matches!(
            self.kind,
            ServiceEventKind::Interruption | ServiceEventKind::Missed
        ) {
            opt_choice_row(ui, t("Cause"), &mut self.cause);
        }
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<ServiceEvent, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        let days = if self.kind == ServiceEventKind::Refill && !self.days_supplied.trim().is_empty()
        {
            parse_count(&self.days_supplied)
                .map_err(|m| e.add("days_supplied", m))
                .ok()
        } else {
            None
        };
        let dose = if self.dose.trim().is_empty() {
            None
        } else {
            self.dose
                .trim()
                .parse::<f64>()
                .map_err(|_| e.add("dose_mg", t("Not a number")))
                .ok()
        };
        if self.enrollment.is_none() {
            e.add("enrollment", t("Required"));
        }
        let (Some(date), Some(enrollment_id)) = (date, self.enrollment) else {
            return Err(e);
        };
        let ev = ServiceEvent {
            enrollment_id,
            client_id: self.client_id,
            date,
            kind: self.kind,
            days_supplied: days,
            dose_mg: dose,
            cause: self.cause,
            notes: opt_text(&self.notes),
        };
        e.domain(ev.problems(ctx.today));
        if let Some((_, _, start)) = ctx.enrollments.iter().find(|x| x.0 == enrollment_id)
            && date < *start
        {
            e.add("date", t("Before the enrollment started"));
        }
        if e.is_empty() { Ok(ev) } else { Err(e) }
    }
}
