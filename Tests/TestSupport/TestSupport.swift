// What the test targets share, instead of a copy in each (issue 10, item 8). The seeded
// generator (`SplitMix64`) and the hex-float spelling (`HexFloat`) come from `Support`, which
// this module re-exports, so a test sees the same ones the modules under test use.
@_exported import Support

/// `0x` and the lowercase hex digits of `v`, unpadded (`hex(0x7e) == "0x7e"`): bit patterns and
/// codes in failure messages.
public func hex<T: BinaryInteger>(_ v: T) -> String { HexFloat.hex(v, digits: 0) }
