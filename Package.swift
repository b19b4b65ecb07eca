// swift-tools-version:6.0
// The manifest is the architecture diagram: dependencies run one way, top to bottom.
//
//   dptrain (CLI, ArgumentParser)
//     └─ Training (trainer loop, evaluation, logging)
//          ├─ Layers ──────┐
//          ├─ Optimizers ──┼─ Engine ─ CDNNL (oneDNN sgemm)
//          ├─ Datasets ────┘    │ └──── CZlib (gzip; checkpoint CRC-32)
//          └─ Collective ─ CMPI (MPICH)
//               (Engine, Layers, Optimizers and Collective use CKernels: AVX-512/AVX2 kernels in C)
import PackageDescription

let package = Package(
    name: "dptrain",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dptrain", targets: ["dptrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", pkgConfig: "mpich", providers: [.apt(["libmpich-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        .target(name: "CKernels"),
        .target(name: "Engine", dependencies: ["CDNNL", "CKernels"]),
        .target(name: "Layers", dependencies: ["Engine", "CKernels"]),
        .target(name: "Optimizers", dependencies: ["Engine", "CKernels"]),
        .target(name: "Datasets", dependencies: ["Engine", "CZlib"]),
        .target(name: "Collective", dependencies: ["CMPI", "CKernels"]),
        .target(
            name: "Training",
            dependencies: [
                "Engine", "Layers", "Optimizers", "Datasets", "Collective", "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dptrain",
            dependencies: [
                "Training",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),

        .testTarget(name: "EngineTests", dependencies: ["Engine", "CKernels", "CDNNL"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Engine", "CKernels"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Engine", "CKernels"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Engine", "CZlib"]),
        .testTarget(name: "CollectiveTests", dependencies: ["Collective"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .testTarget(name: "dptrainTests", dependencies: ["dptrain"]),
    ]
)
