// Schedule names for the command line and config files, with their defaults.
//
// The defaults are PyTorch's (torch.optim.lr_scheduler, https://pytorch.org/docs/stable/optim.html);
// where PyTorch has none, the value of its documentation's example (StepLR step 30,
// MultiStepLR milestones 30 and 80, ExponentialLR γ 0.95, CosineAnnealingWarmRestarts
// T_0 20), and where that example spans the run (CosineAnnealingLR T_max = epochs,
// OneCycleLR total steps = epochs × steps per epoch), the run's length.

extension LearningRateSchedule.Kind {
    /// The names `named(_:totalSteps:totalEpochs:)` accepts, in the order error messages list them.
    public static let validNames = [
        "constant", "step", "multistep", "exponential", "cosine", "cosine-restarts", "onecycle", "polynomial",
        "linear", "plateau",
    ]

    /// The schedule called `name` (case-insensitive) with its defaults, for a run of
    /// `totalSteps` optimizer steps over `totalEpochs` epochs:
    /// constant; step (every 30 epochs × 0.1); multistep (× 0.1 at epochs 30 and 80);
    /// exponential (× 0.95 per epoch); cosine (T_max = totalEpochs, η_min 0);
    /// cosine-restarts (T_0 20, T_mult 1, η_min 0); onecycle (totalSteps, pct_start 0.3,
    /// div_factor 25, final_div_factor 1e4); polynomial and linear (power 1 to 0 over
    /// totalSteps); plateau (PyTorch's ReduceLROnPlateau defaults, mode min).
    public static func named(
        _ name: String, totalSteps: Int, totalEpochs: Int
    ) throws(HyperparameterError) -> LearningRateSchedule.Kind {
        switch name.lowercased() {
        case "constant": return .constant
        case "step": return .step(stepSize: 30, gamma: 0.1)
        case "multistep": return .multiStep(milestones: [30, 80], gamma: 0.1)
        case "exponential": return .exponential(gamma: 0.95)
        case "cosine": return .cosine(epochs: totalEpochs, minimumLearningRate: 0)
        case "cosine-restarts": return .cosineRestarts(firstCycleEpochs: 20, cycleMultiplier: 1, minimumLearningRate: 0)
        case "onecycle":
            return .oneCycle(totalSteps: totalSteps, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4)
        case "polynomial": return .polynomial(totalSteps: totalSteps, power: 1, endLearningRate: 0)
        case "linear": return .linear(totalSteps: totalSteps, endLearningRate: 0)
        case "plateau": return .plateau(ReduceOnPlateau())
        default: throw .unknownSchedule(name: name)
        }
    }

    /// The name `named` gives this kind by, as logs and messages show it.
    public var name: String {
        switch self {
        case .constant: return "constant"
        case .step: return "step"
        case .multiStep: return "multistep"
        case .exponential: return "exponential"
        case .cosine: return "cosine"
        case .cosineRestarts: return "cosine-restarts"
        case .oneCycle: return "onecycle"
        case .polynomial: return "polynomial"
        case .linear: return "linear"
        case .plateau: return "plateau"
        }
    }
}
