//! `tether-window`: opens Tether's window with no console window beside it.
//! On Windows the Start-menu shortcut runs this; it starts `tether.exe`
//! from its own folder, with its arguments, as a process without a
//! console (`CREATE_NO_WINDOW`), and ends. `tether.exe` itself stays a
//! console program, so the command line works from a terminal as on Linux.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let name = if cfg!(windows) {
        "tether.exe"
    } else {
        "tether"
    };
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
    else {
        return ExitCode::FAILURE;
    };
    let mut command = Command::new(&exe);
    command.args(std::env::args_os().skip(1));
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        /// Win32 `CREATE_NO_WINDOW`: the console program gets no console window.
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NO_WINDOW);
    }
    match command.spawn() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            // No console to print to: say it in a message box.
            rfd::MessageDialog::new()
                .set_level(rfd::MessageLevel::Error)
                .set_title("Tether")
                .set_description(format!("Tether could not start {}: {e}", exe.display()))
                .show();
            ExitCode::FAILURE
        }
    }
}
