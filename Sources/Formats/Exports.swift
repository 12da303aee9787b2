// Every module that describes formats also needs the shared utilities (locks, SplitMix64,
// hex-float and one-line diagnostic text); re-exporting them here keeps one import per module.
@_exported import Support
