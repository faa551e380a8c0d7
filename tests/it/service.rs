//! The login service: the systemd unit and launchd agent rendered and parsed back (and checked
//! by `systemd-analyze verify` where it exists), and `cmdai daemon install` where no service
//! manager runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use cmdai::service::{launchd, systemd, ServiceSpec};

use crate::harness::*;

/// A tool that only some machines have; never required, so never a failure when absent.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn spec(dir: &Path) -> ServiceSpec {
    ServiceSpec {
        daemon: dir.join("my bin/100% cmdai-daemon"),
        log: dir.join("state dir/daemon.log"),
        env: vec![(
            "CMDAI_CONFIG".into(),
            dir.join("a \"b\".toml").display().to_string(),
        )],
    }
}

#[test]
fn the_systemd_unit_parses_back_to_what_was_asked() {
    let env = TestEnv::new();
    let spec = spec(&env.path("home"));
    let unit = systemd::render(&spec);
    let get = |section, key| systemd::value(&unit, section, key);
    assert_eq!(systemd::exec_start(&unit), Some(spec.daemon.clone()));
    assert_eq!(get("Service", "Restart").as_deref(), Some("on-failure"));
    // The daemon reads its config again on SIGHUP: `systemctl --user reload cmdai` sends it.
    assert_eq!(
        get("Service", "ExecReload").as_deref(),
        Some("/bin/kill -HUP $MAINPID")
    );
    let append = format!("append:{}", spec.log.display());
    assert_eq!(get("Service", "StandardOutput"), Some(append.clone()));
    assert_eq!(get("Service", "StandardError"), Some(append));
    assert_eq!(
        get("Install", "WantedBy").as_deref(),
        Some("default.target")
    );
    let environment = get("Service", "Environment").unwrap();
    assert_eq!(
        systemd::first_word(&environment),
        format!("CMDAI_CONFIG={}", spec.env[0].1)
    );
    assert!(Path::new(&systemd::first_word(&get("Service", "ExecStart").unwrap())).is_absolute());
}

/// systemd's own parser reads the unit without a complaint (it checks that ExecStart is an
/// executable, so one is put where the unit says).
#[test]
fn systemd_analyze_verifies_the_unit() {
    let Some(analyze) = which("systemd-analyze") else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    let env = TestEnv::new();
    let spec = spec(&env.path("home"));
    std::fs::create_dir_all(spec.daemon.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_cmdai-daemon"), &spec.daemon).unwrap();
    std::fs::create_dir_all(spec.log.parent().unwrap()).unwrap();
    let unit = env.path("cmdai.service");
    std::fs::write(&unit, systemd::render(&spec)).unwrap();
    // --user needs a runtime dir of its own; the machine's user manager is not involved.
    let out = Command::new(&analyze)
        .args(["--user", "verify", path_str(&unit)])
        .env("XDG_RUNTIME_DIR", env.runtime_dir())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stderr(&out), "", "systemd-analyze complained");
    // And it does complain about a broken unit, so the silence above means something.
    std::fs::write(
        &unit,
        systemd::render(&spec).replace("on-failure", "on-wednesdays"),
    )
    .unwrap();
    let out = Command::new(&analyze)
        .args(["--user", "verify", path_str(&unit)])
        .env("XDG_RUNTIME_DIR", env.runtime_dir())
        .output()
        .unwrap();
    assert!(stderr(&out).contains("on-wednesdays"), "{}", stderr(&out));
}

#[test]
fn the_launchd_agent_parses_back_to_what_was_asked() {
    let env = TestEnv::new();
    let mut spec = spec(&env.path("home"));
    spec.daemon = env.path("R&D <bin>/cmdai-daemon");
    let text = launchd::render(&spec);
    let plist = launchd::parse(&text).expect("a property list");
    let string = |s: &str| launchd::Plist::String(s.into());
    assert_eq!(plist.get("Label"), Some(&string(launchd::LABEL)));
    assert_eq!(launchd::program(&text), Some(spec.daemon.clone()));
    assert_eq!(plist.get("RunAtLoad"), Some(&launchd::Plist::Bool(true)));
    let keep_alive = plist.get("KeepAlive").unwrap();
    assert_eq!(
        keep_alive.get("SuccessfulExit"),
        Some(&launchd::Plist::Bool(false))
    );
    let log = string(&spec.log.display().to_string());
    assert_eq!(plist.get("StandardOutPath"), Some(&log));
    assert_eq!(plist.get("StandardErrorPath"), Some(&log));
    let vars = plist.get("EnvironmentVariables").unwrap();
    assert_eq!(vars.get("CMDAI_CONFIG"), Some(&string(&spec.env[0].1)));
    if let Some(plutil) = which("plutil") {
        let file = env.path("agent.plist");
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(plutil)
            .args(["-lint", path_str(&file)])
            .output()
            .unwrap();
        assert_success(&out);
    }
}

/// What `cmdai daemon install --print` shows is the unit for this very install: the daemon
/// beside this cmdai, this env's log, and the path overrides the env set.
#[test]
fn install_print_renders_the_unit_for_this_install() {
    let env = TestEnv::new();
    let out = env.cmdai(&["daemon", "install", "--print"]);
    assert_success(&out);
    let text = stdout(&out);
    let daemon = PathBuf::from(env!("CARGO_BIN_EXE_cmdai-daemon"))
        .canonicalize()
        .unwrap();
    let log = env.path("state/daemon.log");
    if cfg!(target_os = "macos") {
        assert_eq!(launchd::program(&text), Some(daemon));
        return;
    }
    assert_eq!(systemd::exec_start(&text), Some(daemon));
    let append = format!("append:{}", log.display());
    assert_eq!(
        systemd::value(&text, "Service", "StandardOutput"),
        Some(append)
    );
    let carried: Vec<String> = systemd::parse(&text)
        .into_iter()
        .filter(|(_, k, _)| k == "Environment")
        .map(|(_, _, v)| systemd::first_word(&v))
        .collect();
    let runtime = format!("CMDAI_RUNTIME_DIR={}", env.runtime_dir().display());
    assert!(carried.contains(&runtime), "{carried:?}");
}

#[test]
fn a_daemon_in_a_world_writable_directory_is_refused() {
    let env = TestEnv::new();
    let bin = env.path("open bin");
    std::fs::create_dir(&bin).unwrap();
    set_mode(&bin, 0o777);
    for name in ["cmdai", "cmdai-daemon"] {
        let from = PathBuf::from(env!("CARGO_BIN_EXE_cmdai")).with_file_name(name);
        std::fs::copy(from, bin.join(name)).unwrap();
    }
    let out = env
        .command(path_str(&bin.join("cmdai")))
        .args(["daemon", "install", "--print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("writable by everyone") && err.lines().count() == 1,
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

/// No user manager answers (a container, like this one): install says so in one line,
/// succeeds, and writes nothing; uninstall has nothing to do. Skipped where a user manager
/// runs, so that a test never touches a real one.
#[test]
fn without_a_service_manager_install_says_so_and_succeeds() {
    let bus = Command::new("systemctl")
        .args(["--user", "show-environment"])
        .output();
    if cfg!(target_os = "macos") || bus.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: a service manager runs here");
        return;
    }
    let env = TestEnv::new();
    let out = env.cmdai(&["daemon", "install"]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.starts_with("cmdai: no service manager here ("), "{err}");
    assert!(
        err.contains("on demand") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!env.path("home/.config/systemd/user/cmdai.service").exists());
    let out = env.cmdai(&["daemon", "uninstall"]);
    assert_success(&out);
    assert_eq!(stderr(&out), "cmdai: no login service was installed\n");
}
