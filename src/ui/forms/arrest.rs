//! Recording an arrest.

use super::*;

#[derive(Debug, Clone)]
pub struct ArrestForm {
    pub client_id: Uuid,
    pub date: String,
    pub province: String,
    pub district: String,
    pub place: String,
    pub authority: Authority,
    pub reasons: Vec<ArrestReason>,
    pub informer: bool,
    pub abuse: Vec<Abuse>,
    pub legal_aid: bool,
    pub outcome: ArrestOutcome,
    pub notes: String,
    /// The arrest being corrected (None: a new one), and the raid it was
    /// recorded with, kept through a correction.
    pub editing: Option<Uuid>,
    pub raid_id: Option<Uuid>,
}

impl ArrestForm {
    /// The form filled in with a saved arrest, to correct it.
    pub fn correcting(id: Uuid, a: &Arrest) -> Self {
        ArrestForm {
            client_id: a.client_id,
            date: a.date.to_string(),
            province: a.province.clone().unwrap_or_default(),
            district: a.district.clone().unwrap_or_default(),
            place: a.place.clone().unwrap_or_default(),
            authority: a.authority,
            reasons: a.reasons.clone(),
            informer: a.informer_suspected,
            abuse: a.abuse.clone(),
            legal_aid: a.legal_aid,
            outcome: a.outcome,
            notes: a.notes.clone().unwrap_or_default(),
            editing: Some(id),
            raid_id: a.raid_id,
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, province: Option<String>) -> Self {
        ArrestForm {
            client_id,
            date: today.to_string(),
            province: province.unwrap_or_default(),
            district: String::new(),
            place: String::new(),
            authority: Authority::Unknown,
            reasons: Vec::new(),
            informer: false,
            abuse: Vec::new(),
            legal_aid: false,
            outcome: ArrestOutcome::Unknown,
            notes: String::new(),
            editing: None,
            raid_id: None,
        }
    }

    /// The arrest fields shared with raid intake.
    pub fn arrest_fields(&mut self, ui: &mut egui::Ui, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        text_row(ui, t("Province"), &mut self.province, None);
        text_row(ui, t("District"), &mut self.district, None);
        text_row(ui, t("Place"), &mut self.place, None);
        choice_row(ui, t("Authority"), &mut self.authority);
        multi_row(ui, t("Reasons"), &mut self.reasons);
        let id = field_label(ui, t("Informer or set-up suspected"));
        ui.checkbox(&mut self.informer, "").labelled_by(id);
        ui.end_row();
        multi_row(ui, t("Abuse reported"), &mut self.abuse);
        let id = field_label(ui, t("Legal aid"));
        ui.checkbox(&mut self.legal_aid, "").labelled_by(id);
        ui.end_row();
        choice_row(ui, t("Outcome"), &mut self.outcome);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }

    pub fn build_arrest(&self, today: NaiveDate) -> Result<Arrest, Errors> {
        let mut e = Errors::default();
        let Some(date) = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok()
        else {
            return Err(e);
        };
        let a = Arrest {
            client_id: self.client_id,
            date,
            province: opt_text(&self.province),
            district: opt_text(&self.district),
            place: opt_text(&self.place),
            authority: self.authority,
            reasons: self.reasons.clone(),
            informer_suspected: self.informer,
            abuse: self.abuse.clone(),
            legal_aid: self.legal_aid,
            outcome: self.outcome,
            raid_id: self.raid_id,
            notes: opt_text(&self.notes),
        };
        e.domain(a.problems(today));
        if e.is_empty() { Ok(a) } else { Err(e) }
    }
}

impl Form for ArrestForm {
    type Output = Arrest;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct arrest")
        } else {
            t("Record arrest")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        self.arrest_fields(ui, e);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Arrest, Errors> {
        self.build_arrest(ctx.today)
    }
}
