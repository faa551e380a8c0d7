//! The machine itself: disks, accounts, processes, security, services, packages, logs and
//! scheduled jobs.

use super::super::analyze::{Analyzer, Ctx, FileFact, Harm};
use super::super::args::{Arg, Opts, Stream};
use super::super::target::{self, Place};
use super::super::Risk;

pub(super) fn run(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    if disk_tool(a, name, args) {
        return;
    }
    match name {
        "usermod" | "passwd" => password(a, name, args, ctx),
        "userdel" | "deluser" => {
            let removes_home = args.iter().any(|arg| {
                matches!(
                    arg.text.as_str(),
                    "--remove" | "--remove-home" | "--remove-all-files"
                ) || arg.text.starts_with('-')
                    && !arg.text.starts_with("--")
                    && arg.text.contains('r')
            });
            if removes_home {
                a.flag(
                    Risk::Critical,
                    Harm::Delete,
                    "deletes a user account and its home directory",
                );
            } else {
                a.flag(
                    Risk::Moderate,
                    Harm::Auth,
                    "removes a user account (its files stay)",
                );
            }
        }
        "gpg" | "gpg2"
            if args
                .iter()
                .any(|arg| arg.text.starts_with("--delete-secret")) =>
        {
            a.flag(Risk::High, Harm::Delete, "deletes a GPG private key")
        }
        "kill" => kill(a, args, ctx),
        "killall5" => kill_everything(a, ctx),
        "pkill" | "killall" => kill_user(a, args, ctx),
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" => {
            let flushes = args.iter().any(|arg| {
                matches!(
                    arg.text.as_str(),
                    "-F" | "--flush" | "-X" | "--delete-chain"
                )
            }) || args
                .windows(2)
                .any(|p| p[0].is("-P") || p[0].is("--policy"))
                && args.iter().any(|arg| arg.is("ACCEPT"));
            if flushes {
                firewall_off(a);
            }
        }
        "nft" => {
            if args.iter().any(|arg| arg.is("flush"))
                || args
                    .windows(2)
                    .any(|p| p[0].is("delete") && p[1].is("table"))
            {
                firewall_off(a);
            }
        }
        "ufw" => {
            if args.iter().any(|arg| arg.is("disable") || arg.is("reset")) {
                firewall_off(a);
            }
        }
        "pfctl" if args.iter().any(|arg| arg.is("-d")) => firewall_off(a),
        "setenforce"
            if args
                .iter()
                .any(|arg| arg.is("0") || arg.text.eq_ignore_ascii_case("permissive")) =>
        {
            a.flag(Risk::High, Harm::Security, "turns SELinux enforcement off")
        }
        "csrutil" | "spctl"
            if args
                .iter()
                .any(|arg| arg.is("disable") || arg.is("--master-disable")) =>
        {
            a.flag(
                Risk::High,
                Harm::Security,
                "turns a system security protection off",
            )
        }
        "systemctl" => systemctl(a, args),
        "service" | "rc-service" => {
            if let [unit, action, ..] = args {
                service_action(a, &unit.text, &action.text);
            }
        }
        "launchctl"
            if args.first().is_some_and(|arg| {
                matches!(
                    arg.text.as_str(),
                    "unload" | "bootout" | "remove" | "disable"
                )
            }) =>
        {
            a.flag(Risk::Moderate, Harm::Service, "stops a background service")
        }
        "reboot" | "poweroff" | "halt" => a.flag(
            Risk::Moderate,
            Harm::Service,
            "restarts or powers off the machine",
        ),
        "shutdown"
            if !args
                .iter()
                .any(|arg| arg.is("-c") || arg.is("--cancel") || arg.is("-k")) =>
        {
            a.flag(
                Risk::Moderate,
                Harm::Service,
                "restarts or powers off the machine",
            )
        }
        "init" | "telinit" if args.iter().any(|arg| arg.is("0") || arg.is("6")) => a.flag(
            Risk::Moderate,
            Harm::Service,
            "restarts or powers off the machine",
        ),
        "ip" | "ifconfig" if args.iter().any(|arg| arg.is("down")) => network_down(a),
        "ifdown" => network_down(a),
        "nmcli"
            if args
                .iter()
                .any(|arg| arg.is("down") || arg.is("off") || arg.is("disconnect")) =>
        {
            network_down(a)
        }
        "tmux"
            if args.iter().any(|arg| arg.is("kill-server"))
                || args.iter().any(|arg| arg.is("kill-session"))
                    && args.iter().any(|arg| arg.is("-a")) =>
        {
            a.flag(Risk::Moderate, Harm::Service, "ends every tmux session")
        }
        "umount"
            if args.iter().any(|arg| {
                arg.is("-a")
                    || arg.is("--all")
                    || arg.text.starts_with('-')
                        && !arg.text.starts_with("--")
                        && arg.text.contains('a')
            }) =>
        {
            a.flag(Risk::High, Harm::Service, "unmounts every filesystem")
        }
        "journalctl" if args.iter().any(|arg| arg.text.starts_with("--vacuum")) => {
            a.flag(Risk::High, Harm::Logs, "deletes the system journal")
        }
        "crontab" => crontab(a, args, ctx),
        "at" | "batch" => {
            if let Some(text) = ctx.stdin.text.clone() {
                a.persisted(&text, "schedules a job", ctx);
            }
        }
        _ => package_removal(a, name, args),
    }
}

fn firewall_off(a: &mut Analyzer) {
    a.flag(
        Risk::High,
        Harm::Security,
        "removes the firewall rules or turns the firewall off",
    );
}

fn network_down(a: &mut Analyzer) {
    a.flag(
        Risk::Moderate,
        Harm::Service,
        "takes a network connection down",
    );
}

/// Disk tools that write partitions, filesystems or raw data.
fn disk_tool(a: &mut Analyzer, name: &str, args: &[Arg]) -> bool {
    let disks: Vec<&Arg> = args
        .iter()
        .filter(|arg| {
            target::classify(arg, &a.cwd) == Place::Disk
                || name == "diskutil" && arg.text.starts_with("disk")
        })
        .collect();
    let has = |flags: &[&str]| args.iter().any(|arg| flags.contains(&arg.text.as_str()));
    let has_short = |letter: char| {
        args.iter().any(|arg| {
            arg.text.starts_with('-') && !arg.text.starts_with("--") && arg.text.contains(letter)
        })
    };
    let destroys = match name {
        _ if name.starts_with("mkfs")
            || matches!(
                name,
                "mke2fs" | "mkswap" | "mkntfs" | "mkdosfs" | "mkexfatfs"
            ) =>
        {
            let dry_run = has_short('n') && !name.contains("fat") && name != "mkswap";
            !has(&["--dry-run", "--no-action"]) && !dry_run
        }
        "wipefs" => {
            (has_short('a') || has(&["--all", "--offset"]) || has_short('o'))
                && !has(&["--no-act"])
                && !has_short('n')
        }
        "blkdiscard" | "ddrescue" => true,
        "badblocks" => has_short('w'),
        "parted" => has(&[
            "mklabel",
            "mktable",
            "mkpart",
            "rm",
            "resizepart",
            "resize",
            "mkfs",
        ]),
        "sfdisk" => !has(&[
            "-d",
            "--dump",
            "-l",
            "--list",
            "-J",
            "--json",
            "-s",
            "--show-size",
            "-V",
            "--verify",
            "-n",
            "--no-act",
            "-g",
            "--show-geometry",
            "-F",
            "--list-free",
            "--backup-pt-sectors",
        ]),
        "sgdisk" => {
            has(&[
                "--zap-all",
                "--zap",
                "--clear",
                "--new",
                "--delete",
                "--typecode",
                "--mbrtogpt",
                "--replicate",
                "--load-backup",
                "--largest-new",
            ]) || ['Z', 'z', 'o', 'n', 'd', 't', 'g', 'R', 'l', 'N']
                .iter()
                .any(|c| has_short(*c))
        }
        "cryptsetup" => has(&["luksFormat", "erase", "luksErase", "reencrypt"]),
        "mdadm" => has(&["--zero-superblock", "--create"]) || has_short('C'),
        "hdparm" => args.iter().any(|arg| {
            arg.text.starts_with("--security-erase")
                || arg.text.starts_with("--write-sector")
                || arg.text.starts_with("--trim-sector")
        }),
        "nvme" => has(&["format", "sanitize"]),
        "diskutil" => has(&[
            "eraseDisk",
            "eraseVolume",
            "zeroDisk",
            "randomDisk",
            "secureErase",
            "partitionDisk",
            "reformat",
            "deleteContainer",
        ]),
        "fdisk" | "gdisk" | "cfdisk" if !has(&["-l", "--list"]) && !disks.is_empty() => {
            a.flag(
                Risk::Moderate,
                Harm::Disk,
                "opens a partition editor on a disk",
            );
            return true;
        }
        "lvremove" | "vgremove" | "pvremove" => {
            a.flag(
                Risk::High,
                Harm::Disk,
                "destroys a storage volume and its data",
            );
            return true;
        }
        "zpool" | "zfs" if has(&["destroy"]) => {
            a.flag(
                Risk::High,
                Harm::Disk,
                "destroys a storage pool or dataset and its data",
            );
            return true;
        }
        _ => return false,
    };
    let needs_disk = name != "diskutil" || !disks.is_empty();
    if destroys && needs_disk {
        if let Some(disk) = disks.first() {
            let disk = if name == "ddrescue" {
                disks.last().copied().unwrap_or(disk)
            } else {
                disk
            };
            a.flag(
                Risk::Critical,
                Harm::Disk,
                format!("erases or repartitions the disk {}", disk.text),
            );
        }
    }
    true
}

/// `usermod -p ''`, `passwd -d`: an account without a password.
fn password(a: &mut Analyzer, name: &str, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(
        args,
        if name == "usermod" {
            "pcdgGlsuLe"
        } else {
            "nxwi"
        },
        &["password", "comment", "home", "shell"],
        false,
    );
    let empties = match name {
        "usermod" => opts
            .value(&["p", "password"])
            .is_some_and(|p| p.is_empty() || p == "''"),
        _ => opts.has(&["d", "delete"]),
    };
    if !empties {
        return;
    }
    let user = opts.operands.last().map(|arg| arg.text.as_str());
    let root = user.map_or(ctx.root, |user| user == "root");
    let (risk, who) = if root {
        (Risk::Critical, "root")
    } else {
        (Risk::High, user.unwrap_or("your account"))
    };
    a.flag(
        risk,
        Harm::Auth,
        format!("removes the password of {who}: anyone can log in"),
    );
}

/// `kill -9 -1`: every process the caller may signal.
fn kill(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let mut rest = args;
    match rest.first().map(|arg| arg.text.as_str()) {
        Some("-l" | "-L" | "--list") => return,
        Some("-s" | "-n" | "--signal") => rest = rest.get(2..).unwrap_or_default(),
        // A lone `-1` is a signal with no process.
        Some(text) if text.starts_with('-') && text != "--" => rest = &rest[1..],
        _ => {}
    }
    if rest.first().is_some_and(|arg| arg.is("--")) {
        rest = &rest[1..];
    }
    if rest.iter().any(|arg| arg.is("-1")) {
        kill_everything(a, ctx);
    }
}

pub(in super::super) fn kill_everything(a: &mut Analyzer, ctx: &Ctx) {
    if ctx.root {
        a.flag(
            Risk::Critical,
            Harm::KillAll,
            "kills every process on the system",
        );
    } else {
        a.flag(
            Risk::High,
            Harm::KillAll,
            "kills all of your processes, this session included",
        );
    }
}

/// `pkill -u USER` with no pattern: every process of that user.
fn kill_user(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(
        args,
        "uUsgGPtFn",
        &["uid", "euid", "user", "signal", "group", "parent"],
        false,
    );
    let user = opts.value(&["u", "U", "uid", "euid", "user"]);
    let everything = opts
        .operands
        .iter()
        .any(|p| matches!(p.text.as_str(), "." | ".*" | ""));
    if user.is_some() && opts.operands.is_empty() || everything {
        if ctx.root && user.is_none_or(|u| u == "root") {
            a.flag(
                Risk::Critical,
                Harm::KillAll,
                "kills every process on the system",
            );
        } else {
            a.flag(Risk::High, Harm::KillAll, "kills all of a user's processes");
        }
    }
}

const SECURITY_UNITS: &[&str] = &[
    "firewalld",
    "ufw",
    "nftables",
    "iptables",
    "ip6tables",
    "netfilter-persistent",
    "apparmor",
    "auditd",
    "fail2ban",
    "crowdsec",
];

fn systemctl(a: &mut Analyzer, args: &[Arg]) {
    let words: Vec<&Arg> = args
        .iter()
        .filter(|arg| !arg.text.starts_with('-'))
        .collect();
    let Some((action, units)) = words.split_first() else {
        return;
    };
    match action.text.as_str() {
        "reboot" | "poweroff" | "halt" | "kexec" | "rescue" | "emergency" => a.flag(
            Risk::Moderate,
            Harm::Service,
            "restarts or powers off the machine",
        ),
        "isolate" => a.flag(
            Risk::Moderate,
            Harm::Service,
            "switches the system to another target",
        ),
        action => {
            for unit in units {
                service_action(a, &unit.text, action);
            }
        }
    }
}

fn service_action(a: &mut Analyzer, unit: &str, action: &str) {
    if !matches!(action, "stop" | "disable" | "mask" | "kill") {
        return;
    }
    let name = unit.trim_end_matches(".service");
    if SECURITY_UNITS.contains(&name) {
        a.flag(
            Risk::High,
            Harm::Security,
            format!("turns off {name}, a firewall or security service"),
        );
    } else {
        a.flag(
            Risk::Moderate,
            Harm::Service,
            format!("stops the service {name}"),
        );
    }
}

/// `crontab -r`, `crontab FILE`, `crontab -` replace the user's scheduled jobs.
fn crontab(a: &mut Analyzer, args: &[Arg], ctx: &Ctx) {
    let opts = Opts::parse(args, "uTs", &[], false);
    if opts.has(&["r"]) {
        let risk = if opts.has(&["i"]) {
            Risk::Moderate
        } else {
            Risk::High
        };
        a.flag(risk, Harm::Delete, "removes your whole crontab");
        return;
    }
    if opts.has(&["l", "e"]) {
        return;
    }
    let content = match opts.operands.first() {
        Some(file) if !file.is("-") => {
            if file.is("/dev/null") {
                Stream::text("")
            } else {
                match a.file_fact(file) {
                    Some(FileFact::Content(text)) => Stream::text(text.clone()),
                    _ => a.read_file(file),
                }
            }
        }
        _ => ctx.stdin.clone(),
    };
    match &content.text {
        Some(text) if text.trim().is_empty() => a.flag(
            Risk::High,
            Harm::Delete,
            "replaces your crontab with an empty one",
        ),
        Some(_) => {
            let cron = Arg::literal("/var/spool/cron/crontabs/user");
            super::files::write(a, &cron, &content, false, ctx);
        }
        None => a.flag(Risk::Moderate, Harm::Config, "replaces your crontab"),
    }
}

const LIBC: &[&str] = &["glibc", "libc6", "libc-bin", "glibc-common", "musl", "libc"];
const ESSENTIAL: &[&str] = &[
    "coreutils",
    "bash",
    "systemd",
    "sudo",
    "dpkg",
    "apt",
    "rpm",
    "dnf",
    "yum",
    "pacman",
    "util-linux",
    "login",
    "passwd",
    "shadow-utils",
    "base-files",
    "init",
    "openssh-server",
];

/// Package managers removing packages.
fn package_removal(a: &mut Analyzer, name: &str, args: &[Arg]) {
    let words: Vec<&str> = args.iter().map(|arg| arg.text.as_str()).collect();
    let verb_at = |verbs: &[&str]| words.iter().position(|w| verbs.contains(w));
    let removes = match name {
        "apt" | "apt-get" | "aptitude" => verb_at(&["remove", "purge", "autoremove", "autopurge"]),
        "dnf" | "yum" | "microdnf" | "zypper" => verb_at(&["remove", "erase", "autoremove", "rm"]),
        "apk" => verb_at(&["del"]),
        "brew" | "port" | "snap" | "flatpak" | "cargo" | "gem" | "pip" | "pip3" | "pipx"
        | "conda" | "mamba" => verb_at(&["uninstall", "remove", "rm"]),
        "npm" | "pnpm" | "yarn"
            if words
                .iter()
                .any(|w| *w == "-g" || *w == "--global" || *w == "global") =>
        {
            verb_at(&["uninstall", "remove", "rm", "un", "r"])
        }
        "pacman" => words
            .iter()
            .position(|w| w.starts_with("-R") || *w == "--remove"),
        "dpkg" => words
            .iter()
            .position(|w| matches!(*w, "-r" | "--remove" | "-P" | "--purge")),
        "rpm" => words
            .iter()
            .position(|w| *w == "--erase" || w.starts_with("-e")),
        "nix-env" => words.iter().position(|w| *w == "-e" || *w == "--uninstall"),
        _ => None,
    };
    let Some(at) = removes else {
        return;
    };
    let dry_run = words.iter().any(|w| {
        matches!(
            *w,
            "-s" | "--simulate"
                | "--dry-run"
                | "--just-print"
                | "--no-act"
                | "--recon"
                | "--assume-no"
                | "--test"
        )
    });
    if dry_run {
        return;
    }
    let packages: Vec<&str> = words[at + 1..]
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    let base = |p: &&str| p.split([':', '=']).next().unwrap_or(p).to_string();
    if packages.iter().any(|p| LIBC.contains(&base(p).as_str())) {
        a.flag(
            Risk::Critical,
            Harm::Package,
            "removes the C library: no program can start afterwards",
        );
    } else if let Some(essential) = packages
        .iter()
        .find(|p| ESSENTIAL.contains(&base(p).as_str()))
    {
        a.flag(
            Risk::High,
            Harm::Package,
            format!("removes {essential}, an essential package"),
        );
    } else {
        let list = if packages.is_empty() {
            "packages".to_string()
        } else {
            packages.join(" ")
        };
        a.flag(Risk::Moderate, Harm::Package, format!("removes {list}"));
    }
}
