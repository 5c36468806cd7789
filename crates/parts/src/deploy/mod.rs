//! CI/CD as pure components: a release's run through the pipeline's stages
//! ([`pipeline`]), its rollout plan for each strategy ([`rollout`]), and the checks that
//! stop a bad release — the post-deploy health check and the canary analysis
//! ([`analysis`]).
//!
//! Nothing here knows about servers or events: the engine (`prodsim_model`) drives these with the
//! virtual clock and applies what they decide. The scenario's side is
//! `crate::delivery`.

pub mod analysis;
pub mod pipeline;
pub mod rollout;

pub use analysis::{Verdict, WindowStats, canary_verdict, health_verdict};
pub use pipeline::{PipelineRun, StageResult, StageRun, run_pipeline};
pub use rollout::{Gate, Phase, plan};
