//! Detention stays: a new stay, its end, a transfer.

use super::*;

#[derive(Debug, Clone)]
pub struct DetentionForm {
    pub client_id: Uuid,
    pub location: Option<Uuid>,
    pub start: String,
    pub basis: Option<DetentionBasis>,
    pub arrest_id: Option<Uuid>,
    pub notes: String,
    /// The stay being corrected (None: a new one), with its end and
    /// release reason, which a correction keeps.
    pub editing: Option<(Uuid, Option<NaiveDate>, Option<ReleaseReason>)>,
}

impl DetentionForm {
    /// The form filled in with a saved stay, to correct where and since
    /// when (its end is corrected by ending or transferring it).
    pub fn correcting(id: Uuid, d: &Detention) -> Self {
        DetentionForm {
            client_id: d.client_id,
            location: Some(d.location_id),
            start: d.start.to_string(),
            basis: d.basis,
            arrest_id: d.arrest_id,
            notes: d.notes.clone().unwrap_or_default(),
            editing: Some((id, d.end, d.release_reason)),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, arrest_id: Option<Uuid>) -> Self {
        DetentionForm {
            client_id,
            location: None,
            start: today.to_string(),
            basis: None,
            arrest_id,
            notes: String::new(),
            editing: None,
        }
    }
}

impl Form for DetentionForm {
    type Output = Detention;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            return t("Correct detention stay");
        }
        t("Start detention")
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        pick_row(
            ui,
            t("Location"),
            &mut self.location,
            &ctx.locations,
            e.get("location"),
        );
        date_row(ui, t("Start"), &mut self.start, e.get("start"));
        opt_choice_row(ui, t("Basis"), &mut self.basis);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Detention, Errors> {
        let mut e = Errors::default();
        let start = parse_date_field(&self.start)
            .map_err(|m| e.add("start", m))
            .ok();
        if self.location.is_none() {
            e.add("location", t("Required"));
        }
        let (Some(start), Some(location_id)) = (start, self.location) else {
            return Err(e);
        };
        let d = Detention {
            client_id: self.client_id,
            location_id,
            start,
            end: self.editing.and_then(|e| e.1),
            basis: self.basis,
            arrest_id: self.arrest_id,
            release_reason: self.editing.and_then(|e| e.2),
            notes: opt_text(&self.notes),
        };
        e.domain(d.problems(ctx.today));
        if e.is_empty() { Ok(d) } else { Err(e) }
    }
}

/// End an open stay (release, escape, death...).
#[derive(Debug, Clone)]
pub struct EndDetentionForm {
    pub id: Uuid,
    pub stay: Detention,
    pub end: String,
    pub reason: ReleaseReason,
}

impl Form for EndDetentionForm {
    type Output = (Uuid, Detention);
    fn title(&self) -> &'static str {
        t("End detention")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("End"), &mut self.end, e.get("end"));
        choice_row(ui, t("Release reason"), &mut self.reason);
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Uuid, Detention), Errors> {
        let mut e = Errors::default();
        let Some(end) = parse_date_field(&self.end)
            .map_err(|m| e.add("end", m))
            .ok()
        else {
            return Err(e);
        };
        let mut d = self.stay.clone();
        d.end = Some(end);
        d.release_reason = Some(self.reason);
        e.domain(d.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, d))
        } else {
            Err(e)
        }
    }
}

/// Move a detained client to another place: ends this stay, starts the next.
#[derive(Debug, Clone)]
pub struct TransferForm {
    pub id: Uuid,
    pub since: NaiveDate,
    pub date: String,
    pub to: Option<Uuid>,
    pub basis: Option<DetentionBasis>,
}

impl Form for TransferForm {
    type Output = (Uuid, NaiveDate, Uuid, Option<DetentionBasis>);
    fn title(&self) -> &'static str {
        t("Transfer to another place")
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        pick_row(ui, t("To"), &mut self.to, &ctx.locations, e.get("to"));
        opt_choice_row(ui, t("Basis"), &mut self.basis);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Self::Output, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        if self.to.is_none() {
            e.add("to", t("Required"));
        }
        if let Some(d) = date {
            if d < self.since {
                e.add("date", t("Before the stay started"));
            }
            if d > ctx.today {
                e.add("date", t("In the future"));
            }
        }
        match (date, self.to) {
            (Some(d), Some(to)) if e.is_empty() => Ok((self.id, d, to, self.basis)),
            _ => Err(e),
        }
    }
}
