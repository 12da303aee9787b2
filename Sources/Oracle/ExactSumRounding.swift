extension ExactSum {
    /// RU₆₄ of the exact value: the least binary64 ≥ it, from the round-to-nearest value and one
    /// exact comparison (round-to-nearest is below the exact value only when it rounded down,
    /// and then the next binary64 up is the least one above). Non-finite and zero sums are
    /// their round-to-nearest value.
    public var roundedUp: Double {
        guard kind == .finite, !isZero else { return rounded }
        return (exact().compare(to: rounded) ?? 0) > 0 ? rounded.nextUp : rounded
    }
}
