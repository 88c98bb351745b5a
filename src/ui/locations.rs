//! The detention-location registry (editable by coordinators) and the
//! "who is where now" roster.

use super::forms::{Dialog, LocationForm};
use super::i18n::{t, tf};
use super::labels::Labelled;
use super::widgets::*;
use super::{Action, Env, Write};
use crate::domain::*;
use crate::store::DetainedRow;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Default)]
pub struct LocationsScreen {
    loaded: Option<u64>,
    pub locations: Vec<Saved<Location>>,
    /// Who is detained at each location today.
    pub roster: BTreeMap<Uuid, Vec<DetainedRow>>,
    pub error: Option<String>,
    pub form: Dialog<LocationForm>,
}

fn availability_color(a: Availability) -> egui::Color32 {
    match a {
        Availability::Yes => GREEN,
        Availability::No => RED,
        Availability::Unknown => ORANGE,
    }
}

impl LocationsScreen {
    fn reload(&mut self, env: &Env<'_>) {
        if self.loaded == Some(env.generation) {
            return;
        }
        let result = env
            .store
            .list_all::<Location>()
            .and_then(|l| env.store.detained_on(env.today, None, None).map(|d| (l, d)));
        match result {
            Ok((mut locations, detained)) => {
                locations.sort_by(|a, b| a.province.cmp(&b.province).then(a.name.cmp(&b.name)));
                self.locations = locations;
                self.roster.clear();
                for d in detained {
                    self.roster.entry(d.location_id).or_default().push(d);
                }
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        self.loaded = Some(env.generation);
    }

    pub fn after_save(&mut self, result: &super::forms::SaveResult) {
        self.form.after_save(result);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        self.reload(env);
        let mut action = Action::None;
        let can_edit = env.store.user().role.can(Permission::ManageRegistry);
        ui.horizontal(|ui| {
            ui.heading(t("Detention locations"));
            if can_edit && ui.button(t("Add location")).clicked() {
                self.form.open(LocationForm::new(
                    None,
                    Location::new("", LocationKind::PoliceStation),
                ));
            }
        });
        if !can_edit {
            ui.weak(t("Only coordinators and admins can edit the registry."));
        }
        error_text(ui, self.error.as_deref());
        let mut edit = None;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("registry")
                    .num_columns(9)
                    .striped(true)
                    .spacing([10.0, 4.0])
                    .show(ui, |ui| {
                        for h in [
                            t("Name"),
                            t("Kind"),
                            t("Province"),
                            t("Methadone"),
                            t("ART"),
                            t("NGO access"),
                            t("Last verified"),
                            t("Detained now"),
                            "",
                        ] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for l in &self.locations {
                            ui.label(&l.name);
                            ui.label(l.kind.label());
                            ui.label(l.province.as_deref().unwrap_or(""));
                            ui.colored_label(availability_color(l.methadone), l.methadone.label());
                            ui.colored_label(availability_color(l.art), l.art.label());
                            ui.label(l.ngo_access.label());
                            ui.label(
                                l.last_verified
                                    .map(|d| d.to_string())
                                    .unwrap_or_else(|| "—".into()),
                            );
                            ui.label(
                                self.roster
                                    .get(&l.id())
                                    .map(|r| r.len())
                                    .unwrap_or(0)
                                    .to_string(),
                            );
                            if can_edit && ui.small_button(t("Edit")).clicked() {
                                edit = Some(l.clone());
                            } else if !can_edit {
                                ui.label("");
                            }
                            ui.end_row();
                        }
                    });
                ui.add_space(12.0);
                ui.heading(t("Who is where now"));
                if self.roster.is_empty() {
                    ui.weak(t("No client is in an open detention."));
                }
                for l in &self.locations {
                    let Some(people) = self.roster.get(&l.id()) else {
                        continue;
                    };
                    egui::CollapsingHeader::new(tf(
                        "{place} — {n} people",
                        &[("place", &l.name), ("n", &people.len())],
                    ))
                    .id_salt(l.id())
                    .default_open(people.iter().any(|p| p.at_risk()))
                    .show(ui, |ui| {
                        // Only the rows in view are laid out: a prison can
                        // hold hundreds of our clients after a crackdown.
                        egui::ScrollArea::vertical()
                            .id_salt(("roster", l.id()))
                            .max_height(240.0)
                            .show_rows(ui, 22.0, people.len(), |ui, range| {
                                for p in &people[range] {
                                    ui.horizontal(|ui| {
                                        if ui
                                            .add_sized([110.0, 18.0], egui::Link::new(&p.code))
                                            .clicked()
                                        {
                                            action = Action::OpenClient(p.client_id);
                                        }
                                        ui.add_sized(
                                            [120.0, 18.0],
                                            egui::Label::new(shown_name(
                                                p.nickname.as_deref(),
                                                env.hide_names,
                                            ))
                                            .truncate(),
                                        );
                                        ui.add_sized(
                                            [80.0, 18.0],
                                            egui::Label::new(tf("{n} days", &[("n", &p.days)])),
                                        );
                                        if p.on_methadone {
                                            let c = if l.methadone == Availability::Yes {
                                                GREEN
                                            } else {
                                                RED
                                            };
                                            badge(ui, t("On methadone"), c);
                                        }
                                        if p.on_art {
                                            let c = if l.art == Availability::Yes {
                                                GREEN
                                            } else {
                                                RED
                                            };
                                            badge(ui, t("On ART"), c);
                                        }
                                    });
                                }
                            });
                    });
                }
            });
        if let Some(l) = edit {
            self.form.open(LocationForm::new(Some(l.id()), l.data));
        }
        if let Some((id, l)) = self.form.show(ui, env.forms) {
            action = Action::Write(Write::Location(id, l));
        }
        action
    }
}
