//! `prodsim workshop list | show LESSON | start LESSON [--dir D] | check LESSON [--dir D]`:
//! the curriculum. Lessons, copying and judging live in `crate::workshop`; this file parses
//! the arguments and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};

use super::diagnostics;
use crate::workshop::catalog::{self, Lesson};
use crate::workshop::judge::{self, JudgeError, Work};
use crate::workshop::lesson::LessonError;

/// The environment variable that names an instructor's folder of lessons.
const LESSONS_ENV: &str = "PRODSIM_LESSONS";

/// Arguments of `prodsim workshop`.
#[derive(Debug, Args)]
pub struct WorkshopArgs {
    /// A folder of your own lessons (one sub-folder per lesson, each with a lesson.toml),
    /// added to the built-in ones [env: PRODSIM_LESSONS].
    #[arg(long, value_name = "DIR", global = true)]
    lessons: Option<PathBuf>,
    #[command(subcommand)]
    command: WorkshopCommand,
}

#[derive(Debug, Subcommand)]
enum WorkshopCommand {
    /// List the lessons in order.
    List,
    /// Show a lesson: goals, story, files and exercises.
    Show {
        /// The lesson: its folder name (02-load-balancers), number (2) or name (load-balancers).
        lesson: String,
    },
    /// Copy a lesson's scenario and exercise files into a working folder.
    Start {
        /// The lesson.
        lesson: String,
        /// The working folder [default: ./NN-slug].
        #[arg(long, value_name = "D")]
        dir: Option<PathBuf>,
        /// Overwrite files already in the working folder.
        #[arg(long)]
        force: bool,
    },
    /// Run your edited files and say which exercises are solved (exit status 1 if any is not).
    Check {
        /// The lesson.
        lesson: String,
        /// The working folder [default: ./NN-slug].
        #[arg(long, value_name = "D", conflicts_with = "answers")]
        dir: Option<PathBuf>,
        /// Judge the lesson's own answer key instead (for instructors and CI).
        #[arg(long)]
        answers: bool,
    },
}

/// Runs the workshop subcommand.
pub fn execute(args: &WorkshopArgs) -> anyhow::Result<ExitCode> {
    let extra = args.lessons.clone().or_else(|| std::env::var_os(LESSONS_ENV).map(PathBuf::from));
    let lessons = match catalog::load(extra.as_deref()) {
        Ok(l) => l,
        Err(e) => return Ok(lesson_error(&e)),
    };
    let pick = |name: &str| catalog::find(&lessons, name);
    match &args.command {
        WorkshopCommand::List => list(&lessons),
        WorkshopCommand::Show { lesson } => match pick(lesson) {
            Ok(l) => show(l),
            Err(e) => return Ok(lesson_error(&e)),
        },
        WorkshopCommand::Start { lesson, dir, force } => match pick(lesson) {
            Ok(l) => return start(l, &working(l, dir.as_deref()), *force),
            Err(e) => return Ok(lesson_error(&e)),
        },
        WorkshopCommand::Check { lesson, dir, answers } => match pick(lesson) {
            Ok(l) => {
                let dir = working(l, dir.as_deref());
                let work = if *answers { Work::AnswerKey } else { Work::Folder(&dir) };
                return check(l, work);
            }
            Err(e) => return Ok(lesson_error(&e)),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn working(lesson: &Lesson, dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(|| PathBuf::from(&lesson.slug), Path::to_path_buf)
}

fn lesson_error(e: &LessonError) -> ExitCode {
    match e {
        LessonError::Invalid { path, text, diagnostic } => diagnostics::print(path, text, diagnostic),
        LessonError::Other(message) => eprintln!("error: {message}"),
    }
    ExitCode::from(super::FAILURE)
}

fn list(lessons: &[Lesson]) {
    for l in lessons {
        let n = l.about.exercises.len();
        println!(
            "{:<28} {} ({} min, {n} exercise{})",
            l.slug,
            l.about.lesson.title,
            l.about.lesson.minutes,
            if n == 1 { "" } else { "s" }
        );
    }
}

fn show(l: &Lesson) {
    let a = &l.about.lesson;
    println!("{}: {}\n", l.slug, a.title);
    println!("time: about {} minutes\n\ngoals:", a.minutes);
    for g in &a.goals {
        println!("  - {g}");
    }
    println!("\n{}\n", a.story.trim_end());
    let files: Vec<&str> = l.student_files().map(|(p, _)| p.as_str()).collect();
    println!("files: {}", files.join(", "));
    println!(
        "start with: prodsim workshop start {} --dir DIR, then prodsim run DIR/{} --narrate\n",
        l.slug,
        a.narrate.get_ref()
    );
    for (i, e) in l.about.exercises.iter().enumerate() {
        println!("exercise {} ({}): {}  [{}]", i + 1, e.id.get_ref(), e.title, e.file.get_ref());
        for line in e.task.trim_end().lines() {
            println!("    {line}");
        }
    }
}

fn start(l: &Lesson, dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let written = match crate::workshop::start(l, dir, force) {
        Ok(w) => w,
        Err(why) => bail!(why),
    };
    println!("{}: {}", l.slug, l.about.lesson.title);
    for p in &written {
        println!("  wrote {}", p.display());
    }
    println!(
        "\nfirst watch the story:  prodsim run {} --narrate",
        dir.join(l.about.lesson.narrate.get_ref()).display()
    );
    println!("then the exercises:     prodsim workshop show {}", l.slug);
    println!("and when you are done:  prodsim workshop check {} --dir {}", l.slug, dir.display());
    Ok(ExitCode::SUCCESS)
}

fn check(l: &Lesson, work: Work<'_>) -> anyhow::Result<ExitCode> {
    let verdicts = match judge::check(l, work) {
        Ok(v) => v,
        Err(JudgeError::Scenario(e)) => {
            diagnostics::print_scenario_error(&e);
            return Ok(ExitCode::from(super::FAILURE));
        }
        Err(JudgeError::Lesson(e)) => return Ok(lesson_error(&e)),
        Err(JudgeError::Other(why)) => bail!(why),
    };
    let solved = verdicts.iter().filter(|v| v.solved).count();
    println!("{}: {solved} of {} exercises solved", l.slug, verdicts.len());
    for (i, v) in verdicts.iter().enumerate() {
        let mark = if v.solved { "solved " } else { "NOT YET" };
        println!("  {mark}  {} ({}): {}", i + 1, v.id, v.title);
        for c in &v.checks {
            println!("             {c}");
        }
        if !v.solved {
            let hint = v.hint.trim_end().replace('\n', "\n                   ");
            println!("             hint: {hint}");
        }
    }
    Ok(if solved == verdicts.len() { ExitCode::SUCCESS } else { ExitCode::from(super::FAILURE) })
}
