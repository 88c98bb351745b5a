//! Logging a contact.

use super::*;

/// Log a contact: built for speed by keyboard.
#[derive(Debug, Clone)]
pub struct ContactForm {
    pub client_id: Uuid,
    pub date: String,
    pub kind: ContactKind,
    pub worker: Option<Uuid>,
    pub needles: String,
    pub condoms: String,
    pub naloxone: String,
    pub hiv_test: HivTest,
    pub hiv_result: Option<HivResult>,
    pub referrals: Vec<Referral>,
    pub place: String,
    pub notes: String,
    /// Focus the first count field on the first frame.
    pub focus_pending: bool,
    /// The contact being corrected (None: a new one).
    pub editing: Option<Uuid>,
}

impl ContactForm {
    /// The form filled in with a saved contact, to correct it.
    pub fn correcting(id: Uuid, c: &Contact) -> Self {
        let count = |n: i64| if n == 0 { String::new() } else { n.to_string() };
        ContactForm {
            client_id: c.client_id,
            date: c.date.to_string(),
            kind: c.kind,
            worker: c.worker_id,
            needles: count(c.needles_syringes),
            condoms: count(c.condoms),
            naloxone: count(c.naloxone),
            hiv_test: c.hiv_test,
            hiv_result: c.hiv_result,
            referrals: c.referrals.clone(),
            place: c.place.clone().unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
            focus_pending: true,
            editing: Some(id),
        }
    }

    pub fn new(client_id: Uuid, today: NaiveDate, worker: Option<Uuid>) -> Self {
        ContactForm {
            client_id,
            date: today.to_string(),
            kind: ContactKind::Street,
            worker,
            needles: String::new(),
            condoms: String::new(),
            naloxone: String::new(),
            hiv_test: HivTest::None,
            hiv_result: None,
            referrals: Vec::new(),
            place: String::new(),
            notes: String::new(),
            focus_pending: true,
            editing: None,
        }
    }
}

impl Form for ContactForm {
    type Output = Contact;
    fn title(&self) -> &'static str {
        if self.editing.is_some() {
            t("Correct contact")
        } else {
            t("Log contact")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        date_row(ui, t("Date"), &mut self.date, e.get("date"));
        field_label(ui, t("Kind"));
        ui.vertical(|ui| {
            for row in ContactKind::ALL.chunks(4) {
                ui.horizontal(|ui| {
                    for k in row {
                        ui.selectable_value(&mut self.kind, *k, k.label());
                    }
                });
            }
        });
        ui.end_row();
        pick_row(ui, t("Worker"), &mut self.worker, &ctx.workers, None);
        let needles = text_row(
            ui,
            t("Needles and syringes"),
            &mut self.needles,
            e.get("needles_syringes"),
        );
        if self.focus_pending {
            needles.request_focus();
            self.focus_pending = false;
        }
        text_row(ui, t("Condoms"), &mut self.condoms, e.get("condoms"));
        text_row(ui, t("Naloxone"), &mut self.naloxone, e.get("naloxone"));
        choice_row(ui, t("HIV test"), &mut self.hiv_test);
        if self.hiv_test == HivTest::Done {
            opt_choice_row(ui, t("HIV test result"), &mut self.hiv_result);
        }
        error_text(ui, e.get("hiv_result"));
        multi_row(ui, t("Referrals"), &mut self.referrals);
        text_row(ui, t("Place"), &mut self.place, None);
        text_row(ui, t("Notes"), &mut self.notes, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<Contact, Errors> {
        let mut e = Errors::default();
        let date = parse_date_field(&self.date)
            .map_err(|m| e.add("date", m))
            .ok();
        let count = |e: &mut Errors, field: &'static str, text: &str| {
            parse_count(text).map_err(|m| e.add(field, m)).unwrap_or(0)
        };
        let needles = count(&mut e, "needles_syringes", &self.needles);
        let condoms = count(&mut e, "condoms", &self.condoms);
        let naloxone = count(&mut e, "naloxone", &self.naloxone);
        let Some(date) = date else { return Err(e) };
        let mut c = Contact::new(self.client_id, date, self.kind);
        c.worker_id = self.worker;
        c.needles_syringes = needles;
        c.condoms = condoms;
        c.naloxone = naloxone;
        c.hiv_test = self.hiv_test;
        c.hiv_result = if self.hiv_test == HivTest::Done {
            self.hiv_result
        } else {
            None
        };
        c.referrals = self.referrals.clone();
        c.place = opt_text(&self.place);
        c.notes = opt_text(&self.notes);
        e.domain(c.problems(ctx.today));
        if e.is_empty() { Ok(c) } else { Err(e) }
    }
}
