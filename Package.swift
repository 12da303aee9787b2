// swift-tools-version:6.0
//
// QuantCheck: a production quantization module verified against a GNU MPFR oracle.
//
// Dependencies are one-way:  Formats ← Quant ← Conformance → Oracle → Formats,
// PluginHost → Conformance, FileHost → Harness → Conformance, with the `quantcheck` executable
// on top.
// `Quant` never sees MPFR; `Conformance` never sees plugin code.
//
// CPU-specific speed: no target uses `unsafeFlags` (SwiftPM refuses them in version-based
// dependencies). The hot loops live in the small C target `QuantKernels`, which compiles an
// AVX2 variant of each loop with a per-function target attribute (`QK_SIMD_FN`: AVX2, FMA,
// BMI2) and picks it at run time with the one dispatcher `qk_has_simd()` of `CPUDispatch`,
// which tests exactly those features; so the same package builds and runs on any x86-64 and on
// arm64 Linux (where the portable loops are auto-vectorised for NEON).
import PackageDescription

let package = Package(
    name: "QuantCheck",
    products: [
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Quant", targets: ["Quant"]),
        .library(name: "Oracle", targets: ["Oracle"]),
        .library(name: "Conformance", targets: ["Conformance"]),
        .library(name: "PluginHost", targets: ["PluginHost"]),
        .library(name: "FileHost", targets: ["FileHost"]),
        .library(name: "Harness", targets: ["Harness"]),
        .executable(name: "quantcheck", targets: ["quantcheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - Public API

        /// Format descriptors only: the spec as data.
        .target(name: "Formats", dependencies: ["Support"]),
        /// The production module. No MPFR.
        .target(name: "Quant", dependencies: ["Formats", "QuantKernels"]),
        /// MPFR-backed reference, derived from definitions only.
        .target(name: "Oracle", dependencies: ["Formats", "CMPFR"]),
        /// The checks: each suite returns a structured result.
        .target(name: "Conformance", dependencies: ["Formats", "Quant", "Oracle", "CheckKernels"]),
        /// Hosts a C-ABI conversion plugin in crash-isolated worker processes (shared memory,
        /// guard pages, fault bisection) as a `ConversionUnderTest` for `quantcheck conform`.
        .target(name: "PluginHost", dependencies: ["Formats", "Conformance", "QuantCheckPlugin"]),
        /// Another framework's conversions read from files (`.npy` pairs, exhaustive-order code
        /// files, decoded values) as a `ConversionUnderTest` for `quantcheck conform`.
        .target(name: "FileHost", dependencies: ["Formats", "Conformance", "Harness"]),
        /// Timing, results JSON, Markdown/SVG, compare and gate.
        .target(name: "Harness", dependencies: ["Formats", "Quant", "Conformance"]),
        .executableTarget(
            name: "quantcheck",
            dependencies: [
                "Formats", "Quant", "Oracle", "Conformance", "PluginHost", "FileHost", "Harness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Implementation details

        /// What every module and test shares: locks, SplitMix64, hex-float and diagnostic text.
        /// `Formats` re-exports it, so every module above sees it.
        .target(name: "Support"),
        .systemLibrary(
            name: "CMPFR", pkgConfig: "mpfr",
            providers: [.apt(["libmpfr-dev", "libgmp-dev"])]),
        /// The one run-time CPU-feature dispatch of the C kernels (see the header comment above).
        .target(name: "CPUDispatch"),
        /// Bulk loops in C with run-time AVX2 dispatch (see the header comment above).
        .target(name: "QuantKernels", dependencies: ["CPUDispatch"]),
        /// The checker loops of the exhaustive sweep (its comparator), kept out of the
        /// production kernels.
        .target(name: "CheckKernels", dependencies: ["CPUDispatch"]),
        /// The plugin C ABI (`include/quantcheck_plugin.h`) and the crash-isolating worker process
        /// that hosts a plugin for `quantcheck conform`.
        .target(name: "QuantCheckPlugin", linkerSettings: [.linkedLibrary("dl")]),

        // MARK: - Unit test bundles

        /// What the test targets share (a regular target, so test targets can depend on it).
        .target(name: "TestSupport", dependencies: ["Support"], path: "Tests/TestSupport"),
        .testTarget(name: "FormatsTests", dependencies: ["Formats"]),
        .testTarget(name: "QuantTests", dependencies: ["Quant", "Formats", "TestSupport"]),
        .testTarget(name: "OracleTests", dependencies: ["Oracle", "Formats", "Support", "TestSupport"]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "Quant", "Oracle", "Formats"]),
        .testTarget(name: "PluginHostTests", dependencies: ["PluginHost", "Conformance", "Formats"]),
        .testTarget(name: "FileHostTests", dependencies: ["FileHost", "Conformance", "Harness", "Quant", "Formats"]),
        .testTarget(name: "HarnessTests", dependencies: ["Support", "Harness", "Conformance", "Quant", "Formats", "quantcheck"]),
    ],
    swiftLanguageModes: [.v5]
)
