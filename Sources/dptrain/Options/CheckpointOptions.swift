// `--run-dir`, `--checkpoint-every`, `--keep`, `--resume`, `--nan`: where a run
// saves its state, what it continues from, and what a NaN/Inf does.

import ArgumentParser
import Training

struct CheckpointOptions: ParsableArguments {
    @Option(help: "Run directory: checkpoints, config.json, and a 'completed' marker at the end.")
    var runDir: String?

    @Option(help: "Save a checkpoint every N steps, besides the one at the end of each epoch (0: epoch ends only).")
    var checkpointEvery = 0

    @Option(help: "Checkpoints to keep: the newest K, plus the best by test loss.")
    var keep = 3

    @Option(help: "auto (the newest valid checkpoint of --run-dir, if it has any), never, or a checkpoint file.")
    var resume = "auto"

    @Option(help: "NaN or Inf in the loss or gradient: stop (exit 76) or skip the step and count it.")
    var nan = "stop"

    // Fault-injection tests need runs slow enough to be interrupted at a chosen step.
    @Option(help: .hidden)
    var stepDelay: Double = 0

    /// Checks the values; returns the resume mode.
    func checkValues() throws(CommandFailure) -> ResumeMode {
        if checkpointEvery < 0 { throw .usage("--checkpoint-every must be zero or positive, got \(checkpointEvery)") }
        if keep < 1 { throw .usage("--keep must be at least 1, got \(keep)") }
        if checkpointEvery > 0 && runDir == nil { throw .usage("--checkpoint-every needs --run-dir") }
        if runDir == "" { throw .usage("--run-dir must not be empty") }
        if !(stepDelay >= 0) { throw .usage("--step-delay must be zero or positive, got \(stepDelay)") }
        _ = try nonFinitePolicy()
        return ResumeMode(argument: resume)
    }

    /// The policy named by `--nan`.
    func nonFinitePolicy() throws(CommandFailure) -> NonFinitePolicy {
        guard let policy = NonFinitePolicy(rawValue: nan) else { throw .usage("--nan '\(nan)': valid: skip, stop") }
        return policy
    }

    /// The trainer's settings, raising `preemption` on SIGTERM/SIGINT.
    func faultOptions(preemption: PreemptionFlag) throws(CommandFailure) -> FaultOptions {
        FaultOptions(
            checkpoints: runDir.map { CheckpointPlan(runDirectory: $0, every: checkpointEvery, keep: keep) },
            nonFinite: try nonFinitePolicy(), preemption: preemption, stepDelay: stepDelay)
    }

    /// What every rank must share with rank 0 (checked at start-up): saving is collective.
    var identity: (field: String, value: String) {
        ("checkpoint options", "--run-dir \(runDir ?? "-") --checkpoint-every \(checkpointEvery) --keep \(keep) --nan \(nan)")
    }
}
