import ArgumentParser

extension QuantCheck {
    /// Every subcommand, in help order. Add new ones here (one line each).
    static let allSubcommands: [ParsableCommand.Type] = [
        VerifyCommand.self,
        EncodeCommand.self,
        DecodeCommand.self,
        GoldenCommand.self,
        BenchCommand.self,
        CompareCommand.self,
        MergeCommand.self,
        ReportCommand.self,
        GateCommand.self,
        ConformCommand.self, InputsCommand.self, PluginWorkerCommand.self,
    ]
}
