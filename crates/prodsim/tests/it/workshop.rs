//! `prodsim workshop`: the built-in curriculum is listed in order, every lesson's answer key
//! passes `check --answers` (the CI check of all answer keys), the untouched files a
//! `start` copies are judged unsolved with hints, `start` refuses to overwrite, and a bad
//! lesson file is an error at its file, line and column.

use std::path::Path;
use std::process::Output;

use assert_cmd::cargo::cargo_bin_cmd;

use crate::common::temp_dir;

fn workshop(args: &[&str], lessons: Option<&Path>) -> Output {
    let mut cmd = cargo_bin_cmd!("prodsim");
    cmd.arg("workshop").args(args).env_remove("PRODSIM_LESSONS");
    if let Some(dir) = lessons {
        cmd.arg("--lessons").arg(dir);
    }
    cmd.output().expect("runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The built-in lessons' names, from `workshop list`.
fn lessons() -> Vec<String> {
    let out = workshop(&["list"], None);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    stdout.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

#[test]
fn list_shows_at_least_twelve_lessons_in_order() {
    let names = lessons();
    assert!(names.len() >= 12, "{names:?}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names[0].starts_with("01-"), "{names:?}");
}

#[test]
fn every_answer_key_passes() {
    for name in lessons() {
        let out = workshop(&["check", &name, "--answers"], None);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{name}: answer key fails\n{stdout}\n{stderr}");
        assert!(!stdout.contains("NOT YET"), "{name}\n{stdout}");
    }
}

#[test]
fn untouched_files_are_unsolved_with_hints() {
    let root = temp_dir("workshop", "untouched");
    for name in lessons() {
        let dir = root.join(&name);
        let dir_s = dir.to_string_lossy().into_owned();
        let out = workshop(&["start", &name, "--dir", &dir_s], None);
        assert!(out.status.success(), "{name}: {}", text(&out).1);
        let out = workshop(&["check", &name, "--dir", &dir_s], None);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: untouched files must not pass\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("{name}: 0 of ")), "{name}: every exercise unsolved\n{stdout}");
        let unsolved = stdout.matches("NOT YET").count();
        assert!((2..=4).contains(&unsolved), "{name}: 2 to 4 exercises\n{stdout}");
        assert_eq!(stdout.matches("hint: ").count(), unsolved, "{name}: a hint for each\n{stdout}");
    }
}

#[test]
fn start_refuses_to_overwrite_without_force_and_show_tells_the_lesson() {
    let dir = temp_dir("workshop", "overwrite");
    let dir_s = dir.to_string_lossy().into_owned();
    assert!(workshop(&["start", "2", "--dir", &dir_s], None).status.success());
    let again = workshop(&["start", "load-balancers", "--dir", &dir_s], None);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).1.contains("--force"), "{}", text(&again).1);
    assert!(workshop(&["start", "02-load-balancers", "--dir", &dir_s, "--force"], None).status.success());
    let show = workshop(&["show", "02"], None);
    let (stdout, _) = text(&show);
    assert!(show.status.success() && stdout.contains("goals:") && stdout.contains("--narrate"), "{stdout}");
    let missing = workshop(&["show", "load-balancer"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).1.contains("did you mean `02-load-balancers`"), "{}", text(&missing).1);
}

const LESSON: &str = r#"[lesson]
title = "Mine"
minutes = 5
goals = ["one"]
story = "s"
narrate = "s.toml"

[[exercise]]
id = "fast"
title = "Be fast"
task = "Make it fast."
file = "s.toml"
hint = "Add servers."
[[exercise.expect]]
metric = "latency_ms.p99"
below = 200
"#;

const SCENARIO: &str = "[scenario]\nname = \"mine\"\nduration = \"2m\"\n[[workload]]\nname = \"w\"\nrate = 50\n\
[servers]\ncount = 1\nworkers = 1\nservice_time = \"exp(30ms)\"\n";

#[test]
fn instructors_add_lessons_and_bad_lesson_files_are_errors_at_their_place() {
    let root = temp_dir("workshop", "own");
    let lesson = root.join("90-mine");
    std::fs::create_dir_all(lesson.join("answers")).expect("dir");
    std::fs::write(lesson.join("lesson.toml"), LESSON).expect("write");
    std::fs::write(lesson.join("s.toml"), SCENARIO).expect("write");
    std::fs::write(lesson.join("answers/s.toml"), SCENARIO.replace("workers = 1", "workers = 8")).expect("write");
    let out = workshop(&["list"], Some(&root));
    assert!(text(&out).0.contains("90-mine"), "{:?}", text(&out));
    let out = workshop(&["check", "90", "--answers"], Some(&root));
    assert!(out.status.success(), "{:?}", text(&out));
    let with_env =
        cargo_bin_cmd!("prodsim").args(["workshop", "list"]).env("PRODSIM_LESSONS", &root).output().expect("runs");
    assert!(text(&with_env).0.contains("90-mine"), "{:?}", text(&with_env));

    std::fs::write(lesson.join("lesson.toml"), LESSON.replace("hint =", "hnt =")).expect("write");
    let out = workshop(&["list"], Some(&root));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(stderr.contains("90-mine/lesson.toml:13:1: error: unknown field `hnt`"), "{stderr}");

    std::fs::write(lesson.join("lesson.toml"), LESSON.replace("file = \"s.toml\"", "file = \"t.toml\""))
        .expect("write");
    let stderr = text(&workshop(&["list"], Some(&root))).1;
    assert!(
        stderr.contains("90-mine/lesson.toml:12:8: error: exercise.file `t.toml` is not a file of this lesson"),
        "{stderr}"
    );

    std::fs::write(lesson.join("lesson.toml"), LESSON.replace("below = 200", "below = \"fast\"")).expect("write");
    let out = workshop(&["check", "90", "--answers"], Some(&root));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    let located = stderr.contains("90-mine/lesson.toml:14:") || stderr.contains("90-mine/lesson.toml:15:");
    assert!(located && stderr.contains("error: this [[exercise.expect]] does not fit"), "{stderr}");
}

#[test]
fn a_student_file_that_does_not_load_is_an_error_at_its_place() {
    let dir = temp_dir("workshop", "broken");
    let dir_s = dir.to_string_lossy().into_owned();
    assert!(workshop(&["start", "2", "--dir", &dir_s], None).status.success());
    let file = dir.join("strategy.toml");
    let broken = std::fs::read_to_string(&file)
        .expect("read")
        .replace("strategy = \"round_robin\"", "strategy = \"round_robn\"");
    std::fs::write(&file, broken).expect("write");
    let out = workshop(&["check", "2", "--dir", &dir_s], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(stderr.contains("strategy.toml:") && stderr.contains("round_robn"), "{stderr}");
}
