//! The idle policy and reload, with the real tests model: unloading gives the model's memory
//! back, the next request loads it again, and a reload swaps the model without a new socket.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use crate::harness::*;

fn ask(env: &TestEnv, sentence: &str) -> std::process::Output {
    env.command(env!("CARGO_BIN_EXE_cmdai"))
        .args(["ask", "--timeout", "120", sentence])
        .current_dir(env.path("home"))
        .output()
        .unwrap()
}

/// Unloading after the idle period drops the daemon's RSS by at least 80 % of the model file's
/// size; status says so; the next request loads the model again and is answered.
#[test]
fn an_idle_daemon_gives_the_model_memory_back_and_reloads_on_demand() {
    let Some(model) = test_model() else { return };
    let env = TestEnv::new();
    // 0.05 minutes: three seconds of quiet.
    env.write_config(&format!(
        "model = \"{}\"\nidle_unload_minutes = 0.05\n",
        model.display()
    ));
    assert_success(&ask(&env, "list the files"));
    let loaded = env.status_json();
    assert_eq!(loaded["state"], "Ready", "{loaded}");
    let size = std::fs::metadata(&model).unwrap().size();
    wait_until("the model to be unloaded", Duration::from_secs(30), || {
        env.status_json()["state"] == "Unloaded"
    });
    let unloaded = env.status_json();
    let freed = loaded["rss_bytes"].as_u64().unwrap() as i64
        - unloaded["rss_bytes"].as_u64().unwrap() as i64;
    assert!(
        freed as f64 >= 0.8 * size as f64,
        "RSS fell by {freed} bytes for a {size}-byte model: {loaded} -> {unloaded}"
    );
    let human = stdout(&env.cmdai(&["daemon", "status"]));
    assert!(human.contains("unloaded while idle"), "{human}");

    let again = ask(&env, "list the files");
    assert_success(&again);
    assert!(!stdout(&again).trim().is_empty());
    let status = env.status_json();
    assert_eq!(status["loads"], 2, "{status}");
    assert_eq!(status["requests_served"], 2, "{status}");
}

/// `cmdai daemon reload` after the config names another model: the same daemon, on the same
/// socket, opens the new one; an unchanged config reloads nothing.
#[test]
fn reload_swaps_the_model_on_the_same_socket() {
    let Some(model) = test_model() else { return };
    let env = TestEnv::new();
    env.write_config(&format!("model = \"{}\"\n", model.display()));
    assert_success(&ask(&env, "list the files"));
    let pid = env.daemon_pid();
    let inode = std::fs::metadata(env.socket()).unwrap().ino();

    // The idle period alone changes without opening the model again.
    env.write_config(&format!(
        "model = \"{}\"\nidle_unload_minutes = 30\n",
        model.display()
    ));
    let idle = env.cmdai(&["daemon", "reload"]);
    assert_success(&idle);
    assert!(
        stdout(&idle).contains("applies the new settings"),
        "{}",
        stdout(&idle)
    );
    assert_eq!(env.status_json()["loads"], 1);

    let unchanged = env.cmdai(&["daemon", "reload"]);
    assert_success(&unchanged);
    assert!(
        stdout(&unchanged).contains("unchanged"),
        "{}",
        stdout(&unchanged)
    );
    assert_eq!(env.status_json()["loads"], 1);

    // The same file under another name is another model as far as the config goes.
    let copy = env.path("models/copy.gguf");
    std::fs::copy(&model, &copy).unwrap();
    env.write_config(&format!(
        "model = \"{}\"\nidle_unload_minutes = 30\n",
        copy.display()
    ));
    let reloaded = env.cmdai(&["daemon", "reload"]);
    assert_success(&reloaded);
    wait_until("the new model to load", Duration::from_secs(60), || {
        let s = env.status_json();
        s["loads"] == 2 && s["state"] == "Ready"
    });
    let status = env.status_json();
    assert!(
        status["model_path"]
            .as_str()
            .unwrap()
            .ends_with("copy.gguf"),
        "{status}"
    );
    assert_eq!(env.daemon_pid(), pid, "a new daemon was started");
    assert_eq!(std::fs::metadata(env.socket()).unwrap().ino(), inode);
    assert_success(&ask(&env, "show the date"));

    // A broken config is refused with the file's own error and the daemon keeps going.
    env.write_config("model = 7\n");
    let refused = env.cmdai(&["daemon", "reload"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        stderr(&refused).contains("config.toml"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(env.status_json()["loads"], 2);
}
