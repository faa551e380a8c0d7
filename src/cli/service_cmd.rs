//! `cmdai daemon install|uninstall`: the login service, and starting or restarting the daemon
//! through it when it is installed.

use std::time::{Duration, Instant};

use clap::Args;

use super::{print_stdout, Failure};
use crate::client;
use crate::service::{self, Installed, Manager, ServiceError, ServiceSpec};

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the unit (systemd) or agent (launchd) file for this install and change nothing
    #[arg(long)]
    print: bool,
}

pub fn install(args: &InstallArgs) -> Result<(), Failure> {
    let manager = Manager::native();
    let spec = ServiceSpec::for_this_install()?;
    if args.print {
        spec.check_safe()?;
        return print_stdout(&manager.render(&spec));
    }
    if let Err(ServiceError::NoManager(why)) = manager.available() {
        eprintln!(
            "cmdai: no service manager here ({why}); cmdai starts the daemon on demand instead"
        );
        return Ok(());
    }
    // A daemon started by a client would hold the lock the service's daemon needs.
    client::stop_daemon(Duration::from_secs(10))?;
    match service::install(manager, &spec)? {
        Installed::Service(path) => {
            wait_for_socket()?;
            eprintln!(
                "cmdai: installed {}: the daemon runs now and at every login",
                path.display()
            );
        }
        Installed::NoManager(why) => eprintln!(
            "cmdai: no service manager here ({why}); cmdai starts the daemon on demand instead"
        ),
    }
    Ok(())
}

pub fn uninstall() -> Result<(), Failure> {
    let manager = Manager::native();
    let path = manager.unit_path();
    if service::uninstall(manager)? {
        eprintln!("cmdai: removed {} and stopped its daemon", path.display());
    } else {
        eprintln!("cmdai: no login service was installed");
    }
    Ok(())
}

/// Starts (or restarts) the daemon through the installed service; `false` when there is none.
pub fn restart_through_service() -> Result<bool, Failure> {
    let Some(manager) = service::active_manager() else {
        return Ok(false);
    };
    service::restart(manager)?;
    wait_for_socket()?;
    Ok(true)
}

/// The manager starts the daemon in the background; its socket comes up within seconds.
fn wait_for_socket() -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while client::connect().is_err() {
        if Instant::now() >= deadline {
            return Err(Failure::error(format!(
                "the service started but its daemon did not open {} within 10 s; see `cmdai daemon logs`",
                crate::paths::socket_path().display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
