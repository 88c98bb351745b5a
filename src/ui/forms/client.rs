//! Registering and editing a client.

use super::*;

/// Register a client or edit their details.
#[derive(Debug, Clone)]
pub struct ClientForm {
    pub id: Option<Uuid>,
    pub base: Client,
    pub code: String,
    pub nickname: String,
    pub name: String,
    pub birth_year: String,
    pub phone: String,
    pub province: String,
    pub district: String,
    pub commune: String,
    pub hiv_last_test: String,
    pub consent_date: String,
    pub registered_on: String,
}

impl ClientForm {
    pub fn new(id: Option<Uuid>, mut c: Client) -> Self {
        // A stored "lost to follow-up" (older data) is an open case: active.
        if c.status == CaseStatus::LostToFollowUp {
            c.status = CaseStatus::Active;
        }
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        ClientForm {
            id,
            code: c.code.clone(),
            nickname: c.nickname.clone().unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
            birth_year: c.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            province: c.province.clone().unwrap_or_default(),
            district: c.district.clone().unwrap_or_default(),
            commune: c.commune.clone().unwrap_or_default(),
            hiv_last_test: date(c.hiv_last_test),
            consent_date: date(c.consent_date),
            registered_on: date(c.registered_on),
            base: c,
        }
    }
}

impl Form for ClientForm {
    type Output = (Option<Uuid>, Client);
    fn title(&self) -> &'static str {
        if self.id.is_some() {
            t("Edit client details")
        } else {
            t("Register client")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Client code"), &mut self.code, e.get("code"));
        text_row(ui, t("Nickname"), &mut self.nickname, None);
        text_row(ui, t("Name (optional, sensitive)"), &mut self.name, None);
        choice_row(ui, t("Sex"), &mut self.base.sex);
        text_row(
            ui,
            t("Birth year"),
            &mut self.birth_year,
            e.get("birth_year"),
        );
        text_row(ui, t("Phone"), &mut self.phone, None);
        text_row(ui, t("Province"), &mut self.province, None);
        text_row(ui, t("District"), &mut self.district, None);
        text_row(ui, t("Commune"), &mut self.commune, None);
        multi_row(ui, t("Key populations"), &mut self.base.key_populations);
        multi_row(ui, t("Substances"), &mut self.base.substances);
        choice_row(ui, t("HIV status"), &mut self.base.hiv_status);
        date_row(
            ui,
            t("Last HIV test"),
            &mut self.hiv_last_test,
            e.get("hiv_last_test"),
        );
        date_row(
            ui,
            t("Consent date"),
            &mut self.consent_date,
            e.get("consent_date"),
        );
        pick_row(
            ui,
            t("Assigned worker"),
            &mut self.base.assigned_worker,
            &ctx.workers,
            e.get("assigned_worker"),
        );
        // Lost to follow-up is derived from the contacts, never chosen.
        choice_row_among(
            ui,
            t("Case status"),
            &mut self.base.status,
            CaseStatus::RECORDED,
        );
        date_row(
            ui,
            t("Registered on"),
            &mut self.registered_on,
            e.get("registered_on"),
        );
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Option<Uuid>, Client), Errors> {
        let mut e = Errors::default();
        let mut c = self.base.clone();
        c.code = normalize_code(&self.code);
        c.nickname = opt_text(&self.nickname);
        c.name = opt_text(&self.name);
        c.birth_year = if self.birth_year.trim().is_empty() {
            None
        } else {
            self.birth_year
                .trim()
                .parse::<i32>()
                .map_err(|_| e.add("birth_year", t("Not a year")))
                .ok()
        };
        c.phone = opt_text(&self.phone);
        c.province = opt_text(&self.province);
        c.district = opt_text(&self.district);
        c.commune = opt_text(&self.commune);
        for (field, text, slot) in [
            ("hiv_last_test", &self.hiv_last_test, &mut c.hiv_last_test),
            ("consent_date", &self.consent_date, &mut c.consent_date),
            ("registered_on", &self.registered_on, &mut c.registered_on),
        ] {
            match parse_opt_date(text) {
                Ok(d) => *slot = d,
                Err(m) => e.add(field, m),
            }
        }
        e.domain(c.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, c))
        } else {
            Err(e)
        }
    }
}
