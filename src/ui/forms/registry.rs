//! The detention-location registry.

use super::*;

#[derive(Debug, Clone)]
pub struct LocationForm {
    pub id: Option<Uuid>,
    pub base: Location,
    pub name: String,
    pub province: String,
    pub contact: String,
    pub last_verified: String,
}

impl LocationForm {
    pub fn new(id: Option<Uuid>, l: Location) -> Self {
        LocationForm {
            id,
            name: l.name.clone(),
            province: l.province.clone().unwrap_or_default(),
            contact: l.contact.clone().unwrap_or_default(),
            last_verified: l.last_verified.map(|d| d.to_string()).unwrap_or_default(),
            base: l,
        }
    }
}

impl Form for LocationForm {
    type Output = (Option<Uuid>, Location);
    fn title(&self) -> &'static str {
        if self.id.is_some() {
            t("Edit detention location")
        } else {
            t("Add detention location")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Name"), &mut self.name, e.get("name"));
        choice_row(ui, t("Kind"), &mut self.base.kind);
        text_row(ui, t("Province"), &mut self.province, None);
        choice_row(ui, t("Methadone"), &mut self.base.methadone);
        choice_row(ui, t("ART"), &mut self.base.art);
        choice_row(ui, t("NGO access"), &mut self.base.ngo_access);
        text_row(ui, t("Contact"), &mut self.contact, None);
        date_row(
            ui,
            t("Last verified"),
            &mut self.last_verified,
            e.get("last_verified"),
        );
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Option<Uuid>, Location), Errors> {
        let mut e = Errors::default();
        let mut l = self.base.clone();
        l.name = self.name.trim().to_owned();
        l.province = opt_text(&self.province);
        l.contact = opt_text(&self.contact);
        match parse_opt_date(&self.last_verified) {
            Ok(d) => l.last_verified = d,
            Err(m) => e.add("last_verified", m),
        }
        e.domain(l.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, l))
        } else {
            Err(e)
        }
    }
}
