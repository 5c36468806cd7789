//! `prodsim jobs slurm|kubernetes --shards N -- COMMAND...`: write a ready-to-submit job
//! that runs a `compare`, `sweep` or `check` in N shards and merges them afterwards.
//!
//! - Slurm: a bash script that submits an array job (`sbatch --array=0-(N-1)`, the shard
//!   from `SLURM_ARRAY_TASK_ID`) and a merge job that depends on it (`afterok`).
//! - Kubernetes: a JSON `List` of a PersistentVolumeClaim for the partials, an Indexed Job
//!   (`completionMode: Indexed`, the shard from `JOB_COMPLETION_INDEX`) and a follow-up merge
//!   Job that waits for every partial.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use prodsim_lab::shard::MAX_SHARDS;
use prodsim_report as report;
use serde_json::{Value, json};

use super::Command;

/// The batch engine to write a job for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// A Slurm array job and a dependent merge job (a bash script that runs sbatch).
    Slurm,
    /// A Kubernetes Indexed Job and a merge Job, as a JSON manifest for kubectl apply.
    Kubernetes,
}

/// Arguments of `prodsim jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// The engine: slurm or kubernetes.
    #[arg(value_enum)]
    engine: Engine,
    /// How many shards to split the experiment into.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SHARDS)))]
    shards: u32,
    /// Container image holding prodsim (kubernetes only; see docs/scale-out.md).
    #[arg(long, value_name = "IMG")]
    image: Option<String>,
    /// Slurm partition to submit to (slurm only).
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// The prodsim program the jobs run.
    #[arg(long, value_name = "PATH", default_value = "prodsim")]
    prodsim: String,
    /// Where `prodsim merge` writes the report [default: <the command's --out>/merged].
    #[arg(long, value_name = "DIR")]
    merge_out: Option<PathBuf>,
    /// Name prefix of the jobs.
    #[arg(long, value_name = "NAME", default_value = "prodsim")]
    name: String,
    /// Write the script or manifest to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The experiment: compare, sweep or check with its arguments, including --out DIR on
    /// storage every shard shares (a leading `prodsim` is allowed).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// What every engine needs: the experiment's arguments and where partials and report go.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The prodsim program.
    pub prodsim: String,
    /// The subcommand and its arguments (without the program).
    pub command: Vec<String>,
    /// Shards.
    pub shards: u32,
    /// The directory the shards write their partials into.
    pub partials: String,
    /// The merged report's directory.
    pub merged: String,
    /// Job name prefix.
    pub name: String,
}

/// Writes the job for the chosen engine.
pub fn execute(args: &JobsArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let text = match args.engine {
        Engine::Slurm => {
            if args.image.is_some() {
                bail!("--image is for kubernetes; on Slurm the jobs run --prodsim PATH (default `prodsim` on PATH)");
            }
            slurm_script(&plan, args.partition.as_deref())
        }
        Engine::Kubernetes => {
            if args.partition.is_some() {
                bail!("--partition is for slurm; Kubernetes schedules pods on its own nodes");
            }
            let Some(image) = &args.image else {
                bail!("kubernetes needs --image IMG: a container image with prodsim in it (see docs/scale-out.md)");
            };
            let manifest = kubernetes_manifest(&plan, image);
            format!("{}\n", serde_json::to_string_pretty(&manifest).context("writing the manifest")?)
        }
    };
    match &args.output {
        Some(path) => {
            report::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the experiment's command line and finds its report directory.
fn plan(args: &JobsArgs) -> anyhow::Result<Plan> {
    let mut command = args.command.clone();
    let shardable = |w: &str| matches!(w, "compare" | "sweep" | "check");
    if command.first().is_some_and(|w| !shardable(w)) && command.get(1).is_some_and(|w| shardable(w)) {
        command.remove(0);
    }
    let argv = std::iter::once("prodsim".to_string()).chain(command.iter().cloned());
    let parsed = super::Cli::try_parse_experiment(argv)
        .map_err(|e| anyhow::anyhow!("the command after -- is not a valid prodsim command line:\n{e}"))?;
    let (out, shard) = match &parsed {
        Command::Compare(a) => (a.common.out.clone(), a.common.shard),
        Command::Sweep(a) => (a.common.out.clone(), a.common.shard),
        Command::Check(a) => (a.out.clone(), a.shard),
        Command::Run(_)
        | Command::Validate(_)
        | Command::Merge(_)
        | Command::Jobs(_)
        | Command::Live(_)
        | Command::Serve(_)
        | Command::Export(_)
        | Command::BlastRadius(_)
        | Command::Capacity(_)
        | Command::Test(_)
        | Command::Workshop(_) => {
            bail!("only compare, sweep and check run in shards; the command after -- is `{}`", command[0])
        }
    };
    if shard.is_some() {
        bail!("the command after -- must not have --shard: each job adds its own");
    }
    let Some(out) = out else {
        bail!("the command after -- needs --out DIR: the directory, on storage every shard shares, for the partials");
    };
    let merged = args.merge_out.clone().unwrap_or_else(|| out.join("merged"));
    Ok(Plan {
        prodsim: args.prodsim.clone(),
        command,
        shards: args.shards,
        partials: out.display().to_string(),
        merged: merged.display().to_string(),
        name: args.name.clone(),
    })
}

/// A word quoted for a POSIX shell.
fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

fn quoted(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// The Slurm submission script: the array job of the shards, then the merge job that runs
/// when every shard succeeded.
pub fn slurm_script(plan: &Plan, partition: Option<&str>) -> String {
    let n = plan.shards;
    let partition = partition.map(|p| format!(" --partition={}", quote(p))).unwrap_or_default();
    let prodsim = quote(&plan.prodsim);
    let name = quote(&plan.name);
    format!(
        r#"#!/bin/bash
# Generated by `prodsim jobs slurm --shards {n}`: run it (bash THIS_FILE) on a submit host,
# from the directory the command's paths are relative to. It submits
#   1. an array job of {n} shards: shard K runs `--shard K/{n}` and writes its partial into
#      {partials}/ (a shard whose partial already exists and matches is skipped, so a
#      resubmission resumes);
#   2. a merge job, after every shard succeeded, writing the report into {merged}/.
set -euo pipefail
shards=$(sbatch --parsable --job-name={name}-shards --array=0-{last}{partition} --output={name}-shard-%A_%a.out <<'SBATCH'
#!/bin/bash
set -euo pipefail
exec {prodsim} {command} --shard "${{SLURM_ARRAY_TASK_ID}}/{n}"
SBATCH
)
shards=${{shards%%;*}}
merge=$(sbatch --parsable --job-name={name}-merge --dependency=afterok:"$shards"{partition} --output={name}-merge-%j.out <<'SBATCH'
#!/bin/bash
set -euo pipefail
exec {prodsim} merge {partials} --out {merged}
SBATCH
)
merge=${{merge%%;*}}
echo "submitted shards: job $shards (array 0-{last}); merge: job $merge"
"#,
        last = n - 1,
        command = quoted(&plan.command),
        partials = quote(&plan.partials),
        merged = quote(&plan.merged),
    )
}

/// Where the shared volume is mounted in every pod; the working directory.
pub const MOUNT: &str = "/work";

/// The Kubernetes manifest: the shared volume, the Indexed Job of the shards and the merge
/// Job, as one `List` for `kubectl apply -f`.
pub fn kubernetes_manifest(plan: &Plan, image: &str) -> Value {
    let n = plan.shards;
    let claim = format!("{}-partials", plan.name);
    let volume = json!([{ "name": "work", "persistentVolumeClaim": { "claimName": claim } }]);
    let mounts = json!([{ "name": "work", "mountPath": MOUNT }]);
    let mut shard_command = vec![plan.prodsim.clone()];
    shard_command.extend(plan.command.iter().cloned());
    shard_command.extend(["--shard".to_string(), format!("$(JOB_COMPLETION_INDEX)/{n}")]);
    // The merge Job starts with the shards and waits until every partial is there.
    let wait_and_merge = format!(
        "until [ \"$(ls {dir}/partial-*-of-{n}.json 2>/dev/null | wc -l)\" -ge {n} ]; do sleep 10; done; exec {} merge {dir} --out {}",
        quote(&plan.prodsim),
        quote(&plan.merged),
        dir = quote(&plan.partials),
    );
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": { "name": claim },
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "resources": { "requests": { "storage": "1Gi" } }
                }
            },
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": { "name": format!("{}-shards", plan.name) },
                "spec": {
                    "completionMode": "Indexed",
                    "completions": n,
                    "parallelism": n,
                    "backoffLimit": n.saturating_mul(3),
                    "template": { "spec": {
                        "restartPolicy": "Never",
                        "volumes": volume,
                        "containers": [{
                            "name": "shard",
                            "image": image,
                            "workingDir": MOUNT,
                            "command": shard_command,
                            "env": [{
                                "name": "JOB_COMPLETION_INDEX",
                                "valueFrom": { "fieldRef": {
                                    "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                                } }
                            }],
                            "volumeMounts": mounts
                        }]
                    } }
                }
            },
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": { "name": format!("{}-merge", plan.name) },
                "spec": {
                    "completions": 1,
                    "backoffLimit": 3,
                    "template": { "spec": {
                        "restartPolicy": "Never",
                        "volumes": volume,
                        "containers": [{
                            "name": "merge",
                            "image": image,
                            "workingDir": MOUNT,
                            "command": ["sh", "-c", wait_and_merge],
                            "volumeMounts": mounts
                        }]
                    } }
                }
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(shards: u32) -> Plan {
        Plan {
            prodsim: "prodsim".into(),
            command: ["sweep", "s.toml", "--param", "servers.count=2..4:1", "--out", "parts"]
                .map(String::from)
                .to_vec(),
            shards,
            partials: "parts".into(),
            merged: "parts/merged".into(),
            name: "prodsim".into(),
        }
    }

    #[test]
    fn kubernetes_manifest_is_an_indexed_job_with_a_shared_volume_and_a_merge_job() {
        let text = serde_json::to_string_pretty(&kubernetes_manifest(&plan(4), "registry/prodsim:1")).expect("json");
        let m: Value = serde_json::from_str(&text).expect("parses back");
        assert_eq!(m["kind"], "List");
        let items = m["items"].as_array().expect("items");
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["kind"], "PersistentVolumeClaim");
        assert_eq!(items[0]["spec"]["accessModes"][0], "ReadWriteMany");
        let claim = &items[0]["metadata"]["name"];
        let job = &items[1];
        assert_eq!(job["apiVersion"], "batch/v1");
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        assert_eq!(job["spec"]["completions"], 4);
        assert_eq!(job["spec"]["parallelism"], 4);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(&pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim);
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "registry/prodsim:1");
        assert_eq!(c["volumeMounts"][0]["mountPath"], MOUNT);
        assert_eq!(c["workingDir"], MOUNT);
        let cmd: Vec<&str> = c["command"].as_array().expect("command").iter().filter_map(Value::as_str).collect();
        assert_eq!(cmd[..3], ["prodsim", "sweep", "s.toml"]);
        assert_eq!(cmd[cmd.len() - 2..], ["--shard", "$(JOB_COMPLETION_INDEX)/4"]);
        assert_eq!(c["env"][0]["name"], "JOB_COMPLETION_INDEX");
        let path = c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"].as_str().expect("field path");
        assert!(path.contains("batch.kubernetes.io/job-completion-index"), "{path}");
        let merge = &items[2];
        assert_eq!(merge["kind"], "Job");
        assert!(merge["spec"].get("completionMode").is_none());
        let mpod = &merge["spec"]["template"]["spec"];
        assert_eq!(&mpod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim);
        let script = mpod["containers"][0]["command"][2].as_str().expect("merge script");
        assert!(script.contains("partial-*-of-4.json") && script.contains("-ge 4"), "{script}");
        assert!(script.ends_with("exec prodsim merge parts --out parts/merged"), "{script}");
    }

    #[test]
    fn slurm_script_submits_an_array_and_a_dependent_merge() {
        let s = slurm_script(&plan(4), Some("batch"));
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("sbatch --parsable --job-name=prodsim-shards --array=0-3 --partition=batch"), "{s}");
        assert!(
            s.contains(
                "exec prodsim sweep s.toml --param servers.count=2..4:1 --out parts --shard \"${SLURM_ARRAY_TASK_ID}/4\""
            ),
            "{s}"
        );
        assert!(s.contains("--dependency=afterok:\"$shards\" --partition=batch"), "{s}");
        assert!(s.contains("exec prodsim merge parts --out parts/merged"), "{s}");
        assert_eq!(s.matches("<<'SBATCH'").count(), 2);
        assert!(!slurm_script(&plan(1), None).contains("--partition"));
        assert!(slurm_script(&plan(1), None).contains("--array=0-0"));
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("servers.count=2..4:1"), "servers.count=2..4:1");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(x)"), "'$(x)'");
    }
}
