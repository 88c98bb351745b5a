//! Follow-ups: new, and closing one.

use super::*;

#[derive(Debug, Clone)]
pub struct FollowUpForm {
    pub client_id: Uuid,
    pub worker: Option<Uuid>,
    pub due: String,
    pub reason: String,
    /// When correcting: the follow-up as saved (its id; its rule, source
    /// and closing are kept).
    pub correcting: Option<(Uuid, FollowUp)>,
}

impl FollowUpForm {
    pub fn new(client_id: Uuid, worker: Option<Uuid>, due: NaiveDate) -> Self {
        FollowUpForm {
            client_id,
            worker,
            due: due.to_string(),
            reason: String::new(),
            correcting: None,
        }
    }

    /// The form filled in with a saved follow-up, to correct it.
    pub fn correcting(id: Uuid, f: &FollowUp) -> Self {
        FollowUpForm {
            client_id: f.client_id,
            worker: f.worker_id,
            due: f.due.to_string(),
            reason: f.reason.clone(),
            correcting: Some((id, f.clone())),
        }
    }
}

impl Form for FollowUpForm {
    type Output = FollowUp;
    fn title(&self) -> &'static str {
        if self.correcting.is_some() {
            t("Correct follow-up")
        } else {
            t("Add follow-up")
        }
    }
    fn fields(&mut self, ui: &mut egui::Ui, ctx: &FormCtx, e: &Errors) {
        text_row(ui, t("Reason"), &mut self.reason, e.get("reason"));
        date_row(ui, t("Due"), &mut self.due, e.get("due"));
        pick_row(ui, t("Worker"), &mut self.worker, &ctx.workers, None);
    }
    fn build(&self, ctx: &FormCtx) -> Result<FollowUp, Errors> {
        let mut e = Errors::default();
        let Some(due) = parse_date_field(&self.due)
            .map_err(|m| e.add("due", m))
            .ok()
        else {
            return Err(e);
        };
        let f = match &self.correcting {
            Some((_, saved)) => FollowUp {
                worker_id: self.worker,
                due,
                reason: self.reason.trim().to_owned(),
                ..saved.clone()
            },
            None => FollowUp {
                client_id: self.client_id,
                worker_id: self.worker,
                due,
                reason: self.reason.trim().to_owned(),
                rule: None,
                source_id: None,
                done_on: None,
                outcome: None,
            },
        };
        e.domain(f.problems(ctx.today));
        if e.is_empty() { Ok(f) } else { Err(e) }
    }
}

/// Close a follow-up with its outcome.
#[derive(Debug, Clone)]
pub struct CloseFollowUpForm {
    pub id: Uuid,
    pub followup: FollowUp,
    pub done_on: String,
    pub outcome: String,
}

impl Form for CloseFollowUpForm {
    type Output = (Uuid, FollowUp);
    fn title(&self) -> &'static str {
        t("Close follow-up")
    }
    fn fields(&mut self, ui: &mut egui::Ui, _ctx: &FormCtx, e: &Errors) {
        ui.label(t("Reason"));
        ui.label(followup_reason(&self.followup.reason));
        ui.end_row();
        date_row(ui, t("Done on"), &mut self.done_on, e.get("done_on"));
        text_row(ui, t("Outcome"), &mut self.outcome, e.get("outcome"));
    }
    fn build(&self, ctx: &FormCtx) -> Result<(Uuid, FollowUp), Errors> {
        let mut e = Errors::default();
        let Some(done) = parse_date_field(&self.done_on)
            .map_err(|m| e.add("done_on", m))
            .ok()
        else {
            return Err(e);
        };
        if self.outcome.trim().is_empty() {
            e.add("outcome", t("Required"));
        }
        let mut f = self.followup.clone();
        f.done_on = Some(done);
        f.outcome = opt_text(&self.outcome);
        e.domain(f.problems(ctx.today));
        if e.is_empty() {
            Ok((self.id, f))
        } else {
            Err(e)
        }
    }
}
