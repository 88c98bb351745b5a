//! `tether user …`: accounts, for admins.

use super::*;

pub(super) fn run(cli: &Cli, action: &UserCommand) -> Result<bool, CliError> {
    let db = need_db(&cli.db)?;
    let mut store = open(db, &cli.user)?;
    store.require(Permission::ManageUsers)?;
    match action {
        UserCommand::List => {
            for u in store.users()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.data.username,
                    u.data.role.as_str(),
                    if u.data.active {
                        "active"
                    } else {
                        "deactivated"
                    },
                    if store.can_log_in(&u.data.username)? {
                        "can log in here"
                    } else {
                        "no password here"
                    },
                    u.data.display_name
                );
            }
        }
        UserCommand::Add {
            username,
            role,
            display_name,
        } => {
            let Some(role) = Role::parse(role) else {
                return Err(CliError(format!(
                    "--role {role}: use outreach, coordinator, manager or admin"
                )));
            };
            let pw = other_new_password(username)?;
            store.add_user(
                User {
                    username: username.trim().to_owned(),
                    display_name: display_name
                        .clone()
                        .unwrap_or_else(|| username.trim().to_owned()),
                    role,
                    active: true,
                    language: "en".into(),
                },
                &pw,
            )?;
            println!("Added {username} ({}).", role.as_str());
        }
        UserCommand::Passwd { username } => {
            let u = user_named(&store, username)?;
            let pw = other_new_password(username)?;
            store.set_password(u.id(), &pw)?;
            println!("Password set for {username}.");
        }
        UserCommand::Deactivate { username } => {
            let u = user_named(&store, username)?;
            let mut data = u.data.clone();
            data.active = false;
            store.update_user(u.id(), data)?;
            println!(
                "{username} is deactivated; their password no longer opens this database, and the database key is changed."
            );
            if let Some(recovery) = store.take_new_recovery_key() {
                print_recovery_key(&recovery.to_text());
            }
            fresh_backup(&mut store)?;
        }
    }
    store.close()?;
    Ok(true)
}
