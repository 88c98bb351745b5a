//! The profile's confirmations: moving a record to another client, and
//! removing one with a reason.

use super::*;

impl ProfileScreen {
    /// Moves a contact logged on the wrong client (the raid mistake): the
    /// right client's code, looked up when "Move" is pressed.
    pub(super) fn move_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Option<Write> {
        let (what, mut code, mut problem) = self.moving.clone()?;
        let mut write = None;
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("move-record")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading(match what {
                Movable::Contact(_) => t("Move this contact to another client?"),
                Movable::Arrest(_) => t("Move this arrest to another client?"),
                Movable::Stay(_) => t("Move this detention stay to another client?"),
            });
            ui.label(t("For a record logged on the wrong person. The move is kept in both clients' history."));
            ui.add_space(4.0);
            let label = ui.label(t("The right client's code")).id;
            ui.text_edit_singleline(&mut code).labelled_by(label);
            error_text(ui, problem.as_deref());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Move")).clicked() {
                    match env.store.client_by_code(&code) {
                        Ok(Some(to)) if to.id() == self.client.id() => {
                            problem = Some(t("That is this client.").to_owned());
                        }
                        Ok(Some(to)) => {
                            write = Some(match what {
                                Movable::Contact(id) => Write::MoveContact(id, to.id()),
                                Movable::Arrest(id) => Write::MoveArrest(id, to.id()),
                                Movable::Stay(id) => Write::MoveStay(id, to.id()),
                            });
                            close = true;
                        }
                        Ok(None) => {
                            problem = Some(tf("No client has the code {code}", &[("code", &code.trim())]));
                        }
                        Err(e) => problem = Some(e.to_string()),
                    }
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        // Escape (or a click outside) cancels, as in the forms.
        close |= modal.should_close() && write.is_none();
        self.moving = if close {
            None
        } else {
            Some((what, code, problem))
        };
        write
    }

    /// Asks for the reason before a contact is removed; says that it is
    /// kept in the history.
    pub(super) fn removal_ui(&mut self, ui: &mut egui::Ui) -> Option<Write> {
        let (what, mut reason, effects) = self.removing.clone()?;
        let mut write = None;
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("remove-record")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading(match what {
                Removable::Contact(_) => t("Remove this contact?"),
                Removable::Arrest(_) => t("Remove this arrest?"),
                Removable::Event(_) => t("Remove this service event?"),
                Removable::Stay(_) => t("Remove this detention stay?"),
                Removable::Enrollment(_) => t("Remove this enrollment?"),
            });
            ui.label(t("It leaves the timeline, the worklists and the reports. It is not erased: the removal and its reason stay in the history."));
            for effect in &effects {
                use crate::store::RemovalEffect as E;
                let text = match effect {
                    E::StaysUnlinked(n) => tf(
                        "{n} detention stay(s) record this arrest; they stay, no longer linked to it",
                        &[("n", n)],
                    ),
                    E::FollowUpsRemoved(n) => tf(
                        "{n} open follow-up(s) the rules opened for this stay are removed with it",
                        &[("n", n)],
                    ),
                    E::EventsRemoved(n) => tf(
                        "{n} dose(s), refill(s) or other event(s) of this enrollment are removed with it",
                        &[("n", n)],
                    ),
                };
                ui.colored_label(ui.visuals().warn_fg_color, text);
            }
            ui.add_space(4.0);
            let id_label = ui.label(t("Reason")).id;
            crate::ui::widgets::choice(ui, id_label, &mut reason);
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Remove")).clicked() {
                    write = Some(match what {
                        Removable::Contact(id) => Write::RemoveContact(id, reason),
                        Removable::Arrest(id) => Write::RemoveArrest(id, reason),
                        Removable::Event(id) => Write::RemoveEvent(id, reason),
                        Removable::Stay(id) => Write::RemoveStay(id, reason),
                        Removable::Enrollment(id) => Write::RemoveEnrollment(id, reason),
                    });
                    close = true;
                }
                if ui.button(t("Cancel")).clicked() {
                    close = true;
                }
            });
        });
        // Escape (or a click outside) cancels, as in the forms.
        close |= modal.should_close() && write.is_none();
        self.removing = if close {
            None
        } else {
            Some((what, reason, effects))
        };
        write
    }
}
